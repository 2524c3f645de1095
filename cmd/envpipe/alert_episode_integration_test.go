package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/envpipe/envpipe/alert"
	"github.com/envpipe/envpipe/internal/testenv"
)

// shippedRules returns configs/rules.yaml reduced to the named rules, so
// that the tests exercise the rules envpipe ships.
func shippedRules(t *testing.T, names ...string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "configs", "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rules []yaml.Node `yaml:"rules"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var keep []yaml.Node
	for _, n := range doc.Rules {
		var r struct {
			Name string `yaml:"name"`
		}
		if err := n.Decode(&r); err == nil && slices.Contains(names, r.Name) {
			keep = append(keep, n)
		}
	}
	if len(keep) != len(names) {
		t.Fatalf("configs/rules.yaml: found %d of the rules %v", len(keep), names)
	}
	out, err := yaml.Marshal(map[string]any{"rules": keep})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestPM10EpisodeThroughAlertmanager is Done-when 1 of issue 4: a
// simulated PM10 episode, published over MQTT with readings 10 minutes
// apart in event time, whose 24 h mean rises through 63 (warning) and 70
// µg/m³ (critical), wavers inside the critical band, and falls back, is
// delivered by a real Alertmanager to a webhook as exactly: warning
// firing, critical firing, critical resolved, warning resolved, once each,
// in that order, with the right labels and values. Then a mean wavering
// inside the warning's band yields nothing more.
func TestPM10EpisodeThroughAlertmanager(t *testing.T) {
	testenv.Integration(t)
	const stations = `stations:
  - {id: zz-air-0101, name: 市监测站, kind: air, county: Hetang, lat: 27.864, lon: 113.165, interval: 10m}
`
	s := startAlertStack(t, stations, shippedRules(t, "PM10Mean24hAbovePlanTarget"), func(c *alert.Config) {
		c.Horizon = 1000 * time.Hour // the episode is replayed from four days ago
	})

	// The schedule of values, 10 minutes apart, ending an hour ago.
	var values []float64
	add := func(n int, v float64) {
		for range n {
			values = append(values, v)
		}
	}
	add(144, 50)   // a clean day: mean 50
	add(65, 100)   // mean rises through 63 and 70 to about 72.6
	add(144, 68.5) // the window fills with 68.5: the mean peaks near 83, then settles on 68.5
	for _, v := range []float64{75, 62, 75, 62} {
		add(20, v) // the mean wavers 67.6–69.4: inside the critical band (66.5, 70]
	}
	add(40, 20)    // falls through 66.5 (critical resolves) and 59.85 (warning resolves)
	add(144, 61.5) // settles at 61.5, under 63
	for _, v := range []float64{64, 59, 64, 59} {
		add(20, v) // wavers 61.1–61.9: inside the warning's band, under its threshold
	}
	start := time.Now().Add(-time.Hour - time.Duration(len(values))*10*time.Minute).Truncate(time.Minute)

	// Publish, pacing on the engine: after each transition, wait until the
	// webhook has it, so that Alertmanager's separate groups cannot
	// reorder two transitions that happened a few readings apart.
	var transitions int
	firing := map[string]bool{}
	for i, v := range values {
		s.pub.publish("zz-air-0101", start.Add(time.Duration(i)*10*time.Minute), map[string]float64{"pm10": v})
		now := s.firing()
		changed := 0
		for k := range now {
			if !firing[k] {
				changed++
			}
		}
		for k := range firing {
			if !now[k] {
				changed++
			}
		}
		if changed > 0 {
			transitions += changed
			s.hook.waitFor(t, transitions, 15*time.Second)
			firing = now
		}
	}
	// Let Alertmanager flush anything late, while envpipe re-posts the
	// (resolved-by-now) state every second.
	time.Sleep(4 * time.Second)

	got := s.hook.all()
	want := []string{
		"PM10Mean24hAbovePlanTarget/warning/pm10:firing",
		"PM10Mean24hAbovePlanTarget/critical/pm10:firing",
		"PM10Mean24hAbovePlanTarget/critical/pm10:resolved",
		"PM10Mean24hAbovePlanTarget/warning/pm10:resolved",
	}
	if len(got) != len(want) {
		t.Fatalf("webhook got %d alerts: %s\nwant %v", len(got), joinHook(got), want)
	}
	for i, w := range want {
		if got[i].String() != w {
			t.Errorf("webhook alert %d: %s, want %s", i, got[i], w)
		}
	}
	for _, a := range got {
		t.Logf("webhook: %-50s value %-7s threshold %-3s startsAt %s endsAt %s (received %s)", a, a.Annotations["value"],
			a.Annotations["threshold"], a.StartsAt.In(cst).Format(time.DateTime), a.EndsAt.In(cst).Format(time.DateTime), a.received.Format("15:04:05.000"))
	}
	valueIn := func(a hookAlert, lo, hi float64) {
		v, err := strconv.ParseFloat(a.Annotations["value"], 64)
		if err != nil || v <= lo || v > hi {
			t.Errorf("%s: value %q, want in (%v, %v]", a, a.Annotations["value"], lo, hi)
		}
	}
	// One reading moves the mean by at most about 0.7 here.
	valueIn(got[0], 63, 64)     // first mean above 63
	valueIn(got[1], 70, 71)     // first mean above 70
	valueIn(got[2], 65.5, 66.5) // first mean at or below 70 × 0.95
	valueIn(got[3], 59, 59.85)  // first mean at or below 63 × 0.95
	for i, a := range got {
		sev := []string{"warning", "critical", "critical", "warning"}[i]
		wantLabels := map[string]string{"alertname": "PM10Mean24hAbovePlanTarget", "station": "zz-air-0101",
			"county": "Hetang", "param": "pm10", "severity": sev, "team": "air", "source": "plan"}
		if len(a.Labels) != len(wantLabels) {
			t.Errorf("%s: labels %v, want %v", a, a.Labels, wantLabels)
		}
		for k, v := range wantLabels {
			if a.Labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q", a, k, a.Labels[k], v)
			}
		}
		wantThr := map[string]string{"warning": "63", "critical": "70"}[sev]
		if a.Annotations["threshold"] != wantThr || a.Annotations["limit"] != "70" || a.Annotations["summary"] == "" || a.Annotations["description"] == "" {
			t.Errorf("%s: annotations %v", a, a.Annotations)
		}
	}
	// startsAt is the event time of the first mean above the threshold and
	// stays on resolution; a resolution's endsAt is its event time.
	if !got[0].StartsAt.Equal(got[3].StartsAt) || !got[1].StartsAt.Equal(got[2].StartsAt) {
		t.Errorf("startsAt changed between firing and resolved: %v %v %v %v", got[0].StartsAt, got[3].StartsAt, got[1].StartsAt, got[2].StartsAt)
	}
	if !got[0].StartsAt.Before(got[1].StartsAt) || !got[1].StartsAt.Before(got[2].EndsAt) || !got[2].EndsAt.Before(got[3].EndsAt) {
		t.Errorf("times out of order: %v %v %v %v", got[0].StartsAt, got[1].StartsAt, got[2].EndsAt, got[3].EndsAt)
	}
	if got[0].StartsAt.Before(start) || got[3].EndsAt.After(time.Now()) {
		t.Errorf("times outside the episode: %v … %v", got[0].StartsAt, got[3].EndsAt)
	}

	// Every transition is in InfluxDB, for Grafana annotations.
	waitCount(t, s.influx, "alerts", "value", 4, 30*time.Second)
	if pts := s.alertPoints(t); !slices.Equal(pts, want) {
		t.Errorf("alerts in InfluxDB %v, want %v", pts, want)
	}
}
