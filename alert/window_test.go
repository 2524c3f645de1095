package alert

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert/derive"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

func TestBucketWidthKeepsWindowsPreciseAndSmall(t *testing.T) {
	tests := []struct {
		windows []time.Duration
		want    time.Duration
	}{
		{[]time.Duration{24 * time.Hour}, 30 * time.Minute},                // 48 buckets
		{[]time.Duration{8 * time.Hour}, 10 * time.Minute},                 // 48
		{[]time.Duration{time.Hour}, time.Minute},                          // 60
		{[]time.Duration{time.Hour, 24 * time.Hour}, 5 * time.Minute},      // 12 and 288
		{[]time.Duration{time.Hour, 8 * time.Hour}, 5 * time.Minute},       // 12 and 96
		{[]time.Duration{8 * time.Hour, 24 * time.Hour}, 30 * time.Minute}, // 16 and 48
		{[]time.Duration{7 * 24 * time.Hour}, time.Hour},                   // 168
	}
	for _, tt := range tests {
		if got := time.Duration(bucketWidth(tt.windows)) * time.Second; got != tt.want {
			t.Errorf("bucketWidth(%v) = %v, want %v", tt.windows, got, tt.want)
		}
	}
}

func TestRollingMeanSlidesInEventTime(t *testing.T) {
	s := newSeries([]time.Duration{time.Hour}, false)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	// 60 one-minute values 0..59: mean 29.5, full coverage.
	for i := range 60 {
		s.add(t0.Add(time.Duration(i)*time.Minute), float64(i), 1)
	}
	m, cov, ok := s.mean(time.Hour, time.Minute)
	if !ok || m != 29.5 || cov != 1 {
		t.Fatalf("mean = %v, %v, %v; want 29.5, 1", m, cov, ok)
	}
	// The next minute pushes the first value (0) out.
	s.add(t0.Add(60*time.Minute), 60, 1)
	if m, _, _ := s.mean(time.Hour, time.Minute); m != 30.5 {
		t.Errorf("after sliding one minute: mean %v, want 30.5", m)
	}
	// A late value within the window counts; one older than the window
	// does not.
	if !s.add(t0.Add(30*time.Minute+30*time.Second), 1000, 1) {
		t.Error("a late value inside the window was refused")
	}
	if s.add(t0.Add(-time.Minute), 1e6, 1) {
		t.Error("a value older than the window was accepted")
	}
	if m, _, _ := s.mean(time.Hour, time.Minute); math.Abs(m-(30.5*60+1000)/61) > 1e-9 {
		t.Errorf("mean with the late value %v", m)
	}
	// A jump beyond the window leaves only the new value.
	s.add(t0.Add(5*time.Hour), 7, 1)
	if m, cov, _ := s.mean(time.Hour, time.Minute); m != 7 || math.Abs(cov-1.0/60) > 1e-9 {
		t.Errorf("after a 4 h gap: mean %v coverage %v, want 7 and 1/60", m, cov)
	}
}

func TestCoverageCountsEachValueForTheStationInterval(t *testing.T) {
	s := newSeries([]time.Duration{24 * time.Hour}, false)
	t0 := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	for i := range 108 { // 18 h of 10-minute values
		s.add(t0.Add(time.Duration(i)*10*time.Minute), 50, 1)
	}
	if _, cov, _ := s.mean(24*time.Hour, 10*time.Minute); cov != 0.75 {
		t.Errorf("coverage %v, want 0.75", cov)
	}
}

// coverageFeed is a station feeding one series: values every step from
// t0 for dur, those at offsets skip rejects left out.
type coverageFeed struct {
	name     string
	window   time.Duration
	interval time.Duration // the station's configured interval
	step     time.Duration // how often it actually reports
	dur      time.Duration
	skip     func(off time.Duration) bool
	want     float64
}

func (f coverageFeed) series(t0 time.Time) *series {
	s := newSeries([]time.Duration{f.window}, false)
	for off := time.Duration(0); off < f.dur; off += f.step {
		if f.skip == nil || !f.skip(off) {
			s.add(t0.Add(off), 50, 1)
		}
	}
	return s
}

