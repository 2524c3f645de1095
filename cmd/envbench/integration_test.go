package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/envpipe/envpipe/internal/testenv"
)

// TestEnvbenchCountsEveryReadingThroughEnvpipe runs envbench against a real
// Mosquitto, influxd and envpipe (built from this module, on the bench
// template and the shipped rules), plain and -primed, and checks what it
// reports: every reading counted in InfluxDB, envpipe's CPU and memory read
// from /proc, and the primed run leaving the priming readings outside the
// measured count.
func TestEnvbenchCountsEveryReadingThroughEnvpipe(t *testing.T) {
	testenv.Integration(t)
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	db := testenv.InfluxDB(t)
	root := testenv.RepoRoot(t)
	dir := t.TempDir()
	exe := filepath.Join(dir, "envpipe")
	if out, err := exec.Command("go", "build", "-o", exe, "github.com/envpipe/envpipe/cmd/envpipe").CombinedOutput(); err != nil {
		t.Fatalf("build envpipe: %v\n%s", err, out)
	}
	tmpl, err := os.ReadFile(filepath.Join(root, "configs", "bench.yaml.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	httpPort := testenv.FreePort(t)
	conf := strings.NewReplacer("@MQTT_URL@", broker.URL(), "@INFLUX_URL@", db.URL(), "@CLIENT_ID@", "envpipe-envbench-test",
		"@WORK@", filepath.Join(dir, "work"), "127.0.0.1:0", "127.0.0.1:"+strconv.Itoa(httpPort)).Replace(string(tmpl))
	confPath := filepath.Join(dir, "envpipe.yaml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command(exe, "run", "-config", confPath,
		"-stations", filepath.Join(root, "configs", "bench-stations.yaml"), "-rules", filepath.Join(root, "configs", "rules.yaml"))
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = testenv.OwnGroup()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("envpipe log:\n%s", log.String())
		}
	})
	ready := "http://127.0.0.1:" + strconv.Itoa(httpPort) + "/readyz"
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("envpipe not ready after 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}

	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	for _, tc := range []struct {
		name   string
		primed bool
		base   time.Time
		step   time.Duration
	}{
		{"cold", false, base, time.Millisecond},
		// A step other than the default: the primed and the measured
		// ranges both follow it.
		{"primed", true, base.Add(10 * time.Minute), 250 * time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config{broker: broker.URL(), influx: db.URL(), db: testenv.InfluxDatabase, measurement: "air", prefix: "zz-air-",
				digits: 4, n: 3000, stations: 200, conns: 2, window: 100, timeout: time.Minute, pid: cmd.Process.Pid,
				base: tc.base, step: tc.step, primed: tc.primed}
			res, err := run(context.Background(), c, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if res.ReadingsPerSecond <= 0 || res.CPUPer100k <= 0 || res.PeakRSSMiB <= 0 || res.Primed != tc.primed {
				b, _ := json.Marshal(res)
				t.Errorf("result %s", b)
			}
			// What envbench counted is what InfluxDB holds: the measured
			// readings, and with -primed one more per station before base.
			span := func(from, to time.Time) int {
				q := "SELECT count(pm25) FROM air WHERE time >= " + strconv.FormatInt(from.UnixNano(), 10) + " AND time < " + strconv.FormatInt(to.UnixNano(), 10)
				s, err := db.Query(q)
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				if len(s) == 0 || len(s[0].Values) == 0 {
					return 0 // no points: no series
				}
				switch n := s[0].Values[0][1].(type) {
				case json.Number:
					v, _ := n.Int64()
					return int(v)
				case float64:
					return int(n)
				}
				t.Fatalf("%s: count %v (%T)", q, s[0].Values[0][1], s[0].Values[0][1])
				return 0
			}
			if got := span(tc.base, tc.base.Add(c.span(c.n))); got != c.n {
				t.Errorf("%d readings in the measured range, want %d", got, c.n)
			}
			want := 0
			if tc.primed {
				want = c.stations
			}
			if got := span(tc.base.Add(-c.span(c.stations)), tc.base); got != want {
				t.Errorf("%d readings in the priming range, want %d", got, want)
			}
		})
	}
}

// TestDirectWritesEveryPointInBatches runs envbench -direct against a real
// influxd: every point lands, in batches of the size asked for, influxd's
// CPU is read from /proc, and a second run over the same time range is
// refused rather than counted twice.
func TestDirectWritesEveryPointInBatches(t *testing.T) {
	testenv.Integration(t)
	db := testenv.InfluxDB(t)
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	c := config{influx: db.URL(), db: testenv.InfluxDatabase, measurement: "air", prefix: "zz-air-", digits: 4,
		n: 3000, stations: 200, timeout: time.Minute, pid: db.Pid(), base: base, step: time.Millisecond, direct: 64 << 10}
	res, err := runDirect(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if got := db.Count("air", "pm25"); got != c.n {
		t.Errorf("%d points in InfluxDB, want %d", got, c.n)
	}
	// About 120 bytes a line: 3000 lines are 5 or 6 batches of 64 KiB.
	if res.Posts < 5 || res.Posts > 6 || res.CPUPer100k <= 0 || res.PeakRSSMiB <= 0 {
		b, _ := json.Marshal(res)
		t.Errorf("result %s", b)
	}
	var out bytes.Buffer
	res.print(&out)
	if !strings.Contains(out.String(), "InfluxDB CPU") || !strings.Contains(out.String(), "batches             ") {
		t.Errorf("printed:\n%s", out.String())
	}
	if _, err := runDirect(context.Background(), c); err == nil || !strings.Contains(err.Error(), "already in InfluxDB") {
		t.Errorf("second run over the same range: %v", err)
	}
}
