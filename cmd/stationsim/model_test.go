package main

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// sampleNetwork loads the shipped configs/stations.yaml.
func sampleNetwork(t *testing.T) *station.Registry {
	t.Helper()
	reg, errs := station.Load("../../configs/stations.yaml")
	if len(errs) > 0 {
		t.Fatalf("configs/stations.yaml: %v", errs)
	}
	return reg
}

func stationsOfKind(reg *station.Registry, k ingest.Kind) []*station.Station {
	var out []*station.Station
	for _, st := range reg.All() {
		if st.Kind == k {
			out = append(out, st)
		}
	}
	return out
}

// sample returns the model's value of param for st at t.
func sample(m Model, st *station.Station, t time.Time, param string) float64 {
	for _, v := range m.Values(st, t, m.RNG(st.ID, t)) {
		if v.Param == param {
			return v.V
		}
	}
	return math.NaN()
}

var nov28 = time.Date(2026, 11, 28, 0, 0, 0, 0, cst)

// meanAt is the mean of param at local hour h over days days from day0.
func meanAt(m Model, st *station.Station, day0 time.Time, days int, h float64, param string) float64 {
	sum := 0.0
	for d := range days {
		t := day0.AddDate(0, 0, d).Add(time.Duration(h * float64(time.Hour)))
		sum += sample(m, st, t, param)
	}
	return sum / float64(days)
}

func TestPMPeaksInTheRushHoursAndDipsAtMidday(t *testing.T) {
	m := Model{Seed: 1}
	for _, st := range stationsOfKind(sampleNetwork(t), ingest.KindAir) {
		morning := meanAt(m, st, nov28, 28, 8, "pm25")
		midday := meanAt(m, st, nov28, 28, 13, "pm25")
		evening := meanAt(m, st, nov28, 28, 19.5, "pm25")
		if morning < 1.3*midday || evening < 1.3*midday {
			t.Errorf("%s: mean PM2.5 08:00 %.1f, 13:00 %.1f, 19:30 %.1f: want both rush hours 30%% above midday",
				st.ID, morning, midday, evening)
		}
	}
}

func TestPM25IsAround30To50AndPM10About1point6Times(t *testing.T) {
	m := Model{Seed: 7}
	for _, st := range stationsOfKind(sampleNetwork(t), ingest.KindAir) {
		sum, n := 0.0, 0
		for tt := nov28; tt.Before(nov28.AddDate(0, 0, 14)); tt = tt.Add(time.Hour) {
			vals := m.Values(st, tt, m.RNG(st.ID, tt))
			pm25, pm10 := vals[0].V, vals[1].V
			if vals[0].Param != "pm25" || vals[1].Param != "pm10" {
				t.Fatalf("order: %v", vals)
			}
			if r := pm10 / pm25; r < 1.35 || r > 1.85 {
				t.Errorf("%s %s: PM10/PM2.5 = %.1f/%.1f = %.2f, want about 1.6", st.ID, tt, pm10, pm25, r)
			}
			sum += pm25
			n++
		}
		if mean := sum / float64(n); mean < 30 || mean > 50 {
			t.Errorf("%s: mean PM2.5 over two weeks of late November %.1f, want 30-50", st.ID, mean)
		}
	}
}

func TestOzonePeaksInTheAfternoon(t *testing.T) {
	m := Model{Seed: 1}
	for _, st := range stationsOfKind(sampleNetwork(t), ingest.KindAir) {
		afternoon := meanAt(m, st, nov28, 28, 15, "o3")
		night := meanAt(m, st, nov28, 28, 3, "o3")
		morning := meanAt(m, st, nov28, 28, 8, "o3")
		if afternoon < 2*night || afternoon < 2*morning {
			t.Errorf("%s: mean O3 15:00 %.1f, 03:00 %.1f, 08:00 %.1f: want an afternoon peak", st.ID, afternoon, night, morning)
		}
	}
}

