// Package units converts measured values between the units stations send
// them in and envpipe's canonical units (ingest.Params). The JSON decoder
// and the HJ 212 codec share it, so that a unit one accepts the other
// accepts too, and both convert to the same float64.
package units

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/envpipe/envpipe/ingest"
)

// dimension groups units that convert into one another by a power of ten.
// Air and water concentrations are kept apart on purpose: a µg/m³ value for
// a water parameter is a configuration mistake, not a conversion.
type dimension uint8

const (
	dimNone dimension = iota
	dimAirConc
	dimWaterConc
	dimTemperature
	dimPercent
	dimPressure
	dimSpeed
	dimAngle
	dimConductivity
	dimTurbidity
	dimCountPerLitre
)

// Unit is a dimension and a decimal scale relative to the dimension's base
// (µg/m³, mg/L, hPa, µS/cm): conversions multiply or divide by exact powers
// of ten, so 50 µg/L becomes exactly the float64 nearest 0.05 mg/L.
type Unit struct {
	dim   dimension
	exp10 int
}

// names maps normalised spellings (see norm) to units: the spellings of
// ingest.Params, of HJ 212-2017 Tables B.1/B.2 (Chinese included) and the
// ASCII forms station configurations and JSON payloads use.
var names = map[string]Unit{
	"ug/m3": {dimAirConc, 0}, "mg/m3": {dimAirConc, 3}, "ng/m3": {dimAirConc, -3},
	"微克/立方米": {dimAirConc, 0}, "毫克/立方米": {dimAirConc, 3}, "纳克/立方米": {dimAirConc, -3},
	"g/l": {dimWaterConc, 3}, "mg/l": {dimWaterConc, 0}, "ug/l": {dimWaterConc, -3}, "ng/l": {dimWaterConc, -6},
	"毫克/升": {dimWaterConc, 0}, "微克/升": {dimWaterConc, -3},
	"°c": {dimTemperature, 0}, "degc": {dimTemperature, 0}, "摄氏度": {dimTemperature, 0},
	"%":  {dimPercent, 0},
	"pa": {dimPressure, -2}, "hpa": {dimPressure, 0}, "kpa": {dimPressure, 1}, "千帕": {dimPressure, 1},
	"m/s": {dimSpeed, 0}, "米/秒": {dimSpeed, 0},
	"degrees": {dimAngle, 0}, "degree": {dimAngle, 0}, "deg": {dimAngle, 0}, "°": {dimAngle, 0}, "度": {dimAngle, 0},
	"us/cm": {dimConductivity, 0}, "ms/cm": {dimConductivity, 3}, "微西/厘米": {dimConductivity, 0},
	"ntu": {dimTurbidity, 0},
	"":    {dimNone, 0}, "ph": {dimNone, 0}, "无量纲": {dimNone, 0}, "dimensionless": {dimNone, 0},
	"个/l": {dimCountPerLitre, 0},
}

// norm folds the spellings people write for one unit: case, µ (micro sign)
// / μ (Greek mu) / u, ³ / 3, ℃ / °C.
var norm = strings.NewReplacer("µ", "u", "μ", "u", "³", "3", "℃", "°c")

// written are the spellings of the units as standards and tables write
// them (HJ 212's factor table among them, beside ingest.Params'), which a
// station's frames carry for every value.
var written = []string{"µg/m³", "mg/m³", "ng/m³", "g/L", "mg/L", "µg/L", "ng/L", "°C", "%", "Pa", "hPa", "kPa",
	"m/s", "degrees", "µS/cm", "mS/cm", "NTU", "个/L", ""}

// canonical holds the spellings of ingest.Params and the written ones,
// converted from and to for every value: looked up without folding (which
// allocates).
var canonical = func() map[string]Unit {
	m := make(map[string]Unit)
	add := func(s string) {
		if u, ok := lookupSlow(s); ok {
			m[s] = u
		}
	}
	for _, p := range ingest.Params {
		add(p.Unit)
	}
	for _, s := range written {
		add(s)
	}
	return m
}()

// Lookup returns the unit spelled s, in any of the spellings names lists
// (case, µ/μ/u, ³/3 and ℃/°C folded, surrounding blanks ignored).
func Lookup(s string) (Unit, bool) {
	if u, ok := canonical[s]; ok {
		return u, true
	}
	return lookupSlow(s)
}

func lookupSlow(s string) (Unit, bool) {
	u, ok := names[norm.Replace(strings.ToLower(strings.TrimSpace(s)))]
	return u, ok
}

// Scale converts v from one unit to another of the same kind; ok is false
// for units of different kinds. The result can overflow to ±Inf: callers
// check.
func Scale(v float64, from, to Unit) (float64, bool) {
	if from.dim != to.dim {
		return 0, false
	}
	if d := from.exp10 - to.exp10; d != 0 {
		return shift(v, d), true
	}
	return v, true
}

// shift returns v×10^d as the float64 nearest the decimal that v was read
// from: v's shortest decimal form with its exponent moved by d, parsed back.
// Multiplying by a power of ten rounds twice (0.0071 g/L × 1000 gives
// 7.1000000000000005 mg/L, 0.35 mg/m³ ÷ 0.001 gives 349.99999999999994
// µg/m³); this gives 7.1 and 350, as the station wrote them.
func shift(v float64, d int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v == 0 {
		return v
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], v, 'e', -1, 64) // e.g. "7.1e-03"
	i := bytes.LastIndexByte(b, 'e')
	exp, err := strconv.Atoi(string(b[i+1:]))
	if err != nil {
		return v * math.Pow10(d) // cannot happen: AppendFloat wrote it
	}
	b = strconv.AppendInt(b[:i+1], int64(exp+d), 10)
	// Out of range gives ±Inf or 0 with an error: the value is still the
	// right one to return.
	x, _ := strconv.ParseFloat(string(b), 64)
	return x
}

// Convert converts v from the unit spelled from to the one spelled to, e.g.
// 0.05 "µg/L" to 0.00005 "mg/L", 0.6 "mg/m3" to 600 "µg/m³", 95 "kPa" to
// 950 "hPa". It fails for an unknown unit or units of different kinds.
func Convert(v float64, from, to string) (float64, error) {
	fu, ok := Lookup(from)
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", from)
	}
	tu, ok := Lookup(to)
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", to)
	}
	x, ok := Scale(v, fu, tu)
	if !ok {
		return 0, fmt.Errorf("cannot convert %q to %q", from, to)
	}
	return x, nil
}
