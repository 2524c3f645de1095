package derive

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert/aqi"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

func TestMemoryIsBounded(t *testing.T) {
	st := airStation("a", time.Minute)
	w := waterStation("w", "II", "river")
	r := newRig(t, DefaultConfig(), at(2025, 12, 29, 0, 0), st, w)
	s := r.d.byID["a"]
	ws := r.d.byID["w"]
	maxHours, maxOpen := 0, 0
	for ts := at(2025, 12, 29, 0, 0); ts.Before(at(2026, 1, 3, 6, 0)); ts = ts.Add(time.Minute) {
		r.setNow(ts.Add(time.Second))
		r.observe("a", ts, six(10, 20, 0.5, 60, 50, 30)...)
		if ts.Minute() == 0 && ts.Hour()%4 == 0 {
			r.observe("w", ts, nv("nh3n", 0.3))
		}
		open := 0
		for _, h := range s.hours {
			if h.acc != nil {
				open++
			}
		}
		maxHours, maxOpen = max(maxHours, len(s.hours)), max(maxOpen, open)
		if ts.Equal(at(2026, 1, 2, 2, 0)) {
			// Within a day + lateness of New Year the old year's days stay.
			if s.days[0].start >= at(2026, 1, 1, 0, 0).Unix() {
				t.Errorf("2025 days evicted too early")
			}
		}
	}
	// Hourly means: 25 h + lateness (2 h), plus the hour being filled.
	if maxHours > 28 {
		t.Errorf("kept up to %d hours of means, want ≤ 28", maxHours)
	}
	// Minute data: the open hour and those within lateness.
	if maxOpen > 3 {
		t.Errorf("kept minute data of up to %d hours, want ≤ 3", maxOpen)
	}
	for _, dy := range s.days {
		if dy.start < at(2026, 1, 1, 0, 0).Unix() {
			t.Errorf("day %v of the previous year still kept", r.d.time(dy.start))
		}
	}
	for _, wd := range ws.wdays {
		if wd.start < at(2026, 1, 1, 0, 0).Unix() {
			t.Errorf("water day %v of the previous year still kept", r.d.time(wd.start))
		}
	}
	for day := range r.d.net.emitted {
		if day < at(2026, 1, 1, 0, 0).Unix() {
			t.Errorf("network day %v of the previous year still kept", r.d.time(day))
		}
	}
	if len(s.days) != 3 { // Jan 1, 2 and the open Jan 3
		t.Errorf("%d day records", len(s.days))
	}
}

func TestBackfillIsDerivedByEventTime(t *testing.T) {
	// The wall clock is months past the data, as when a station replays its
	// buffer or a test publishes old days: nothing is "too late", every
	// hour and day closes as the data moves on.
	st := airStation("a", time.Minute)
	r := newRig(t, DefaultConfig(), at(2026, 11, 28, 10, 0), st)
	for ts := at(2026, 2, 28, 0, 0); ts.Before(at(2026, 3, 2, 0, 0)); ts = ts.Add(time.Minute) {
		r.observe("a", ts, six(10, 20, 0.5, 60, 50, 30)...)
	}
	if n := r.d.Stats().TooLate; n != 0 {
		t.Fatalf("TooLate = %d", n)
	}
	if n := len(r.s.all("aqi", "period", "hour")); n != 48 {
		t.Errorf("%d hourly aqi points, want 48", n)
	}
	days := r.s.all("aqi", "period", "day")
	if len(days) != 2 || days[0].Tags["edition"] != "2012" || days[1].Tags["edition"] != "2026" {
		t.Errorf("daily points %v", days)
	}
	// Observe wrote the network's Feb 28 point at once and deferred Mar 1's
	// (the same wall-clock second); the next Tick writes it.
	r.s.must("compliance", at(2026, 2, 28, 0, 0), "scope", "network")
	if p := r.s.all("compliance", "scope", "network"); len(p) != 1 {
		t.Errorf("network points before the tick: %v", p)
	}
	r.settle()
	r.s.must("compliance", at(2026, 3, 1, 0, 0), "scope", "network")
	// A later Tick at the wall clock does not write anything again.
	before := len(r.s.writes)
	r.tick(at(2026, 11, 28, 10, 0).Add(time.Hour))
	if len(r.s.writes) != before {
		t.Errorf("tick rewrote %d points", len(r.s.writes)-before)
	}
}

