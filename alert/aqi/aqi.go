package aqi

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// Indicator is a pollutant with its averaging period, named as the
// columns of reference/aqi-vectors.csv ("so2_24h", "o3_8h", …). In the
// daily report o3_1h and o3_8h are the day's maxima; in the 2012 hourly
// report pm10_24h and pm25_24h are 24-hour moving means and o3_8h is the
// 8-hour moving mean.
type Indicator string

// The twelve indicators, in the column order of the reference vectors.
const (
	SO2Mean24h  Indicator = "so2_24h"
	SO2Mean1h   Indicator = "so2_1h"
	NO2Mean24h  Indicator = "no2_24h"
	NO2Mean1h   Indicator = "no2_1h"
	PM10Mean24h Indicator = "pm10_24h"
	PM10Mean1h  Indicator = "pm10_1h"
	PM25Mean24h Indicator = "pm25_24h"
	PM25Mean1h  Indicator = "pm25_1h"
	COMean24h   Indicator = "co_24h"
	COMean1h    Indicator = "co_1h"
	O3Mean1h    Indicator = "o3_1h"
	O3Mean8h    Indicator = "o3_8h"
)

// Indicators returns every indicator, in the column order of the
// reference vectors.
func Indicators() []Indicator {
	return []Indicator{
		SO2Mean24h, SO2Mean1h, NO2Mean24h, NO2Mean1h,
		PM10Mean24h, PM10Mean1h, PM25Mean24h, PM25Mean1h,
		COMean24h, COMean1h, O3Mean1h, O3Mean8h,
	}
}

// Pollutant returns the parameter the indicator measures, as envpipe
// names it: "so2", "no2", "pm10", "pm25", "co" or "o3".
func (i Indicator) Pollutant() string {
	p, _, _ := strings.Cut(string(i), "_")
	return p
}

// Valid reports whether i is one of the twelve indicators.
func (i Indicator) Valid() bool { return slices.Contains(Indicators(), i) }

// Inputs holds the concentrations a report is computed from: µg/m³, CO in
// mg/m³. An indicator that is absent, NaN or negative gives no sub-index.
// Indicators the report does not score are ignored (except so2_24h, which
// the 2012 hourly report falls back on).
type Inputs map[Indicator]float64

// Result is an AQI report.
type Result struct {
	Edition Edition
	Report  Report

	// AQI is the largest sub-index; 0 with Level 0 when no sub-index
	// could be computed (see OK).
	AQI   int
	Level Level

	// Primary lists the primary pollutants (首要污染物) when AQI > 50,
	// in alphabetical order; nil otherwise.
	Primary []string

	// IAQI holds each sub-index computed, keyed by the indicator it is
	// reported under (2012 hourly: the so2_24h fallback is reported under
	// so2_1h).
	IAQI map[Indicator]int

	// OutOfRange lists, in column order, the indicators whose
	// concentration lies above the top breakpoint of their column; their
	// sub-index is held at 500.
	OutOfRange []Indicator

	// Unscored lists the indicators that had a concentration but no
	// sub-index because their rule needs another one that is missing
	// (2012 hourly: SO2 above 800 µg/m³ is scored from the 24 h mean).
	// The AQI is then only a lower bound.
	Unscored []Indicator

	// NonAttainment lists the pollutants with an IAQI above 100
	// (超标污染物, above the GB 3095 Grade II limit), alphabetically. HJ
	// 633-2012 defines it; HJ 633-2026 dropped the notion, so it is nil
	// for that edition.
	NonAttainment []string
}

// OK reports whether at least one sub-index was computed, i.e. whether
// AQI and Level mean anything.
func (r Result) OK() bool { return len(r.IAQI) > 0 }

// ErrEdition is returned for an edition or report the package does not
// compute, including EditionAuto, which the caller resolves with
// [Edition.Resolve] first.
var ErrEdition = errors.New("aqi: unsupported edition or report")

// Hourly computes the real-time (hourly) AQI of the given edition.
func Hourly(ed Edition, in Inputs) (Result, error) { return Compute(ed, ReportHourly, in) }

// Daily computes the daily AQI of the given edition.
func Daily(ed Edition, in Inputs) (Result, error) { return Compute(ed, ReportDaily, in) }

// Scored returns the indicators that get a sub-index in the given
// edition's report, in the column order of the reference vectors; nil for
// an unsupported edition or report.
func Scored(ed Edition, rep Report) []Indicator {
	ss, ok := methods[method{ed, rep}]
	if !ok {
		return nil
	}
	out := make([]Indicator, 0, len(ss))
	for _, ind := range Indicators() {
		if slices.ContainsFunc(ss, func(s scoring) bool { return s.ind == ind }) {
			out = append(out, ind)
		}
	}
	return out
}

