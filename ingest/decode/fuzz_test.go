package decode

import (
	"math"
	"testing"

	"github.com/envpipe/envpipe/ingest"
)

// FuzzJSON: any payload decodes without panicking, and every accepted value
// is finite with a known parameter, a valid flag and a safe station id.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		`{"station":"zz-air-0101","time":"2026-11-28T09:00:00+08:00","values":{"pm25":38.2,"pm10":61},"flags":{"pm10":"M"}}`,
		`[{"station":"a","time":1764291600000,"values":{"co":800},"units":{"co":"µg/m3"}}]`,
		`{"station":"a,b=c d","time":"2026-11-28T01:00:00Z","values":{"pm25":1}}`,
		`{"station":"a","time":"2026-11-28T01:00:00Z","values":{"pm25":NaN,"pm10":1e999}}`,
		`[[[[[`, `{"a":1,"a":2}`, "\xff\xfe", `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var d Decoder
		res := d.JSON(payload)
		for _, r := range res.Readings {
			if !validName([]byte(r.Station), 64) {
				t.Fatalf("accepted station %q", r.Station)
			}
			if len(r.Values) == 0 {
				t.Fatal("reading without values")
			}
			for _, v := range r.Values {
				if _, ok := ingest.Params[v.Param]; !ok {
					t.Fatalf("unknown param %q accepted", v.Param)
				}
				if math.IsNaN(v.V) || math.IsInf(v.V, 0) || !ingest.ValidFlag(v.Flag) {
					t.Fatalf("bad value accepted: %+v", v)
				}
			}
		}
		for _, rj := range res.Rejects {
			if rj.Reason == "" {
				t.Fatal("rejection without a reason")
			}
		}
	})
}
