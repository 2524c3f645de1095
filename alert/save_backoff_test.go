package alert

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest/station"
)

// levelCounter is a slog.Handler that counts records by level.
type levelCounter struct {
	mu sync.Mutex
	n  map[slog.Level]int
}

func (h *levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n[r.Level]++
	return nil
}
func (h *levelCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *levelCounter) WithGroup(string) slog.Handler      { return h }
func (h *levelCounter) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[l]
}

// tellerRecorder is a chat robot that remembers what it told: its memory
// stays to be saved until a save succeeds.
type tellerRecorder struct{ recorder }

func (*tellerRecorder) TellerKey() string      { return "robot@x" }
func (*tellerRecorder) ToldVersion() uint64    { return 1 }
func (*tellerRecorder) Told() ([]Told, uint64) { return nil, 1 }
func (*tellerRecorder) RestoreTold([]Told)     {}

// A state file that cannot be written (a full disk) is tried again after
// a second, doubling up to state_interval, not every second; its failure
// is logged once, then at most once a minute, and once when it ends.
func TestFailingStateSaveBacksOffAndIsLoggedOnce(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	// A directory where the file should be: every save fails.
	if err := os.MkdirAll(filepath.Join(cfg.StateFile, "x"), 0o750); err != nil {
		t.Fatal(err)
	}
	rs, errs := ParseRules([]byte("rules:\n  - {name: PM10High, param: pm10, aggregate: instant, limit: 150}\n"))
	for _, err := range errs {
		t.Fatal(err)
	}
	st := airStation("s", time.Minute)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	logs := &levelCounter{n: map[slog.Level]int{}}
	e, err := New(cfg, rs, []*station.Station{st}, Options{Notifiers: []Notifier{&tellerRecorder{recorder{name: "robot"}}},
		Now: clk.Now, Logger: slog.New(logs), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	e.Observe(st, reading("s", t0, val("pm10", 400)))
	for range 600 { // ten minutes of Run's ticks
		e.saveAndNotify(false)
		clk.Set(clk.Now().Add(time.Second))
	}
	tries := int(testutilCounter(e.m.saveErrors))
	if tries > 20 || logs.count(slog.LevelError) > 11 {
		t.Errorf("in 10 min: %d tries, %d error lines; want a second's wait doubling to state_interval (%v), a line a minute at most",
			tries, logs.count(slog.LevelError), cfg.StateInterval)
	}
	t.Logf("in 10 min: %d tries, %d error lines", tries, logs.count(slog.LevelError))
	// The disk has room again: saved within state_interval, said once.
	infos := logs.count(slog.LevelInfo)
	if err := os.RemoveAll(cfg.StateFile); err != nil {
		t.Fatal(err)
	}
	for range int(cfg.StateInterval/time.Second) + 1 {
		e.saveAndNotify(false)
		clk.Set(clk.Now().Add(time.Second))
	}
	if _, err := os.Stat(cfg.StateFile); err != nil {
		t.Errorf("not saved within state_interval after the failure ended: %v", err)
	}
	if n := logs.count(slog.LevelInfo) - infos; n != 1 {
		t.Errorf("%d info lines after saving worked again, want 1", n)
	}
}
