package derive

import (
	"math/big"
	"math/rand/v2"
	"slices"
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
		{"singles in order past the list's size", func(i int, _ *rand.Rand) uint16 { return uint16(i * 2) }, maxListOffsets + 50},
		{"pairs in order past the list's size", func(i int, _ *rand.Rand) uint16 { return uint16(i/2*3 + i%2) }, maxListOffsets + 50},
		{"in order, then one back", func(i int, _ *rand.Rand) uint16 {
			if i%7 == 6 {
				return uint16(i*2 - 3)
			}
			return uint16(i * 2)
		}, 1000},
		{"random with repeats", func(_ int, r *rand.Rand) uint16 { return uint16(r.IntN(hourSec)) }, 5000},
		{"few random with repeats", func(_ int, r *rand.Rand) uint16 { return uint16(r.IntN(300)) }, 400},
		{"backwards", func(i int, _ *rand.Rand) uint16 { return uint16(hourSec - 1 - i%hourSec) }, 2 * hourSec},
		{"runs of five, then the gaps", func(i int, _ *rand.Rand) uint16 {
			if i < 500 {
				return uint16(i/5*10 + i%5)
			}
			return uint16((i-500)/5*10 + 5 + i%5)
		}, 1000},
		{"runs then repeats inside them", func(i int, r *rand.Rand) uint16 {
			if i < 600 {
				return uint16(i + i/100*50)
			}
			return uint16(r.IntN(900))
		}, 1200},
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
			checkOffsetSet(t, &s, ref)
		})
	}
}

// checkOffsetSet checks that s holds exactly the offsets of ref, in a list
// no larger than the bitmap.
func checkOffsetSet(t *testing.T, s *offsetSet, ref map[uint16]bool) {
	t.Helper()
	if len(s.list) > maxListOffsets {
		t.Errorf("list of %d entries, more than the bitmap's size", len(s.list))
	}
	if s.bits != nil && s.list != nil {
		t.Errorf("a bitmap with a list of %d entries", len(s.list))
	}
	// Every second of the hour is in the set exactly when the map has
	// it: adding it to a copy is new exactly when it is not.
	for off := range uint16(hourSec) {
		c := *s
		c.list = slices.Clone(s.list)
		if s.bits != nil {
			b := *s.bits
			c.bits = &b
		}
		if c.add(off) == ref[off] {
			t.Fatalf("offset %d: in set = %v, in map = %v", off, !ref[off], ref[off])
		}
	}
}

func FuzzOffsetSet(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 2, 0, 60, 0, 3})
	f.Add([]byte{14, 15, 0, 0, 14, 14, 7, 7, 7, 8})
	f.Add([]byte{1, 0, 0, 255, 1, 1, 0, 254})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s offsetSet
		ref := map[uint16]bool{}
		for i := 0; i+1 < len(data); i += 2 {
			off := (uint16(data[i])<<8 | uint16(data[i+1])) % hourSec
			if got, want := s.add(off), !ref[off]; got != want {
				t.Fatalf("add(%d) #%d = %v, want %v", off, i/2, got, want)
			}
			ref[off] = true
		}
		checkOffsetSet(t, &s, ref)
	})
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
		if got := s.mean(n).rat(); got.Cmp(w) != 0 {
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
	if got := m.mean(3).rat(); got.Cmp(big.NewRat(1, 10)) != 0 || m.rest != nil {
		t.Errorf("mean of 0.1 x3 = %s (rational used: %v)", got.RatString(), m.rest != nil)
	}
}
