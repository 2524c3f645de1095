package alert

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

const pm10Rule = `
rules:
  - name: PM10Mean24hAbovePlanTarget
    param: pm10
    stations: {kind: air}
    aggregate: mean
    window: 24h
    min_coverage: 0.75
    limit: zhuzhou:pm10:annual
    warn_ratio: 0.9
    hysteresis: 0.05
    labels: {team: air}
`

// feed publishes one pm10 value every 10 minutes from *t, advancing the
// wall clock with the event time, and returns the value of the 24 h mean
// at each transition point.
func (te *testEngine) feed(st *station.Station, t *time.Time, n int, v float64) {
	for range n {
		te.clock.Set(t.Add(time.Minute))
		te.Observe(st, reading(st.ID, *t, val("pm10", v)))
		*t = t.Add(10 * time.Minute)
	}
}

func TestPM10EpisodeFiresWarningThenCriticalAndResolvesInReverse(t *testing.T) {
	st := airStation("zz-air-0101", 10*time.Minute)
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	te := newTestEngine(t, pm10Rule, []*station.Station{st}, testConfig(t.TempDir()), t0)
	now := t0

	te.feed(st, &now, 144, 50) // a clean day: mean 50
	if got := te.lines.transitions(); len(got) != 0 {
		t.Fatalf("a mean of 50 made transitions: %v", got)
	}
	te.feed(st, &now, 60, 100) // rises through 63 and 70
	te.feed(st, &now, 200, 20) // falls back through 66.5 and 59.85
	want := []string{
		"PM10Mean24hAbovePlanTarget/warning/pm10:firing",
		"PM10Mean24hAbovePlanTarget/critical/pm10:firing",
		"PM10Mean24hAbovePlanTarget/critical/pm10:resolved",
		"PM10Mean24hAbovePlanTarget/warning/pm10:resolved",
	}
	if got := te.lines.transitions(); !slices.Equal(got, want) {
		t.Fatalf("transitions\n got %v\nwant %v", got, want)
	}
	ns := te.rec.waitFor(t, 4)
	if len(te.rec.settle()) != 4 {
		t.Fatalf("notifications: %s", describe(te.rec.all()))
	}
	checks := []struct {
		sev    string
		status Status
		thr    float64
		ok     func(v float64) bool
	}{
		{"warning", StatusFiring, 63, func(v float64) bool { return v > 63 && v < 63.5 }},
		{"critical", StatusFiring, 70, func(v float64) bool { return v > 70 && v < 70.5 }},
		{"critical", StatusResolved, 70, func(v float64) bool { return v <= 66.5 && v > 66 }},
		{"warning", StatusResolved, 63, func(v float64) bool { return v <= 59.85 && v > 59.3 }},
	}
	for i, c := range checks {
		n := ns[i]
		if n.Labels["severity"] != c.sev || n.Status != c.status || n.Limit != c.thr || !c.ok(n.Value) {
			t.Errorf("notification %d: %s %s limit %v value %v; want %s %s %v", i, n.Labels["severity"], n.Status, n.Limit, n.Value, c.sev, c.status, c.thr)
		}
		wantLabels := map[string]string{"alertname": "PM10Mean24hAbovePlanTarget", "station": "zz-air-0101", "county": "Hetang",
			"param": "pm10", "severity": c.sev, "team": "air"}
		for k, v := range wantLabels {
			if n.Labels[k] != v {
				t.Errorf("notification %d: label %s = %q, want %q", i, k, n.Labels[k], v)
			}
		}
		if len(n.Labels) != len(wantLabels) {
			t.Errorf("notification %d: labels %v", i, n.Labels)
		}
	}
	// startsAt is the firing time, kept on resolution; endsAt of a firing
	// alert lies 4 resend intervals ahead, of a resolved one at the
	// resolution.
	if !ns[0].StartsAt.Equal(ns[3].StartsAt) || !ns[1].StartsAt.Equal(ns[2].StartsAt) || !ns[0].StartsAt.Before(ns[1].StartsAt) {
		t.Errorf("startsAt: %v %v %v %v", ns[0].StartsAt, ns[1].StartsAt, ns[2].StartsAt, ns[3].StartsAt)
	}
	if d := ns[0].EndsAt.Sub(ns[0].StartsAt); d != time.Minute+4*time.Minute {
		t.Errorf("firing endsAt − startsAt = %v, want 1m (clock lead) + 4 × 1m", d)
	}
	if !ns[2].EndsAt.After(ns[2].StartsAt) || ns[2].EndsAt.After(te.clock.Now()) {
		t.Errorf("resolved endsAt %v", ns[2].EndsAt)
	}
	if !strings.Contains(ns[1].Annotations["summary"], "PM10 24h rolling mean") || !strings.Contains(ns[1].Annotations["summary"], "above the limit of 70 µg/m³") {
		t.Errorf("summary %q", ns[1].Annotations["summary"])
	}
	if !strings.Contains(ns[0].Annotations["description"], "of the limit of 70 µg/m³ (Zhuzhou 2018–2020 action plan target)") {
		t.Errorf("description %q", ns[0].Annotations["description"])
	}
	if ns[0].GeneratorURL != "http://grafana.test/d/envpipe-air/air-quality?var-param=pm10&var-station=zz-air-0101" {
		t.Errorf("generatorURL %q", ns[0].GeneratorURL)
	}
	// The chat robot got the same four, once each.
	if got := te.chat.waitFor(t, 4); len(got) != 4 {
		t.Errorf("chat: %s", describe(got))
	}

	// Wavering inside the hysteresis band after a new crossing yields
	// one firing and nothing more.
	te.feed(st, &now, 144, 68) // mean climbs to 68 (crosses 63 only)
	te.feed(st, &now, 1, 75)
	for i := range 100 {
		te.feed(st, &now, 1, []float64{61, 69, 62, 68.5}[i%4])
	}
	got := te.lines.transitions()[4:]
	if want := []string{"PM10Mean24hAbovePlanTarget/warning/pm10:firing"}; !slices.Equal(got, want) {
		t.Errorf("wavering in the band: %v, want %v", got, want)
	}
}

