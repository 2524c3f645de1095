package decode

import (
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/units"
)

// convert converts f from unit u to p's canonical unit, with the table and
// the exact decimal scaling the HJ 212 path uses (package units).
func convert(f float64, u string, p ingest.Param) (float64, bool) {
	from, ok := units.Lookup(u)
	if !ok {
		return 0, false
	}
	to, ok := units.Lookup(p.Unit)
	if !ok {
		return 0, false
	}
	return units.Scale(f, from, to)
}
