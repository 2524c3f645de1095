package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// restartClock is the wall clock of an engine and its robot.
type restartClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *restartClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *restartClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// running is one envpipe process: a rule engine and a WeCom robot, as
// cmd/envpipe wires them.
type running struct {
	eng    *alert.Engine
	robot  *WeCom
	cancel context.CancelFunc
	done   chan error
}

func startEnvpipe(t *testing.T, f *fake, dir string, clk *restartClock, repeat time.Duration) (*running, func() float64) {
	t.Helper()
	o, reg, _ := testOptions(t)
	o.Now = clk.now
	t.Setenv("TEST_WECOM_KEY", testWeComKey)
	robot, err := NewWeCom(WeComConfig{URL: f.srv.URL, KeyEnv: "TEST_WECOM_KEY", Delivery: fastRetry,
		Gate: Gate{RepeatInterval: repeat}}, o)
	if err != nil {
		t.Fatal(err)
	}
	rules, errs := alert.ParseRules([]byte("rules:\n  - {name: PM10High, param: pm10, aggregate: instant, limit: 150}\n"))
	for _, err := range errs {
		t.Fatal(err)
	}
	cfg := alert.DefaultConfig()
	cfg.Lang = "en"
	cfg.StateFile = filepath.Join(dir, "alert-state.json")
	cfg.ResendInterval = 100 * time.Millisecond // re-sends whenever the clock moves
	eng, err := alert.New(cfg, rules, []*station.Station{restartStation}, alert.Options{
		Notifiers: []alert.Notifier{robot}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{eng: eng, robot: robot, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- eng.Run(ctx) }()
	t.Cleanup(r.stop)
	return r, func() float64 { return counter(t, reg, "wecom", ResultSuppressed) }
}

// stop shuts the process down as SIGTERM does.
func (r *running) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

var restartStation = &station.Station{ID: "zz-air-0101", Name: "City", Kind: ingest.KindAir, County: "Hetang",
	Interval: time.Minute}

// waitUntil polls cond for up to 5 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestRobotIsNotPagedAgainAfterARestart restarts envpipe while an alert
// fires: the robot must hear of it again only if it never did, or (with
// reminders every hour) when the hour is up.
func TestRobotIsNotPagedAgainAfterARestart(t *testing.T) {
	for _, tc := range []struct {
		name   string
		repeat time.Duration
		// answers of the robot's server before the restart
		before []answer
		// oldFile strips the state file to what envpipe wrote before it
		// remembered what receivers were told.
		oldFile bool
		// atRestart and afterRepeat are how many messages the group gets
		// at the restart and in the hour after it.
		atRestart, afterRepeat int
	}{
		{name: "told before the restart: quiet until the hour is up", repeat: time.Hour,
			before: []answer{robotOK}, atRestart: 0, afterRepeat: 1},
		{name: "never delivered before the restart: told at the restart", repeat: time.Hour,
			before: []answer{{400, nil, "bad"}}, atRestart: 1, afterRepeat: 1},
		{name: "a state file of an older envpipe loads; the alert is taken as told", repeat: time.Hour,
			before: []answer{robotOK}, oldFile: true, atRestart: 0, afterRepeat: 1},
		{name: "without reminders, told before the restart: quiet",
			before: []answer{robotOK}, atRestart: 0, afterRepeat: 0},
		{name: "without reminders, never delivered before the restart: told at the restart",
			before: []answer{{400, nil, "bad"}}, atRestart: 1, afterRepeat: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := &restartClock{t: t0}
			f := newFake(t, tc.before...)
			delivered := func() int { return len(f.requests()) }
			p, _ := startEnvpipe(t, f, dir, clk, tc.repeat)
			p.eng.Observe(restartStation, &ingest.Reading{Station: restartStation.ID, Time: t0,
				Values: []ingest.Value{{Param: "pm10", V: 400, Flag: ingest.FlagNormal}}})
			// (Run's first tick may re-send it too: once told, the gate
			// keeps the group from hearing it twice.)
			waitUntil(t, "the firing notification", func() bool { return delivered() > 0 })
			time.Sleep(50 * time.Millisecond)
			p.stop()
			if tc.oldFile {
				stripToldMemory(t, filepath.Join(dir, "alert-state.json"))
			}
			f.mu.Lock()
			f.answers = []answer{robotOK}
			f.reqs = nil
			f.mu.Unlock()

			clk.add(5 * time.Minute)
			p, suppressed := startEnvpipe(t, f, dir, clk, tc.repeat)
			// The first tick re-sends the firing alert to the robot (if it
			// takes re-sends or catches up); give it a second.
			for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if delivered() > 0 || suppressed() > 0 {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
			if got := delivered(); got != tc.atRestart {
				t.Fatalf("told %d times at the restart, want %d", got, tc.atRestart)
			}
			clk.add(time.Hour)
			time.Sleep(300 * time.Millisecond) // a few re-sends
			if got := delivered() - tc.atRestart; got != tc.afterRepeat {
				t.Errorf("told %d times in the hour after the restart, want %d", got, tc.afterRepeat)
			}
		})
	}
}

// stripToldMemory removes what a newer envpipe adds to the state file.
func stripToldMemory(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for k := range m {
		if k != "version" && k != "saved" && k != "alerts" {
			delete(m, k)
		}
	}
	data, _ = json.Marshal(m)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAnEndKeptFromTheRobotByARestartIsToldAfterIt: the robot's server is
// down when the alert ends, and envpipe is restarted before it comes
// back. The group hears of the end after the restart, once: a further
// restart does not tell it again.
func TestAnEndKeptFromTheRobotByARestartIsToldAfterIt(t *testing.T) {
	for _, repeat := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprintf("repeat_interval %v", repeat), func(t *testing.T) {
			dir := t.TempDir()
			clk := &restartClock{t: t0}
			down := answer{503, nil, "down"}
			f := newFake(t, robotOK, down)
			p, _ := startEnvpipe(t, f, dir, clk, repeat)
			observe := func(at time.Time, v float64) {
				p.eng.Observe(restartStation, &ingest.Reading{Station: restartStation.ID, Time: at,
					Values: []ingest.Value{{Param: "pm10", V: v, Flag: ingest.FlagNormal}}})
			}
			observe(t0, 400)
			waitUntil(t, "the firing notification", func() bool { return len(f.requests()) == 1 })
			observe(t0.Add(time.Minute), 20)
			waitUntil(t, "a try of the end", func() bool { return len(f.requests()) > 1 })
			p.stop()

			ends := func() (n int) {
				for _, r := range f.requests() {
					if strings.Contains(string(r.body), "【恢复】") { // the robot speaks Chinese by default
						n++
					}
				}
				return n
			}
			f.mu.Lock()
			f.answers, f.reqs = []answer{robotOK}, nil
			f.mu.Unlock()
			clk.add(5 * time.Minute)
			p, _ = startEnvpipe(t, f, dir, clk, repeat)
			waitUntil(t, "the end after the restart", func() bool { return ends() == 1 })
			time.Sleep(100 * time.Millisecond)
			if n := len(f.requests()); n != 1 {
				t.Errorf("%d messages after the restart, want the end alone", n)
			}
			p.stop()

			f.mu.Lock()
			f.reqs = nil
			f.mu.Unlock()
			clk.add(5 * time.Minute)
			p, _ = startEnvpipe(t, f, dir, clk, repeat)
			time.Sleep(300 * time.Millisecond)
			if n := len(f.requests()); n != 0 {
				t.Errorf("%d messages after a second restart, want none: the end was told", n)
			}
			p.stop()
		})
	}
}