func TestAStationsAlertsAreIndependentOfAnotherStations(t *testing.T) {
	a, b := airStation("a", 10*time.Minute), airStation("b", 10*time.Minute)
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	te := newTestEngine(t, pm10Rule, []*station.Station{a, b}, testConfig(t.TempDir()), t0)
	ta, tb := t0, t0
	te.feed(a, &ta, 144, 90)
	te.feed(b, &tb, 144, 30)
	if got := te.lines.transitions(); len(got) != 2 {
		t.Fatalf("transitions %v", got)
	}
	for _, p := range te.lines.points() {
		if p.tags["station"] != "a" {
			t.Errorf("alert for %s", p.tags["station"])
		}
	}
}

func TestMeanNeedsMinCoverageBeforeItIsEvaluated(t *testing.T) {
	st := airStation("s", 10*time.Minute)
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	te := newTestEngine(t, pm10Rule, []*station.Station{st}, testConfig(t.TempDir()), t0)
	now := t0
	te.feed(st, &now, 107, 500) // 17 h 50 min: coverage just under 0.75
	if got := te.lines.transitions(); len(got) != 0 {
		t.Fatalf("fired before coverage: %v", got)
	}
	te.feed(st, &now, 1, 500)
	if got := te.lines.transitions(); len(got) != 2 {
		t.Fatalf("at 0.75 coverage: %v", got)
	}
}

func TestFlaggedValuesRaiseNoPollutionAlert(t *testing.T) {
	rules := `
rules:
  - {name: PM10High, param: pm10, aggregate: instant, limit: 150}
  - {name: EquipmentFlag, aggregate: flag, flags: [D, B, T], for: 10m}
`
	st := airStation("s", time.Minute)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), t0)
	for i := range 12 {
		at := t0.Add(time.Duration(i) * time.Minute)
		te.clock.Set(at)
		te.Observe(st, reading("s", at, flagged("pm10", 999, ingest.FlagFault), flagged("pm25", 500, ingest.FlagMaintenance)))
	}
	want := []string{"EquipmentFlag/warning/pm10:pending", "EquipmentFlag/warning/pm10:firing"}
	if got := te.lines.transitions(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	ns := te.rec.waitFor(t, 1)
	if !strings.Contains(ns[0].Annotations["summary"], "flag D (instrument fault)") {
		t.Errorf("summary %q", ns[0].Annotations["summary"])
	}
	if !ns[0].StartsAt.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("startsAt %v, want 10 minutes after the first D", ns[0].StartsAt)
	}
	// A normal value resolves it, and is itself evaluated.
	at := t0.Add(12 * time.Minute)
	te.Observe(st, reading("s", at, val("pm10", 160)))
	want = append(want, "PM10High/critical/pm10:firing", "EquipmentFlag/warning/pm10:resolved")
	if got := te.lines.transitions(); !slices.Equal(got, want) {
		t.Errorf("transitions %v, want %v", got, want)
	}
}

