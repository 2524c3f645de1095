package hj212

import (
	"fmt"

	"github.com/envpipe/envpipe/ingest/units"
)

// The unit table and the conversion are package units', shared with the
// JSON decoder; its lookup is fast for the spellings of the factor table.

func lookupUnit(s string) (units.Unit, bool) { return units.Lookup(s) }

// ConvertUnit converts v from one unit to another of the same kind, e.g.
// 0.05 "µg/L" to 0.00005 "mg/L", 0.6 "mg/m3" to 600 "µg/m³", 95 "kPa" to
// 950 "hPa" (see package units). It fails for an unknown unit or units of
// different kinds.
func ConvertUnit(v float64, from, to string) (float64, error) {
	x, err := units.Convert(v, from, to)
	if err != nil {
		return 0, fmt.Errorf("hj212: %w", err)
	}
	return x, nil
}
