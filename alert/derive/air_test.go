package derive

import (
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert/aqi"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// fill feeds one reading per step from `from` (inclusive) to `to`
// (exclusive) with the values vals(t).
func (r *rig) fill(id string, from, to time.Time, step time.Duration, vals func(t time.Time) []ingest.Value) {
	for ts := from; ts.Before(to); ts = ts.Add(step) {
		r.setNow(ts.Add(2 * time.Second))
		r.observe(id, ts, vals(ts)...)
	}
}

func constant(vals ...ingest.Value) func(time.Time) []ingest.Value {
	return func(time.Time) []ingest.Value { return vals }
}

func TestHourlyMeanValidity(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		n        int
		step     time.Duration
		minutes  int
		valid    bool
	}{
		{"44 one-minute readings", time.Minute, 44, time.Minute, 44, false},
		{"45 one-minute readings", time.Minute, 45, time.Minute, 45, true},
		{"60 one-minute readings", time.Minute, 60, time.Minute, 60, true},
		{"8 five-minute readings", 5 * time.Minute, 8, 5 * time.Minute, 40, false},
		{"9 five-minute readings", 5 * time.Minute, 9, 5 * time.Minute, 45, true},
		{"1 hourly reading", time.Hour, 1, time.Hour, 60, true},
		{"90 readings every 30 s cover 45 minutes", 30 * time.Second, 90, 30 * time.Second, 45, true},
		{"88 readings every 30 s cover 44 minutes", 30 * time.Second, 88, 30 * time.Second, 44, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := airStation("a", tc.interval)
			r := newRig(t, DefaultConfig(), at(2026, 5, 1, 10, 0), st)
			h := at(2026, 5, 1, 10, 0)
			sum := 0.0
			for k := 0; k < tc.n; k++ {
				v := 10 + float64(k)
				sum += v
				r.observe("a", h.Add(time.Duration(k)*tc.step), nv("pm25", v))
			}
			// The station moves on: the hour closes by event time.
			r.observe("a", at(2026, 5, 1, 11, 10), nv("pm25", 1))
			p := r.s.must("air_hourly", h, "station", "a")
			if got := p.int(t, "pm25_minutes"); got != int64(tc.minutes) {
				t.Errorf("pm25_minutes = %d, want %d", got, tc.minutes)
			}
			if p.has("pm25") != tc.valid {
				t.Fatalf("pm25 present = %v, want %v (%v)", p.has("pm25"), tc.valid, p.Fields)
			}
			_, hasAQI := r.s.get("aqi", h, "station", "a", "period", "hour")
			if hasAQI != tc.valid {
				t.Errorf("hourly aqi written = %v, want %v", hasAQI, tc.valid)
			}
			if tc.valid {
				if got, want := p.float(t, "pm25"), sum/float64(tc.n); got != want {
					t.Errorf("pm25 = %v, want %v", got, want)
				}
			}
		})
	}
}

func TestOnlyNFlaggedValuesCount(t *testing.T) {
	for _, tc := range []struct {
		name    string
		flagged int // minutes with pm25 flagged
		flag    ingest.Flag
		minutes int
		valid   bool
	}{
		{"15 minutes in maintenance", 15, ingest.FlagMaintenance, 45, true},
		{"16 minutes in calibration", 16, ingest.FlagCalibration, 44, false},
		{"no flag byte counts as N", 60, 0, 60, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := airStation("a", time.Minute)
			r := newRig(t, DefaultConfig(), at(2026, 5, 1, 10, 0), st)
			h := at(2026, 5, 1, 10, 0)
			var sum float64
			var n int
			for k := 0; k < 60; k++ {
				pm25 := nv("pm25", 20+float64(k%7))
				if k < tc.flagged {
					pm25 = fv("pm25", 900, tc.flag) // would dominate the mean if it counted
				}
				if pm25.Flag == ingest.FlagNormal || pm25.Flag == 0 {
					sum += pm25.V
					n++
				}
				r.observe("a", h.Add(time.Duration(k)*time.Minute), pm25, nv("pm10", 50))
			}
			r.observe("a", at(2026, 5, 1, 11, 0), nv("pm10", 50))
			p := r.s.must("air_hourly", h, "station", "a")
			if got := p.int(t, "pm25_minutes"); got != int64(tc.minutes) {
				t.Errorf("pm25_minutes = %d, want %d", got, tc.minutes)
			}
			if p.float(t, "pm10") != 50 || p.int(t, "pm10_minutes") != 60 {
				t.Errorf("pm10 %v", p.Fields)
			}
			if p.has("pm25") != tc.valid {
				t.Fatalf("pm25 present = %v, want %v", p.has("pm25"), tc.valid)
			}
			if tc.valid && p.float(t, "pm25") != sum/float64(n) {
				t.Errorf("pm25 = %v, want %v (N values only)", p.float(t, "pm25"), sum/float64(n))
			}
		})
	}
}

