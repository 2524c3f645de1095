package alert

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// benchFixture is an engine on the shipped rules with n air stations
// reporting every minute, warmed up past min_coverage of the 24 h windows
// and min_days of the year-to-date means, so that every rule is evaluated
// as in production. It is built once per process and keeps advancing.
type benchFixture struct {
	e        *Engine
	sts      []*station.Station
	rs       []*ingest.Reading
	now      time.Time // wall clock: the round's event time + 30 s
	t        time.Time // event time of the current round
	next     int       // next station of the round
	rnd      uint64
	observed int
}

// benches holds a fixture per number of stations.
var benches = map[int]*benchFixture{}

// benchBase are typical clean-air values (none near a limit).
var benchBase = [...]struct {
	param string
	v     float64
}{{"pm25", 28}, {"pm10", 50}, {"so2", 9}, {"no2", 25}, {"co", 0.7}, {"o3", 70}}

func newBenchFixture(b *testing.B, benchStations int) *benchFixture {
	rules, errs := LoadRules("../configs/rules.yaml")
	for _, err := range errs {
		b.Fatal(err)
	}
	f := &benchFixture{t: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), rnd: 1}
	f.now = f.t.Add(30 * time.Second)
	counties := []string{"Hetang", "Lusong", "Shifeng", "Tianyuan", "Liling", "Youxian"}
	for i := range benchStations {
		st := &station.Station{ID: fmt.Sprintf("zz-air-%04d", i), Name: fmt.Sprintf("Air %d", i), Kind: ingest.KindAir,
			County: counties[i%len(counties)], Interval: time.Minute}
		f.sts = append(f.sts, st)
		r := &ingest.Reading{Station: st.ID}
		for _, p := range benchBase {
			r.Values = append(r.Values, ingest.Value{Param: p.param, Flag: ingest.FlagNormal})
		}
		f.rs = append(f.rs, r)
	}
	cfg := DefaultConfig()
	cfg.StateFile = filepath.Join(b.TempDir(), "alert-state.json")
	e, err := New(cfg, rules, f.sts, Options{Now: func() time.Time { return f.now }})
	if err != nil {
		b.Fatal(err)
	}
	f.e = e
	// 19 hours of minute data: past the 24 h windows' min_coverage 0.75.
	for range 19 * 60 * benchStations {
		f.observe()
	}
	// A year-to-date of 60 days, so the ytd_mean rules pass min_days.
	for _, ss := range e.order {
		for _, s := range ss.series {
			if y := s.ytd; y != nil {
				y.year, y.days, y.sumMeans = 2026, 60, 60*30
			}
		}
	}
	if n := len(e.Alerts()); n != 0 {
		b.Fatalf("warm-up raised %d alerts", n)
	}
	return f
}

// benchFixtureFor returns the process's fixture of n stations, built at
// the first call (skipped with -short beyond 1 000 stations).
func benchFixtureFor(b *testing.B, n int) *benchFixture {
	if n > 1000 && testing.Short() {
		b.Skip("a 10 000-station warm-up takes a while")
	}
	f := benches[n]
	if f == nil {
		f = newBenchFixture(b, n)
		benches[n] = f
	}
	return f
}

// observe feeds the next station its reading of the current round.
func (f *benchFixture) observe() {
	r := f.rs[f.next]
	r.Time = f.t
	for i := range r.Values {
		f.rnd = f.rnd*6364136223846793005 + 1442695040888963407
		jitter := 0.8 + 0.4*float64(f.rnd>>11)/(1<<53) // ±20 %
		r.Values[i].V = benchBase[i].v * jitter
	}
	f.e.Observe(f.sts[f.next], r)
	f.observed++
	if f.next++; f.next == len(f.sts) {
		f.next = 0
		f.t = f.t.Add(time.Minute)
		f.now = f.t.Add(30 * time.Second)
	}
}

// BenchmarkObserve is Engine.Observe on the shipped rules: one op is one
// reading of 6 parameters at one of 1 000 (or 10 000) air stations, round
// robin: the second shows what per-station state costs once it no longer
// fits in the CPU caches.
func BenchmarkObserve(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("stations=%d", n), func(b *testing.B) {
			f := benchFixtureFor(b, n)
			b.ReportAllocs()
			for b.Loop() {
				f.observe()
			}
		})
	}
}

// BenchmarkSaveWindows is the periodic save of the windows file (every
// state_interval) after 19 hours of minute data, fsync included. The
// file is encoded a chunk of stations at a time, so B/op stays far below
// the file's size (bytes).
func BenchmarkSaveWindows(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("stations=%d", n), func(b *testing.B) {
			f := benchFixtureFor(b, n)
			b.ReportAllocs()
			for b.Loop() {
				f.e.saveWindows(f.now)
			}
			if fi, err := os.Stat(f.e.store.windowsPath()); err == nil {
				b.ReportMetric(float64(fi.Size()), "bytes")
			}
		})
	}
}
