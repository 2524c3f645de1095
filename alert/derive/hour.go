package derive

import (
	"cmp"
	"math"
	"math/big"
	"slices"
)

// offsetSet is the set of offsets (whole seconds, 0..3599) into an hour at
// which a parameter was counted. It is a sorted list while that is the
// smaller form and a bitmap of the hour's seconds beyond, so it never
// exceeds 456 bytes however often a station reports. In the list, an entry
// with runEnd set closes a run of consecutive seconds opened by the entry
// before it: a station reporting every minute needs 60 entries, one
// reporting every second two.
type offsetSet struct {
	list []uint16
	bits *[offsetWords]uint64
}

const (
	offsetWords = (hourSec + 63) / 64
	// maxListOffsets is where the list would outgrow the bitmap.
	maxListOffsets = offsetWords * 8 / 2
	runEnd         = 1 << 15
)

// add adds off and reports whether it was new.
func (s *offsetSet) add(off uint16) bool {
	if s.bits == nil {
		n := len(s.list)
		if n == 0 {
			return s.insert(0, off)
		}
		if last := s.list[n-1]; last&^runEnd < off { // in order: the common case
			switch {
			case last&runEnd != 0 && last&^runEnd == off-1:
				s.list[n-1] = off | runEnd
				return true
			case last == off-1:
				return s.insert(n, off|runEnd)
			default:
				return s.insert(n, off)
			}
		}
		// i is the first entry at or past off. Off is in the set if that
		// entry is off, or ends a run, which then started before off.
		i, found := slices.BinarySearchFunc(s.list, off, func(e, off uint16) int { return cmp.Compare(e&^runEnd, off) })
		if found || s.list[i]&runEnd != 0 {
			return false
		}
		// Off lies between two runs or single entries: a new single one.
		return s.insert(i, off)
	}
	w, b := off/64, uint64(1)<<(off%64)
	if s.bits[w]&b != 0 {
		return false
	}
	s.bits[w] |= b
	return true
}

// insert puts e (not in the set) at list index i, or moves the set into a
// bitmap when the list is full.
func (s *offsetSet) insert(i int, e uint16) bool {
	if len(s.list) < maxListOffsets {
		s.list = slices.Insert(s.list, i, e)
		return true
	}
	s.bits = new([offsetWords]uint64)
	var prev uint16
	for _, o := range s.list {
		from := o &^ runEnd
		if o&runEnd != 0 {
			from = prev + 1
		}
		for x := from; x <= o&^runEnd; x++ {
			s.bits[x/64] |= 1 << (x % 64)
		}
		prev = o &^ runEnd
	}
	s.list = nil
	e &^= runEnd
	s.bits[e/64] |= 1 << (e % 64)
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
func (s *exactSum) mean(n int) hourMean {
	if s.rest == nil {
		return hourMean{micro: s.micro, div: int32(n)}
	}
	r := new(big.Rat).SetFrac64(s.micro, 1e6)
	r.Add(r, s.rest)
	return hourMean{r: r.Quo(r, new(big.Rat).SetInt64(int64(n)))}
}

// hourMean is an hour's exact mean, kept for the 24 h windows and the day
// in a form that costs no allocation in the common case: micro/(10⁶·div)
// when r is nil (a mean of values with at most six decimals), else r. The
// zero hourMean is no mean. A station keeps about 28 hours of ten of them,
// and a network thousands of stations: as rationals they were a kilobyte
// per station-hour.
type hourMean struct {
	micro int64
	div   int32
	r     *big.Rat
}

// meanOfDecimal returns v's shortest decimal as an hourMean.
func meanOfDecimal(v float64) hourMean {
	var s exactSum
	s.add(v)
	return s.mean(1)
}

// ok reports whether there is a mean.
func (m hourMean) ok() bool { return m.div > 0 || m.r != nil }

// rat returns the mean as a new rational (nil when there is none).
func (m hourMean) rat() *big.Rat {
	switch {
	case m.r != nil:
		return new(big.Rat).Set(m.r)
	case m.div > 0:
		return new(big.Rat).SetFrac(big.NewInt(m.micro), new(big.Int).Mul(big.NewInt(1e6), big.NewInt(int64(m.div))))
	}
	return nil
}

// equal reports whether m and o are the same mean.
func (m hourMean) equal(o hourMean) bool {
	if m.ok() != o.ok() {
		return false
	}
	if !m.ok() || m == o {
		return true
	}
	return m.rat().Cmp(o.rat()) == 0
}