func TestAllFlaggedParameterHasNoFields(t *testing.T) {
	st := airStation("a", time.Minute)
	r := newRig(t, DefaultConfig(), at(2026, 5, 1, 10, 0), st)
	r.fill("a", at(2026, 5, 1, 10, 0), at(2026, 5, 1, 11, 0), time.Minute,
		constant(fv("so2", 5, ingest.FlagFault), nv("no2", 40), nv("wind_dir", 270)))
	p := r.s.must("air_hourly", at(2026, 5, 1, 10, 0), "station", "a")
	if p.has("so2") || p.has("so2_minutes") || p.has("wind_dir") || p.has("wind_dir_minutes") {
		t.Errorf("fields %v", p.Fields)
	}
	if p.float(t, "no2") != 40 {
		t.Errorf("no2 %v", p.Fields)
	}
}

// hour feeds a full hour of 1-minute readings with constant values.
func (r *rig) hour(id string, h time.Time, vals ...ingest.Value) {
	r.fill(id, h, h.Add(time.Hour), time.Minute, constant(vals...))
}

func six(so2, no2, co, o3, pm10, pm25 float64) []ingest.Value {
	return []ingest.Value{nv("so2", so2), nv("no2", no2), nv("co", co), nv("o3", o3), nv("pm10", pm10), nv("pm25", pm25)}
}

