package alert

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
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

// TestDuplicatesArePerParameter: a station may send one instant in two
// readings (a JSON array, two analysers); only a value already counted,
// same time, period and parameter, is a duplicate.
func TestDuplicatesArePerParameter(t *testing.T) {
	rules := `
rules:
  - {name: PM10High, param: pm10, aggregate: instant, limit: 150}
  - {name: PM10Mean, param: pm10, aggregate: mean, window: 1h, min_coverage: 0, limit: 1000}
`
	t0 := time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC)
	hourly := func(r *ingest.Reading) *ingest.Reading { r.Period = ingest.PeriodHour; return r }
	for _, tc := range []struct {
		name     string
		readings []*ingest.Reading
		want     []string // transitions
		counted  int64    // pm10 values in the 1 h window
		// restart: envpipe restarts after that many readings (0: never),
		// from a windows file without parameters if oldFile.
		restart int
		oldFile bool
	}{
		{name: "another parameter at the same time is evaluated",
			readings: []*ingest.Reading{reading("s", t0, val("pm25", 30)), reading("s", t0, val("pm10", 400))},
			want:     []string{"PM10High/critical/pm10:firing"}, counted: 1},
		{name: "the same parameter at the same time counts once",
			readings: []*ingest.Reading{reading("s", t0, val("pm10", 100)), reading("s", t0, val("pm10", 400))},
			counted:  1},
		{name: "a redelivery with a parameter more counts only the new one",
			readings: []*ingest.Reading{reading("s", t0, val("pm25", 30)), reading("s", t0, val("pm25", 30), val("pm10", 400))},
			want:     []string{"PM10High/critical/pm10:firing"}, counted: 1},
		{name: "the same parameter for another period counts",
			readings: []*ingest.Reading{reading("s", t0, val("pm10", 100)), hourly(reading("s", t0, val("pm10", 100)))},
			counted:  2},
		{name: "a split reading completed after a newer one counts",
			readings: []*ingest.Reading{reading("s", t0, val("pm25", 30)), reading("s", t0.Add(time.Minute), val("pm10", 100)),
				reading("s", t0, val("pm10", 120))},
			counted: 2},
		{name: "after a restart, another parameter at the same time is evaluated",
			readings: []*ingest.Reading{reading("s", t0, val("pm25", 30)), reading("s", t0, val("pm10", 400)),
				reading("s", t0, val("pm10", 400))},
			restart: 1, want: []string{"PM10High/critical/pm10:firing"}, counted: 1},
		{name: "after a restart, the same parameter at the same time counts once",
			readings: []*ingest.Reading{reading("s", t0, val("pm10", 100)), reading("s", t0, val("pm10", 400))},
			restart:  1, counted: 1},
		{name: "after a restart from an older windows file, a time counts once",
			readings: []*ingest.Reading{reading("s", t0, val("pm25", 30)), reading("s", t0, val("pm10", 400))},
			restart:  1, oldFile: true, counted: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := airStation("s", time.Minute)
			te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), t0.Add(2*time.Minute))
			for i, r := range tc.readings {
				if i > 0 && i == tc.restart {
					te.Flush()
					te.disp.stop(time.Second)
					if tc.oldFile {
						stripWindows(t, te.store.windowsPath(), "param_bits", "params")
					}
					te.start(t)
				}
				te.Observe(st, r)
			}
			if got := te.lines.transitions(); !slices.Equal(got, tc.want) {
				t.Errorf("transitions %v, want %v", got, tc.want)
			}
			var n int64
			if s := te.stations["s"].series["pm10"]; s != nil {
				n = s.wins[0].n
			}
			if n != tc.counted {
				t.Errorf("%d pm10 values counted, want %d", n, tc.counted)
			}
		})
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

// hourlyDays feeds a station one value an hour for n days from t (00:00),
// with the wall clock a minute behind each, and returns the next day.
func (te *testEngine) hourlyDays(st *station.Station, t time.Time, n int, param string, v float64) time.Time {
	for range n * 24 {
		te.clock.Set(t.Add(time.Minute))
		te.Observe(st, reading(st.ID, t, val(param, v)))
		t = t.Add(time.Hour)
	}
	return t
}

