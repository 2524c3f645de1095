package alert

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// refSeries is the original ring (buckets carrying their index, totals
// recomputed at every new bucket), kept to check that series gives
// bit-identical means.
type refSeries struct {
	width, cur int64
	started    bool
	ring       []refBucket
	wins       []refWin
}

type refBucket struct {
	idx, n int64
	sum    float64
}

type refWin struct {
	window time.Duration
	size   int64
	sum    float64
	n      int64
}

func newRefSeries(windows []time.Duration) *refSeries {
	r := &refSeries{width: bucketWidth(windows)}
	var size int64
	for _, w := range windows {
		r.wins = append(r.wins, refWin{window: w, size: int64(w/time.Second) / r.width})
		size = max(size, int64(w/time.Second)/r.width)
	}
	r.ring = make([]refBucket, size)
	for i := range r.ring {
		r.ring[i].idx = -1
	}
	return r
}

func (r *refSeries) slot(idx int64) *refBucket {
	n := int64(len(r.ring))
	return &r.ring[((idx%n)+n)%n]
}

func (r *refSeries) add(t time.Time, v float64) bool {
	idx := floorDiv(t.Unix(), r.width)
	if !r.started {
		r.cur, r.started = idx, true
	}
	if idx > r.cur {
		r.cur = idx
		r.recompute()
	}
	if idx <= r.cur-int64(len(r.ring)) {
		return false
	}
	b := r.slot(idx)
	if b.idx != idx {
		*b = refBucket{idx: idx}
	}
	b.sum += v
	b.n++
	for i := range r.wins {
		if w := &r.wins[i]; idx > r.cur-w.size {
			w.sum += v
			w.n++
		}
	}
	return true
}

func (r *refSeries) recompute() {
	for i := range r.wins {
		r.wins[i].sum, r.wins[i].n = 0, 0
	}
	for i := range r.ring {
		b := &r.ring[i]
		if b.n == 0 || b.idx > r.cur || b.idx <= r.cur-int64(len(r.ring)) {
			continue
		}
		for j := range r.wins {
			if w := &r.wins[j]; b.idx > r.cur-w.size {
				w.sum += b.sum
				w.n += b.n
			}
		}
	}
}

// coverage is the share of window w its buckets cover when each value
// counts for iv, worked out afresh from the live buckets: a bucket of
// width W covers min(n × iv, W) if iv ≤ W; if iv > W, itself and the
// buckets up to the next non-empty one, at most ⌈iv / W⌉ in all.
func (r *refSeries) coverage(w refWin, iv time.Duration) float64 {
	if iv <= 0 {
		iv = time.Minute
	}
	W, ivs := float64(r.width), iv.Seconds()
	span := math.Ceil(ivs / W)
	var live []refBucket // in the window, by index
	for _, b := range r.ring {
		if b.n > 0 && b.idx > r.cur-w.size && b.idx <= r.cur {
			live = append(live, b)
		}
	}
	slices.SortFunc(live, func(a, b refBucket) int { return cmp.Compare(a.idx, b.idx) })
	covered := 0.0
	for i, b := range live {
		if ivs <= W {
			covered += min(float64(b.n)*ivs, W)
			continue
		}
		n := span
		if i+1 < len(live) {
			n = min(n, float64(live[i+1].idx-b.idx))
		}
		covered += n * W
	}
	return min(covered/w.window.Seconds(), 1)
}

// buckets lists the live buckets in ring order, as the windows file has
// them.
func (r *refSeries) buckets() [][3]float64 {
	var out [][3]float64
	for _, b := range r.ring {
		if b.n > 0 && b.idx > r.cur-int64(len(r.ring)) && b.idx <= r.cur {
			out = append(out, [3]float64{float64(b.idx), b.sum, float64(b.n)})
		}
	}
	return out
}

