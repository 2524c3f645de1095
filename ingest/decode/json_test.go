package decode

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
)

func TestJSONDecodesTheDesignPayload(t *testing.T) {
	var d Decoder
	res := d.JSON([]byte(`{"station":"zz-air-0101","time":"2026-11-28T09:00:00+08:00",
	  "values":{"pm25":38.2,"pm10":61,"so2":8,"no2":31,"co":0.8,"o3":92},"flags":{"pm10":"M"}}`))
	if len(res.Rejects) != 0 || len(res.Readings) != 1 {
		t.Fatalf("got %+v", res)
	}
	r := res.Readings[0]
	if r.Station != "zz-air-0101" || !r.Time.Equal(time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)) {
		t.Fatalf("station/time %s %s", r.Station, r.Time)
	}
	want := map[string]ingest.Value{
		"pm25": {Param: "pm25", V: 38.2, Flag: 'N'}, "pm10": {Param: "pm10", V: 61, Flag: 'M'}, "so2": {Param: "so2", V: 8, Flag: 'N'},
		"no2": {Param: "no2", V: 31, Flag: 'N'}, "co": {Param: "co", V: 0.8, Flag: 'N'}, "o3": {Param: "o3", V: 92, Flag: 'N'},
	}
	if len(r.Values) != len(want) {
		t.Fatalf("values %+v", r.Values)
	}
	for _, v := range r.Values {
		w := want[v.Param]
		w.PID, _, _ = ingest.LookupParam(w.Param)
		if w.PID == 0 || w != v {
			t.Errorf("%s: got %+v want %+v", v.Param, v, w)
		}
	}
}

func TestJSONArrayUnixMillisAndUnits(t *testing.T) {
	var d Decoder
	res := d.JSON([]byte(`[{"station":"a","time":1764291600000,"values":{"co":800},"units":{"co":"µg/m3"}},
	  {"station":"b","time":"2026-11-28T01:00:00Z","values":{"nh3n":460},"units":{"nh3n":"ug/L"}},
	  {"station":"c","time":"2026-11-28T01:00:00Z","values":{"pm25":0.04},"units":{"pm25":"mg/m³"}}]`))
	if len(res.Rejects) != 0 || len(res.Readings) != 3 {
		t.Fatalf("got %+v", res)
	}
	if got := res.Readings[0]; got.Time.UnixMilli() != 1764291600000 || got.Values[0].V != 0.8 {
		t.Errorf("co: %+v", got)
	}
	if v := res.Readings[1].Values[0].V; v < 0.46-1e-12 || v > 0.46+1e-12 {
		t.Errorf("nh3n converted to %v, want 0.46", v)
	}
	if v := res.Readings[2].Values[0].V; v < 40-1e-9 || v > 40+1e-9 {
		t.Errorf("pm25 converted to %v, want 40", v)
	}
	// Each reading keeps its own values after the backing array grew.
	if res.Readings[0].Values[0].Param != "co" || res.Readings[1].Values[0].Param != "nh3n" {
		t.Errorf("values crossed between readings: %+v", res.Readings)
	}
}