// TestEveryValueIsPlausible runs a year of air and 4-hourly water
// readings through the catalogue's bounds and the published precision.
func TestEveryValueIsPlausible(t *testing.T) {
	m := Model{Seed: 3}
	year := time.Date(2026, 1, 1, 0, 0, 0, 0, cst)
	for _, st := range sampleNetwork(t).All() {
		step := 277 * time.Minute // every time of day over the year
		if st.Kind == ingest.KindWater {
			step = 4 * time.Hour
		}
		want := simulatedParams(st)
		for tt := year; tt.Before(year.AddDate(1, 0, 0)); tt = tt.Add(step) {
			vals := m.Values(st, tt, m.RNG(st.ID, tt))
			if len(vals) != len(want) {
				t.Fatalf("%s: %d values, want %v", st.ID, len(vals), want)
			}
			for i, v := range vals {
				p := ingest.Params[v.Param]
				switch {
				case v.Param != want[i]:
					t.Fatalf("%s: value %d is %s, want %s", st.ID, i, v.Param, want[i])
				case p.Kind != st.Kind:
					t.Fatalf("%s: %s is a %s parameter", st.ID, v.Param, p.Kind)
				case math.IsNaN(v.V) || v.V < p.Min || v.V > p.Max:
					t.Fatalf("%s %s: %s = %v outside [%v, %v]", st.ID, tt, v.Param, v.V, p.Min, p.Max)
				case roundValue(v.Param, v.V) != v.V:
					t.Fatalf("%s: %s = %v not rounded to %d decimals", st.ID, v.Param, v.V, decimals[v.Param])
				case v.Flag != ingest.FlagNormal:
					t.Fatalf("%s: %s flag %c, want N", st.ID, v.Param, v.Flag)
				}
			}
		}
	}
}

// TestWaterStaysMostlyWithinClassII checks a year of readings of every
// section against GB 3838-2002 Class II (standards.md §1.2): items the
// section does not stress stay within the limit, its stressed item sits near
// the limit and stays within it most of the time.
func TestWaterStaysMostlyWithinClassII(t *testing.T) {
	m := Model{Seed: 1}
	year := time.Date(2026, 1, 1, 0, 0, 0, 0, cst)
	nearLimit := 0
	for _, st := range stationsOfKind(sampleNetwork(t), ingest.KindWater) {
		stress := stressedItem(st)
		if stress != "" {
			nearLimit++
		}
		within := map[string]int{}
		sum := map[string]float64{}
		n := 0
		for tt := year; tt.Before(year.AddDate(1, 0, 0)); tt = tt.Add(4 * time.Hour) {
			n++
			for _, v := range m.Values(st, tt, m.RNG(st.ID, tt)) {
				sum[v.Param] += v.V
				switch v.Param {
				case "ph":
					if v.V < phMin || v.V > phMax {
						t.Errorf("%s %s: pH %v outside 6-9", st.ID, tt, v.V)
					}
				case "do":
					if v.V >= classIIMinDO {
						within["do"]++
					}
					if v.V < 5 { // Class III
						t.Errorf("%s %s: DO %v below Class III", st.ID, tt, v.V)
					}
				default:
					if lim, ok := classIILimit(v.Param, st.Waterbody); ok && v.V <= lim {
						within[v.Param]++
					}
				}
			}
		}
		for _, p := range []string{"do", "codmn", "cod", "bod5", "nh3n", "tp", "tn"} {
			lim, ok := classIILimit(p, st.Waterbody)
			if p == "do" {
				lim, ok = classIIMinDO, true
			}
			if !ok {
				if _, has := sum[p]; has {
					t.Errorf("%s (%s): %s simulated but GB 3838 limits it for lakes only", st.ID, st.Waterbody, p)
				}
				continue
			}
			share := float64(within[p]) / float64(n)
			mean := sum[p] / float64(n)
			stressed := p == stress || (stress == "codmn" && (p == "cod" || p == "bod5")) // organic load
			switch {
			case stressed && p != "do":
				near := 0.8
				if p != stress {
					near = 0.7 // cod, bod5 following codmn
				}
				if share < 0.8 || mean < near*lim {
					t.Errorf("%s: stressed %s: mean %.3f (limit %v), %.1f%% within Class II; want near the limit and mostly within",
						st.ID, p, mean, lim, 100*share)
				}
			case stressed: // do: close to the bound on warm nights only
				if share < 0.8 {
					t.Errorf("%s: stressed do within Class II %.1f%% of the year, want most", st.ID, 100*share)
				}
			default:
				if share < 0.995 {
					t.Errorf("%s: %s within Class II %.2f%% of the year (mean %.3f, limit %v), want all but rare outliers",
						st.ID, p, 100*share, mean, lim)
				}
			}
		}
	}
	if nearLimit < 3 {
		t.Errorf("%d sections keep an item near its Class II limit, want several", nearLimit)
	}
}

