package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/internal/testenv"
)

// soak reports whether the long variants run (make soak).
func soak() bool { return os.Getenv("ENVPIPE_SOAK") == "1" }

// readings builds n messages from stations st-000..st-(stations-1), one
// reading each, with distinct timestamps per station.
func readings(n, stations int, base time.Time) [][2]string {
	msgs := make([][2]string, n)
	for i := range msgs {
		s := i % stations
		ts := base.Add(time.Duration(i/stations) * time.Second)
		msgs[i] = [2]string{fmt.Sprintf("env/st-%03d/data", s),
			fmt.Sprintf(`{"station":"st-%03d","time":"%s","values":{"pm25":%d.5,"pm10":%d,"so2":8,"no2":31,"co":0.8,"o3":92}}`,
				s, ts.Format(time.RFC3339Nano), i%300, i%500)}
	}
	return msgs
}

func TestInfluxOutageIsRiddenOutAndCaughtUp(t *testing.T) {
	testenv.Integration(t)
	outage := 8 * time.Second
	if soak() {
		outage = 60 * time.Second
	}
	const n = 20000
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	influxd := testenv.InfluxDB(t)
	dir := t.TempDir()
	testStations(t, dir, 100)
	port := testenv.FreePort(t)
	d := startDaemon(t, dir, writeConfig(t, dir, broker.URL(), influxd.URL(), port, ""), port)

	influxd.Stop()
	pub := newReliablePublisher(t, broker.URL(), "pub-outage")
	start := time.Now()
	pub.publish(readings(n, 100, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)), outage*3/4)

	// envpipe keeps acking the broker: every reading is accepted into the WAL
	// while InfluxDB is down.
	deadline := time.Now().Add(30 * time.Second)
	for d.metric(`envpipe_readings_accepted_total{kind="air"}`) < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := d.metric(`envpipe_readings_accepted_total{kind="air"}`); got != n {
		t.Fatalf("accepted %v readings during the outage, want %d", got, n)
	}
	time.Sleep(time.Until(start.Add(outage)))
	body, code := d.get("/readyz")
	if code != 503 || !strings.Contains(body, `"influxdb":{"ok":false`) {
		t.Errorf("/readyz during the outage: %d %s", code, body)
	}
	// What a load balancer in front of the HJ 212 listener asks: the WAL
	// takes readings through the outage.
	if body, code := d.get("/readyz?exclude=influxdb"); code != 200 || strings.Contains(body, "influxdb") {
		t.Errorf("/readyz?exclude=influxdb during the outage: %d %s", code, body)
	}
	if b := d.metric("envpipe_wal_bytes"); b < n*50 {
		t.Errorf("WAL holds %v bytes during the outage", b)
	}
	if age := d.metric("envpipe_wal_oldest_unwritten_age_seconds"); age < outage.Seconds()/2 {
		t.Errorf("oldest unwritten age %vs after a %s outage", age, outage)
	}
	if errs := d.metric(`envpipe_influx_write_errors_total{kind="retry"}`); errs < 1 {
		t.Errorf("write errors not counted: %v", errs)
	}

	influxd.Start()
	waitCount(t, influxd, "air", "pm25", n, 60*time.Second)
	if _, code := d.get("/readyz"); code != 200 {
		t.Errorf("/readyz %d after InfluxDB returned", code)
	}
	if b := d.metric("envpipe_wal_bytes"); b != 0 {
		t.Errorf("WAL still holds %v bytes after catching up", b)
	}
	t.Logf("outage %s: %d readings acked into the WAL, all %d in InfluxDB %s after it ended",
		outage, n, n, (time.Since(start) - outage).Round(100*time.Millisecond))
}

func TestSIGKILLAtRandomPointsLosesNothing(t *testing.T) {
	testenv.Integration(t)
	n, kills := 20000, 3
	if soak() {
		n, kills = 100000, 10
	}
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	influxd := testenv.InfluxDB(t)
	dir := t.TempDir()
	testStations(t, dir, 100)
	port := testenv.FreePort(t)
	p := spawnEnvpipe(t, dir, writeConfig(t, dir, broker.URL(), influxd.URL(), port, ""), port)
	waitSubscribed(t, p)

	pub := newReliablePublisher(t, broker.URL(), "pub-crash")
	done := make(chan struct{})
	go func() {
		defer close(done)
		pub.publish(readings(n, 100, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)), 10*time.Second)
	}()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for k := 0; k < kills; k++ {
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
		p.kill()
		torn := false
		if k == 1 {
			// Power loss: a torn record at the WAL's tail. Recovery must cut
			// it off and keep every complete record before it.
			torn = tearWALTail(t, filepath.Join(dir, "wal"))
		}
		p.start()
		if torn {
			if tb := (&daemon{httpURL: p.httpURL}).metric("envpipe_wal_truncated_bytes_total"); tb != 19 {
				t.Errorf("recovery truncated %v bytes, want the 19 torn ones", tb)
			}
		}
	}
	<-done
	waitCount(t, influxd, "air", "pm25", n, 90*time.Second)
	if err := p.term(); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	t.Logf("%d readings, %d SIGKILLs, %d publish retries: InfluxDB holds exactly %d", n, kills, pub.failed, n)
}

