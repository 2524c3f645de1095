package main

import (
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/internal/testenv"
)

// TestWaterClassAlertsNameTheItem is Done-when 2 of issue 4: at a Class II
// section, NH3-N 0.6 mg/L (Class III) fires a critical alert naming
// NH3-N; at another, 0.46 mg/L (92 % of the Class II limit 0.5) fires only
// the warning.
func TestWaterClassAlertsNameTheItem(t *testing.T) {
	testenv.Integration(t)
	const stations = `stations:
  - {id: zz-wat-xj02, name: 枫溪, kind: water, county: Lusong, river: 湘江, section: 枫溪, target_class: II, lat: 27.81, lon: 113.14, interval: 4h}
  - {id: zz-wat-ms01, name: 茶陵洣水, kind: water, county: Chaling, river: 洣水, section: 茶陵, target_class: II, lat: 26.8, lon: 113.55, interval: 4h}
`
	s := startAlertStack(t, stations, shippedRules(t, "WaterSectionBelowTargetClass"), nil)
	at := time.Now().Add(-time.Minute)
	clean := map[string]float64{"do": 7.8, "codmn": 2.1, "ph": 7.4, "tp": 0.05}
	with := func(nh3n float64) map[string]float64 {
		m := map[string]float64{"nh3n": nh3n}
		for k, v := range clean {
			m[k] = v
		}
		return m
	}
	s.pub.publish("zz-wat-xj02", at, with(0.6))
	s.pub.publish("zz-wat-ms01", at, with(0.46))

	got := s.hook.waitFor(t, 3, 15*time.Second)
	time.Sleep(3 * time.Second) // nothing more may come
	got = s.hook.all()
	by := map[string]hookAlert{}
	for _, a := range got {
		by[a.Labels["station"]+"/"+a.Labels["severity"]+"/"+a.Status] = a
		t.Logf("webhook: %s at %s: %s | %s", a, a.Labels["station"], a.Annotations["summary"], a.Annotations["description"])
	}
	if len(got) != 3 {
		t.Fatalf("webhook got %s; want the critical and warning at zz-wat-xj02 and the warning at zz-wat-ms01", joinHook(got))
	}
	crit, ok := by["zz-wat-xj02/critical/firing"]
	if !ok {
		t.Fatalf("no critical alert at zz-wat-xj02: %s", joinHook(got))
	}
	if crit.Labels["param"] != "nh3n" || crit.Labels["alertname"] != "WaterSectionBelowTargetClass" || crit.Labels["team"] != "water" {
		t.Errorf("critical labels %v", crit.Labels)
	}
	for _, k := range []string{"summary", "description"} {
		if !strings.Contains(crit.Annotations[k], "NH3-N") {
			t.Errorf("critical %s does not name NH3-N: %q", k, crit.Annotations[k])
		}
	}
	if !strings.Contains(crit.Annotations["description"], "is Class III, target Class II") || crit.Annotations["value"] != "0.6" || crit.Annotations["limit"] != "0.5" {
		t.Errorf("critical annotations %v", crit.Annotations)
	}
	if _, ok := by["zz-wat-xj02/warning/firing"]; !ok {
		t.Errorf("no approach warning at zz-wat-xj02: %s", joinHook(got))
	}
	warn, ok := by["zz-wat-ms01/warning/firing"]
	if !ok || warn.Labels["param"] != "nh3n" || !strings.Contains(warn.Annotations["summary"], "(NH3-N) 0.46 mg/L approaches Class II (≤ 0.5 mg/L)") {
		t.Errorf("warning at zz-wat-ms01: %v %v", warn.Labels, warn.Annotations)
	}
	if _, ok := by["zz-wat-ms01/critical/firing"]; ok {
		t.Error("0.46 mg/L fired a critical alert")
	}
}

// TestStaleStationFiresAndResolves is Done-when 3 of issue 4: a station
// that stops publishing fires its stale alert after 3 × its interval and
// resolves when it resumes.
func TestStaleStationFiresAndResolves(t *testing.T) {
	testenv.Integration(t)
	const stations = `stations:
  - {id: zz-air-0101, name: 市监测站, kind: air, county: Hetang, lat: 27.864, lon: 113.165, interval: 2s}
`
	s := startAlertStack(t, stations, shippedRules(t, "StationSilent"), nil)
	for range 3 {
		s.pub.publish("zz-air-0101", time.Now(), map[string]float64{"pm10": 40})
		time.Sleep(time.Second)
	}
	last := time.Now()
	s.pub.publish("zz-air-0101", last, map[string]float64{"pm10": 40})
	// Silent from now: 3 × 2 s.
	got := s.hook.waitFor(t, 1, 15*time.Second)
	firedAfter := got[0].received.Sub(last)
	t.Logf("stale alert at the webhook %v after the last reading (limit 3 × 2s; engine ticks every 1s, Alertmanager group_wait 0s)", firedAfter.Round(time.Millisecond))
	if got[0].String() != "StationSilent/warning/:firing" || got[0].Labels["station"] != "zz-air-0101" || got[0].Labels["category"] != "data" {
		t.Fatalf("webhook got %s %v", got[0], got[0].Labels)
	}
	if firedAfter < 6*time.Second || firedAfter > 10*time.Second {
		t.Errorf("fired %v after the last reading, want 6s–10s (one tick and Alertmanager's flush of slack)", firedAfter)
	}
	if !strings.HasPrefix(got[0].Annotations["summary"], "市监测站 has sent no data for ") {
		t.Errorf("summary %q", got[0].Annotations["summary"])
	}
	// It resumes.
	resumed := time.Now()
	s.pub.publish("zz-air-0101", resumed, map[string]float64{"pm10": 40})
	got = s.hook.waitFor(t, 2, 15*time.Second)
	if got[1].String() != "StationSilent/warning/:resolved" {
		t.Fatalf("webhook got %s", joinHook(got))
	}
	t.Logf("resolved at the webhook %v after the station resumed", got[1].received.Sub(resumed).Round(time.Millisecond))
	if got[1].EndsAt.Before(resumed.Add(-time.Second)) || !got[1].StartsAt.Equal(got[0].StartsAt) {
		t.Errorf("resolution startsAt %v endsAt %v", got[1].StartsAt, got[1].EndsAt)
	}
	// Keeping on publishing, nothing more comes.
	for range 4 {
		time.Sleep(time.Second)
		s.pub.publish("zz-air-0101", time.Now(), map[string]float64{"pm10": 40})
	}
	if n := len(s.hook.all()); n != 2 {
		t.Errorf("webhook got %s", joinHook(s.hook.all()))
	}
}
