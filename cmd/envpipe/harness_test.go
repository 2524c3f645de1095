package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/envpipe/envpipe/internal/testenv"
)

// daemon is an envpipe running in-process against real servers.
type daemon struct {
	t       *testing.T
	dir     string
	config  string
	httpURL string
	cancel  context.CancelFunc
	done    chan error
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testStations writes a stations file with n air stations st-000.. and a
// water section, and returns its path.
func testStations(t *testing.T, dir string, n int) string {
	var b strings.Builder
	b.WriteString("stations:\n")
	for i := 0; i < n; i++ {
		hj := ""
		if i < 2 { // HJ 212 identities for the first two stations
			hj = fmt.Sprintf(", hj212_mn: MN-ST%03d, hj212_password: pw%03d", i, i)
		}
		fmt.Fprintf(&b, "  - {id: st-%03d, name: S%d, kind: air, county: C%d, lat: 27.8, lon: 113.1, interval: 1m%s}\n", i, i, i%9, hj)
	}
	b.WriteString("  - {id: wat-01, name: 枫溪, kind: water, county: Lusong, river: 湘江, section: 枫溪 断面, target_class: II, lat: 27.8, lon: 113.1, interval: 4h}\n")
	p := filepath.Join(dir, "stations.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeConfig writes envpipe.yaml for the given servers; extra is appended
// YAML (top-level keys not otherwise set).
func writeConfig(t *testing.T, dir, broker, influxURL string, httpPort int, extra string) string {
	cfg := fmt.Sprintf(`stations: stations.yaml
log: {level: debug}
http: {listen: "127.0.0.1:%d"}
mqtt:
  broker: %s
  client_id: envpipe-test
  keepalive: 5s
influxdb:
  url: %s
  flush_interval: 200ms
  retry_min: 100ms
  retry_max: 1s
wal: {dir: wal, segment_size_mb: 1}
dead_letter: {path: deadletter.jsonl, influx_path: deadletter-influx.lp}
validation: {max_age: 8760h}
%s`, httpPort, broker, influxURL, extra)
	p := filepath.Join(dir, "envpipe.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startDaemon runs envpipe with config until the test ends (or Stop).
func startDaemon(t *testing.T, dir, config string, httpPort int) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{t: t, dir: dir, config: config, cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{},
		httpURL: fmt.Sprintf("http://127.0.0.1:%d", httpPort)}
	go func() { d.done <- run(ctx, config, d.logs) }()
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			t.Logf("envpipe log (tail):\n%s", tail(d.logs.String(), 4000))
		}
	})
	// Ready = the HTTP server answers and MQTT is subscribed.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if body, code := d.get("/readyz"); code == 200 || strings.Contains(body, `"mqtt":{"ok":true`) {
			return d
		}
		select {
		case err := <-d.done:
			t.Fatalf("envpipe exited at start: %v\n%s", err, d.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("envpipe not subscribed within 20s\n%s", tail(d.logs.String(), 4000))
	return nil
}

// Stop shuts envpipe down cleanly and returns run's error.
func (d *daemon) Stop() error {
	if d.cancel == nil {
		return nil
	}
	d.cancel()
	d.cancel = nil
	select {
	case err := <-d.done:
		return err
	case <-time.After(30 * time.Second):
		d.t.Errorf("envpipe did not stop within 30s")
		return nil
	}
}

func (d *daemon) get(path string) (string, int) {
	resp, err := http.Get(d.httpURL + path)
	if err != nil {
		return "", 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

// metric returns the value of one sample line of /metrics ("name{labels}").
func (d *daemon) metric(series string) float64 {
	body, _ := d.get("/metrics")
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, series+" ") {
			var v float64
			fmt.Sscanf(line[len(series)+1:], "%g", &v)
			return v
		}
	}
	return -1
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// publisher is a QoS 1 MQTT client for tests.
func publisher(t *testing.T, broker, id string) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(true).
		SetMaxResumePubInFlight(1000).SetWriteTimeout(10 * time.Second)
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// publishAll publishes msgs (topic → payload pairs) at QoS 1 with a window of
// outstanding tokens, and fails the test on any error.
func publishAll(t *testing.T, c paho.Client, msgs [][2]string) {
	t.Helper()
	const window = 500
	toks := make([]paho.Token, 0, window)
	flush := func() {
		for _, tok := range toks {
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				t.Fatalf("publish: %v", tok.Error())
			}
		}
		toks = toks[:0]
	}
	for _, m := range msgs {
		toks = append(toks, c.Publish(m[0], 1, false, m[1]))
		if len(toks) == window {
			flush()
		}
	}
	flush()
}

// waitCount waits until count(field) in measurement reaches want (or the
// timeout), then checks it stays exactly want for a moment.
func waitCount(t *testing.T, in *testenv.Influx, measurement, field string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	got := 0
	for time.Now().Before(deadline) {
		got = in.Count(measurement, field)
		if got >= want {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got != want {
		t.Fatalf("count(%s) in %s = %d, want %d", field, measurement, got, want)
	}
	time.Sleep(500 * time.Millisecond)
	if got = in.Count(measurement, field); got != want {
		t.Fatalf("count(%s) in %s = %d after settling, want exactly %d", field, measurement, got, want)
	}
}

// editConfig replaces old with new in the config file at path; a missing
// old fails the test, so an edit can never silently not happen.
func editConfig(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("editConfig: %q not in %s", old, path)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