func TestJSONRejectsWithAReason(t *testing.T) {
	const ok = `"station":"a","time":"2026-11-28T01:00:00Z"`
	cases := []struct {
		name, payload string
		reason        ingest.Reason
		kept          int // readings still accepted
	}{
		{"truncated JSON", `{"station":"a","time":`, ingest.ReasonMalformedJSON, 0},
		{"not an object", `42`, ingest.ReasonBadShape, 0},
		{"empty array", `[]`, ingest.ReasonBadShape, 0},
		{"array of numbers", `[1,2]`, ingest.ReasonBadShape, 0},
		{"missing station", `{"time":"2026-11-28T01:00:00Z","values":{"pm25":1}}`, ingest.ReasonBadShape, 0},
		{"station not a string", `{"station":7,"time":"2026-11-28T01:00:00Z","values":{"pm25":1}}`, ingest.ReasonBadShape, 0},
		{"line protocol injection in station", `{"station":"a,b=c d","time":"2026-11-28T01:00:00Z","values":{"pm25":1}}`, ingest.ReasonInvalidStationID, 0},
		{"newline in station", `{"station":"a\nb","time":"2026-11-28T01:00:00Z","values":{"pm25":1}}`, ingest.ReasonInvalidStationID, 0},
		{"missing time", `{"station":"a","values":{"pm25":1}}`, ingest.ReasonBadTime, 0},
		{"time not RFC 3339", `{"station":"a","time":"28/11/2026","values":{"pm25":1}}`, ingest.ReasonBadTime, 0},
		{"time fractional millis", `{"station":"a","time":1.5,"values":{"pm25":1}}`, ingest.ReasonBadTime, 0},
		{"no values", `{` + ok + `}`, ingest.ReasonNoValues, 0},
		{"empty values", `{` + ok + `,"values":{}}`, ingest.ReasonNoValues, 0},
		{"values not an object", `{` + ok + `,"values":[1]}`, ingest.ReasonNoValues, 0},
		{"unknown parameter", `{` + ok + `,"values":{"pm25":1,"radon":3}}`, ingest.ReasonUnknownParam, 1},
		{"injection in parameter", `{` + ok + `,"values":{"pm25 x=1":3}}`, ingest.ReasonInvalidParam, 0},
		{"string value", `{` + ok + `,"values":{"pm25":"38"}}`, ingest.ReasonNotNumeric, 0},
		{"NaN string", `{` + ok + `,"values":{"pm25":"NaN"}}`, ingest.ReasonNotNumeric, 0},
		{"NaN literal", `{` + ok + `,"values":{"pm25":NaN}}`, ingest.ReasonNotFinite, 0},
		{"huge number", `{` + ok + `,"values":{"pm25":1e999}}`, ingest.ReasonNotFinite, 0},
		{"null value", `{` + ok + `,"values":{"pm25":null,"pm10":3}}`, ingest.ReasonNotNumeric, 1},
		{"bad flag", `{` + ok + `,"values":{"pm25":1},"flags":{"pm25":"X"}}`, ingest.ReasonBadFlag, 0},
		{"unknown unit", `{` + ok + `,"values":{"pm25":1},"units":{"pm25":"ppm"}}`, ingest.ReasonBadUnit, 0},
		{"duplicate top-level key", `{` + ok + `,"station":"b","values":{"pm25":1}}`, ingest.ReasonDuplicateKey, 0},
		{"duplicate value key", `{` + ok + `,"values":{"pm25":1,"pm25":2}}`, ingest.ReasonDuplicateKey, 0},
		{"deep nesting", strings.Repeat("[", 1000) + strings.Repeat("]", 1000), ingest.ReasonMalformedJSON, 0},
		{"one bad reading in an array", `[{` + ok + `,"values":{"pm25":1}},{"station":"a","values":{"pm25":1}}]`, ingest.ReasonBadTime, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var d Decoder
			res := d.JSON([]byte(c.payload))
			if len(res.Rejects) == 0 {
				t.Fatalf("accepted %+v", res.Readings)
			}
			if res.Rejects[0].Reason != c.reason {
				t.Errorf("reason %s (%s), want %s", res.Rejects[0].Reason, res.Rejects[0].Detail, c.reason)
			}
			if len(res.Readings) != c.kept {
				t.Errorf("kept %d readings, want %d", len(res.Readings), c.kept)
			}
		})
	}
}

func TestJSONTooManyReadings(t *testing.T) {
	d := Decoder{MaxReadings: 2}
	res := d.JSON([]byte(`[{},{},{}]`))
	if len(res.Rejects) != 1 || res.Rejects[0].Reason != ingest.ReasonTooManyReadings {
		t.Fatalf("got %+v", res.Rejects)
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	payload := []byte(`{"station":"zz-air-0042","time":"2026-11-28T09:00:00.165456789Z","values":{"pm25":42.4,"pm10":65.2,"so2":8.4,"no2":35.2,"co":0.8,"o3":96.2}}`)
	var d Decoder
	b.ReportAllocs()
	for b.Loop() {
		if res := d.JSON(payload); len(res.Readings) != 1 {
			b.Fatal(res.Rejects)
		}
	}
}

// TestJSONRefusesNonFiniteConversions: a finite value that overflows when
// converted to the canonical unit is refused like an infinite one.
func TestJSONRefusesNonFiniteConversions(t *testing.T) {
	const ok = `"station":"a","time":"2026-11-28T01:00:00Z"`
	tests := []struct {
		name    string
		payload string
		kept    []string // params accepted
		refused []string // params refused as not finite
	}{
		{"g/l overflows mg/L", `{` + ok + `,"values":{"do":1.7e308,"ph":7},"units":{"do":"g/l"}}`, []string{"ph"}, []string{"do"}},
		{"negative overflow", `{` + ok + `,"values":{"nh3n":-1e308},"units":{"nh3n":"g/L"}}`, nil, []string{"nh3n"}},
		{"large value that still converts", `{` + ok + `,"values":{"do":1e305},"units":{"do":"g/l"}}`, []string{"do"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			res := d.JSON([]byte(tt.payload))
			var kept, refused []string
			for _, r := range res.Readings {
				for _, v := range r.Values {
					kept = append(kept, v.Param)
				}
			}
			for _, rj := range res.Rejects {
				if rj.Reason != ingest.ReasonNotFinite || !strings.Contains(rj.Detail, "g/l") && !strings.Contains(rj.Detail, "g/L") {
					t.Errorf("reject %v, want %s saying which unit overflowed", rj, ingest.ReasonNotFinite)
				}
				refused = append(refused, rj.Param)
			}
			if strings.Join(kept, ",") != strings.Join(tt.kept, ",") || strings.Join(refused, ",") != strings.Join(tt.refused, ",") {
				t.Errorf("kept %v refused %v, want kept %v refused %v", kept, refused, tt.kept, tt.refused)
			}
		})
	}
}

// manyKeys returns `"k0":0,"k1":0,…` for n keys, then `,"k<dup>":1` when
// dup >= 0.
func manyKeys(n, dup int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":0`, i)
	}
	if dup >= 0 {
		fmt.Fprintf(&b, `,"k%d":1`, dup)
	}
	return b.String()
}