func TestWarmContinuesWindowsAndYearToDate(t *testing.T) {
	st := airStation("a", time.Minute)
	cfg := DefaultConfig()
	cfg.Edition = "2012"
	one := newRig(t, cfg, at(2026, 5, 1, 0, 0), st)
	feed := func(r *rig, from, to time.Time) {
		r.fill("a", from, to, time.Minute, func(ts time.Time) []ingest.Value {
			h := float64(ts.Hour())
			return six(10, 20+h, 0.5, 60+3*h, 50+float64(ts.Day()), 30+h)
		})
	}
	feed(one, at(2026, 5, 1, 0, 0), at(2026, 5, 3, 12, 0))

	// A restarted Deriver, warmed from what the first one wrote.
	two := newRig(t, cfg, at(2026, 5, 3, 12, 0), st)
	var hours []HourMeans
	for _, p := range one.s.all("air_hourly") {
		hm := HourMeans{Station: p.Tags["station"], Hour: time.Unix(0, p.Time), Means: map[string]float64{}}
		for f := range p.Fields {
			if !strings.HasSuffix(f, "_minutes") {
				hm.Means[f] = p.float(t, f)
			}
		}
		if p.Time >= at(2026, 5, 2, 0, 0).UnixNano() { // since the start of the previous day
			hours = append(hours, hm)
		}
	}
	var days []DayValues
	for _, p := range one.s.all("air_daily") {
		dv := DayValues{Station: p.Tags["station"], Day: time.Unix(0, p.Time), Values: map[aqi.Indicator]float64{}}
		for _, ind := range DayIndicators() {
			if p.has(string(ind)) {
				dv.Values[ind] = p.float(t, string(ind))
			}
		}
		days = append(days, dv)
	}
	two.d.Warm(hours, days)
	// The first reading after the restart is a late one of a warmed, final
	// day (a logger's re-upload): it must not reopen that day.
	two.setNow(at(2026, 5, 3, 12, 0).Add(time.Second))
	two.observe("a", at(2026, 5, 1, 10, 0), six(10, 20, 0.5, 60, 50, 30)...)
	if n := two.d.Stats().TooLate; n != 1 {
		t.Errorf("a reading of a final day: TooLate %d, want 1", n)
	}

	feed(one, at(2026, 5, 3, 12, 0), at(2026, 5, 4, 1, 0))
	feed(two, at(2026, 5, 3, 12, 0), at(2026, 5, 4, 1, 0))
	for _, ts := range []time.Time{at(2026, 5, 3, 12, 0), at(2026, 5, 3, 23, 0), at(2026, 5, 4, 0, 0)} {
		a, b := one.s.must("aqi", ts, "period", "hour"), two.s.must("aqi", ts, "period", "hour")
		if !sameFields(a, b) {
			t.Errorf("hour %v: %v after a restart, %v without", ts, b.Fields, a.Fields)
		}
	}
	for _, m := range [][]string{{"aqi", "period", "day"}, {"air_daily"}} {
		a, b := one.s.must(m[0], at(2026, 5, 3, 0, 0), m[1:]...), two.s.must(m[0], at(2026, 5, 3, 0, 0), m[1:]...)
		if !sameFields(a, b) {
			t.Errorf("%s day 3: %v after a restart, %v without", m, b.Fields, a.Fields)
		}
	}
	a, b := one.s.must("compliance", at(2026, 5, 3, 0, 0), "scope", "station"), two.s.must("compliance", at(2026, 5, 3, 0, 0), "scope", "station")
	if !sameFields(a, b) || b.int(t, "valid_days") != 3 {
		t.Errorf("compliance after a restart %v, without %v", b.Fields, a.Fields)
	}
	// The warmed days were not written again.
	if n := two.s.writesOf("aqi", at(2026, 5, 2, 0, 0), "period", "day"); n != 0 {
		t.Errorf("warmed day rewritten")
	}
}

func sameFields(a, b point) bool {
	if len(a.Fields) != len(b.Fields) {
		return false
	}
	for k, v := range a.Fields {
		if b.Fields[k] != v {
			return false
		}
	}
	return true
}

// BenchmarkStationMemory reports the live heap per air station once its
// windows are full (26 hours of a reading every second, six pollutants):
// what a network of thousands of stations costs in memory. It stays flat
// from the second day on; TestMemoryIsBounded checks the record counts.
func BenchmarkStationMemory(b *testing.B) {
	const n = 50
	for range b.N {
		var sts []*station.Station
		for i := range n {
			sts = append(sts, airStation(fmt.Sprintf("s%02d", i), time.Second))
		}
		base := at(2026, 11, 28, 0, 0)
		now := base
		d, err := New(DefaultConfig(), sts, func([]byte) {}, func() time.Time { return now })
		if err != nil {
			b.Fatal(err)
		}
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		vals := make([]ingest.Value, 6)
		for k := range 26 * 3600 * n {
			ts := base.Add(time.Duration(k) * time.Second / n)
			now = ts.Add(100 * time.Millisecond)
			copy(vals, six(8.4, 35.2, 0.8, 96.2, float64(40+k%90)+0.2, float64(20+k%60)+0.4))
			i := k % n
			d.Observe(sts[i], &ingest.Reading{Station: sts[i].ID, Time: ts, Values: vals})
			if k%1000 == 0 {
				d.Tick(now)
			}
		}
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/station")
		runtime.KeepAlive(d)
	}
}

// BenchmarkObserve is derivation's cost per reading in a network where
// every station reports every second, in turn, as in the harness: between
// two readings of a station all the others pass. With 10 000 stations it
// costs about half as much again as with 1 000 (2026-11-28: 200–260 and
// 275–370 ns), as their state outgrows the CPU's caches.
func BenchmarkObserve(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("stations=%d", n), func(b *testing.B) {
			sts := make([]*station.Station, n)
			for i := range sts {
				sts[i] = airStation(fmt.Sprintf("s%05d", i), time.Second)
			}
			base := at(2026, 11, 28, 17, 0)
			now := base
			d, err := New(DefaultConfig(), sts, func([]byte) {}, func() time.Time { return now })
			if err != nil {
				b.Fatal(err)
			}
			vals := six(8.4, 35.2, 0.8, 96.2, 65.2, 42.4)
			r := ingest.Reading{Values: vals}
			// Event time stays inside one hour, so no hour closes in
			// the measured part: the steady per-reading path.
			k := 0
			for b.Loop() {
				i := k % n
				r.Station, r.Time = sts[i].ID, base.Add(time.Duration(k/n%3000)*time.Second)
				d.Observe(sts[i], &r)
				k++
			}
		})
	}
}
