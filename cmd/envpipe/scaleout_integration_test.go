package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/envpipe/envpipe/internal/testenv"
)

// TestTwoReplicasShareOneSubscription runs two envpipe replicas on the
// shared subscription $share/envpipe/env/+/data: both take part, and
// InfluxDB holds every reading exactly once.
func TestTwoReplicasShareOneSubscription(t *testing.T) {
	testenv.Integration(t)
	const n = 20000
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	influxd := testenv.InfluxDB(t)
	var replicas []*daemon
	for _, id := range []string{"envpipe-a", "envpipe-b"} {
		dir := filepath.Join(t.TempDir(), id)
		os.MkdirAll(dir, 0o755)
		testStations(t, dir, 100)
		port := testenv.FreePort(t)
		cfg := writeConfig(t, dir, broker.URL(), influxd.URL(), port, "")
		editConfig(t, cfg, "  client_id: envpipe-test\n", "  client_id: "+id+"\n  shared_group: envpipe\n")
		replicas = append(replicas, startDaemon(t, dir, cfg, port))
	}
	publishAll(t, publisher(t, broker.URL(), "pub-scale"), readings(n, 100, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)))
	waitCount(t, influxd, "air", "pm25", n, 60*time.Second)
	total := 0.0
	for i, d := range replicas {
		got := d.metric(`envpipe_readings_accepted_total{kind="air"}`)
		if got <= 0 {
			t.Errorf("replica %d took no part (%v readings)", i, got)
		}
		total += got
		t.Logf("replica %d accepted %v readings", i, got)
	}
	if total != n {
		t.Errorf("replicas accepted %v readings in all, want %d (each message exactly once)", total, n)
	}
}
