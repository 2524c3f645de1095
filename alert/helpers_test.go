package alert

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// clock is a settable wall clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// recorder is a Notifier that records every call.
type recorder struct {
	name   string
	resend bool
	mu     sync.Mutex
	calls  [][]Notification
	fail   error
}

func (r *recorder) Name() string { return r.name }
func (r *recorder) Resend() bool { return r.resend }
func (r *recorder) Notify(_ context.Context, alerts []Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, append([]Notification(nil), alerts...))
	return r.fail
}

// all returns every notification received so far, in order.
func (r *recorder) all() []Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Notification
	for _, c := range r.calls {
		out = append(out, c...)
	}
	return out
}

// waitFor waits until the recorder holds n notifications.
func (r *recorder) waitFor(t *testing.T, n int) []Notification {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.all(); len(got) >= n {
			return got
		}
		time.Sleep(2 * time.Millisecond)
	}
	got := r.all()
	t.Fatalf("%s: %d notifications, want %d: %v", r.name, len(got), n, describe(got))
	return nil
}

// settle waits a moment and returns everything received.
func (r *recorder) settle() []Notification {
	time.Sleep(50 * time.Millisecond)
	return r.all()
}

func describe(ns []Notification) string {
	var b strings.Builder
	for _, n := range ns {
		b.WriteString(n.Labels["alertname"] + "/" + n.Labels["severity"] + "/" + n.Labels["param"] + ":" + string(n.Status) + " ")
	}
	return b.String()
}

// point is one parsed `alerts` line.
type point struct {
	tags   map[string]string
	fields string
	ts     string
}

type lineSink struct {
	mu    sync.Mutex
	lines []string
}

func (s *lineSink) emit(lp []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range strings.Split(strings.TrimSuffix(string(lp), "\n"), "\n") {
		s.lines = append(s.lines, l)
	}
}

func (s *lineSink) points() []point {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []point
	for _, l := range s.lines {
		head, rest, _ := strings.Cut(l, " ")
		fields := rest[:strings.LastIndexByte(rest, ' ')]
		ts := rest[strings.LastIndexByte(rest, ' ')+1:]
		p := point{tags: map[string]string{}, fields: fields, ts: ts}
		for _, kv := range strings.Split(head, ",")[1:] {
			k, v, _ := strings.Cut(kv, "=")
			p.tags[k] = v
		}
		out = append(out, p)
	}
	return out
}

// transitions lists "alertname/severity/param:state" of the points.
func (s *lineSink) transitions() []string {
	var out []string
	for _, p := range s.points() {
		out = append(out, p.tags["alertname"]+"/"+p.tags["severity"]+"/"+p.tags["param"]+":"+p.tags["state"])
	}
	return out
}

type testEngine struct {
	*Engine
	clock *clock
	rec   *recorder // resend: true (Alertmanager-like)
	chat  *recorder // resend: false
	lines *lineSink
	cfg   Config
	rules *RuleSet
	sts   []*station.Station
}

func testConfig(dir string) Config {
	cfg := DefaultConfig()
	cfg.Lang = "en"
	cfg.StateFile = filepath.Join(dir, "alert-state.json")
	cfg.GrafanaURL = "http://grafana.test"
	return cfg
}

// newTestEngine builds an engine on rulesYAML with its dispatcher running.
func newTestEngine(t *testing.T, rulesYAML string, sts []*station.Station, cfg Config, now time.Time) *testEngine {
	t.Helper()
	rs, errs := ParseRules([]byte(rulesYAML))
	for _, e := range errs {
		t.Fatal(e)
	}
	te := &testEngine{clock: &clock{t: now}, rec: &recorder{name: "am", resend: true}, chat: &recorder{name: "chat"},
		lines: &lineSink{}, cfg: cfg, rules: rs, sts: sts}
	te.start(t)
	return te
}

// start (re)builds the engine from the configuration, as a restart does.
func (te *testEngine) start(t *testing.T) {
	t.Helper()
	e, err := New(te.cfg, te.rules, te.sts, Options{Notifiers: []Notifier{te.rec, te.chat}, Emit: te.lines.emit, Now: te.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.disp.start()
	t.Cleanup(func() { e.disp.stop(time.Second) })
	te.Engine = e
}

func airStation(id string, interval time.Duration) *station.Station {
	return &station.Station{ID: id, Name: "Station " + id, Kind: ingest.KindAir, County: "Hetang", Interval: interval}
}

func waterStation(id string) *station.Station {
	return &station.Station{ID: id, Name: "枫溪", Kind: ingest.KindWater, County: "Lusong", River: "湘江", Section: "枫溪",
		Waterbody: "river", TargetClass: "II", Interval: 4 * time.Hour}
}

func reading(st string, t time.Time, vals ...ingest.Value) *ingest.Reading {
	return &ingest.Reading{Station: st, Time: t, Values: vals}
}

func val(p string, v float64) ingest.Value {
	return ingest.Value{Param: p, V: v, Flag: ingest.FlagNormal}
}

func flagged(p string, v float64, f ingest.Flag) ingest.Value {
	return ingest.Value{Param: p, V: v, Flag: f}
}

func testutilGauge(g prometheus.Gauge) float64 {
	var m dto.Metric
	_ = g.Write(&m)
	return m.GetGauge().GetValue()
}

func testutilCounter(c prometheus.Counter) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

// Observe, ObserveValue and Tick commit like the engine's Run loop does
// (save the state, then notify) right away, so that tests step
// deterministically.
func (te *testEngine) Observe(st *station.Station, r *ingest.Reading) {
	te.Engine.Observe(st, r)
	te.Engine.saveAndNotify(false)
}

func (te *testEngine) ObserveValue(st *station.Station, param string, t time.Time, v float64) {
	te.Engine.ObserveValue(st, param, t, v)
	te.Engine.saveAndNotify(false)
}

func (te *testEngine) Tick(now time.Time) {
	te.Engine.Tick(now)
	te.Engine.saveAndNotify(false)
}

func (te *testEngine) ObserveLowerBound(st *station.Station, param string, t time.Time, v float64) {
	te.Engine.ObserveLowerBound(st, param, t, v)
	te.Engine.saveAndNotify(false)
}