func TestYearToDateMeanWaitsForMinDays(t *testing.T) {
	rules := "rules:\n  - {name: PM25YTD, param: pm25, aggregate: ytd_mean, limit: 45, min_days: 3}\n"
	st := airStation("s", time.Hour)
	cst := time.FixedZone("CST", 8*3600)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, cst)
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), t0)
	// Three days far above the target, the third still open: too few
	// closed days to judge an annual mean.
	next := te.hourlyDays(st, t0, 3, "pm25", 90)
	if got := te.lines.transitions(); len(got) != 0 {
		t.Fatalf("fired after 2 closed days: %v", got)
	}
	te.Observe(st, reading("s", next, val("pm25", 90)))
	if got := te.lines.transitions(); !slices.Equal(got, []string{"PM25YTD/critical/pm25:firing"}) {
		t.Fatalf("after the third day closed: %v", got)
	}
}

// An hourly AQI computed with a pollutant missing is a lower bound of the
// true AQI: it may raise an alert, but neither clear a firing one nor reset
// a pending one.
func TestALowerBoundAQIRaisesAlertsButNeverEndsThem(t *testing.T) {
	const twoLevels = `
rules:
  - {name: AQIAbove100, aggregate: aqi, limit: 100, hysteresis: 0.05, severity: warning}
  - {name: AQIAbove150, aggregate: aqi, limit: 150, hysteresis: 0.05}
`
	const held = `
rules:
  - {name: AQIAbove150, aggregate: aqi, limit: 150, for: 2h}
`
	type in struct {
		v        float64
		complete bool
	}
	for _, tc := range []struct {
		name  string
		rules string
		in    []in // one per hour
		want  []string
	}{
		{"an incomplete hour of 79 inside an episode of 172 leaves both alerts firing", twoLevels,
			[]in{{172, true}, {172, true}, {79, false}, {172, true}},
			[]string{"AQIAbove100/warning/aqi:firing", "AQIAbove150/critical/aqi:firing"}},
		{"an incomplete hour above the limit fires", twoLevels,
			[]in{{80, true}, {160, false}},
			[]string{"AQIAbove100/warning/aqi:firing", "AQIAbove150/critical/aqi:firing"}},
		{"a complete hour after an incomplete one still resolves", twoLevels,
			[]in{{172, true}, {79, false}, {79, true}},
			[]string{"AQIAbove100/warning/aqi:firing", "AQIAbove150/critical/aqi:firing",
				"AQIAbove100/warning/aqi:resolved", "AQIAbove150/critical/aqi:resolved"}},
		{"an incomplete hour below the limit does not reset a pending alert", held,
			[]in{{160, true}, {79, false}, {160, true}},
			[]string{"AQIAbove150/critical/aqi:pending", "AQIAbove150/critical/aqi:firing"}},
		{"an incomplete hour above the limit counts towards for", held,
			[]in{{160, true}, {155, false}, {160, true}},
			[]string{"AQIAbove150/critical/aqi:pending", "AQIAbove150/critical/aqi:firing"}},
		{"for a lower limit an incomplete hour under it raises nothing, above it it resolves",
			"rules:\n  - {name: AQIBelow20, param: aqi, aggregate: instant, limit: 20, direction: below}\n",
			[]in{{10, false}, {10, true}, {30, false}},
			[]string{"AQIBelow20/critical/aqi:firing", "AQIBelow20/critical/aqi:resolved"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := airStation("s", time.Hour)
			t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
			te := newTestEngine(t, tc.rules, []*station.Station{st}, testConfig(t.TempDir()), t0)
			for i, x := range tc.in {
				h := t0.Add(time.Duration(i) * time.Hour)
				te.clock.Set(h.Add(time.Hour))
				if x.complete {
					te.ObserveValue(st, "aqi", h, x.v)
				} else {
					te.ObserveLowerBound(st, "aqi", h, x.v)
				}
			}
			if got := te.lines.transitions(); !slices.Equal(got, tc.want) {
				t.Errorf("transitions %v, want %v", got, tc.want)
			}
		})
	}
}