var coverageFeeds = []coverageFeed{
	{name: "1m station every minute for 18 h", window: 24 * time.Hour, interval: time.Minute,
		step: time.Minute, dur: 18 * time.Hour, want: 0.75},
	{name: "1m station every second for 30 min", window: 24 * time.Hour, interval: time.Minute,
		step: time.Second, dur: 30 * time.Minute, want: 30.0 / 1440},
	{name: "1m station 10 times a second for 30 min", window: 24 * time.Hour, interval: time.Minute,
		step: 100 * time.Millisecond, dur: 30 * time.Minute, want: 30.0 / 1440},
	{name: "1m station every second for 18 h", window: 24 * time.Hour, interval: time.Minute,
		step: time.Second, dur: 18 * time.Hour, want: 0.75},
	{name: "1m station every second for 20 min, 8 h window", window: 8 * time.Hour, interval: time.Minute,
		step: time.Second, dur: 20 * time.Minute, want: 20.0 / 480}, // 10-minute buckets
	{name: "1m station every second for 25 min, 8 h window", window: 8 * time.Hour, interval: time.Minute,
		step: time.Second, dur: 25 * time.Minute, want: 30.0 / 480}, // the third bucket is full at 1 min
	{name: "1m station every 10 s for 10 min, 1 h window", window: time.Hour, interval: time.Minute,
		step: 10 * time.Second, dur: 10 * time.Minute, want: 10.0 / 60},
	{name: "10m station every 10 minutes for 18 h", window: 24 * time.Hour, interval: 10 * time.Minute,
		step: 10 * time.Minute, dur: 18 * time.Hour, want: 0.75},
	{name: "hourly station for 18 h", window: 24 * time.Hour, interval: time.Hour,
		step: time.Hour, dur: 18 * time.Hour, want: 0.75},
	{name: "hourly station for 18 h, 1 h window", window: time.Hour, interval: time.Hour,
		step: time.Hour, dur: 18 * time.Hour, want: 1},
	{name: "hourly station every minute for 2 h", window: 24 * time.Hour, interval: time.Hour,
		step: time.Minute, dur: 2 * time.Hour, want: 2.5 / 24}, // 4 buckets of data, the last covering the next one
	{name: "4-hourly station for a day", window: 24 * time.Hour, interval: 4 * time.Hour,
		step: 4 * time.Hour, dur: 24 * time.Hour, want: 1},
	{name: "4-hourly station, two values", window: 24 * time.Hour, interval: 4 * time.Hour,
		step: 4 * time.Hour, dur: 8 * time.Hour, want: 1.0 / 3},
	{name: "interval 0 counts as 1 minute", window: 24 * time.Hour, interval: 0,
		step: time.Second, dur: 18 * time.Hour, want: 0.75},
	// Gaps.
	{name: "1m station, 6 h gap in 18 h", window: 24 * time.Hour, interval: time.Minute,
		step: time.Minute, dur: 18 * time.Hour, want: 0.5,
		skip: func(off time.Duration) bool { return off >= 6*time.Hour && off < 12*time.Hour }},
	{name: "1m station, 10 minutes of every half hour", window: 24 * time.Hour, interval: time.Minute,
		step: time.Minute, dur: 24 * time.Hour, want: 1.0 / 3,
		skip: func(off time.Duration) bool { return off%(30*time.Minute) >= 10*time.Minute }},
	{name: "1m station every second, 10 minutes of every half hour", window: 24 * time.Hour, interval: time.Minute,
		step: time.Second, dur: 24 * time.Hour, want: 1,
		skip: func(off time.Duration) bool { return off%(30*time.Minute) >= 10*time.Minute }}, // each bucket: 600 values ≥ 30 min
	{name: "hourly station, every third hour missing", window: 24 * time.Hour, interval: time.Hour,
		step: time.Hour, dur: 18 * time.Hour, want: 0.5,
		skip: func(off time.Duration) bool { return off/time.Hour%3 == 2 }},
	{name: "hourly station, 6 h gap", window: 24 * time.Hour, interval: time.Hour,
		step: time.Hour, dur: 24 * time.Hour, want: 0.75,
		skip: func(off time.Duration) bool { return off >= 6*time.Hour && off < 12*time.Hour }},
}

func TestCoverageIsTheTimeTheValuesSpan(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	for _, f := range coverageFeeds {
		t.Run(f.name, func(t *testing.T) {
			s := f.series(t0)
			m, cov, ok := s.mean(f.window, f.interval)
			if !ok || m != 50 || math.Abs(cov-f.want) > 1e-12 {
				t.Errorf("mean %v coverage %v (%v), want 50 and %v", m, cov, ok, f.want)
			}
		})
	}
}

