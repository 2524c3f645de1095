package alert

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest/station"
)

func TestShippedRules(t *testing.T) {
	rs, errs := LoadRules("../configs/rules.yaml")
	for _, e := range errs {
		t.Error(e)
	}
	reg, serrs := station.Load("../configs/stations.yaml")
	for _, e := range serrs {
		t.Fatal(e)
	}
	for _, e := range rs.CheckStations(reg.All()) {
		t.Error(e)
	}
	byName := map[string]*Rule{}
	for _, r := range rs.Rules {
		byName[r.Name] = r
	}
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	before2026 := time.Date(2025, 11, 28, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		rule        string
		at          time.Time
		limit, warn float64
	}{
		{"PM10Mean24hAbovePlanTarget", now, 70, 63},
		{"PM25Mean24hAbovePlanTarget", now, 45, 40.5},
		{"PM10YearToDateAbovePlanTarget", now, 70, 63},
		{"PM25YearToDateAbovePlanTarget", now, 45, 40.5},
		{"PM10Mean24hAboveGB3095", before2026, 150, 135},
		{"PM10Mean24hAboveGB3095", now, 120, 108},
		{"PM25Mean24hAboveGB3095", before2026, 75, 67.5},
		{"PM25Mean24hAboveGB3095", now, 60, 54},
		{"SO2Mean24hAboveGB3095", now, 150, 135},
		{"NO2Mean24hAboveGB3095", now, 80, 72},
		{"COMean24hAboveGB3095", now, 4, 3.6},
		{"O3Mean8hAboveGB3095", now, 160, 144},
		{"O3Mean1hAboveGB3095", now, 200, 180},
		{"AQIAbove100", now, 100, 0},
		{"AQIAbove150", now, 150, 0},
	}
	for _, tt := range tests {
		r := byName[tt.rule]
		if r == nil {
			t.Errorf("no rule %s", tt.rule)
			continue
		}
		limit, ok := r.Limit.At(tt.at)
		if !ok || limit != tt.limit {
			t.Errorf("%s at %v: limit %v, want %v", tt.rule, tt.at.Year(), limit, tt.limit)
		}
		lv := r.levels(limit)
		ls := lv.all()
		if tt.warn != 0 && (len(ls) != 2 || ls[0].level.Threshold != tt.warn || ls[0].severity != "warning") {
			t.Errorf("%s: levels %+v, want a warning at %v", tt.rule, ls, tt.warn)
		}
	}
	for _, name := range []string{"WaterSectionBelowTargetClass", "DrinkingSourceBelowTargetClass", "StationSilent", "EquipmentFlag"} {
		if byName[name] == nil {
			t.Errorf("no rule %s", name)
		}
	}
	if r := byName["EquipmentFlag"]; r == nil || !r.flags['D'] || !r.flags['B'] || !r.flags['T'] || r.flags['M'] {
		t.Error("EquipmentFlag flags")
	}
	if r := byName["StationSilent"]; r == nil || r.Limit.Value != 3 {
		t.Error("StationSilent limit")
	}
	// Every station is watched by the stale and flag rules, every water
	// section by exactly one water class rule.
	for _, st := range reg.All() {
		var water []string
		for _, r := range rs.Rules {
			if r.Aggregate == AggWaterClass && r.applies(st) {
				water = append(water, r.Name)
			}
		}
		if st.Kind == "water" && len(water) != 1 || st.Kind == "air" && len(water) != 0 {
			t.Errorf("%s: water rules %v", st.ID, water)
		}
	}
}

func TestRuleErrorsNameEveryProblem(t *testing.T) {
	yaml := `
rules:
  - name: Good
    param: pm10
    aggregate: mean
    window: 24h
    limit: 70
  - name: 9bad name
    param: pm99
    aggregate: average
    limit: 70
  - name: NoWindow
    param: pm10
    aggregate: mean
    limit: gb3095:pm10:week
    warn_ratio: 1.2
    hysteresis: 0.6
    severity: fatal
  - name: Stale
    param: pm10
    aggregate: stale
    limit: 0.5
    warn_ratio: 0.9
  - name: Flag
    aggregate: flag
    flags: [N, X]
    limit: 3
  - name: Labels
    param: pm10
    aggregate: instant
    limit: gb3095:pm25:24h
    labels: {severity: page, "bad-label": x}
    annotations: {summary: {zh: "{{.Nope}}", en: "{{.Value"}}
  - name: Good
    param: so2
    aggregate: instant
    limit: 500
    windw: 1h
  - name: Water
    aggregate: water_class
    param: pm10
    limit: VI
    stations: {kind: air}
  - name: Warn
    param: pm10
    aggregate: instant
    limit: 150
    warn_ratio: 0.9
    severity: warning
    direction: sideways
`
	_, errs := ParseRules([]byte(yaml))
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`rules[6]: line 38: unknown key windw`,
		`rules[1].name: "9bad name" may contain only letters`,
		`rules[1].aggregate: "average" is not one of`,
		`rules[1].param: "pm99" is not a known parameter`,
		`rules[2].window: missing`,
		`rules[2].limit: "gb3095:pm10:week": limits: unknown averaging`,
		`rules[2].warn_ratio: 1.2 is not between 0 and 1`,
		`rules[2].hysteresis: 0.6 is not in 0..0.5`,
		`rules[2].severity: "fatal" is not critical, warning or info`,
		`rules[3].param: a stale rule watches the whole station`,
		`rules[3].limit: a stale rule's limit is the multiple`,
		`rules[3].warn_ratio: stale rules have no approach level`,
		`rules[4].flags: "N" is not an HJ 212 flag other than N`,
		`rules[4].flags: "X" is not an HJ 212 flag other than N`,
		`rules[4].limit: flag rules have no limit`,
		`rules[5].limit: "gb3095:pm25:24h" is a limit for pm25, the rule watches pm10`,
		`rules[5].labels: "bad-label" is not a valid label name`,
		`rules[5].labels: "severity" is set by envpipe`,
		`rules[5].annotations.summary.zh:`,
		`rules[5].annotations.summary.en:`,
		`rules[6].name: "Good" is already the name of rules[0]`,
		`rules[7].param: "pm10" is not a GB 3838 item`,
		`rules[7].limit: "VI" is not target or a class I–V`,
		`rules[7].stations.kind: water_class rules apply to water stations`,
		`rules[8].direction: "sideways" is not above or below`,
		`rules[8].severity: with warn_ratio the limit is critical`,
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("missing error %q", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
}

func TestLimitReferences(t *testing.T) {
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		ref  string
		want float64
		err  string
	}{
		{"gb3095:pm10:24h", 120, ""},
		{"gb3095:pm10:24h:I", 50, ""},
		{"gb3095-2012:pm10:24h", 150, ""},
		{"gb3095-2026-final:pm25:24h", 50, ""},
		{"zhuzhou:pm25:annual", 45, ""},
		{"gb3095:o3:8h", 160, ""},
		{"gb3095:co:annual", 0, "has no co annual limit"},
		{"who:pm10:24h", 0, "unknown standard"},
		{"pm10", 0, "is not a number or"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			l := Limit{Ref: tt.ref, set: true}
			err := l.parseRef("")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := l.At(at); !ok || v != tt.want {
				t.Errorf("At = %v, %v; want %v", v, ok, tt.want)
			}
		})
	}
}