func TestLateReadingRecomputesHourWindowsAndDay(t *testing.T) {
	st := airStation("a", time.Minute)
	cfg := DefaultConfig()
	cfg.Edition = "2012" // the 24 h moving PM means make the later hours depend on the late one
	r := newRig(t, cfg, at(2026, 5, 1, 0, 0), st)
	// A full day, except that hour 22 has 50 minutes (its 10:50–… gap).
	for h := 0; h < 24; h++ {
		start := at(2026, 5, 1, h, 0)
		end := start.Add(time.Hour)
		if h == 22 {
			end = start.Add(50 * time.Minute)
		}
		r.fill("a", start, end, time.Minute, constant(six(10, 30, 0.5, 80, 60, 40)...))
	}
	r.hour("a", at(2026, 5, 2, 0, 0), six(10, 30, 0.5, 80, 60, 40)...) // day closed, clock at 01:00
	h22, h23 := at(2026, 5, 1, 22, 0), at(2026, 5, 1, 23, 0)
	day := at(2026, 5, 1, 0, 0)
	if n := r.s.writesOf("air_hourly", h22); n != 1 {
		t.Fatalf("hour 22 written %d times before the late reading", n)
	}
	aqiBefore := r.s.must("aqi", h23, "period", "hour")
	wantBefore, _ := aqi.Hourly(aqi.Edition2012, aqi.Inputs{aqi.SO2Mean1h: 10, aqi.NO2Mean1h: 30, aqi.COMean1h: 0.5,
		aqi.O3Mean1h: 80, aqi.O3Mean8h: 80, aqi.PM10Mean24h: 60, aqi.PM25Mean24h: 40, aqi.SO2Mean24h: 10})
	if got := aqiBefore.int(t, "aqi"); got != int64(wantBefore.AQI) {
		t.Fatalf("hour 23 aqi %d, want %d", got, wantBefore.AQI)
	}

	// The station clock is at 01:00: hour 22 (end 23:00 + lateness 2h) is
	// final, hour 23 (final at 02:00) is not.
	r.setNow(at(2026, 5, 2, 1, 0).Add(3 * time.Second))
	r.observe("a", at(2026, 5, 1, 22, 55), nv("pm25", 1000))
	if r.d.Stats().TooLate != 1 {
		t.Fatalf("reading for a final hour: TooLate = %d, want 1", r.d.Stats().TooLate)
	}
	r.tick(at(2026, 5, 2, 1, 0).Add(4 * time.Second))
	if n := r.s.writesOf("air_hourly", h22); n != 1 {
		t.Fatalf("final hour rewritten (%d writes)", n)
	}

	// Hour 23 is still within lateness (ends 00:00, final at 02:00).
	r.observe("a", atS(2026, 5, 1, 23, 30, 30), nv("pm25", 1000))
	r.tick(at(2026, 5, 2, 1, 0).Add(5 * time.Second))
	if n := r.s.writesOf("air_hourly", h23); n != 2 {
		t.Fatalf("hour 23 written %d times, want 2", n)
	}
	p := r.s.must("air_hourly", h23, "station", "a")
	wantMean := (60*40.0 + 1000) / 61
	if got := p.float(t, "pm25"); got != toFloat(new(big.Rat).SetFrac64(60*40+1000, 61)) {
		t.Fatalf("hour 23 pm25 %v, want %v", got, wantMean)
	}
	if got := p.int(t, "pm25_minutes"); got != 60 {
		t.Errorf("minutes %d (the 23:30:30 reading shares minute 30)", got)
	}
	// The hourly AQI of hour 23 and of hour 00:00 (whose 24 h window holds
	// hour 23) were rewritten; the daily AQI and compliance of the day too.
	if n := r.s.writesOf("aqi", h23, "period", "hour"); n != 2 {
		t.Errorf("aqi hour 23 written %d times, want 2", n)
	}
	if n := r.s.writesOf("aqi", at(2026, 5, 2, 0, 0), "period", "hour"); n != 2 {
		t.Errorf("aqi hour 00 written %d times, want 2", n)
	}
	if n := r.s.writesOf("aqi", day, "period", "day"); n != 2 {
		t.Errorf("aqi day written %d times, want 2", n)
	}
	if n := r.s.writesOf("compliance", day, "scope", "station"); n != 2 {
		t.Errorf("compliance written %d times, want 2", n)
	}
	// Hours not containing 23 in their windows are left alone.
	if n := r.s.writesOf("aqi", at(2026, 5, 1, 21, 0), "period", "hour"); n != 1 {
		t.Errorf("aqi hour 21 written %d times, want 1", n)
	}
	// pm25_24h of hour 23: 23 hours at 40 and hour 23's new mean (hour 22 has 50 minutes, valid).
	sum := new(big.Rat).SetInt64(23 * 40)
	sum.Add(sum, new(big.Rat).SetFrac64(60*40+1000, 61))
	sum.Quo(sum, big.NewRat(24, 1))
	want, _ := aqi.Hourly(aqi.Edition2012, aqi.Inputs{aqi.SO2Mean1h: 10, aqi.NO2Mean1h: 30, aqi.COMean1h: 0.5,
		aqi.O3Mean1h: 80, aqi.O3Mean8h: 80, aqi.PM10Mean24h: 60, aqi.PM25Mean24h: toFloat(sum), aqi.SO2Mean24h: 10})
	got := r.s.must("aqi", h23, "period", "hour")
	if got.int(t, "iaqi_pm25_24h") != int64(want.IAQI[aqi.PM25Mean24h]) || got.int(t, "aqi") != int64(want.AQI) {
		t.Errorf("hour 23 after the late reading: %v, want %+v", got.Fields, want)
	}

	// A redelivered reading (same time, same value) changes nothing.
	r.observe("a", atS(2026, 5, 1, 23, 30, 30), nv("pm25", 1000))
	r.tick(at(2026, 5, 2, 1, 0).Add(6 * time.Second))
	if n := r.s.writesOf("air_hourly", h23); n != 2 {
		t.Errorf("duplicate reading rewrote the hour (%d writes)", n)
	}
}

