package station

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envpipe/envpipe/ingest"
)

func TestShippedStationsFileCoversTheNetwork(t *testing.T) {
	r, errs := Load(filepath.Join("..", "..", "configs", "stations.yaml"))
	if len(errs) > 0 {
		t.Fatalf("shipped stations.yaml: %v", errs)
	}
	counties := map[string]bool{}
	rivers := map[string]bool{}
	for i, s := range r.All() {
		if s.Index != i {
			t.Errorf("%s: Index %d, want its position %d", s.ID, s.Index, i)
		}
		if s.Kind == ingest.KindAir {
			counties[s.County] = true
		} else {
			rivers[s.River] = true
			if s.River != "黄丰桥水库" && s.TargetClass != "II" {
				t.Errorf("%s: target class %s, want II", s.ID, s.TargetClass)
			}
		}
	}
	for _, c := range []string{"Hetang", "Lusong", "Shifeng", "Tianyuan", "Lukou", "Liling", "You", "Chaling", "Yanling"} {
		if !counties[c] {
			t.Errorf("no air station in %s", c)
		}
	}
	for _, rv := range []string{"湘江", "洣水", "渌水"} {
		if !rivers[rv] {
			t.Errorf("no section on %s", rv)
		}
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	src := `stations:
  - {id: "a,b=c d", kind: air, county: X, lat: 1, lon: 1}
  - {id: ok1, kind: fish, county: X}
  - {id: ok2, kind: water, county: X, river: R, target_class: VII}
  - {id: ok3, kind: air, county: X, colour: red}
`
	_, errs := Parse([]byte(src))
	want := []string{"stations[0].id", "stations[1].kind", "stations[2].target_class", "colour"}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(want))
	}
	all := ""
	for _, e := range errs {
		all += e.Error() + "\n"
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("errors do not mention %s:\n%s", w, all)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, errs := Load(filepath.Join(t.TempDir(), "none.yaml"))
	if len(errs) != 1 || !os.IsNotExist(errs[0]) {
		t.Fatalf("got %v", errs)
	}
}

func TestRangesGenerateNumberedStations(t *testing.T) {
	r, errs := Parse([]byte("ranges:\n  - {prefix: zz-air-, from: 0, to: 999, digits: 4, kind: air, county: Bench}\n"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if r.Len() != 1000 {
		t.Fatalf("%d stations", r.Len())
	}
	for _, id := range []string{"zz-air-0000", "zz-air-0042", "zz-air-0999"} {
		if s, ok := r.Lookup(id); !ok || s.County != "Bench" || s.Kind != ingest.KindAir {
			t.Errorf("%s: %+v", id, s)
		}
	}
}

// TestParseChecksHJ212Units: a mistyped factor code or unit in hj212_units is
// a load error naming the station and the key, not values dropped later.
func TestParseChecksHJ212Units(t *testing.T) {
	tests := []struct {
		name  string
		units string
		want  []string // what the errors must mention; nil when the file is fine
	}{
		{"known codes and units", `{a21005: "µg/m³", a34004: "mg/m3", a01006: "hPa"}`, nil},
		{"factor known but not yet a parameter", `{w20119: "mg/L"}`, nil},
		{"letter O for zero in the code", `{a21O05: "µg/m³"}`,
			[]string{`stations[0].hj212_units.a21O05: station "a":`, "unknown factor code"}},
		{"unknown unit", `{a34004: "furlongs"}`,
			[]string{`stations[0].hj212_units.a34004: station "a":`, `"furlongs"`}},
		{"unit of another dimension", `{a34004: "mg/L"}`,
			[]string{`stations[0].hj212_units.a34004: station "a":`, "cannot convert"}},
		{"every bad key reported", `{a21O05: "µg/m³", a34004: "furlongs"}`,
			[]string{"hj212_units.a21O05", "hj212_units.a34004"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "stations:\n  - {id: a, county: c, kind: air, lat: 1, lon: 1, hj212_mn: M1, hj212_password: p1, hj212_units: " + tt.units + "}\n" +
				"  - {id: b, county: c, kind: air, lat: 1, lon: 1, hj212_mn: M2, hj212_password: p2}\n"
			checkParseErrors(t, src, tt.want)
		})
	}
}

// checkParseErrors parses src and checks that it loads (want nil) or that
// its errors mention every string of want.
func checkParseErrors(t *testing.T, src string, want []string) {
	t.Helper()
	_, errs := Parse([]byte(src))
	all := ""
	for _, e := range errs {
		all += e.Error() + "\n"
	}
	if want == nil {
		if len(errs) > 0 {
			t.Fatalf("unexpected errors:\n%s", all)
		}
		return
	}
	if len(errs) == 0 {
		t.Fatal("accepted")
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("errors do not mention %s:\n%s", w, all)
		}
	}
}