func TestWaterSampleAgainstClassII(t *testing.T) {
	rules := `
rules:
  - name: WaterSectionBelowTargetClass
    stations: {kind: water}
    aggregate: water_class
    warn_ratio: 0.9
    hysteresis: 0.05
`
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		nh3n float64
		want []string
	}{
		{"NH3-N 0.6 mg/L is Class III: critical (and the approach warning)", 0.6,
			[]string{"WaterSectionBelowTargetClass/warning/nh3n:firing", "WaterSectionBelowTargetClass/critical/nh3n:firing"}},
		{"NH3-N 0.46 mg/L is 92 % of the Class II limit: warning only", 0.46,
			[]string{"WaterSectionBelowTargetClass/warning/nh3n:firing"}},
		{"NH3-N 0.5 mg/L is on the limit, which complies: warning only", 0.5,
			[]string{"WaterSectionBelowTargetClass/warning/nh3n:firing"}},
		{"NH3-N 0.3 mg/L: nothing", 0.3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := waterStation("zz-wat-xj02")
			te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), t0)
			te.Observe(st, reading(st.ID, t0, val("nh3n", tt.nh3n), val("do", 7.8), val("codmn", 2.1), val("ph", 7.4)))
			if got := te.lines.transitions(); !slices.Equal(got, tt.want) {
				t.Fatalf("transitions %v, want %v", got, tt.want)
			}
			if len(tt.want) == 0 {
				return
			}
			ns := te.rec.waitFor(t, len(tt.want))
			n := ns[len(ns)-1]
			if n.Labels["param"] != "nh3n" || !strings.Contains(n.Annotations["summary"], "NH3-N") || !strings.Contains(n.Annotations["description"], "NH3-N") {
				t.Errorf("the alert does not name NH3-N: %v %q %q", n.Labels, n.Annotations["summary"], n.Annotations["description"])
			}
			if n.Labels["severity"] == "critical" && !strings.Contains(n.Annotations["description"], "is Class III, target Class II") {
				t.Errorf("description %q", n.Annotations["description"])
			}
		})
	}
}

func TestWaterAlertsResolveWithHysteresisAndDissolvedOxygenIsALowerBound(t *testing.T) {
	rules := `
rules:
  - {name: Water, stations: {kind: water}, aggregate: water_class, warn_ratio: 0.9, hysteresis: 0.05}
`
	st := waterStation("w")
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), t0)
	at := t0
	obs := func(do float64) {
		at = at.Add(4 * time.Hour)
		te.clock.Set(at)
		te.Observe(st, reading(st.ID, at, val("do", do)))
	}
	obs(5.5) // ratio 6/5.5 = 1.09: critical and warning
	obs(6.1) // ratio 0.984: inside the critical band (> 0.95), still firing
	obs(6.4) // ratio 0.9375: critical resolves; warning (0.9) holds in its band (> 0.855)
	obs(7.1) // ratio 0.845: warning resolves
	want := []string{"Water/warning/do:firing", "Water/critical/do:firing", "Water/critical/do:resolved", "Water/warning/do:resolved"}
	if got := te.lines.transitions(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	ns := te.rec.waitFor(t, 2)
	if !strings.Contains(ns[1].Annotations["summary"], "dissolved oxygen (DO) 5.5 mg/L fails Class II (≥ 6 mg/L)") {
		t.Errorf("summary %q", ns[1].Annotations["summary"])
	}
	if ns[0].Annotations["threshold"] != "6.667" {
		t.Errorf("DO warning threshold %v, want 6/0.9", ns[0].Annotations["threshold"])
	}
}