// pH must lie in 6–9 for every class: a range has no "approaching the
// limit" (max(v/9, 6/v) ≥ 0.9 for pH above 8.1 or under 6.67, ordinary
// river values), so range items get no warning level; leaving the range
// is still critical.
func TestRangeItemsHaveNoApproachLevel(t *testing.T) {
	rules := `
rules:
  - {name: Water, stations: {kind: water}, aggregate: water_class, warn_ratio: 0.9, hysteresis: 0.05}
`
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	// A pH warning firing when a version that still raised them stopped.
	savedPHWarning := `{"version":1,"saved":"2026-11-28T07:00:00Z","alerts":[{"rule":"Water","station":"w","param":"ph",
"severity":"warning","state":"firing","active_at":"2026-11-28T04:00:00Z","fired_at":"2026-11-28T04:00:00Z",
"eval_at":"2026-11-28T04:00:00Z","value":8.3,"limit":9,"threshold":8.1,"ratio":0.922,"sent":true,"class":1,"target_class":2}]}`
	for _, tc := range []struct {
		name  string
		saved string
		ph    float64
		want  []string
	}{
		{"pH 8.2 is normal river water", "", 8.2, nil},
		{"pH 8.9 is inside the range", "", 8.9, nil},
		{"pH 6.5 is inside the range", "", 6.5, nil},
		{"pH 9 is on the range's end, which complies", "", 9, nil},
		{"pH 9.5 is outside the range: critical only", "", 9.5, []string{"Water/critical/ph:firing"}},
		{"pH 5.5 is outside the range: critical only", "", 5.5, []string{"Water/critical/ph:firing"}},
		{"a pH warning saved by an older version resolves", savedPHWarning, 8.2, []string{"Water/warning/ph:resolved"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := waterStation("w")
			cfg := testConfig(t.TempDir())
			if tc.saved != "" {
				if err := os.WriteFile(cfg.StateFile, []byte(tc.saved), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			te := newTestEngine(t, rules, []*station.Station{st}, cfg, t0)
			te.Observe(st, reading(st.ID, t0, val("ph", tc.ph), val("do", 8), val("nh3n", 0.1)))
			if got := te.lines.transitions(); !slices.Equal(got, tc.want) {
				t.Errorf("transitions %v, want %v", got, tc.want)
			}
		})
	}
}

// A year-to-date alert is about one year. When the series has moved on
// to a new year that has fewer than min_days daily means, the alert of the
// past year ends at the new year's first value, rather than firing on
// (re-sent every resend_interval) with last year's value for min_days
// days. Within one year, too few days (e.g. after a restart that lost the
// windows file) still leave the alert as it is.
func TestYearToDateAlertOfThePastYearEndsWithIt(t *testing.T) {
	const ytdRule = `{name: PM25YTD, param: pm25, stations: {kind: air}, aggregate: ytd_mean, min_days: 30,
      limit: "zhuzhou:pm25:annual", warn_ratio: 0.9, hysteresis: 0.02`
	cst := time.FixedZone("CST", 8*3600)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, cst) }
	fired := []string{"PM25YTD/warning/pm25:firing", "PM25YTD/critical/pm25:firing"}
	resolved := []string{"PM25YTD/warning/pm25:resolved", "PM25YTD/critical/pm25:resolved"}
	for _, tc := range []struct {
		name       string
		rule       string
		from, to   time.Time // one value of 60 an hour, to inclusive
		restart    string    // "", "keep windows", "lose windows"
		next       time.Time // then five days of 10 an hour from next
		wantBefore []string  // transitions by `to`
		wantAfter  []string  // transitions from next on
		endsAt     time.Time // when wantAfter resolves (zero: nothing ends)
	}{
		{"a December alert resolves at the first value of January", "  - " + ytdRule + "}\n",
			day(2026, 11, 22), day(2026, 12, 31), "", day(2027, 1, 1),
			fired, resolved, day(2027, 1, 1)},
		{"after a restart that kept the windows file, likewise", "  - " + ytdRule + "}\n",
			day(2026, 11, 22), day(2026, 12, 31), "keep windows", day(2027, 1, 1),
			fired, resolved, day(2027, 1, 1)},
		{"after a restart that lost the windows file, likewise", "  - " + ytdRule + "}\n",
			day(2026, 11, 22), day(2026, 12, 31), "lose windows", day(2027, 1, 1),
			fired, resolved, day(2027, 1, 1)},
		{"a pending alert of the past year is dropped", "  - " + ytdRule + ", for: 2400h}\n",
			day(2026, 11, 22), day(2026, 12, 31), "", day(2027, 1, 3),
			[]string{"PM25YTD/warning/pm25:pending", "PM25YTD/critical/pm25:pending"},
			[]string{"PM25YTD/warning/pm25:inactive", "PM25YTD/critical/pm25:inactive"}, day(2027, 1, 3)},
		{"within the year, too few days after losing the windows file leave it firing", "  - " + ytdRule + "}\n",
			day(2026, 6, 1), day(2026, 7, 10), "lose windows", day(2026, 7, 11),
			fired, nil, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := airStation("s", time.Hour)
			cfg := testConfig(t.TempDir())
			te := newTestEngine(t, "rules:\n"+tc.rule, []*station.Station{st}, cfg, tc.from)
			for d := tc.from; !d.After(tc.to); d = d.AddDate(0, 0, 1) {
				te.hourlyDays(st, d, 1, "pm25", 60)
			}
			if got := te.lines.transitions(); !slices.Equal(got, tc.wantBefore) {
				t.Fatalf("transitions by %v: %v, want %v", tc.to, got, tc.wantBefore)
			}
			switch tc.restart {
			case "keep windows":
				te.saveWindows(te.clock.Now())
			case "lose windows":
				if err := os.Remove(cfg.StateFile + ".windows"); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
			if tc.restart != "" {
				te.disp.stop(time.Second)
				te.start(t)
			}
			te.lines.lines = nil
			te.hourlyDays(st, tc.next, 5, "pm25", 10)
			if got := te.lines.transitions(); !slices.Equal(got, tc.wantAfter) {
				t.Fatalf("transitions from %v: %v, want %v", tc.next, got, tc.wantAfter)
			}
			for _, p := range te.lines.points() {
				if p.ts != strconv.FormatInt(tc.endsAt.UnixNano(), 10) || !strings.HasPrefix(p.fields, "value=10,") {
					t.Errorf("%s at %s (%s), want at %v with the new year's value 10", p.tags["state"], p.ts, p.fields, tc.endsAt)
				}
			}
			if want := 2 - len(tc.wantAfter); len(te.Alerts()) != want {
				t.Errorf("%d alerts still pending or firing, want %d: %+v", len(te.Alerts()), want, te.Alerts())
			}
		})
	}
}

