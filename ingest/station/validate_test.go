package station

import (
	"math"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
)

// TestCheckRefusesNonFiniteValues: NaN compares false with both bounds, so
// it must be refused explicitly; ±Inf gets the same reason, whatever the
// bounds say.
func TestCheckRefusesNonFiniteValues(t *testing.T) {
	reg, errs := Parse([]byte("stations:\n  - {id: a, county: c, kind: air, lat: 1, lon: 1}\n"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	inf := math.Inf(1)
	unbounded := DefaultValidation()
	unbounded.Bounds = map[string]Bound{"pm10": {Max: &inf}}
	tests := []struct {
		name   string
		cfg    ValidationConfig
		v      float64
		reason ingest.Reason // "" when kept
	}{
		{"NaN", DefaultValidation(), math.NaN(), ingest.ReasonNotFinite},
		{"+Inf", DefaultValidation(), math.Inf(1), ingest.ReasonNotFinite},
		{"-Inf", DefaultValidation(), math.Inf(-1), ingest.ReasonNotFinite},
		{"+Inf with an infinite max", unbounded, math.Inf(1), ingest.ReasonNotFinite},
		{"finite", DefaultValidation(), 61, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewValidator(reg, tt.cfg, func() time.Time { return now })
			id, _, _ := ingest.LookupParam("pm10")
			r := &ingest.Reading{Station: "a", Time: now, Values: []ingest.Value{
				{Param: "pm10", V: tt.v, Flag: ingest.FlagNormal, PID: id},
			}}
			st, rejects := v.Check(r, "a", nil)
			if tt.reason == "" {
				if st == nil || len(rejects) > 0 || len(r.Values) != 1 {
					t.Fatalf("refused: %v", rejects)
				}
				return
			}
			if st != nil || len(r.Values) != 0 {
				t.Errorf("kept %v", r.Values)
			}
			if len(rejects) != 1 || rejects[0].Reason != tt.reason || rejects[0].Param != "pm10" {
				t.Errorf("rejects %v, want one %s for pm10", rejects, tt.reason)
			}
		})
	}
}