// The covered totals are kept as values come (once mean has told the
// series its station's interval) and recounted when the interval is
// first known or changes: both give the same coverage.
func TestCoverageKeptAsValuesComeEqualsCoverageCounted(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	for _, f := range coverageFeeds {
		t.Run(f.name, func(t *testing.T) {
			s := newSeries([]time.Duration{f.window}, false)
			s.add(t0.Add(-time.Second), 50, 1) // mean learns the interval here
			s.mean(f.window, f.interval)
			for off := time.Duration(0); off < f.dur; off += f.step {
				if f.skip == nil || !f.skip(off) {
					s.add(t0.Add(off), 50, 1)
				}
			}
			_, kept, _ := s.mean(f.window, f.interval)
			s.covIv = -1 // forget the interval: recount
			_, counted, _ := s.mean(f.window, f.interval)
			if kept != counted {
				t.Errorf("coverage kept %v, counted %v", kept, counted)
			}
		})
	}
}

// The windows file stores each bucket's sum and n; the coverage follows
// from n and the station's interval, so it is the same after a load.
func TestCoverageSurvivesTheWindowsFile(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	for _, f := range coverageFeeds {
		t.Run(f.name, func(t *testing.T) {
			s := f.series(t0)
			m, cov, ok := s.mean(f.window, f.interval)
			s2 := roundTrip(t, s, []time.Duration{f.window})
			m2, cov2, ok2 := s2.mean(f.window, f.interval)
			if m2 != m || cov2 != cov || ok2 != ok {
				t.Errorf("after a load: mean %v coverage %v (%v), want %v %v (%v)", m2, cov2, ok2, m, cov, ok)
			}
			// Both go on alike.
			next := t0.Add(f.dur)
			s.add(next, 70, 1)
			s2.add(next, 70, 1)
			m, cov, _ = s.mean(f.window, f.interval)
			if m2, cov2, _ := s2.mean(f.window, f.interval); m2 != m || cov2 != cov {
				t.Errorf("one value after a load: mean %v coverage %v, want %v %v", m2, cov2, m, cov)
			}
		})
	}
}

func TestYearToDateIsTheMeanOfDailyMeansOfTheYear(t *testing.T) {
	s := newSeries(nil, true)
	s.ytd.strict = true // an hourly air station's pm25
	cst := time.FixedZone("CST", 8*3600)
	hourly := coverOf(time.Hour, ingest.PeriodInstant)
	// fill gives a day hourly values over its first hours.
	fill := func(m time.Month, d, hours int, v func(h int) float64) {
		for h := range hours {
			s.add(time.Date(2026, m, d, h, 0, 0, 0, cst), v(h), hourly)
		}
	}
	// Day 1: 10 and 30 alternating (mean 20); day 2: 20 hours of 40 (the
	// least that counts); day 3: 19 hours of 1000 (too few); day 4 so far:
	// 60 (open: not counted).
	fill(1, 1, 24, func(h int) float64 { return float64(10 + 20*(h%2)) })
	fill(1, 2, 20, func(int) float64 { return 40 })
	fill(1, 3, 19, func(int) float64 { return 1000 })
	fill(1, 4, 12, func(int) float64 { return 60 })
	if v, n, _ := s.ytd.value(); v != 30 || n != 2 {
		t.Errorf("ytd %v over %d days, want 30 over 2", v, n)
	}
	// A value for a closed day is refused.
	if s.ytd.add(time.Date(2026, 1, 1, 12, 0, 0, 0, cst), 1000, hourly) {
		t.Error("a value for a closed day was accepted")
	}
	// An hour is valid with 45 minutes of data: a 15-minute station's three
	// values make it, two do not; the station's own hourly mean makes it.
	quarter := coverOf(15*time.Minute, ingest.PeriodInstant)
	for h := range 24 {
		at := time.Date(2026, 1, 5, h, 0, 0, 0, cst)
		switch {
		case h < 19:
			for k := range 3 {
				s.add(at.Add(time.Duration(k)*15*time.Minute), 50, quarter)
			}
		case h == 19:
			s.add(at, 50, coverOf(15*time.Minute, ingest.PeriodHour))
		default:
			for k := range 2 {
				s.add(at.Add(time.Duration(k)*15*time.Minute), 1000, quarter)
			}
		}
	}
	s.add(time.Date(2026, 1, 6, 0, 0, 0, 0, cst), 0, hourly)
	// Day 4 had 12 hours: not counted; day 5 has 20 valid hours of 50.
	if v, n, _ := s.ytd.value(); v != (20+40+50)/3.0 || n != 3 {
		t.Errorf("ytd %v over %d days, want %v over 3", v, n, (20+40+50)/3.0)
	}
	// New Year (CST midnight, 16:00 UTC the day before) starts over: no
	// closed day yet.
	s.add(time.Date(2027, 1, 1, 0, 30, 0, 0, cst), 5, hourly)
	if _, n, ok := s.ytd.value(); ok || n != 0 {
		t.Errorf("ytd after New Year over %d days (ok %v), want none", n, ok)
	}
	if v := s.ytd.openMean(); v != 5 {
		t.Errorf("open day's mean %v, want 5", v)
	}
}