func TestSilentStationClosesByWallClock(t *testing.T) {
	st := airStation("a", time.Minute)
	r := newRig(t, DefaultConfig(), at(2026, 5, 1, 10, 0), st)
	r.fill("a", at(2026, 5, 1, 10, 0), at(2026, 5, 1, 10, 30), time.Minute, constant(nv("pm25", 30)))
	h := at(2026, 5, 1, 10, 0)
	r.tick(atS(2026, 5, 1, 10, 59, 0))
	if _, ok := r.s.get("air_hourly", h); ok {
		t.Fatal("hour written before its end")
	}
	// Its next reading was due at 10:30:02; the clock runs on from then,
	// after clockGrace (15 s).
	r.tick(atS(2026, 5, 1, 11, 0, 5))
	if _, ok := r.s.get("air_hourly", h); ok {
		t.Fatal("hour written before the station's clock reached its end")
	}
	r.tick(atS(2026, 5, 1, 11, 0, 20))
	p := r.s.must("air_hourly", h, "station", "a")
	if p.has("pm25") || p.int(t, "pm25_minutes") != 30 {
		t.Errorf("%v", p.Fields)
	}
	s := r.d.byID["a"]
	if s.hours[0].acc == nil {
		t.Error("hour final before end + lateness")
	}
	r.tick(atS(2026, 5, 1, 13, 0, 20))
	if s.hours[0].acc != nil {
		t.Error("hour not final after end + lateness")
	}
	// The day closes by wall clock too.
	r.tick(atS(2026, 5, 2, 0, 0, 20))
	if _, ok := r.s.get("air_daily", at(2026, 5, 1, 0, 0), "station", "a"); !ok {
		t.Error("day not closed")
	}
}

func atS(y int, m time.Month, d, h, min, sec int) time.Time {
	return time.Date(y, m, d, h, min, sec, 0, cst)
}

func TestHourlyAQIAcrossTheEditionChange(t *testing.T) {
	vals := six(10, 30, 0.5, 100, 100, 70)
	for _, tc := range []struct {
		edition  string
		hour     time.Time
		wantEd   string
		wantIAQI map[string]int64 // spot checks computed by hand
		wantAQI  int64
		level    int64
	}{
		// 2012 hourly: pm25_24h moving mean 70 → 50 + (70−35)×50/40 = 93.75 → 94;
		// pm10_24h 100 → 75; o3_8h 100 → 50; o3_1h 100 → 31.25 → 32.
		{"auto", at(2026, 2, 28, 23, 0), "2012", map[string]int64{"iaqi_pm25_24h": 94, "iaqi_pm10_24h": 75, "iaqi_o3_8h": 50, "iaqi_o3_1h": 32}, 94, 2},
		// 2026 hourly: pm25_1h 70 on the 2026 daily breakpoints → 100 + 10×50/55 = 109.09 → 110;
		// pm10_1h 100 → 50 + 50×50/70 = 85.7 → 86; no o3_8h.
		{"auto", at(2026, 3, 1, 0, 0), "2026", map[string]int64{"iaqi_pm25_1h": 110, "iaqi_pm10_1h": 86, "iaqi_o3_1h": 32}, 110, 3},
		{"2012", at(2026, 3, 1, 0, 0), "2012", map[string]int64{"iaqi_pm25_24h": 94}, 94, 2},
		{"2026", at(2026, 2, 28, 23, 0), "2026", map[string]int64{"iaqi_pm25_1h": 110}, 110, 3},
	} {
		t.Run(tc.edition+" "+tc.hour.Format("01-02T15"), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Edition = tc.edition
			st := airStation("a", time.Minute)
			r := newRig(t, cfg, at(2026, 2, 27, 0, 0), st)
			r.fill("a", at(2026, 2, 27, 0, 0), at(2026, 3, 1, 1, 0), time.Minute, constant(vals...))
			p := r.s.must("aqi", tc.hour, "station", "a", "period", "hour")
			if p.Tags["edition"] != tc.wantEd {
				t.Errorf("edition %s, want %s", p.Tags["edition"], tc.wantEd)
			}
			for f, v := range tc.wantIAQI {
				if got := p.int(t, f); got != v {
					t.Errorf("%s = %d, want %d", f, got, v)
				}
			}
			if p.int(t, "aqi") != tc.wantAQI || p.int(t, "level") != tc.level || p.str(t, "primary") != "pm25" || !p.bool(t, "complete") {
				t.Errorf("fields %v", p.Fields)
			}
			// The fields are exactly the edition's hourly indicators.
			ed, _ := aqi.ParseEdition(tc.wantEd)
			for _, ind := range aqi.Indicators() {
				want := false
				for _, s := range aqi.Scored(ed, aqi.ReportHourly) {
					want = want || s == ind
				}
				if p.has("iaqi_"+string(ind)) != want {
					t.Errorf("iaqi_%s present = %v, want %v", ind, !want, want)
				}
			}
		})
	}
}

