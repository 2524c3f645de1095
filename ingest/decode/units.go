package decode

import (
	"strings"

	"github.com/envpipe/envpipe/ingest"
)

// unitScale maps a unit spelling to its factor relative to the base unit of
// its dimension (mass concentration in air: mg/m³; in water: mg/L).
var unitScale = map[string]struct {
	dim   string
	scale float64
}{
	"mg/m3": {"air", 1}, "µg/m3": {"air", 1e-3}, "ng/m3": {"air", 1e-6},
	"mg/l": {"water", 1}, "µg/l": {"water", 1e-3}, "ng/l": {"water", 1e-6}, "g/l": {"water", 1e3},
}

// normUnit folds the spellings stations use: ug, μ (Greek mu), µ (micro
// sign), m³ and m3, any case.
func normUnit(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	u = strings.ReplaceAll(u, "³", "3")
	u = strings.ReplaceAll(u, "μ", "µ")
	if strings.HasPrefix(u, "ug/") {
		u = "µ" + u[1:]
	}
	return u
}

// convert converts f from unit u to p's canonical unit.
func convert(f float64, u string, p ingest.Param) (float64, bool) {
	from, to := normUnit(u), normUnit(p.Unit)
	if from == to {
		return f, true
	}
	a, ok1 := unitScale[from]
	b, ok2 := unitScale[to]
	if !ok1 || !ok2 || a.dim != b.dim {
		return 0, false
	}
	return f * a.scale / b.scale, true
}