func TestStressedDOComesCloseToTheBoundInSummer(t *testing.T) {
	m := Model{Seed: 1}
	for _, st := range stationsOfKind(sampleNetwork(t), ingest.KindWater) {
		if stressedItem(st) != "do" {
			continue
		}
		low := math.Inf(1)
		for tt := time.Date(2026, 7, 1, 0, 0, 0, 0, cst); tt.Month() < 9; tt = tt.Add(4 * time.Hour) {
			low = min(low, sample(m, st, tt, "do"))
		}
		if low > 6.6 {
			t.Errorf("%s: lowest summer DO %.2f, want within 10%% of the Class II bound 6", st.ID, low)
		}
		return
	}
	t.Fatal("no section of the sample network stresses do")
}

func TestTheSameSeedGivesTheSameValues(t *testing.T) {
	reg := sampleNetwork(t)
	st, _ := reg.Lookup("zz-air-0101")
	w, _ := reg.Lookup("zz-wat-hb01")
	t1 := time.Date(2026, 11, 28, 9, 0, 0, 0, cst)
	t2 := t1.Add(time.Minute)

	a := Model{Seed: 42}
	// Out of order and interleaved: a reading depends on nothing but its
	// station and time.
	later := a.Values(st, t2, a.RNG(st.ID, t2))
	water := a.Values(w, t1, a.RNG(w.ID, t1))
	first := a.Values(st, t1, a.RNG(st.ID, t1))

	b := Model{Seed: 42}
	if got := b.Values(st, t1, b.RNG(st.ID, t1)); !slices.Equal(got, first) {
		t.Errorf("seed 42 at %s: %v then %v", t1, first, got)
	}
	if got := b.Values(st, t2, b.RNG(st.ID, t2)); !slices.Equal(got, later) {
		t.Errorf("seed 42 at %s: %v then %v", t2, later, got)
	}
	if got := b.Values(w, t1, b.RNG(w.ID, t1)); !slices.Equal(got, water) {
		t.Errorf("seed 42 water: %v then %v", water, got)
	}
	c := Model{Seed: 43}
	if got := c.Values(st, t1, c.RNG(st.ID, t1)); slices.Equal(got, first) {
		t.Errorf("seeds 42 and 43 give the same values %v", got)
	}
	if slices.Equal(first, later) {
		t.Errorf("two minutes give the same values %v", first)
	}
}

func TestRoundingMatchesTheUnit(t *testing.T) {
	for _, tc := range []struct {
		param string
		in    float64
		want  float64
	}{
		{"pm25", 38.249, 38.2},
		{"co", 0.8149, 0.81},
		{"ph", 7.456, 7.46},
		{"nh3n", 0.45649, 0.456},
		{"wind_dir", 359.6, 360},
	} {
		if got := roundValue(tc.param, tc.in); got != tc.want {
			t.Errorf("roundValue(%s, %v) = %v, want %v", tc.param, tc.in, got, tc.want)
		}
	}
}