// TestJSONManyKeys: duplicate keys are found on either side of the size
// where the check changes method, and an object of 2^17 keys is checked in
// linear-logarithmic time: comparing every key with every earlier one takes
// over ten minutes for it under -race (half a minute without), which times
// out the package's test run.
func TestJSONManyKeys(t *testing.T) {
	const ok = `"station":"a","time":"2026-11-28T01:00:00Z"`
	const huge = 1 << 17
	tests := []struct {
		name    string
		payload string
		reason  ingest.Reason // of the one reject; "" when accepted
		detail  string
	}{
		{"31 top-level keys", `{` + ok + `,"values":{"pm25":1},` + manyKeys(28, -1) + `}`, "", ""},
		{"32 top-level keys, one twice", `{` + ok + `,"values":{"pm25":1},` + manyKeys(28, 27) + `}`, ingest.ReasonDuplicateKey, `"k27"`},
		{"33 top-level keys, one twice", `{` + ok + `,"values":{"pm25":1},` + manyKeys(29, 0) + `}`, ingest.ReasonDuplicateKey, `"k0"`},
		{"40 top-level keys", `{` + ok + `,"values":{"pm25":1},` + manyKeys(37, -1) + `}`, "", ""},
		{"2^17 top-level keys", `{` + ok + `,"values":{"pm25":1},` + manyKeys(huge, -1) + `}`, "", ""},
		{"2^17 top-level keys, the first twice", `{` + ok + `,"values":{"pm25":1},` + manyKeys(huge, 0) + `}`, ingest.ReasonDuplicateKey, `"k0"`},
		{"2^17 top-level keys, station twice", `{` + ok + `,"values":{"pm25":1},` + manyKeys(huge, -1) + `,"station":"b"}`, ingest.ReasonDuplicateKey, `"station"`},
		{"2^17 values keys, the last twice", `{` + ok + `,"values":{` + manyKeys(huge, huge-1) + `}}`, ingest.ReasonDuplicateKey, `values key "k131071"`},
		{"2^17 flags keys, one twice", `{` + ok + `,"values":{"pm25":1},"flags":{` + manyKeys(huge, 4242) + `}}`, ingest.ReasonDuplicateKey, `flags key "k4242"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			res := d.JSON([]byte(tt.payload))
			if tt.reason == "" {
				if len(res.Rejects) != 0 || len(res.Readings) != 1 {
					t.Fatalf("readings %d, rejects %v", len(res.Readings), res.Rejects)
				}
				return
			}
			if len(res.Rejects) != 1 || res.Rejects[0].Reason != tt.reason || !strings.Contains(res.Rejects[0].Detail, tt.detail) {
				t.Fatalf("rejects %v, want one %s mentioning %s", res.Rejects, tt.reason, tt.detail)
			}
		})
	}
}

// BenchmarkDecodeJSONManyKeys is a 256 KiB object (the default
// max_payload_bytes) of about 24,000 keys: milliseconds, not the second that
// comparing every pair of keys took.
func BenchmarkDecodeJSONManyKeys(b *testing.B) {
	var s strings.Builder
	s.WriteString(`{"station":"a","time":"2026-11-28T01:00:00Z","values":{"pm25":1}`)
	for i := 0; s.Len() < 250<<10; i++ {
		fmt.Fprintf(&s, `,"k%d":0`, i)
	}
	s.WriteString(`}`)
	payload := []byte(s.String())
	var d Decoder
	b.ReportAllocs()
	for b.Loop() {
		if res := d.JSON(payload); len(res.Readings) != 1 {
			b.Fatal(res.Rejects)
		}
	}
}
