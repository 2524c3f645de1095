package hj212

import (
	"fmt"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/units"
)

// The unit table and the conversion are package units', shared with the
// JSON decoder; this file keeps what is HJ 212's: the spellings of the
// factor table, looked up for every value.

func lookupUnit(s string) (units.Unit, bool) {
	if u, ok := exactUnits[s]; ok {
		return u, true
	}
	return units.Lookup(s)
}

// exactUnits holds the spellings of the factor table and ingest.Params,
// which Readings converts between for every value: no folding for them.
var exactUnits = func() map[string]units.Unit {
	m := make(map[string]units.Unit)
	add := func(s string) {
		if u, ok := units.Lookup(s); ok {
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
// 950 "hPa" (see package units). It fails for an unknown unit or units of
// different kinds.
func ConvertUnit(v float64, from, to string) (float64, error) {
	fu, ok := lookupUnit(from)
	if !ok {
		return 0, fmt.Errorf("hj212: unknown unit %q", from)
	}
	tu, ok := lookupUnit(to)
	if !ok {
		return 0, fmt.Errorf("hj212: unknown unit %q", to)
	}
	x, ok := units.Scale(v, fu, tu)
	if !ok {
		return 0, fmt.Errorf("hj212: cannot convert %q to %q", from, to)
	}
	return x, nil
}
