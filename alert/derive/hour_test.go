package derive

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestOffsetSetMatchesAMap(t *testing.T) {
	for _, tc := range []struct {
		name string
		gen  func(i int, r *rand.Rand) uint16
		n    int
	}{
		{"minute data in order", func(i int, _ *rand.Rand) uint16 { return uint16(i * 60) }, 60},
		{"every second in order", func(i int, _ *rand.Rand) uint16 { return uint16(i) }, hourSec},
		{"random with repeats", func(_ int, r *rand.Rand) uint16 { return uint16(r.IntN(hourSec)) }, 5000},
		{"few random with repeats", func(_ int, r *rand.Rand) uint16 { return uint16(r.IntN(300)) }, 400},
		{"backwards", func(i int, _ *rand.Rand) uint16 { return uint16(hourSec - 1 - i%hourSec) }, 2 * hourSec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var s offsetSet
			ref := map[uint16]bool{}
			for i := range tc.n {
				off := tc.gen(i, r)
				if got, want := s.add(off), !ref[off]; got != want {
					t.Fatalf("add(%d) #%d = %v, want %v", off, i, got, want)
				}
				ref[off] = true
			}
			if s.bits == nil && len(s.list) != len(ref) {
				t.Errorf("list has %d offsets, want %d", len(s.list), len(ref))
			}
			if len(ref) > maxListOffsets && s.bits == nil {
				t.Errorf("%d offsets still in a list", len(ref))
			}
		})
	}
}

func TestExactSumEqualsRationalSum(t *testing.T) {
	vals := []float64{42.4, 0.1, 0.2, 75, 1e-7, 123456.789012, -3.5, 1e12, 0.30000000000000004, 999999999.999999, 35.123456}
	var s exactSum
	want := new(big.Rat)
	for i, v := range vals {
		s.add(v)
		want.Add(want, decimal(v))
		n := i + 1
		w := new(big.Rat).Quo(want, big.NewRat(int64(n), 1))
		if got := s.mean(n); got.Cmp(w) != 0 {
			t.Fatalf("after %v: mean %s, want %s", vals[:n], got.RatString(), w.RatString())
		}
	}
	if s.rest == nil {
		t.Errorf("values beyond six decimals did not use the rational")
	}
	var m exactSum
	for range 3 {
		m.add(0.1)
	}
	if got := m.mean(3); got.Cmp(big.NewRat(1, 10)) != 0 || m.rest != nil {
		t.Errorf("mean of 0.1 x3 = %s (rational used: %v)", got.RatString(), m.rest != nil)
	}
}
