package derive

import (
	"math"
	"math/big"
	"strconv"
)

// Means are computed exactly, in rationals: each value is read as the
// shortest decimal that round-trips (the number as the station wrote it,
// 38.2 and not 38.2000000000000028…), so a mean does not depend on the order
// of the additions, and a mean that lands exactly on an AQI breakpoint (75
// µg/m³ PM2.5) stays exactly on it, which package aqi scores exactly.

// decimal returns the finite v as the exact rational of its shortest
// round-tripping decimal representation.
func decimal(v float64) *big.Rat {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(v, 'g', -1, 64))
	if !ok {
		r = new(big.Rat).SetFloat64(v)
	}
	return r
}

// meanOf returns the mean of rs (nil when rs is empty).
func meanOf(rs []*big.Rat) *big.Rat {
	if len(rs) == 0 {
		return nil
	}
	sum := new(big.Rat)
	for _, r := range rs {
		sum.Add(sum, r)
	}
	return sum.Quo(sum, new(big.Rat).SetInt64(int64(len(rs))))
}

// toFloat returns the float64 nearest to r.
func toFloat(r *big.Rat) float64 {
	f, _ := r.Float64()
	return f
}

// roundGBT8170 rounds r to the given number of decimals by GB/T 8170-2008
// (数值修约规则, "四舍六入五成双"): below half rounds down, above half up, and
// exactly half to the even neighbour. HJ 633-2026 asks for concentrations
// rounded this way (reference/standards.md §3.9): integers in µg/m³, CO to
// one decimal in mg/m³.
func roundGBT8170(r *big.Rat, decimals int) *big.Rat {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(scale))
	// q = ⌊x⌋ (big.Int.Div rounds towards −∞ for a positive divisor).
	q := new(big.Int).Div(x.Num(), x.Denom())
	frac := new(big.Rat).Sub(x, new(big.Rat).SetInt(q))
	switch frac.Cmp(big.NewRat(1, 2)) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	return new(big.Rat).SetFrac(q, scale)
}

// usable reports whether a reading's value can enter a mean.
func usable(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
