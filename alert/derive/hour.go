package derive

import (
	"math"
	"math/big"
	"slices"
)

// offsetSet is the set of offsets (whole seconds, 0..3599) into an hour at
// which a parameter was counted. It is a sorted list while that is the
// smaller form (a station reporting every minute needs 60 entries) and a
// bitmap of the hour's seconds beyond, so it never exceeds 456 bytes
// however often a station reports.
type offsetSet struct {
	list []uint16
	bits *[offsetWords]uint64
}

const offsetWords = (hourSec + 63) / 64

// maxListOffsets is where the list would outgrow the bitmap.
const maxListOffsets = offsetWords * 8 / 2

// add adds off and reports whether it was new.
func (s *offsetSet) add(off uint16) bool {
	if s.bits == nil {
		n := len(s.list)
		if n == 0 || s.list[n-1] < off { // in order: the common case
			if n < maxListOffsets {
				s.list = append(s.list, off)
				return true
			}
		} else {
			i, found := slices.BinarySearch(s.list, off)
			if found {
				return false
			}
			if n < maxListOffsets {
				s.list = slices.Insert(s.list, i, off)
				return true
			}
		}
		s.bits = new([offsetWords]uint64)
		for _, o := range s.list {
			s.bits[o/64] |= 1 << (o % 64)
		}
		s.list = nil
	}
	w, b := off/64, uint64(1)<<(off%64)
	if s.bits[w]&b != 0 {
		return false
	}
	s.bits[w] |= b
	return true
}

// exactSum is the exact sum of values read as their shortest decimals
// (see decimal). Values with at most six decimals and below 10⁹ in
// magnitude — every concentration a station sends — are summed as integer
// millionths, at the cost of an addition; any other value goes into a
// rational. An hour holds at most 3 600 values per parameter, so the
// integer cannot overflow (3 600 × 10¹⁵ < 2⁶³).
type exactSum struct {
	micro int64
	rest  *big.Rat
}

func (s *exactSum) add(v float64) {
	if math.Abs(v) < 1e9 {
		// m/10⁶ round-trips to v, so m·10⁻⁶ is v's shortest decimal: below
		// 10⁹, two numbers of six decimals never share a float64.
		if m := math.Round(v * 1e6); m/1e6 == v {
			s.micro += int64(m)
			return
		}
	}
	if s.rest == nil {
		s.rest = new(big.Rat)
	}
	s.rest.Add(s.rest, decimal(v))
}

// mean returns the sum divided by n (n > 0).
func (s *exactSum) mean(n int) *big.Rat {
	r := new(big.Rat).SetFrac64(s.micro, 1e6)
	if s.rest != nil {
		r.Add(r, s.rest)
	}
	return r.Quo(r, new(big.Rat).SetInt64(int64(n)))
}