// TestYearToDateCountsClosedValidDaysOnly: the year-to-date mean is that
// of alert/derive's compliance figures (pm25_ytd): the mean of the closed
// days' 24-hour means, a day counting with at least 20 valid hours, an
// hour with at least 45 minutes of data.
func TestYearToDateCountsClosedValidDaysOnly(t *testing.T) {
	const rules = `
rules:
  - {name: PM25YTD, param: pm25, stations: {kind: air}, aggregate: ytd_mean, min_days: 30, limit: "zhuzhou:pm25:annual", warn_ratio: 0.9, hysteresis: 0.02}
`
	warning := "PM25YTD/warning/pm25:firing"
	type days struct {
		n       int     // days
		v       float64 // every value
		hours   int     // hours a day from 00:00 with data
		perHour int     // readings an hour, evenly spread
	}
	for _, tc := range []struct {
		name     string
		interval time.Duration
		feed     []days
		want     []string
	}{
		{name: "the open day does not count (40 days at 44, then 90 at 00:00)", interval: time.Hour,
			feed: []days{{40, 44, 24, 1}, {1, 90, 1, 1}}, want: []string{warning}},
		{name: "a day with fewer than 20 valid hours does not count", interval: time.Hour,
			feed: []days{{40, 44, 24, 1}, {1, 200, 19, 1}, {1, 44, 1, 1}}, want: []string{warning}},
		{name: "an hour with fewer than 45 minutes of data is not valid", interval: 15 * time.Minute,
			feed: []days{{40, 44, 24, 4}, {1, 200, 24, 2}, {1, 44, 1, 4}}, want: []string{warning}},
		{name: "a day with 20 valid hours counts", interval: time.Hour,
			feed: []days{{40, 44, 24, 1}, {1, 200, 20, 1}, {1, 44, 1, 1}},
			want: []string{warning, "PM25YTD/critical/pm25:firing"}},
		{name: "the 30th closed day starts the judging", interval: time.Hour,
			feed: []days{{30, 50, 24, 1}, {1, 50, 1, 1}},
			want: []string{warning, "PM25YTD/critical/pm25:firing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := airStation("s", tc.interval)
			day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
			te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), day)
			for _, f := range tc.feed {
				for range f.n {
					for h := range f.hours {
						for k := range f.perHour {
							at := day.Add(time.Duration(h)*time.Hour + time.Duration(k)*time.Hour/time.Duration(f.perHour))
							te.clock.Set(at.Add(time.Minute))
							te.Observe(st, reading("s", at, val("pm25", f.v)))
						}
					}
					day = day.AddDate(0, 0, 1)
				}
			}
			if got := te.lines.transitions(); !slices.Equal(got, tc.want) {
				t.Errorf("transitions %v, want %v", got, tc.want)
			}
		})
	}
}

