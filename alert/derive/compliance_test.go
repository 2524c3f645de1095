package derive

import (
	"fmt"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert/limits"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

func TestComplianceArithmetic(t *testing.T) {
	a, b := airStation("a", time.Minute), airStation("b", time.Minute)
	w1, w2 := waterStation("w1", "II", "river"), waterStation("w2", "II", "river")
	r := newRig(t, DefaultConfig(), at(2026, 1, 1, 0, 0), a, b, w1, w2)
	day := func(n int) time.Time { return at(2026, 1, n, 0, 0) }

	// Water on day 3: w1's latest sample meets Class II, w2's latest
	// does not (its earlier one did).
	r.observe("w1", at(2026, 1, 3, 8, 0), nv("nh3n", 0.8))
	r.observe("w1", at(2026, 1, 3, 12, 0), nv("nh3n", 0.3))
	r.observe("w2", at(2026, 1, 3, 8, 0), nv("nh3n", 0.3))
	r.observe("w2", at(2026, 1, 3, 12, 0), nv("nh3n", 0.8))

	// Daily PM per station (2012 edition, so2 10, no2 20, co 0.5, o3 60):
	//   a: pm25 40/50/80, pm10 60/70/100 → AQI 57, 69, 107: 3 valid, 2 good
	//   b: pm25 30/(flagged)/60, pm10 50/60/90 → AQI 50, –, 82: 2 valid, 2 good
	pm := map[string][3][2]float64{"a": {{40, 60}, {50, 70}, {80, 100}}, "b": {{30, 50}, {-1, 60}, {60, 90}}}
	for n := 1; n <= 3; n++ {
		for _, id := range []string{"a", "b"} {
			p := pm[id][n-1]
			vals := []ingest.Value{nv("so2", 10), nv("no2", 20), nv("co", 0.5), nv("o3", 60), nv("pm10", p[1]), nv("pm25", p[0])}
			if p[0] < 0 {
				vals[5] = fv("pm25", 500, ingest.FlagMaintenance)
			}
			r.fill(id, day(n), day(n+1), time.Minute, constant(vals...))
		}
	}
	r.settle() // b's days closed within a second of a's: the daemon's tick writes the network points
	for _, id := range []string{"a", "b"} {
		if p := r.s.must("aqi", day(3), "period", "day", "station", id); p.int(t, "aqi") != map[string]int64{"a": 107, "b": 82}[id] {
			t.Fatalf("%s day 3 aqi %v", id, p.Fields)
		}
	}

	pm25Target, _ := limits.Limit(limits.ZhuzhouPlan, "pm25", limits.Annual, 0, day(1))
	pm10Target, _ := limits.Limit(limits.ZhuzhouPlan, "pm10", limits.Annual, 0, day(1))
	goodTarget, _ := limits.GoodDaysTarget(limits.ZhuzhouPlan)
	if pm25Target != 45 || pm10Target != 70 || goodTarget != 0.83 {
		t.Fatalf("plan figures %v %v %v", pm25Target, pm10Target, goodTarget)
	}
	check := func(p point, pm25, pm10 float64, pm25Days, valid, good int64) {
		t.Helper()
		if p.float(t, "pm25_ytd") != pm25 || p.float(t, "pm10_ytd") != pm10 || p.int(t, "pm25_days") != pm25Days ||
			p.int(t, "valid_days") != valid || p.int(t, "good_days") != good ||
			p.float(t, "good_days_rate") != float64(good)/float64(valid) ||
			p.float(t, "pm25_target") != pm25Target || p.float(t, "pm10_target") != pm10Target ||
			p.float(t, "good_days_target") != goodTarget {
			t.Errorf("%v %v", p.Tags, p.Fields)
		}
	}
	check(r.s.must("compliance", day(1), "scope", "station", "station", "a"), 40, 60, 1, 1, 1)
	check(r.s.must("compliance", day(3), "scope", "station", "station", "a"), (40.0+50+80)/3, (60.0+70+100)/3, 3, 3, 2)
	check(r.s.must("compliance", day(2), "scope", "station", "station", "b"), 30, (50.0+60)/2, 1, 1, 1)
	check(r.s.must("compliance", day(3), "scope", "station", "station", "b"), (30.0+60)/2, (50.0+60+90)/3, 2, 2, 2)

	// Network: daily means over the stations with a valid value (day 2's
	// PM2.5 is a's alone), network AQI from them: 53, 69, 94, all good.
	n3 := r.s.must("compliance", day(3), "scope", "network")
	if _, ok := n3.Tags["station"]; ok {
		t.Errorf("network point has a station tag: %v", n3.Tags)
	}
	check(n3, (35.0+50+70)/3, (55.0+65+95)/3, 3, 3, 3)
	if n3.int(t, "stations") != 2 || n3.int(t, "sections_total") != 2 || n3.int(t, "sections_meeting") != 1 ||
		n3.float(t, "sections_meeting_share") != 0.5 {
		t.Errorf("network %v", n3.Fields)
	}
	n1 := r.s.must("compliance", day(1), "scope", "network")
	check(n1, 35, 55, 1, 1, 1)
	if n1.int(t, "sections_total") != 0 || n1.has("sections_meeting_share") {
		t.Errorf("network day 1 water %v", n1.Fields)
	}

	// A sample late on day 3 that changes w2's latest status rewrites the
	// network point of day 3.
	r.observe("w2", at(2026, 1, 3, 20, 0), nv("nh3n", 0.2))
	r.tick(at(2026, 1, 4, 0, 1))
	if n3 := r.s.must("compliance", day(3), "scope", "network"); n3.int(t, "sections_meeting") != 2 || n3.float(t, "sections_meeting_share") != 1 {
		t.Errorf("after w2's late sample %v", n3.Fields)
	}
}

func TestComplianceYearToDateStartsEachYear(t *testing.T) {
	a := airStation("a", time.Hour)
	r := newRig(t, DefaultConfig(), at(2025, 12, 30, 0, 0), a)
	for ts := at(2025, 12, 30, 0, 0); ts.Before(at(2026, 1, 2, 1, 0)); ts = ts.Add(time.Hour) {
		r.setNow(ts)
		r.observe("a", ts, six(10, 20, 0.5, 60, 50, 30)...)
	}
	if p := r.s.must("compliance", at(2025, 12, 31, 0, 0), "scope", "station"); p.int(t, "valid_days") != 2 {
		t.Errorf("Dec 31: %v", p.Fields)
	}
	if p := r.s.must("compliance", at(2026, 1, 1, 0, 0), "scope", "station"); p.int(t, "valid_days") != 1 || p.int(t, "pm25_days") != 1 {
		t.Errorf("Jan 1: %v", p.Fields)
	}
	if p := r.s.must("compliance", at(2026, 1, 1, 0, 0), "scope", "network"); p.int(t, "valid_days") != 1 {
		t.Errorf("network Jan 1: %v", p.Fields)
	}
}

func TestNetworkPointIsWrittenOncePerSecondAtADaysClose(t *testing.T) {
	// 200 stations close the same day within one second of wall clock, as
	// at midnight in operation. The network point depends on all of them;
	// Observe writes it at the first close and then defers it to the next
	// Tick, instead of recomputing it over the network at every close.
	const n = 200
	var stations []*station.Station
	for i := range n {
		stations = append(stations, airStation(fmt.Sprintf("s%03d", i), time.Hour))
	}
	r := newRig(t, DefaultConfig(), at(2026, 1, 2, 0, 0).Add(500*time.Millisecond), stations...)
	day1 := at(2026, 1, 1, 0, 0)
	for _, st := range stations {
		r.observe(st.ID, at(2026, 1, 1, 12, 0), six(10, 20, 0.5, 60, 50, 30)...)
	}
	for _, st := range stations {
		r.observe(st.ID, at(2026, 1, 2, 0, 0), six(10, 20, 0.5, 60, 50, 30)...)
	}
	if w := r.s.writesOf("compliance", day1, "scope", "network"); w != 1 {
		t.Errorf("Observe wrote the network point %d times, want once", w)
	}
	if got := r.s.must("compliance", day1, "scope", "network").int(t, "stations"); got != 1 {
		t.Errorf("first network point counts %d stations, want 1 (the first to close)", got)
	}
	r.settle()
	if w := r.s.writesOf("compliance", day1, "scope", "network"); w != 2 {
		t.Errorf("after the tick the network point was written %d times, want twice", w)
	}
	if got := r.s.must("compliance", day1, "scope", "network").int(t, "stations"); got != n {
		t.Errorf("network point counts %d stations, want %d", got, n)
	}
	// More than a second later, a close is written at once again.
	r.setNow(at(2026, 1, 3, 0, 0))
	r.observe("s000", at(2026, 1, 3, 0, 0), six(10, 20, 0.5, 60, 50, 30)...)
	if w := r.s.writesOf("compliance", at(2026, 1, 2, 0, 0), "scope", "network"); w != 1 {
		t.Errorf("day 2's network point was written %d times by Observe, want once", w)
	}
}

// A station that falls silent does not keep the network's days for good:
// after two years of another station's data the network holds about a
// year of days, not every one since the silence.
func TestASilentStationDoesNotPinTheNetworksDays(t *testing.T) {
	a, b := airStation("a", time.Hour), airStation("b", time.Hour)
	r := newRig(t, DefaultConfig(), at(2026, 1, 1, 0, 0), a, b)
	r.setNow(at(2026, 1, 1, 0, 1))
	r.observe("b", at(2026, 1, 1, 0, 0), six(10, 20, 0.5, 60, 50, 30)...)
	for ts := at(2026, 1, 1, 0, 0); ts.Before(at(2028, 3, 1, 0, 0)); ts = ts.Add(time.Hour) {
		r.setNow(ts.Add(time.Second))
		r.observe("a", ts, six(10, 20, 0.5, 60, 50, 30)...)
	}
	r.settle()
	if n, m := len(r.d.net.emitted), len(r.d.net.cache); n > 430 || m > 430 {
		t.Errorf("the network keeps %d emitted and %d cached days, want at most about a year's", n, m)
	}
}