func TestStaleStationFiresAfterThreeIntervalsAndResolvesWhenItResumes(t *testing.T) {
	rules := `
rules:
  - {name: StationSilent, aggregate: stale, limit: 3}
`
	st := airStation("s", time.Minute)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), t0)
	te.Observe(st, reading("s", t0, val("pm10", 40)))
	te.Tick(t0.Add(3 * time.Minute))
	if got := te.lines.transitions(); len(got) != 0 {
		t.Fatalf("fired at exactly 3 intervals: %v", got)
	}
	te.Tick(t0.Add(3*time.Minute + time.Second))
	if got := te.lines.transitions(); !slices.Equal(got, []string{"StationSilent/warning/:firing"}) {
		t.Fatalf("transitions %v", got)
	}
	ns := te.rec.waitFor(t, 1)
	if _, ok := ns[0].Labels["param"]; ok || ns[0].Labels["severity"] != "warning" {
		t.Errorf("labels %v", ns[0].Labels)
	}
	if s := ns[0].Annotations["summary"]; s != "Station s has sent no data for 3m1s" {
		t.Errorf("summary %q", s)
	}
	at := t0.Add(5 * time.Minute)
	te.clock.Set(at)
	te.Observe(st, reading("s", at, val("pm10", 40)))
	if got := te.lines.transitions(); len(got) != 2 || got[1] != "StationSilent/warning/:resolved" {
		t.Fatalf("transitions %v", got)
	}
	ns = te.rec.waitFor(t, 2)
	if ns[1].Status != StatusResolved || !ns[1].EndsAt.Equal(at) {
		t.Errorf("resolution %v at %v", ns[1].Status, ns[1].EndsAt)
	}
}

func TestAStationNeverHeardFromIsStaleThreeIntervalsAfterTheStart(t *testing.T) {
	st := airStation("s", time.Minute)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	te := newTestEngine(t, "rules:\n  - {name: StationSilent, aggregate: stale}\n", []*station.Station{st}, testConfig(t.TempDir()), t0)
	te.Tick(t0.Add(2 * time.Minute))
	te.Tick(t0.Add(4 * time.Minute))
	if got := te.lines.transitions(); len(got) != 1 {
		t.Fatalf("transitions %v", got)
	}
}

func TestBackfillIsRecordedButPagesNoOne(t *testing.T) {
	rules := `
rules:
  - {name: PM10High, param: pm10, aggregate: instant, limit: 150}
`
	st := airStation("s", time.Minute)
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), now)

	old := now.Add(-3 * time.Hour) // beyond the 2 h horizon
	te.Observe(st, reading("s", old, val("pm10", 200)))
	te.Observe(st, reading("s", old.Add(time.Minute), val("pm10", 100)))
	pts := te.lines.points()
	if len(pts) != 2 || !strings.HasSuffix(pts[0].fields, "backfill=true") || !strings.HasSuffix(pts[1].fields, "backfill=true") {
		t.Fatalf("points %+v", pts)
	}
	if got := te.rec.settle(); len(got) != 0 {
		t.Fatalf("backfill paged: %s", describe(got))
	}
	// An episode that started in the backfill and still fires in fresh
	// data is sent then, once.
	te.Observe(st, reading("s", old.Add(2*time.Minute), val("pm10", 300)))
	if got := te.rec.settle(); len(got) != 0 {
		t.Fatalf("backfill paged: %s", describe(got))
	}
	te.Observe(st, reading("s", now.Add(-time.Minute), val("pm10", 310)))
	te.Observe(st, reading("s", now, val("pm10", 320)))
	ns := te.rec.waitFor(t, 1)
	if len(te.rec.settle()) != 1 || ns[0].Status != StatusFiring || !ns[0].StartsAt.Equal(old.Add(2*time.Minute)) || ns[0].Value != 310 {
		t.Fatalf("catch-up: %s %+v", describe(ns), ns[0])
	}
	// …and its resolution too.
	te.Observe(st, reading("s", now.Add(time.Minute), val("pm10", 20)))
	if ns := te.rec.waitFor(t, 2); ns[1].Status != StatusResolved {
		t.Errorf("resolution: %s", describe(ns))
	}
	if n := len(te.lines.points()); n != 4 {
		t.Errorf("%d points; the catch-up is not a transition", n)
	}
}