// The built-in texts, word for word: Chinese without English in it, pH
// named once and without unit spaces, "worse than Class V", one 断面.
func TestBuiltInTextsReadWell(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	air := func() *station.Station { return airStation("s", time.Minute) }
	water := func(name, section string) func() *station.Station {
		return func() *station.Station {
			st := waterStation("w")
			st.Name, st.Section = name, section
			return st
		}
	}
	const waterRule = "rules:\n  - {name: Water, stations: {kind: water}, aggregate: water_class}\n"
	pm10Day := func(limit string) string {
		return "rules:\n  - {name: PM10Day, param: pm10, aggregate: instant, limit: \"" + limit + "\"}\n"
	}
	inJune := time.Date(2026, 6, 1, 1, 0, 0, 0, cst)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, lang, rules string
		st                func() *station.Station
		at                time.Time
		vals              []ingest.Value
		summary, desc     string
	}{
		{"Chinese GB 3095-2026 transitional limit", "zh", pm10Day("gb3095:pm10:24h"), air, inJune,
			[]ingest.Value{val("pm10", 130)},
			"Station s PM10 实时值 130 µg/m³，超过限值 120 µg/m³",
			"Hetang Station s（s）PM10 实时值为 130 µg/m³，超过限值 120 µg/m³（GB 3095-2026 过渡期二级）。自 2026-06-01 01:00 起。"},
		{"Chinese GB 3095-2026 final limit", "zh", pm10Day("gb3095-2026-final:pm10:24h"), air, inJune,
			[]ingest.Value{val("pm10", 130)},
			"Station s PM10 实时值 130 µg/m³，超过限值 100 µg/m³",
			"Hetang Station s（s）PM10 实时值为 130 µg/m³，超过限值 100 µg/m³（GB 3095-2026 最终限值二级）。自 2026-06-01 01:00 起。"},
		{"Chinese GB 3095-2012 limit", "zh", pm10Day("gb3095:pm10:24h"), air, time.Date(2026, 2, 1, 1, 0, 0, 0, cst),
			[]ingest.Value{val("pm10", 160)},
			"Station s PM10 实时值 160 µg/m³，超过限值 150 µg/m³",
			"Hetang Station s（s）PM10 实时值为 160 µg/m³，超过限值 150 µg/m³（GB 3095-2012 二级）。自 2026-02-01 01:00 起。"},
		{"English pH worse than Class V", "en", waterRule, water("枫溪", "枫溪"), t0,
			[]ingest.Value{val("ph", 9.5), val("do", 8)},
			"枫溪: pH 9.5 fails Class II (≤ 9)",
			"湘江 枫溪 (Lusong): pH 9.5 is worse than Class V, target Class II; the GB 3838-2002 Class II limit is 9, 106% of it. Since 2026-11-28 16:00 CST."},
		{"Chinese pH worse than Class V", "zh", waterRule, water("枫溪", "枫溪"), t0,
			[]ingest.Value{val("ph", 9.5), val("do", 8)},
			"枫溪断面pH 值 9.5，劣于II类标准（≤ 9）",
			"湘江枫溪断面（Lusong）pH 值 9.5，为劣V类，目标II类；GB 3838-2002 II类限值 9，达到限值的 106%。自 2026-11-28 16:00 起。"},
		{"English ammonia in Class III", "en", waterRule, water("枫溪", "枫溪"), t0,
			[]ingest.Value{val("nh3n", 0.6), val("do", 8)},
			"枫溪: ammonia nitrogen (NH3-N) 0.6 mg/L fails Class II (≤ 0.5 mg/L)",
			"湘江 枫溪 (Lusong): ammonia nitrogen (NH3-N) 0.6 mg/L is Class III, target Class II; the GB 3838-2002 Class II limit is 0.5 mg/L, 120% of it. Since 2026-11-28 16:00 CST."},
		{"Chinese names already ending in 断面", "zh", waterRule, water("枫溪断面", "枫溪断面"), t0,
			[]ingest.Value{val("nh3n", 0.6), val("do", 8)},
			"枫溪断面氨氮（NH3-N） 0.6 mg/L，劣于II类标准（≤ 0.5 mg/L）",
			"湘江枫溪断面（Lusong）氨氮（NH3-N） 0.6 mg/L，为III类，目标II类；GB 3838-2002 II类限值 0.5 mg/L，达到限值的 120%。自 2026-11-28 16:00 起。"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st()
			cfg := testConfig(t.TempDir())
			cfg.Lang = tc.lang
			te := newTestEngine(t, tc.rules, []*station.Station{st}, cfg, tc.at)
			te.Observe(st, reading(st.ID, tc.at, tc.vals...))
			n := te.rec.waitFor(t, 1)[0]
			checkTexts(t, n, tc.summary, tc.desc)
		})
	}
}