func TestHourly2012NeedsTwentyHoursForPM(t *testing.T) {
	st := airStation("a", time.Minute)
	r := newRig(t, DefaultConfig(), at(2026, 2, 1, 0, 0), st)
	r.fill("a", at(2026, 2, 1, 0, 0), at(2026, 2, 1, 21, 0), time.Minute, constant(six(10, 30, 0.5, 100, 100, 70)...))
	for h := 0; h < 21; h++ {
		p := r.s.must("aqi", at(2026, 2, 1, h, 0), "period", "hour")
		if got := p.has("iaqi_pm25_24h"); got != (h >= 19) {
			t.Errorf("hour %d: pm25_24h sub-index %v, want it from the 20th hour on", h, got)
		}
		if got := p.has("iaqi_o3_8h"); got != (h >= 5) {
			t.Errorf("hour %d: o3_8h sub-index %v, want it from the 6th hour on", h, got)
		}
		if got := p.bool(t, "complete"); got != (h >= 19) {
			t.Errorf("hour %d: complete %v", h, got)
		}
	}
}

func TestHourly2026RoundsInputs(t *testing.T) {
	for _, tc := range []struct {
		a, b float64 // two halves of the hour
		want int64   // iaqi_pm25_1h
	}{
		{60, 61, 100},   // mean 60.5 → 60 (half to even) → IAQI 100 (2026 breakpoint)
		{61, 62, 102},   // 61.5 → 62 → 100 + 2×50/55 = 101.8 → 102
		{60, 60.8, 100}, // 60.4 → 60 → 100
		{60, 61.2, 101}, // 60.6 → 61 → 100 + 50/55 = 100.9 → 101
	} {
		st := airStation("a", time.Minute)
		r := newRig(t, DefaultConfig(), at(2026, 5, 1, 10, 0), st)
		r.fill("a", at(2026, 5, 1, 10, 0), at(2026, 5, 1, 10, 30), time.Minute, constant(nv("pm25", tc.a)))
		r.fill("a", at(2026, 5, 1, 10, 30), at(2026, 5, 1, 11, 0), time.Minute, constant(nv("pm25", tc.b)))
		p := r.s.must("aqi", at(2026, 5, 1, 10, 0), "period", "hour")
		if got := p.int(t, "iaqi_pm25_1h"); got != tc.want {
			t.Errorf("mean of %v and %v: iaqi_pm25_1h %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestRoundGBT8170(t *testing.T) {
	for _, tc := range []struct {
		in   string
		dec  int
		want string
	}{
		{"60.5", 0, "60"}, {"61.5", 0, "62"}, {"60.4", 0, "60"}, {"60.6", 0, "61"}, {"60.50001", 0, "61"},
		{"2.45", 1, "2.4"}, {"2.35", 1, "2.4"}, {"2.451", 1, "2.5"}, {"0.05", 1, "0"}, {"0", 0, "0"},
	} {
		r, _ := new(big.Rat).SetString(tc.in)
		want, _ := new(big.Rat).SetString(tc.want)
		if got := roundGBT8170(r, tc.dec); got.Cmp(want) != 0 {
			t.Errorf("round(%s, %d) = %s, want %s", tc.in, tc.dec, got.FloatString(3), tc.want)
		}
	}
}

// dayOfHours feeds a full day of 1-minute readings; vals(h) gives hour
// h's values (nil = no readings that hour).
func (r *rig) dayOfHours(id string, day time.Time, vals func(h int) []ingest.Value) {
	for h := 0; h < 24; h++ {
		if v := vals(h); v != nil {
			r.hour(id, day.Add(time.Duration(h)*time.Hour), v...)
		}
	}
}

func TestDailyAQI(t *testing.T) {
	// Hour h: pm25 41+h (mean 52.5), o3 50+5h (max 1 h 165, max 8 h over
	// hours 16–23: 147.5), the rest constant.
	hourVals := func(h int) []ingest.Value {
		return six(12, 35, 0.8, 50+5*float64(h), 90, 41+float64(h))
	}
	for _, tc := range []struct {
		day     time.Time
		edition aqi.Edition
		inputs  aqi.Inputs
		pm25    int64
	}{
		// 2012 daily, unrounded: pm25 52.5 → 50 + 17.5×50/40 = 71.875 → 72.
		{at(2026, 2, 28, 0, 0), aqi.Edition2012, aqi.Inputs{aqi.SO2Mean24h: 12, aqi.NO2Mean24h: 35, aqi.COMean24h: 0.8,
			aqi.O3Mean1h: 165, aqi.O3Mean8h: 147.5, aqi.PM10Mean24h: 90, aqi.PM25Mean24h: 52.5}, 72},
		// 2026 daily, rounded per GB/T 8170: pm25 52.5 → 52 → 50 + 17×50/25 = 84; o3_8h 147.5 → 148.
		{at(2026, 3, 1, 0, 0), aqi.Edition2026, aqi.Inputs{aqi.SO2Mean24h: 12, aqi.NO2Mean24h: 35, aqi.COMean24h: 0.8,
			aqi.O3Mean8h: 148, aqi.PM10Mean24h: 90, aqi.PM25Mean24h: 52}, 84},
	} {
		t.Run(tc.edition.String(), func(t *testing.T) {
			st := airStation("a", time.Minute)
			r := newRig(t, DefaultConfig(), tc.day, st)
			r.dayOfHours("a", tc.day, hourVals)
			r.observe("a", tc.day.Add(24*time.Hour), six(1, 1, 1, 1, 1, 1)...)
			want, err := aqi.Daily(tc.edition, tc.inputs)
			if err != nil {
				t.Fatal(err)
			}
			p := r.s.must("aqi", tc.day, "period", "day", "station", "a")
			if p.Tags["edition"] != tc.edition.String() {
				t.Errorf("edition %v", p.Tags)
			}
			if p.int(t, "aqi") != int64(want.AQI) || p.int(t, "level") != int64(want.Level) ||
				p.str(t, "primary") != strings.Join(want.Primary, "+") || !p.bool(t, "complete") {
				t.Errorf("got %v, want %+v", p.Fields, want)
			}
			for ind, v := range want.IAQI {
				if got := p.int(t, "iaqi_"+string(ind)); got != int64(v) {
					t.Errorf("iaqi_%s = %d, want %d", ind, got, v)
				}
			}
			if len(p.Fields) != 7+len(want.IAQI) {
				t.Errorf("fields %v, want %d sub-indices", p.Fields, len(want.IAQI))
			}
			if got := p.int(t, "iaqi_pm25_24h"); got != tc.pm25 {
				t.Errorf("iaqi_pm25_24h %d, want %d", got, tc.pm25)
			}
			dp := r.s.must("air_daily", tc.day, "station", "a")
			if dp.float(t, "pm25_24h") != 52.5 || dp.float(t, "o3_1h") != 165 || dp.float(t, "o3_8h") != 147.5 ||
				dp.int(t, "pm25_hours") != 24 || dp.int(t, "o3_8h_windows") != 17 {
				t.Errorf("air_daily %v", dp.Fields)
			}
		})
	}
}

func TestDailyValidity(t *testing.T) {
	for _, tc := range []struct {
		name       string
		missingPM  int // hours 0..n-1 without pm25
		missingO3  int // hours 0..n-1 without o3
		pm25, o31h bool
		o38h       bool
		windows    int64
	}{
		{"complete", 0, 0, true, true, true, 17},
		{"20 pm25 hours", 4, 0, true, true, true, 17},
		{"19 pm25 hours", 5, 0, false, true, true, 17},
		{"o3 from hour 4: 15 windows", 0, 4, true, true, true, 15},
		{"o3 from hour 5: 14 windows, 19 hours", 0, 5, true, false, true, 14},
		{"o3 from hour 6: 13 windows", 0, 6, true, false, false, 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			day := at(2026, 2, 10, 0, 0)
			st := airStation("a", time.Minute)
			r := newRig(t, DefaultConfig(), day, st)
			r.dayOfHours("a", day, func(h int) []ingest.Value {
				v := []ingest.Value{nv("so2", 5), nv("no2", 20), nv("co", 0.4), nv("pm10", 40)}
				if h >= tc.missingPM {
					v = append(v, nv("pm25", 30))
				}
				if h >= tc.missingO3 {
					v = append(v, nv("o3", 60))
				}
				return v
			})
			r.observe("a", day.Add(24*time.Hour), nv("so2", 1))
			dp := r.s.must("air_daily", day, "station", "a")
			if dp.has("pm25_24h") != tc.pm25 || dp.has("o3_1h") != tc.o31h || dp.has("o3_8h") != tc.o38h ||
				dp.int(t, "o3_8h_windows") != tc.windows {
				t.Errorf("air_daily %v", dp.Fields)
			}
			p := r.s.must("aqi", day, "period", "day")
			if p.bool(t, "complete") != (tc.pm25 && tc.o31h && tc.o38h) {
				t.Errorf("complete %v", p.Fields)
			}
		})
	}
}

func TestConcurrentObserveAndTick(t *testing.T) {
	st := airStation("a", time.Minute)
	r := newRig(t, DefaultConfig(), at(2026, 5, 1, 0, 0), st)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				r.d.Tick(at(2026, 5, 1, 0, 0))
				_ = r.d.Stats()
			}
		}
	}()
	for m := 0; m < 3*60; m++ {
		ts := at(2026, 5, 1, 0, 0).Add(time.Duration(m) * time.Minute)
		r.d.Observe(st, &ingest.Reading{Station: "a", Time: ts, Values: six(1, 2, 0.3, 4, 5, 6)})
	}
	close(stop)
	wg.Wait()
	if n := len(r.s.all("air_hourly")); n != 3 {
		t.Errorf("%d hourly points, want 3 (the 02:59 reading closes hour 2)", n)
	}
}

