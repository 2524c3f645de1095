package ingest

import "testing"

func TestParamIDsFollowTheCatalogue(t *testing.T) {
	for i, p := range catalogue {
		id, got, ok := LookupParam(p.Name)
		if !ok || int(id) != i+1 || got != p {
			t.Errorf("LookupParam(%q) = %d, %+v, %v; want %d, %+v", p.Name, id, got, ok, i+1, p)
		}
		if v := (Value{Param: p.Name}); v.ParamID() != id {
			t.Errorf("Value{%q}.ParamID() = %d, want %d", p.Name, v.ParamID(), id)
		}
	}
	if len(Params) != NumParams {
		t.Errorf("Params has %d entries, the catalogue %d: a name is there twice", len(Params), NumParams)
	}
	for _, name := range []string{"", "PM25", "pm2.5", "pm250", "aqi"} {
		if id, _, ok := LookupParam(name); ok || id != 0 {
			t.Errorf("LookupParam(%q) = %d, %v", name, id, ok)
		}
	}
}
