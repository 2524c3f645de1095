package notify

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// startWithRobots starts envpipe with one WeCom robot per fake: "ops",
// then "newgroup".
func startWithRobots(t *testing.T, dir string, clk *restartClock, fakes ...*fake) *running {
	t.Helper()
	o, _, _ := testOptions(t)
	o.Now = clk.now
	t.Setenv("TEST_WECOM_KEY", testWeComKey)
	var ns []alert.Notifier
	for i, f := range fakes {
		r, err := NewWeCom(WeComConfig{Name: []string{"ops", "newgroup"}[i], URL: f.srv.URL, KeyEnv: "TEST_WECOM_KEY", Delivery: fastRetry}, o)
		if err != nil {
			t.Fatal(err)
		}
		ns = append(ns, r)
	}
	rules, _ := alert.ParseRules([]byte("rules:\n  - {name: PM10High, param: pm10, aggregate: instant, limit: 150}\n"))
	cfg := alert.DefaultConfig()
	cfg.Lang = "en"
	cfg.StateFile = filepath.Join(dir, "alert-state.json")
	cfg.ResendInterval = 100 * time.Millisecond
	eng, err := alert.New(cfg, rules, []*station.Station{restartStation}, alert.Options{Notifiers: ns, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{eng: eng, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- eng.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// A robot added while an alert fires is told of it once, at the restart
// that adds it, and not again at the next, routine, restart (before, it
// heard nothing at the first and was paged at the second).
func TestNewReceiverIsToldOnceAtTheRestartThatAddsIt(t *testing.T) {
	dir := t.TempDir()
	clk := &restartClock{t: t0}
	a, b := newFake(t, robotOK), newFake(t, robotOK)
	p := startWithRobots(t, dir, clk, a)
	p.eng.Observe(restartStation, &ingest.Reading{Station: restartStation.ID, Time: t0,
		Values: []ingest.Value{{Param: "pm10", V: 400, Flag: ingest.FlagNormal}}})
	waitUntil(t, "firing", func() bool { return len(a.requests()) > 0 })
	time.Sleep(50 * time.Millisecond)
	p.stop()
	toldOps := len(a.requests())

	clk.add(time.Minute)
	p = startWithRobots(t, dir, clk, a, b) // receiver newgroup added
	waitUntil(t, "newgroup told", func() bool { return len(b.requests()) > 0 })
	time.Sleep(300 * time.Millisecond)
	p.stop()
	afterAdd := len(b.requests())

	clk.add(24 * time.Hour)
	p = startWithRobots(t, dir, clk, a, b) // a routine restart a day later
	time.Sleep(500 * time.Millisecond)
	p.stop()
	if got := len(b.requests()); afterAdd != 1 || got != afterAdd {
		t.Errorf("newgroup: %d messages after the restart that added it, %d after the next routine restart; want 1, 1", afterAdd, got)
	}
	if got := len(a.requests()); got != toldOps {
		t.Errorf("ops: %d messages, %d before the restarts", got, toldOps)
	}
}