// A station's own hourly means (HJ 212 2061) stand for the hour directly,
// even from a station that reports every minute: they feed the AQI.
func TestStationHourlyDataIsTheHourlyMean(t *testing.T) {
	st := airStation("a", time.Minute)
	r := newRig(t, DefaultConfig(), at(2026, 5, 1, 10, 0), st)
	h := at(2026, 5, 1, 10, 0)
	r.d.Observe(st, &ingest.Reading{Station: "a", Time: h, Period: ingest.PeriodHour,
		Values: []ingest.Value{nv("pm25", 80), nv("pm10", 120)}})
	// A daily value from the station is stored by the pipeline but is not
	// a reading of the hour.
	r.d.Observe(st, &ingest.Reading{Station: "a", Time: at(2026, 5, 1, 0, 0), Period: ingest.PeriodDay,
		Values: []ingest.Value{nv("pm25", 5)}})
	r.observe("a", at(2026, 5, 1, 11, 10), nv("pm25", 1))
	p := r.s.must("air_hourly", h, "station", "a")
	if p.float(t, "pm25") != 80 || p.float(t, "pm10") != 120 || p.int(t, "pm25_minutes") != 60 {
		t.Fatalf("air_hourly %v", p.Fields)
	}
	if _, ok := r.s.get("aqi", h, "station", "a", "period", "hour"); !ok {
		t.Error("no hourly AQI from the station's hourly data")
	}
}