func TestSelector(t *testing.T) {
	yes, no := true, false
	air := airStation("a", time.Minute)
	water := waterStation("w")
	drink := waterStation("d")
	drink.DrinkingSource = true
	tests := []struct {
		sel  Selector
		want []string
	}{
		{Selector{}, []string{"a", "w", "d"}},
		{Selector{IDs: []string{"a", "d"}}, []string{"a", "d"}},
		{Selector{Kind: "water"}, []string{"w", "d"}},
		{Selector{County: StringList{"Lusong"}}, []string{"w", "d"}},
		{Selector{River: StringList{"湘江"}, DrinkingSource: &yes}, []string{"d"}},
		{Selector{Kind: "water", DrinkingSource: &no}, []string{"w"}},
	}
	for i, tt := range tests {
		var got []string
		for _, st := range []*station.Station{air, water, drink} {
			if tt.sel.Match(st) {
				got = append(got, st.ID)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%d: %v, want %v", i, got, tt.want)
		}
	}
}

func TestCheckStations(t *testing.T) {
	rs, errs := ParseRules([]byte(`
rules:
  - {name: A, param: pm10, aggregate: instant, limit: 1, stations: {ids: [a, ghost]}}
  - {name: B, aggregate: water_class, stations: {county: Nowhere}}
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	stations := []*station.Station{airStation("a", time.Minute)}
	got := fmt.Sprint(rs.CheckStations(stations))
	if w := `rules[0].stations.ids: unknown station "ghost"`; !strings.Contains(got, w) {
		t.Errorf("missing %q in %s", w, got)
	}
	if idle := rs.Idle(stations); len(idle) != 1 || idle[0] != "rules[1] (B)" {
		t.Errorf("idle rules %v, want rule 1", idle)
	}
}

func TestConfigValidate(t *testing.T) {
	if errs := DefaultConfig().Validate(); len(errs) > 0 {
		t.Errorf("defaults: %v", errs)
	}
	c := Config{Lang: "fr", GrafanaURL: "ftp://x", Dashboards: map[string]string{"soil": "/d"}}
	var got []string
	for _, e := range c.Validate() {
		got = append(got, e.Error())
	}
	for _, w := range []string{"lang:", "alert.horizon:", "alert.resend_interval:", "alert.state_file:",
		"alert.state_interval:", "alert.grafana_url:", "alert.grafana_dashboards:", "alert.notify_timeout:"} {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("missing %s in %v", w, got)
		}
	}
}

// The shipped hourly AQI rules make one episode of an AQI that hovers at
// 100 (101, 98, 94, 102), not three pages.
func TestShippedAQIRulesDoNotFlap(t *testing.T) {
	rs, errs := LoadRules("../configs/rules.yaml")
	for _, e := range errs {
		t.Fatal(e)
	}
	var yaml strings.Builder
	yaml.WriteString("rules:\n")
	for _, r := range rs.Rules {
		if r.Name == "AQIAbove100" {
			fmt.Fprintf(&yaml, "  - {name: AQIAbove100, aggregate: aqi, limit: 100, hysteresis: %v, severity: warning}\n", r.Hysteresis)
		}
	}
	st := airStation("s", time.Minute)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	te := newTestEngine(t, yaml.String(), []*station.Station{st}, testConfig(t.TempDir()), t0)
	for i, v := range []float64{101, 98, 94, 102} {
		at := t0.Add(time.Duration(i) * time.Hour)
		te.clock.Set(at.Add(time.Hour + time.Minute)) // the hour's AQI comes once it ends
		te.ObserveValue(st, "aqi", at, v)
	}
	te.Flush()
	time.Sleep(50 * time.Millisecond)
	if got := te.rec.all(); len(got) != 1 || got[0].Status != StatusFiring {
		t.Errorf("notifications %d (%v), want one firing", len(got), got)
	}
}