// checkTexts compares a notification's summary and description.
func checkTexts(t *testing.T, n Notification, summary, desc string) {
	t.Helper()
	if s := n.Annotations["summary"]; s != summary {
		t.Errorf("summary\n got %s\nwant %s", s, summary)
	}
	if d := n.Annotations["description"]; d != desc {
		t.Errorf("description\n got %s\nwant %s", d, desc)
	}
}

func TestParamNameNamesACodeOnce(t *testing.T) {
	for _, tc := range []struct {
		param string
		lang  Lang
		want  string
	}{
		{"ph", LangZH, "pH 值"},
		{"ph", LangEN, "pH"},
		{"nh3n", LangZH, "氨氮（NH3-N）"},
		{"nh3n", LangEN, "ammonia nitrogen (NH3-N)"},
		{"so2", LangZH, "二氧化硫（SO2）"},
	} {
		if got := ParamName(tc.param, tc.lang); got != tc.want {
			t.Errorf("ParamName(%q, %v) = %q, want %q", tc.param, tc.lang, got, tc.want)
		}
	}
}

// stripWindows removes keys from the windows file and its recent entries,
// as an older envpipe wrote it.
func stripWindows(t *testing.T, path string, keys ...string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		delete(m, k)
		for _, r := range m["recent"].([]any) {
			delete(r.(map[string]any), k)
		}
	}
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// An end says the value that ended the alert beside the limit, and when the
// alert began, not "above the limit" and "since".
func TestBuiltInTextsOfAnEnd(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	at := time.Date(2026, 2, 1, 1, 0, 0, 0, cst)
	const pm10 = "rules:\n  - {name: PM10Day, param: pm10, aggregate: instant, limit: \"gb3095:pm10:24h\"}\n"
	const water = "rules:\n  - {name: Water, stations: {kind: water}, aggregate: water_class}\n"
	for _, tc := range []struct {
		name, lang, rules string
		water             bool
		vals              [2]ingest.Value
		summary, desc     string
	}{
		{"English value", "en", pm10, false, [2]ingest.Value{val("pm10", 160), val("pm10", 20)},
			"Station s: PM10 value 20 µg/m³ (limit 150 µg/m³)",
			"Station s (s, Hetang): PM10 value 20 µg/m³, the limit is 150 µg/m³ (GB 3095-2012 Grade II, 24h). The alert began at 2026-02-01 01:00 CST."},
		{"Chinese value", "zh", pm10, false, [2]ingest.Value{val("pm10", 160), val("pm10", 20)},
			"Station s PM10 实时值 20 µg/m³，限值 150 µg/m³",
			"Hetang Station s（s）PM10 实时值为 20 µg/m³，限值 150 µg/m³（GB 3095-2012 二级）。告警始于 2026-02-01 01:00。"},
		{"English water", "en", water, true, [2]ingest.Value{val("nh3n", 0.6), val("nh3n", 0.2)},
			"枫溪: ammonia nitrogen (NH3-N) 0.2 mg/L, Class II (≤ 0.5 mg/L)",
			"湘江 枫溪 (Lusong): ammonia nitrogen (NH3-N) 0.2 mg/L is Class II, target Class II; the GB 3838-2002 Class II limit is 0.5 mg/L, 40% of it. The alert began at 2026-02-01 01:00 CST."},
		{"Chinese water", "zh", water, true, [2]ingest.Value{val("nh3n", 0.6), val("nh3n", 0.2)},
			"枫溪断面氨氮（NH3-N） 0.2 mg/L，II类标准（≤ 0.5 mg/L）",
			"湘江枫溪断面（Lusong）氨氮（NH3-N） 0.2 mg/L，为II类，目标II类；GB 3838-2002 II类限值 0.5 mg/L，达到限值的 40%。告警始于 2026-02-01 01:00。"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := airStation("s", time.Minute)
			if tc.water {
				st = waterStation("w")
			}
			cfg := testConfig(t.TempDir())
			cfg.Lang = tc.lang
			te := newTestEngine(t, tc.rules, []*station.Station{st}, cfg, at)
			extra := []ingest.Value{}
			if tc.water {
				extra = append(extra, val("do", 8))
			}
			te.Observe(st, reading(st.ID, at, append(extra, tc.vals[0])...))
			te.Observe(st, reading(st.ID, at.Add(4*time.Hour), append(extra, tc.vals[1])...))
			ns := te.rec.waitFor(t, 2)
			n := ns[len(ns)-1]
			if n.Status != StatusResolved {
				t.Fatalf("last notification %s, want resolved", n.Status)
			}
			checkTexts(t, n, tc.summary, tc.desc)
		})
	}
}