// tearWALTail appends half a record (a plausible header, then garbage) to
// the newest WAL segment, as a crash in the middle of a write would.
func tearWALTail(t *testing.T, walDir string) bool {
	segs, _ := filepath.Glob(filepath.Join(walDir, "*.seg"))
	if len(segs) == 0 {
		t.Log("no WAL segment to tear (all written and deleted)")
		return false
	}
	sort.Strings(segs)
	f, err := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 'a', 'i', 'r'})
	return true
}

func waitSubscribed(t *testing.T, p *proc) {
	t.Helper()
	d := daemon{httpURL: p.httpURL}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if d.metric("envpipe_mqtt_connected") == 1 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("envpipe child did not subscribe within 20s")
}

func TestBrokerRestartMidStreamLosesNothing(t *testing.T) {
	testenv.Integration(t)
	const n = 20000
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	influxd := testenv.InfluxDB(t)
	dir := t.TempDir()
	testStations(t, dir, 100)
	port := testenv.FreePort(t)
	d := startDaemon(t, dir, writeConfig(t, dir, broker.URL(), influxd.URL(), port, ""), port)

	pub := newReliablePublisher(t, broker.URL(), "pub-restart")
	done := make(chan struct{})
	go func() {
		defer close(done)
		pub.publish(readings(n, 100, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)), 6*time.Second)
	}()
	time.Sleep(2 * time.Second)
	broker.Restart()
	<-done
	waitCount(t, influxd, "air", "pm25", n, 60*time.Second)
	if lost := d.metric("envpipe_mqtt_connection_lost_total"); lost < 1 {
		t.Errorf("the broker restart was not noticed (connection_lost_total %v)", lost)
	}
	if pub.reconnects < 1 {
		t.Errorf("the publisher never reconnected: the broker restart missed it")
	}
	t.Logf("broker restarted mid-stream; the publisher reconnected %d times, %d publish retries; InfluxDB holds exactly %d", pub.reconnects, pub.failed, n)
}

func TestWALSizeLimitStopsAckingAndResumes(t *testing.T) {
	testenv.Integration(t)
	const n = 30000
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	influxd := testenv.InfluxDB(t)
	dir := t.TempDir()
	testStations(t, dir, 100)
	port := testenv.FreePort(t)
	cfg := writeConfig(t, dir, broker.URL(), influxd.URL(), port, "")
	editConfig(t, cfg, "wal: {dir: wal, segment_size_mb: 1}", "wal: {dir: wal, segment_size_mb: 1, max_size_mb: 1}")
	d := startDaemon(t, dir, cfg, port)

	influxd.Stop()
	pub := newReliablePublisher(t, broker.URL(), "pub-limit")
	pub.publish(readings(n, 100, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)), 0)

	deadline := time.Now().Add(20 * time.Second)
	for d.metric("envpipe_wal_blocked") != 1 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if d.metric("envpipe_wal_blocked") != 1 {
		t.Fatal("envpipe_wal_blocked never became 1")
	}
	time.Sleep(1500 * time.Millisecond)
	accepted := d.metric(`envpipe_readings_accepted_total{kind="air"}`)
	if accepted >= n {
		t.Fatalf("all %v readings accepted although the WAL is capped at 1 MiB", accepted)
	}
	walBytes := d.metric("envpipe_wal_bytes")
	if walBytes > 1<<20+64<<10 {
		t.Errorf("WAL holds %v bytes, above its 1 MiB limit", walBytes)
	}
	if !strings.Contains(d.logs.String(), "WAL full") {
		t.Error("the log does not say the WAL is full")
	}
	body, code := d.get("/readyz")
	if code != 503 || !strings.Contains(body, "WAL at its size limit") {
		t.Errorf("/readyz while blocked: %d %s", code, body)
	}

	// SIGTERM while blocked: envpipe stops within its drain timeout (a
	// derived point blocked on the full WAL must not hold it until InfluxDB
	// returns; see TestRunStopsWhileAnEmitIsBlockedOnAFullWAL), and what it
	// accepted is written after the next start.
	stopAt := time.Now()
	if err := d.Stop(); err != nil {
		t.Errorf("stopped while blocked with: %v", err)
	}
	if took := time.Since(stopAt); took > 20*time.Second {
		t.Errorf("took %v to stop while blocked", took.Round(time.Millisecond))
	}
	t.Logf("stopped in %v while blocked", time.Since(stopAt).Round(time.Millisecond))
	d = startDaemon(t, dir, cfg, port)
	// The broker's redelivery fills the WAL again.
	deadline = time.Now().Add(20 * time.Second)
	for !strings.Contains(d.logs.String(), "WAL full") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}

	influxd.Start()
	waitCount(t, influxd, "air", "pm25", n, 90*time.Second)
	deadline = time.Now().Add(5 * time.Second)
	for d.metric("envpipe_wal_blocked") != 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if d.metric("envpipe_wal_blocked") != 0 {
		t.Error("still blocked after catching up")
	}
	// The WAL's watcher logs at its next one-second tick, after the gauge
	// has already fallen.
	deadline = time.Now().Add(3 * time.Second)
	for !strings.Contains(d.logs.String(), "acking resumed") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(d.logs.String(), "acking resumed") {
		t.Error("the log does not say acking resumed")
	}
	t.Logf("WAL capped at 1 MiB: blocked with %v of %d readings accepted (%v bytes); all %d arrived after InfluxDB returned", accepted, n, walBytes, n)
}
