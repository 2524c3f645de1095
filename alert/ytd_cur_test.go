package alert

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// refYTD is the year-to-date accumulator without the latest-hour cache:
// every value goes straight into its hour.
type refYTD struct {
	day   int64
	hours [24]hourAcc
	means []float64 // closed valid days' means
	y     ytdAcc    // only for dayMean's rule, with hours pointed at ours
}

func (r *refYTD) add(t time.Time, v float64, cover uint64) {
	d := dayOf(t)
	if d < r.day {
		return
	}
	if d > r.day {
		if m, ok := r.dayMean(); ok {
			r.means = append(r.means, m)
		}
		r.day, r.hours = d, [24]hourAcc{}
	}
	sec := t.Unix() + 8*3600 - d*86400
	r.hours[sec/3600].add(v, cover, sec%3600/60)
}

func (r *refYTD) dayMean() (float64, bool) {
	r.y = ytdAcc{hours: &r.hours, curHour: -1, strict: true}
	return r.y.dayMean()
}

// The latest-hour cache changes nothing: values in order, late values of
// an earlier hour, station hourly means before and after minute values,
// against an accumulator that puts every value in its hour at once.
func TestYearToDateLatestHourCacheMatchesTheHours(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	valid := 0
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	for round := range 50 {
		y := ytdAcc{day: -1 << 62, hours: new([24]hourAcc), curHour: -1, strict: true}
		ref := &refYTD{day: -1 << 62}
		tm := start
		for range 3000 {
			tm = tm.Add(time.Duration(rng.IntN(120)) * time.Second)
			at, cover := tm, uint64(3) // a station reporting every 2 minutes
			switch k := rng.IntN(100); {
			case k < 5: // late, within a few hours
				at = tm.Add(-time.Duration(rng.IntN(4*3600)) * time.Second)
			case k < 8: // the station's own mean of the hour
				at, cover = tm.Truncate(time.Hour), hourMean
			}
			v := float64(rng.IntN(1000)) / 10
			y.add(at, v, cover)
			ref.add(at, v, cover)
		}
		valid += len(ref.means)
		if got, want := y.days, len(ref.means); got != want {
			t.Fatalf("round %d: %d valid days, want %d", round, got, want)
		}
		sum := 0.0
		for _, m := range ref.means {
			sum += m
		}
		if want := sum; math.Abs(y.sumMeans-want) > 1e-9*math.Max(1, want) {
			t.Fatalf("round %d: sum of daily means %v, want %v", round, y.sumMeans, want)
		}
		gm, gok := y.dayMean()
		wm, wok := ref.dayMean()
		if gok != wok || (gok && math.Abs(gm-wm) > 1e-9) {
			t.Fatalf("round %d: open day %v %v, want %v %v", round, gm, gok, wm, wok)
		}
	}
	if valid == 0 {
		t.Fatal("no valid day in any round: the comparison proves nothing")
	}
}
