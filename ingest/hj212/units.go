package hj212

import (
	"fmt"
	"math"
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

// unit is a dimension and a decimal scale relative to the dimension's base
// (µg/m³, mg/L, hPa, µS/cm): conversions multiply or divide by exact powers
// of ten, so 50 µg/L becomes exactly the float64 nearest 0.05 mg/L.
type unit struct {
	dim   dimension
	exp10 int
}

// unitNames maps normalised spellings (see normUnit) to units: the spellings
// of ingest.Params, of HJ 212-2017 Tables B.1/B.2 (Chinese included) and the
// ASCII forms station configurations use.
var unitNames = map[string]unit{
	"ug/m3": {dimAirConc, 0}, "mg/m3": {dimAirConc, 3}, "ng/m3": {dimAirConc, -3},
	"微克/立方米": {dimAirConc, 0}, "毫克/立方米": {dimAirConc, 3}, "纳克/立方米": {dimAirConc, -3},
	"mg/l": {dimWaterConc, 0}, "ug/l": {dimWaterConc, -3}, "ng/l": {dimWaterConc, -6},
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

// normUnit folds the spellings people write for one unit: case, µ (micro
// sign) / μ (Greek mu) / u, ³ / 3, ℃ / °C.
var normUnit = strings.NewReplacer("µ", "u", "μ", "u", "³", "3", "℃", "°c")

func lookupUnit(s string) (unit, bool) {
	if u, ok := exactUnits[s]; ok {
		return u, true
	}
	return lookupUnitSlow(s)
}

func lookupUnitSlow(s string) (unit, bool) {
	u, ok := unitNames[normUnit.Replace(strings.ToLower(strings.TrimSpace(s)))]
	return u, ok
}

// exactUnits holds the spellings of the factor table and ingest.Params,
// which Readings converts between for every value: no folding for them.
var exactUnits = func() map[string]unit {
	m := make(map[string]unit)
	add := func(s string) {
		if u, ok := lookupUnitSlow(s); ok {
			m[s] = u
		}
	}
	for _, p := range ingest.Params {
		add(p.Unit)
	}
	for _, f := range factors {
		add(f.Unit)
	}
	return m
}()

// ConvertUnit converts v from one unit to another of the same kind, e.g.
// 0.05 "µg/L" to 0.00005 "mg/L", 0.6 "mg/m3" to 600 "µg/m³", 95 "kPa" to
// 950 "hPa". It fails for an unknown unit or units of different kinds.
func ConvertUnit(v float64, from, to string) (float64, error) {
	fu, ok := lookupUnit(from)
	if !ok {
		return 0, fmt.Errorf("hj212: unknown unit %q", from)
	}
	tu, ok := lookupUnit(to)
	if !ok {
		return 0, fmt.Errorf("hj212: unknown unit %q", to)
	}
	if fu.dim != tu.dim {
		return 0, fmt.Errorf("hj212: cannot convert %q to %q", from, to)
	}
	switch d := fu.exp10 - tu.exp10; {
	case d > 0:
		return v * math.Pow10(d), nil
	case d < 0:
		return v / math.Pow10(-d), nil
	}
	return v, nil
}
