package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
)

// decodeObject decodes one payload object and checks it has DESIGN.md's
// shape: station, time (RFC 3339, +08:00), values, and flags only when some
// value is not N.
func decodeObject(t *testing.T, raw json.RawMessage) (station string, at time.Time, values map[string]float64, flags map[string]string) {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	keys := slices.Sorted(maps.Keys(top))
	if !slices.Equal(keys, []string{"station", "time", "values"}) && !slices.Equal(keys, []string{"flags", "station", "time", "values"}) {
		t.Fatalf("keys %v in %s", keys, raw)
	}
	var ts string
	for k, dst := range map[string]any{"station": &station, "time": &ts, "values": &values} {
		if err := json.Unmarshal(top[k], dst); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	if f, ok := top["flags"]; ok {
		if err := json.Unmarshal(f, &flags); err != nil {
			t.Fatalf("flags: %v", err)
		}
		if len(flags) == 0 {
			t.Errorf("empty flags object in %s", raw)
		}
	}
	var err error
	if at, err = time.Parse(time.RFC3339, ts); err != nil {
		t.Fatalf("time %q: %v", ts, err)
	}
	if !strings.HasSuffix(ts, "+08:00") {
		t.Errorf("time %q: want the +08:00 offset", ts)
	}
	return station, at, values, flags
}

func TestPayloadHasDesignShapeAndUnits(t *testing.T) {
	reg := sampleNetwork(t)
	sc, err := newScenario(reg, nil, []string{"zz-air-0202:pm10:D"}, nil, nov28)
	if err != nil {
		t.Fatal(err)
	}
	m := Model{Seed: 1}
	at := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC) // 09:00 +08:00
	for _, st := range reg.All() {
		vals := m.Values(st, at, m.RNG(st.ID, at))
		sc.Apply(st, at, vals)
		raw := encodeMessage([]ingest.Reading{{Station: st.ID, Time: at, Values: vals}})

		id, gotAt, values, flags := decodeObject(t, raw)
		if id != st.ID || !gotAt.Equal(at) {
			t.Errorf("station %q time %s, want %s %s", id, gotAt, st.ID, at)
		}
		if !strings.Contains(string(raw), `"time":"2026-11-28T09:00:00+08:00"`) {
			t.Errorf("%s: time not in +08:00: %s", st.ID, raw)
		}
		if got, want := slices.Sorted(maps.Keys(values)), slices.Sorted(slices.Values(simulatedParams(st))); !slices.Equal(got, want) {
			t.Errorf("%s: values %v, want %v", st.ID, got, want)
		}
		for p, v := range values {
			cat := ingest.Params[p]
			if cat.Kind != st.Kind || v < cat.Min || v > cat.Max {
				t.Errorf("%s: %s = %v is not a %s value in %s", st.ID, p, v, st.Kind, cat.Unit)
			}
		}
		if st.Kind == ingest.KindAir {
			// Canonical units: CO in mg/m³ (around 1), the rest in µg/m³.
			if co := values["co"]; co < 0.1 || co > 5 {
				t.Errorf("%s: co %v, want mg/m³", st.ID, co)
			}
			if pm := values["pm25"]; pm < 5 || pm > 300 {
				t.Errorf("%s: pm25 %v, want µg/m³", st.ID, pm)
			}
		} else if nh3n := values["nh3n"]; nh3n > 2 {
			t.Errorf("%s: nh3n %v, want mg/L", st.ID, nh3n)
		}
		wantFlags := map[string]string(nil)
		if st.ID == "zz-air-0202" {
			wantFlags = map[string]string{"pm10": "D"}
		}
		if !maps.Equal(flags, wantFlags) {
			t.Errorf("%s: flags %v, want %v", st.ID, flags, wantFlags)
		}
	}
}

func TestPayloadKeepsThePublishedPrecision(t *testing.T) {
	r := ingest.Reading{Station: "zz-air-0101", Time: time.Date(2026, 11, 28, 9, 0, 0, 0, cst), Values: []ingest.Value{
		{Param: "pm25", V: 38.2, Flag: 'N'}, {Param: "pm10", V: 61, Flag: 'N'}, {Param: "co", V: 0.8, Flag: 'N'},
		{Param: "so2", V: 8.1, Flag: 'M'},
	}}
	got := string(encodeMessage([]ingest.Reading{r}))
	want := `{"station":"zz-air-0101","time":"2026-11-28T09:00:00+08:00","values":{"pm25":38.2,"pm10":61,"co":0.8,"so2":8.1},"flags":{"so2":"M"}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	r.Time = r.Time.Add(1500 * time.Millisecond) // an interval of 1.5s
	if got := string(encodeMessage([]ingest.Reading{r})); !strings.Contains(got, `"time":"2026-11-28T09:00:01.5+08:00"`) {
		t.Errorf("sub-second time lost: %s", got)
	}
}

func TestBatchPayloadIsAnArray(t *testing.T) {
	reg := sampleNetwork(t)
	st, _ := reg.Lookup("zz-wat-hb01")
	m := Model{Seed: 1}
	var rs []ingest.Reading
	for i := range 3 {
		at := nov28.Add(time.Duration(4*i) * time.Hour)
		rs = append(rs, ingest.Reading{Station: st.ID, Time: at, Values: m.Values(st, at, m.RNG(st.ID, at))})
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(encodeMessage(rs), &arr); err != nil {
		t.Fatal(err)
	}
	if len(arr) != 3 {
		t.Fatalf("%d elements, want 3", len(arr))
	}
	for i, raw := range arr {
		id, at, values, _ := decodeObject(t, raw)
		if id != st.ID || !at.Equal(rs[i].Time) || len(values) != len(simulatedParams(st)) {
			t.Errorf("element %d: %s %s %v", i, id, at, values)
		}
	}
}