// The hourly AQI reaches OnAQI with its completeness: an hour with a
// scored pollutant missing gives only a lower bound of the true AQI, which
// the alert engine must not take for the AQI itself.
func TestHourlyAQIReachesOnAQIWithItsCompleteness(t *testing.T) {
	for _, tc := range []struct {
		name    string
		flagged int // hour (0–3) whose PM2.5 is flagged C, −1 for none
		want    []string
	}{
		{"every pollutant valid: every hour complete", -1,
			[]string{"00:00=172 complete", "01:00=172 complete", "02:00=172 complete", "03:00=172 complete"}},
		{"PM2.5 in calibration at 02:00: that hour's 79 is a lower bound", 2,
			[]string{"00:00=172 complete", "01:00=172 complete", "02:00=79 lower bound", "03:00=172 complete"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := airStation("a", time.Hour)
			t0 := at(2026, 6, 1, 0, 0) // HJ 633-2026
			r := newRig(t, DefaultConfig(), t0, st)
			var got []string
			r.d.OnAQI(func(_ *station.Station, period string, start time.Time, v int, complete bool) {
				if period == "hour" {
					s := start.In(cst).Format("15:04") + "=" + strconv.Itoa(v) + " lower bound"
					if complete {
						s = strings.TrimSuffix(s, "lower bound") + "complete"
					}
					got = append(got, s)
				}
			})
			for h := 0; h < 4; h++ {
				ts := t0.Add(time.Duration(h) * time.Hour)
				pm := nv("pm25", 130)
				if h == tc.flagged {
					pm = fv("pm25", 130, ingest.FlagCalibration)
				}
				r.setNow(ts.Add(time.Hour + time.Minute))
				r.observe("a", ts, pm, nv("pm10", 90), nv("no2", 30), nv("so2", 10), nv("co", 0.6), nv("o3", 60))
			}
			r.tick(t0.Add(5 * time.Hour))
			if !slices.Equal(got, tc.want) {
				t.Errorf("OnAQI saw %v, want %v", got, tc.want)
			}
		})
	}
}