// TestYearToDateAgreesWithDerive feeds alert/derive and a year-to-date
// accumulator the same readings, with gaps that make hours and days
// invalid, and compares the rule engine's mean with derive's pm25_ytd,
// the figure Grafana shows.
func TestYearToDateAgreesWithDerive(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, cst)
	for _, tc := range []struct {
		name     string
		interval time.Duration
		// present reports whether the reading at minute m of hour h of day
		// d is sent.
		present func(d, h, m int) bool
	}{
		{"every reading", 15 * time.Minute, func(d, h, m int) bool { return true }},
		{"hours with two readings of four", 15 * time.Minute, func(d, h, m int) bool { return (d+h)%5 != 0 || m < 30 }},
		{"days with hours missing", time.Hour, func(d, h, m int) bool { return h < 24-d%7 }},
		{"5-minute data with gaps", 5 * time.Minute, func(d, h, m int) bool { return (d*24+h)%9 != 0 || m%20 == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &station.Station{ID: "s", Kind: ingest.KindAir, County: "Hetang", Interval: tc.interval}
			var lines []string
			now := t0
			d, err := derive.New(derive.DefaultConfig(), []*station.Station{st}, func(lp []byte) {
				lines = append(lines, strings.Split(string(lp), "\n")...)
			}, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			s := newSeries(nil, true)
			s.ytd.strict = ytdStrict(st, "pm25")
			cover := coverOf(tc.interval, ingest.PeriodInstant)
			for day := range 20 {
				for h := range 24 {
					for m := 0; m < 60; m += int(tc.interval / time.Minute) {
						if !tc.present(day, h, m) {
							continue
						}
						at := t0.AddDate(0, 0, day).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
						v := float64(20+(day*7+h*3+m)%50) + 0.25
						now = at.Add(time.Minute)
						d.Observe(st, &ingest.Reading{Station: "s", Time: at, Values: []ingest.Value{{Param: "pm25", V: v, Flag: ingest.FlagNormal}}})
						s.add(at, v, cover)
					}
				}
			}
			// The next day's first reading closes the last day for both.
			at := t0.AddDate(0, 0, 20)
			now = at.Add(time.Minute)
			d.Observe(st, &ingest.Reading{Station: "s", Time: at, Values: []ingest.Value{{Param: "pm25", V: 1, Flag: ingest.FlagNormal}}})
			s.add(at, 1, cover)
			d.Tick(now.Add(time.Second))

			var want string
			for _, l := range lines {
				if strings.HasPrefix(l, "compliance,") && strings.Contains(l, "scope=station") {
					for _, f := range strings.Split(strings.Fields(l)[1], ",") {
						if v, ok := strings.CutPrefix(f, "pm25_ytd="); ok {
							want = v
						}
					}
				}
			}
			w, err := strconv.ParseFloat(want, 64)
			if err != nil {
				t.Fatalf("derive wrote no pm25_ytd: %v", err)
			}
			got, days, ok := s.ytd.value()
			if !ok || math.Abs(got-w) > 1e-9*w {
				t.Errorf("year-to-date %v over %d days (ok %v); derive's pm25_ytd %v", got, days, ok, w)
			}
			t.Logf("%v over %d days", got, days)
		})
	}
}