// A lake's total nitrogen does not decide its class (环办[2011]22号,
// standards.md §1.3): a drinking-water reservoir with every deciding item
// in Class II raises no class alert for it; ammonia beyond Class II does.
func TestLakeTotalNitrogenRaisesNoClassAlert(t *testing.T) {
	const rules = "rules:\n  - {name: Water, stations: {kind: water}, aggregate: water_class}\n"
	st := waterStation("w")
	st.Waterbody = "lake"
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), at)
	te.Observe(st, reading(st.ID, at, val("do", 7), val("codmn", 3), val("nh3n", 0.3), val("tp", 0.02), val("tn", 1.8)))
	te.Flush()
	time.Sleep(50 * time.Millisecond)
	if got := te.rec.all(); len(got) != 0 {
		t.Fatalf("notifications %v, want none", got)
	}
	te.Observe(st, reading(st.ID, at.Add(4*time.Hour), val("do", 7), val("nh3n", 0.6), val("tn", 1.8)))
	n := te.rec.waitFor(t, 1)[0]
	if n.Labels["param"] != "nh3n" {
		t.Errorf("alert on %q, want nh3n", n.Labels["param"])
	}
}

// A section's daily mean (HJ 212 2031) comes after its day ends, stamped
// with the day's start: it pages as new data, not as backfill.
func TestADailyWaterMeanPages(t *testing.T) {
	const rules = "rules:\n  - {name: Water, stations: {kind: water}, aggregate: water_class}\n"
	st := waterStation("w")
	st.Interval = 24 * time.Hour
	day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), day.Add(24*time.Hour+30*time.Minute))
	r := reading(st.ID, day, val("nh3n", 1.2), val("do", 7))
	r.Period = ingest.PeriodDay
	te.Observe(st, r)
	if n := te.rec.waitFor(t, 1)[0]; n.Labels["param"] != "nh3n" || n.Status != StatusFiring {
		t.Errorf("notification %v %s, want nh3n firing", n.Labels, n.Status)
	}
}