func TestSeriesMatchesTheReferenceRingBitForBit(t *testing.T) {
	sets := [][]time.Duration{
		{24 * time.Hour},
		{time.Hour},
		{time.Hour, 8 * time.Hour},
		{8 * time.Hour, 24 * time.Hour},
		{time.Hour, 24 * time.Hour},
	}
	// Station intervals: below, at and above every bucket width, dividing
	// it or not; 0 stands for 1 minute.
	intervals := []time.Duration{0, time.Second, 7 * time.Second, time.Minute, 7 * time.Minute,
		10 * time.Minute, 30 * time.Minute, 45 * time.Minute, time.Hour, 4 * time.Hour, 30 * time.Hour}
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	for _, windows := range sets {
		for run := range 20 {
			s, ref := newSeries(windows, false), newRefSeries(windows)
			at := t0
			iv := intervals[run%len(intervals)]
			for i := range 3000 {
				if i%500 == 250 { // now and then the station's interval changes
					iv = intervals[rng.IntN(len(intervals))]
				}
				// Mostly in order; now and then late, a gap or a jump.
				switch k := rng.IntN(100); {
				case k < 80:
					at = at.Add(time.Duration(rng.IntN(120)) * time.Second)
				case k < 90:
					at = at.Add(-time.Duration(rng.IntN(int(windows[0]/time.Second))) * time.Second)
				case k < 97:
					at = at.Add(time.Duration(rng.IntN(6*3600)) * time.Second)
				default:
					at = at.Add(time.Duration(rng.IntN(10)) * 24 * time.Hour)
				}
				v := rng.NormFloat64()*40 + 60
				if got, want := s.add(at, v, 1), ref.add(at, v); got != want {
					t.Fatalf("%v run %d step %d: add = %v, want %v", windows, run, i, got, want)
				}
				for _, w := range windows {
					m, cov, ok := s.mean(w, iv)
					var rm, rcov float64
					var rok bool
					for _, rw := range ref.wins {
						if rw.window == w && rw.n > 0 {
							rm, rcov, rok = rw.sum/float64(rw.n), ref.coverage(rw, iv), true
						}
					}
					if ok != rok || math.Float64bits(m) != math.Float64bits(rm) || math.Float64bits(cov) != math.Float64bits(rcov) {
						t.Fatalf("%v run %d step %d interval %v: mean %v = %v %v %v, want %v %v %v", windows, run, i, iv, w, m, cov, ok, rm, rcov, rok)
					}
				}
				if i%500 == 499 {
					s = roundTrip(t, s, windows)
					ref.recompute() // loading recomputes the totals
				}
			}
			// The windows file lists the same buckets.
			if got, want := savedBuckets(s), ref.buckets(); !equalBuckets(got, want) {
				t.Fatalf("%v run %d: saved buckets\n got %v\nwant %v", windows, run, got, want)
			}
		}
	}
}

func savedBuckets(s *series) [][3]float64 {
	var out [][3]float64
	for i := range s.ring {
		if b := s.bucketAt(i); b.n > 0 {
			out = append(out, [3]float64{float64(s.cur - s.age(i)), b.sum, float64(b.n)})
		}
	}
	return out
}

func equalBuckets(a, b [][3]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// roundTrip saves s as the windows file does and loads it into a new
// series.
func roundTrip(t *testing.T, s *series, windows []time.Duration) *series {
	t.Helper()
	e := &Engine{stations: map[string]*stationState{}}
	spec := &seriesSpec{windows: map[string][]time.Duration{"pm10": windows}, ytd: map[string]bool{}}
	ss := &stationState{st: airStation("a", time.Minute), spec: spec, series: map[string]*series{"pm10": s}}
	e.stations["a"], e.order = ss, []*stationState{ss}
	var out bytes.Buffer
	if err := e.writeWindows(&out, time.Now()); err != nil {
		t.Fatal(err)
	}
	data := out.Bytes()
	var sw savedWindows
	if err := json.Unmarshal(data, &sw); err != nil {
		t.Fatal(err)
	}
	ss2 := &stationState{st: ss.st, spec: spec}
	e.stations["a"], e.order = ss2, []*stationState{ss2}
	if err := e.loadWindows(data); err != nil {
		t.Fatal(err)
	}
	s2 := ss2.series["pm10"]
	if !equalBuckets(savedBuckets(s2), savedBuckets(s)) || s2.cur != s.cur {
		t.Fatalf("round trip: buckets %v cur %d, want %v cur %d", savedBuckets(s2), s2.cur, savedBuckets(s), s.cur)
	}
	return s2
}
