package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/internal/testenv"
)

// TestFiringAlertSurvivesSIGKILL is Done-when 4 of issue 4: envpipe,
// SIGKILLed and restarted while an alert fires, leaves Alertmanager with
// one continuing alert (same fingerprint and startsAt, re-posted by the
// new process), pages no one a second time, and the alert still resolves.
//
// It runs the real daemon as a child process, so it needs run.go to wire
// the `alert` and `notify` sections of envpipe.yaml.
func TestFiringAlertSurvivesSIGKILL(t *testing.T) {
	testenv.Integration(t)
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	influxd := testenv.InfluxDB(t)
	hook := newWebhook(t)
	am := testenv.Alertmanager(t, alertmanagerConfig(hook.srv.URL))
	dir := t.TempDir()
	const stations = `stations:
  - {id: zz-air-0101, name: 市监测站, kind: air, county: Hetang, lat: 27.864, lon: 113.165, interval: 10m}
`
	if err := os.WriteFile(filepath.Join(dir, "stations.yaml"), []byte(stations), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(shippedRules(t, "PM10Mean24hAbovePlanTarget")), 0o644); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	cfg := writeConfig(t, dir, broker.URL(), influxd.URL(), port, fmt.Sprintf(`lang: en
alert:
  rules: rules.yaml
  state_file: alert-state.json
  horizon: 1000h        # the episode is replayed from two days ago
  resend_interval: 2s   # firing alerts' endsAt: now + 8s
  state_interval: 1s
notify:
  alertmanager:
    urls: [%s]
`, am.URL()))
	p := spawnEnvpipe(t, dir, cfg, port)
	waitSubscribed(t, p)
	pub := newReliablePublisher(t, broker.URL(), "pub-alert-kill")

	start := time.Now().Add(-48 * time.Hour).Truncate(time.Minute)
	n := 0
	msgs := func(count int, v float64) [][2]string {
		var out [][2]string
		for range count {
			at := start.Add(time.Duration(n) * 10 * time.Minute)
			out = append(out, [2]string{"env/zz-air-0101/data", jsonReading("zz-air-0101", at, map[string]float64{"pm10": v}, nil)})
			n++
		}
		return out
	}
	// A clean day, then a rise: the 24 h mean goes through 63 and 70.
	pub.publish(append(msgs(144, 50), msgs(65, 100)...), 0)
	got := hook.waitFor(t, 2, 30*time.Second)
	// Everything published is observed once it is in InfluxDB; then one
	// state_interval for the windows to be saved.
	waitCount(t, influxd, "air", "pm10", n, 30*time.Second)
	time.Sleep(1500 * time.Millisecond)
	before, err := am.Alerts()
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 2 {
		t.Fatalf("Alertmanager holds %d alerts before the kill, want 2 (warning, critical)", len(before))
	}

	p.kill()
	killed := time.Now()
	p.start()
	waitSubscribed(t, p)
	t.Logf("envpipe restarted %v after SIGKILL", time.Since(killed).Round(time.Millisecond))

	// The new process re-posts both at once: Alertmanager holds the same
	// two alerts, with the same fingerprints and startsAt, updated after
	// the restart, still active.
	deadline := time.Now().Add(10 * time.Second)
	for {
		after, err := am.Alerts()
		if err != nil {
			t.Fatal(err)
		}
		reposted := 0
		for _, a := range after {
			if a.UpdatedAt.After(killed) {
				reposted++
			}
		}
		if reposted == 2 || time.Now().After(deadline) {
			if len(after) != 2 || reposted != 2 {
				t.Fatalf("Alertmanager after the restart: %d alerts, %d re-posted: %+v", len(after), reposted, after)
			}
			for _, a := range after {
				var was *testenv.Alert
				for i := range before {
					if before[i].Fingerprint == a.Fingerprint {
						was = &before[i]
					}
				}
				if was == nil || !was.StartsAt.Equal(a.StartsAt) || a.Status.State != "active" || !a.EndsAt.After(time.Now()) {
					t.Errorf("after the restart %s %v startsAt %v endsAt %v; before %+v", a.Fingerprint, a.Status.State, a.StartsAt, a.EndsAt, was)
				}
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Past the old endsAt (8 s after the last re-post before the kill):
	// nothing was resolved, nobody was paged again.
	time.Sleep(9*time.Second - time.Since(killed))
	if got = hook.all(); len(got) != 2 {
		t.Fatalf("webhook after the restart: %s; want only the two first pages", joinHook(got))
	}

	// The episode ends: both resolve, once each, with their first startsAt.
	pub.publish(msgs(80, 20), 0) // the mean falls from about 72.6 to 56
	got = hook.waitFor(t, 4, 30*time.Second)
	time.Sleep(3 * time.Second)
	got = hook.all()
	var lines []string
	for _, a := range got {
		lines = append(lines, a.String())
	}
	t.Logf("webhook: %s", strings.Join(lines, ", "))
	count := map[string]int{}
	starts := map[string]time.Time{}
	for _, a := range got {
		count[a.String()]++
		if s, ok := starts[a.Labels["severity"]]; ok && !s.Equal(a.StartsAt) {
			t.Errorf("%s: startsAt %v, first page said %v", a, a.StartsAt, s)
		}
		starts[a.Labels["severity"]] = a.StartsAt
	}
	for _, w := range []string{
		"PM10Mean24hAbovePlanTarget/warning/pm10:firing", "PM10Mean24hAbovePlanTarget/critical/pm10:firing",
		"PM10Mean24hAbovePlanTarget/critical/pm10:resolved", "PM10Mean24hAbovePlanTarget/warning/pm10:resolved",
	} {
		if count[w] != 1 {
			t.Errorf("%s: %d times, want once", w, count[w])
		}
	}
	if len(got) != 4 {
		t.Errorf("webhook got %d alerts: %s", len(got), joinHook(got))
	}
	if err := p.term(); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
}
