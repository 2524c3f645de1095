package station

import (
	"fmt"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
)

// BenchmarkCheck is Validator.Check on the hot path: one op is one decoded
// reading of six air parameters, all in range, from one of n registered
// stations in turn (as the decoder hands it over, with parameter IDs set).
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("stations=%d", n), func(b *testing.B) {
			reg, errs := Parse(fmt.Appendf(nil, "ranges:\n  - {prefix: zz-air-, from: 0, to: %d, digits: 5, kind: air, county: Bench}\n", n-1))
			if len(errs) > 0 {
				b.Fatal(errs)
			}
			now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
			v := NewValidator(reg, DefaultValidation(), func() time.Time { return now })
			params := []struct {
				name string
				v    float64
			}{{"pm25", 42.4}, {"pm10", 65.2}, {"so2", 8.4}, {"no2", 35.2}, {"co", 0.8}, {"o3", 96.2}}
			readings := make([]ingest.Reading, n)
			for i := range readings {
				readings[i] = ingest.Reading{Station: fmt.Sprintf("zz-air-%05d", i), Time: now.Add(-time.Second)}
			}
			full := make([]ingest.Value, len(params))
			for j, p := range params {
				id, _, _ := ingest.LookupParam(p.name)
				full[j] = ingest.Value{Param: p.name, V: p.v, Flag: ingest.FlagNormal, PID: id}
			}
			values := make([]ingest.Value, len(params))
			var rejects []ingest.Reject
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := &readings[i%n]
				// Check filters r.Values in place: start from a full set.
				r.Values = values[:copy(values, full)]
				var st *Station
				st, rejects = v.Check(r, r.Station, rejects[:0])
				if st == nil || len(rejects) > 0 || len(r.Values) != len(params) {
					b.Fatalf("reading refused: %v", rejects)
				}
				i++
			}
		})
	}
}