// Compute computes the AQI of the given edition and report.
func Compute(ed Edition, rep Report, in Inputs) (Result, error) {
	ss, ok := methods[method{ed, rep}]
	if !ok {
		return Result{}, fmt.Errorf("%w: edition %v, report %v", ErrEdition, ed, rep)
	}
	res := Result{Edition: ed, Report: rep, IAQI: make(map[Indicator]int, len(ss))}
	var outOfRange []Indicator
	for _, s := range ss {
		c, ok := concentration(in, s.ind)
		if !ok {
			continue
		}
		v, inRange := subIndex(c, s.bp)
		if !inRange {
			switch s.beyond {
			case beyondCap:
				outOfRange = append(outOfRange, s.ind)
			case beyondSkip:
				continue
			case beyondFixed:
				v = s.fixed
			case beyondFallback:
				fc, ok := concentration(in, s.fallback)
				if !ok {
					res.Unscored = append(res.Unscored, s.ind)
					continue
				}
				if v, inRange = subIndex(fc, s.fallbackBP); !inRange {
					outOfRange = append(outOfRange, s.fallback)
				}
			}
		}
		res.IAQI[s.ind] = v
		if v > res.AQI {
			res.AQI = v
		}
	}
	if len(res.IAQI) == 0 {
		return res, nil
	}
	res.Level = LevelOf(res.AQI)
	// Column order, whatever order the fallback added them in.
	for _, ind := range Indicators() {
		if slices.Contains(outOfRange, ind) {
			res.OutOfRange = append(res.OutOfRange, ind)
		}
	}
	if res.AQI > 50 {
		res.Primary = pollutantsWhere(res.IAQI, func(v int) bool { return v == res.AQI })
	}
	if ed == Edition2012 {
		res.NonAttainment = pollutantsWhere(res.IAQI, func(v int) bool { return v > 100 })
	}
	return res, nil
}

// pollutantsWhere returns, sorted and without duplicates, the pollutants
// of the sub-indices for which keep is true.
func pollutantsWhere(iaqi map[Indicator]int, keep func(int) bool) []string {
	var out []string
	for ind, v := range iaqi {
		if keep(v) {
			out = append(out, ind.Pollutant())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// concentration returns the usable value of ind, if any. NaN and negative
// values are treated as missing: validation upstream should have rejected
// them, and scoring them would invent a sub-index.
func concentration(in Inputs, ind Indicator) (float64, bool) {
	c, ok := in[ind]
	if !ok || math.IsNaN(c) || c < 0 {
		return 0, false
	}
	return c, true
}

// subIndex scores c on a breakpoint column. It returns the IAQI, rounded
// up, and true; or the column's top IAQI and false when c lies above the
// last breakpoint.
//
// The computation is exact: c is taken as the shortest decimal that
// round-trips to the same float64 (the number as it was written), and the
// linear interpolation is done in rationals before the ceiling. Float
// arithmetic would turn 2.4 mg/m³ CO (exactly IAQI 60) into 60.000…01 and
// round it up to 61.
func subIndex(c float64, bp []int64) (int, bool) {
	top := iaqiSteps[len(bp)-1]
	if math.IsInf(c, 1) {
		return int(top), false
	}
	x := decimal(c)
	for i := 1; i < len(bp); i++ {
		if x.Cmp(new(big.Rat).SetInt64(bp[i])) > 0 {
			continue
		}
		// IAQI_Lo + (IAQI_Hi − IAQI_Lo) × (C − BP_Lo) / (BP_Hi − BP_Lo)
		v := new(big.Rat).Sub(x, new(big.Rat).SetInt64(bp[i-1]))
		v.Mul(v, big.NewRat(iaqiSteps[i]-iaqiSteps[i-1], bp[i]-bp[i-1]))
		v.Add(v, new(big.Rat).SetInt64(iaqiSteps[i-1]))
		return ceil(v), true
	}
	return int(top), false
}

// decimal returns the finite float v as the exact rational of its
// shortest round-tripping decimal representation.
func decimal(v float64) *big.Rat {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(v, 'g', -1, 64))
	if !ok {
		// FormatFloat of a finite value always parses; keep the binary
		// value rather than fail if that ever changes.
		r = new(big.Rat).SetFloat64(v)
	}
	return r
}

// ceil returns ⌈r⌉ for a rational whose ceiling fits an int (sub-indices
// are at most 500).
func ceil(r *big.Rat) int {
	// big.Int.Div rounds towards −∞ for a positive divisor, and the
	// denominator of a big.Rat is always positive: ⌈a/b⌉ = −⌊−a/b⌋.
	q := new(big.Int).Neg(r.Num())
	q.Div(q, r.Denom())
	return int(-q.Int64())
}