func TestADuplicateReadingCountsOnce(t *testing.T) {
	st := airStation("s", 10*time.Minute)
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	te := newTestEngine(t, pm10Rule, []*station.Station{st}, testConfig(t.TempDir()), t0)
	now := t0
	te.feed(st, &now, 144, 60)
	// The last reading redelivered 50 times, with a value that would
	// otherwise push the mean over 70 (a redelivery carries the same
	// value; a different one proves it is ignored).
	last := now.Add(-10 * time.Minute)
	for range 50 {
		te.Observe(st, reading("s", last, val("pm10", 1000)))
	}
	if got := te.lines.transitions(); len(got) != 0 {
		t.Errorf("duplicates moved the mean: %v", got)
	}
}

func TestLateReadingsDoNotMoveAnAlertBackwards(t *testing.T) {
	rules := "rules:\n  - {name: PM10High, param: pm10, aggregate: instant, limit: 150}\n"
	st := airStation("s", time.Minute)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), t0)
	te.Observe(st, reading("s", t0, val("pm10", 200)))
	te.Observe(st, reading("s", t0.Add(-time.Minute), val("pm10", 10)))
	if got := te.lines.transitions(); len(got) != 1 {
		t.Errorf("transitions %v", got)
	}
}

func TestAQIFromObserveValue(t *testing.T) {
	rules := `
rules:
  - {name: AQIAbove100, aggregate: aqi, limit: 100, hysteresis: 0.05, severity: warning}
  - {name: AQIAbove150, aggregate: aqi, limit: 150, hysteresis: 0.05}
`
	st := airStation("s", time.Minute)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), t0)
	for i, v := range []float64{80, 101, 151, 140, 100, 96, 95} {
		te.ObserveValue(st, "aqi", t0.Add(time.Duration(i)*time.Hour), v)
	}
	want := []string{"AQIAbove100/warning/aqi:firing", "AQIAbove150/critical/aqi:firing", "AQIAbove150/critical/aqi:resolved", "AQIAbove100/warning/aqi:resolved"}
	if got := te.lines.transitions(); !slices.Equal(got, want) {
		t.Errorf("transitions %v, want %v", got, want)
	}
	ns := te.rec.waitFor(t, 1)
	if s := ns[0].Annotations["summary"]; s != "Station s: AQI (hourly) 101 is above the limit of 100" {
		t.Errorf("summary %q", s)
	}
}

func TestLimitsFollowTheEditionInForce(t *testing.T) {
	rules := "rules:\n  - {name: PM10Day, param: pm10, aggregate: instant, limit: \"gb3095:pm10:24h\"}\n"
	st := airStation("s", time.Minute)
	cst := time.FixedZone("CST", 8*3600)
	before := time.Date(2026, 2, 28, 23, 0, 0, 0, cst) // GB 3095-2012: 150
	after := time.Date(2026, 3, 1, 1, 0, 0, 0, cst)    // 2026 transitional: 120
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), after)
	te.Observe(st, reading("s", before, val("pm10", 130)))
	if got := te.lines.transitions(); len(got) != 0 {
		t.Fatalf("130 fired under GB 3095-2012: %v", got)
	}
	te.Observe(st, reading("s", after, val("pm10", 130)))
	ns := te.rec.waitFor(t, 1)
	if ns[0].Limit != 120 || !strings.Contains(ns[0].Annotations["description"], "GB 3095-2026 transitional Grade II, 24h") {
		t.Errorf("limit %v, %q", ns[0].Limit, ns[0].Annotations["description"])
	}
}

func TestChineseTexts(t *testing.T) {
	st := airStation("zz-air-0101", 10*time.Minute)
	st.Name = "市监测站"
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	cfg := testConfig(t.TempDir())
	cfg.Lang = "zh"
	te := newTestEngine(t, pm10Rule, []*station.Station{st}, cfg, t0)
	now := t0
	te.feed(st, &now, 144, 80)
	ns := te.rec.waitFor(t, 2)
	for _, n := range ns {
		if n.Labels["severity"] == "critical" {
			if s := n.Annotations["summary"]; s != "市监测站 PM10 24小时滑动均值 80 µg/m³，超过限值 70 µg/m³" {
				t.Errorf("summary %q", s)
			}
			if d := n.Annotations["description"]; !strings.Contains(d, "（株洲市生态环境保护行动计划 2020 年目标）") {
				t.Errorf("description %q", d)
			}
		}
	}
	pts := te.lines.points()
	if !strings.Contains(pts[0].fields, `text="市监测站 PM10 24小时滑动均值 80 µg/m³，超过预警值 63 µg/m³"`) {
		t.Errorf("line %s", pts[0].fields)
	}
}