// HJ 633-2012 hourly: SO2 above 800 µg/m³ is scored from its 24 h mean;
// with that mean not valid yet the hour's AQI is a lower bound, written as
// not complete (so that it cannot end an AQI alert).
func TestHourlyAQIWithoutSO2SubIndexIsNotComplete(t *testing.T) {
	r := newRig(t, DefaultConfig(), at(2025, 5, 1, 0, 0), airStation("a", time.Minute))
	// A day of valid data but SO2's, in maintenance: every other
	// indicator, the 24 h means included, is scored.
	r.fill("a", at(2025, 5, 1, 0, 0), at(2025, 5, 1, 23, 0), time.Minute, func(time.Time) []ingest.Value {
		v := six(10, 20, 0.5, 60, 50, 30)
		v[0] = fv("so2", 10, ingest.FlagMaintenance)
		return v
	})
	r.fill("a", at(2025, 5, 1, 23, 0), at(2025, 5, 2, 0, 0), time.Minute, constant(six(900, 20, 0.5, 60, 50, 30)...))
	r.observe("a", at(2025, 5, 2, 0, 5), six(10, 20, 0.5, 60, 50, 30)...)
	p := r.s.must("aqi", at(2025, 5, 1, 23, 0), "period", "hour")
	if !p.has("iaqi_pm25_24h") {
		t.Fatalf("fields %v: the 24 h means should be scored", p.Fields)
	}
	if p.has("iaqi_so2_1h") || p.bool(t, "complete") {
		t.Errorf("fields %v: want no SO2 sub-index and complete=false", p.Fields)
	}
}

// A station's clock does not run past the end of an hour while the hour's
// last reading is on its way: with readings arriving 2 to 8 s after their
// time, the hour is written once, from all 60 minutes.
func TestAnHourWaitsForItsLastReading(t *testing.T) {
	r := newRig(t, DefaultConfig(), at(2026, 5, 1, 10, 0), airStation("a", time.Minute))
	for m := 0; m < 60; m++ {
		ts := at(2026, 5, 1, 10, m)
		delay := 2 * time.Second
		if m%2 == 1 {
			delay = 8 * time.Second
		}
		r.tick(ts.Add(delay - 500*time.Millisecond)) // the daemon ticks every second
		r.setNow(ts.Add(delay))
		r.observe("a", ts, nv("pm25", 30))
	}
	r.tick(atS(2026, 5, 1, 11, 0, 30))
	var n int
	for _, p := range r.s.writes {
		if p.Meas == "air_hourly" && p.Time == at(2026, 5, 1, 10, 0).UnixNano() {
			n++
			if p.int(t, "pm25_minutes") != 60 {
				t.Errorf("written from %v minutes", p.Fields["pm25_minutes"])
			}
		}
	}
	if n != 1 {
		t.Errorf("hour written %d times, want once", n)
	}
}