func TestAlertsLineProtocol(t *testing.T) {
	rules := "rules:\n  - {name: PM10High, param: pm10, aggregate: instant, limit: 150, annotations: {summary: {en: 'say \"hi\"\\ {{num .Value}}'}}}\n"
	st := &station.Station{ID: "s 1", Name: "S", Kind: ingest.KindAir, County: "Lu,song", Interval: time.Minute}
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), t0)
	te.Observe(st, reading(st.ID, t0, val("pm10", 151.5)))
	te.lines.mu.Lock()
	got := te.lines.lines
	te.lines.mu.Unlock()
	want := `alerts,alertname=PM10High,county=Lu\,song,param=pm10,severity=critical,state=firing,station=s\ 1 value=151.5,limit=150,threshold=150,text="say \"hi\"\\ 151.5",backfill=false 1795852800000000000`
	if len(got) != 1 || got[0] != want {
		t.Errorf("line\n got %q\nwant %q", got, want)
	}
}

func TestResendGoesToResendersOnlyWithEndsAtAhead(t *testing.T) {
	rules := "rules:\n  - {name: PM10High, param: pm10, aggregate: instant, limit: 150}\n"
	st := airStation("s", time.Minute)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), t0)
	te.Tick(t0) // the first tick re-sends (nothing yet)
	te.Observe(st, reading("s", t0, val("pm10", 200)))
	te.rec.waitFor(t, 1)
	te.Tick(t0.Add(30 * time.Second)) // not due
	te.Tick(t0.Add(time.Minute))      // due
	ns := te.rec.waitFor(t, 2)
	if len(te.rec.settle()) != 2 || ns[1].Status != StatusFiring || !ns[1].StartsAt.Equal(t0) || !ns[1].EndsAt.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("re-send: %s %+v", describe(ns), ns[len(ns)-1])
	}
	if got := te.chat.settle(); len(got) != 1 {
		t.Errorf("the chat robot got re-sends: %s", describe(got))
	}
}

func TestMetrics(t *testing.T) {
	rules := "rules:\n  - {name: PM10High, param: pm10, aggregate: instant, limit: 150, warn_ratio: 0.9}\n"
	st := airStation("s", time.Minute)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), t0)
	te.Observe(st, reading("s", t0, val("pm10", 200)))
	te.Observe(st, reading("s", t0.Add(time.Minute), val("pm10", 140)))
	gauge := func(sev string) float64 { return testutilGauge(te.m.firing.WithLabelValues(sev)) }
	if gauge("critical") != 0 || gauge("warning") != 1 {
		t.Errorf("firing critical %v warning %v", gauge("critical"), gauge("warning"))
	}
	if v := testutilCounter(te.m.transitions.WithLabelValues("firing")); v != 2 {
		t.Errorf("transitions to firing %v", v)
	}
	if v := testutilCounter(te.m.transitions.WithLabelValues("resolved")); v != 1 {
		t.Errorf("transitions to resolved %v", v)
	}
}

func TestYearToDateMeanWaitsForMinDays(t *testing.T) {
	rules := "rules:\n  - {name: PM25YTD, param: pm25, aggregate: ytd_mean, limit: 45, min_days: 3}\n"
	st := airStation("s", time.Minute)
	cst := time.FixedZone("CST", 8*3600)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, cst)
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), t0.AddDate(0, 0, 3))
	// Two days far above the target: too few days to judge an annual mean.
	te.Observe(st, reading("s", t0, val("pm25", 90)))
	te.Observe(st, reading("s", t0.AddDate(0, 0, 1), val("pm25", 90)))
	if got := te.lines.transitions(); len(got) != 0 {
		t.Fatalf("fired after 2 days: %v", got)
	}
	te.Observe(st, reading("s", t0.AddDate(0, 0, 2), val("pm25", 90)))
	if got := te.lines.transitions(); !slices.Equal(got, []string{"PM25YTD/critical/pm25:firing"}) {
		t.Fatalf("after the third day: %v", got)
	}
}
