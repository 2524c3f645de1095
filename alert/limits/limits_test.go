package limits

import (
	"fmt"
	"testing"
	"time"
)

var (
	in2020 = time.Date(2020, 6, 1, 0, 0, 0, 0, chinaStandardTime)
	in2027 = time.Date(2027, 6, 1, 0, 0, 0, 0, chinaStandardTime)
	in2032 = time.Date(2032, 6, 1, 0, 0, 0, 0, chinaStandardTime)
)

// TestLimitReproducesTheReferenceTables checks every cell of
// reference/standards.md §2.1 and §2.3, row by row as printed there.
func TestLimitReproducesTheReferenceTables(t *testing.T) {
	type row struct {
		param string
		avg   Averaging
		g1    float64
		g2    float64
	}
	sets := []struct {
		name string
		std  Standard
		rows []row
	}{
		{"GB 3095-2012 Table 1", GB3095v2012, []row{
			{"so2", Annual, 20, 60}, {"so2", Mean24h, 50, 150}, {"so2", Mean1h, 150, 500},
			{"no2", Annual, 40, 40}, {"no2", Mean24h, 80, 80}, {"no2", Mean1h, 200, 200},
			{"co", Mean24h, 4, 4}, {"co", Mean1h, 10, 10},
			{"o3", Max8h, 100, 160}, {"o3", Mean1h, 160, 200},
			{"pm10", Annual, 40, 70}, {"pm10", Mean24h, 50, 150},
			{"pm25", Annual, 15, 35}, {"pm25", Mean24h, 35, 75},
		}},
		{"GB 3095-2026 transitional limits", GB3095v2026Transitional, []row{
			{"so2", Annual, 20, 60}, {"so2", Mean24h, 50, 150}, {"so2", Mean1h, 150, 500},
			{"no2", Annual, 40, 40}, {"no2", Mean24h, 80, 80}, {"no2", Mean1h, 200, 200},
			{"co", Mean24h, 4, 4}, {"co", Mean1h, 10, 10},
			{"o3", Max8h, 100, 160}, {"o3", Mean1h, 160, 200},
			{"pm10", Annual, 40, 60}, {"pm10", Mean24h, 50, 120},
			{"pm25", Annual, 15, 30}, {"pm25", Mean24h, 35, 60},
		}},
		{"GB 3095-2026 final limits", GB3095v2026Final, []row{
			{"so2", Annual, 20, 20}, {"so2", Mean24h, 50, 50}, {"so2", Mean1h, 150, 150},
			{"no2", Annual, 30, 30}, {"no2", Mean24h, 50, 50}, {"no2", Mean1h, 200, 200},
			{"co", Mean24h, 4, 4}, {"co", Mean1h, 10, 10},
			{"o3", Max8h, 100, 160}, {"o3", Mean1h, 160, 200},
			{"pm10", Annual, 20, 50}, {"pm10", Mean24h, 50, 100},
			{"pm25", Annual, 10, 25}, {"pm25", Mean24h, 25, 50},
		}},
	}
	for _, set := range sets {
		for _, r := range set.rows {
			for _, g := range []struct {
				grade Grade
				want  float64
			}{{GradeI, r.g1}, {GradeII, r.g2}} {
				t.Run(fmt.Sprintf("%s gives %s %v Grade %v as %g", set.name, r.param, r.avg, g.grade, g.want), func(t *testing.T) {
					got, ok := Limit(set.std, r.param, r.avg, g.grade, in2020)
					if !ok || got != g.want {
						t.Errorf("Limit = %g, %v; want %g", got, ok, g.want)
					}
				})
			}
		}
		if n := len(Table(set.std, in2020)); n != 2*len(set.rows) {
			t.Errorf("%s: Table has %d entries, want %d", set.name, n, 2*len(set.rows))
		}
	}
}

func TestLimitFollowsTheDateWhenNotPinned(t *testing.T) {
	tests := []struct {
		name  string
		std   Standard
		param string
		avg   Averaging
		at    time.Time
		want  float64
		ok    bool
	}{
		{"auto in 2020 uses the 2012 PM2.5 daily limit", Auto, "pm25", Mean24h, in2020, 75, true},
		{"auto in 2027 uses the transitional PM2.5 daily limit", Auto, "pm25", Mean24h, in2027, 60, true},
		{"auto in 2032 uses the final PM2.5 daily limit", Auto, "pm25", Mean24h, in2032, 50, true},
		{"a pinned 2012 keeps its limit in 2032", GB3095v2012, "pm25", Mean24h, in2032, 75, true},
		{"the 2026 edition pinned in 2020 uses its transitional limit", GB3095v2026, "pm10", Mean24h, in2020, 120, true},
		{"the 2026 edition pinned in 2032 uses its final limit", GB3095v2026, "pm10", Mean24h, in2032, 100, true},
		{"the final limits pinned in 2027 apply ahead of time", GB3095v2026Final, "so2", Annual, in2027, 20, true},
		{"the plan's PM2.5 annual target is 45", ZhuzhouPlan, "pm25", Annual, in2027, 45, true},
		{"the plan's PM10 annual target is 70", ZhuzhouPlan, "pm10", Annual, in2020, 70, true},
		{"the plan has no daily target", ZhuzhouPlan, "pm25", Mean24h, in2020, 0, false},
		{"CO has no annual limit", Auto, "co", Annual, in2020, 0, false},
		{"O3 has no 24 h limit", Auto, "o3", Mean24h, in2020, 0, false},
		{"an unknown parameter has no limit", Auto, "tsp", Annual, in2020, 0, false},
		{"an unknown standard has no limit", Standard(42), "pm25", Annual, in2020, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Limit(tt.std, tt.param, tt.avg, GradeII, tt.at)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Limit = %g, %v; want %g, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := Limit(GB3095v2012, "pm25", Annual, 0, in2020); ok {
		t.Error("a missing grade gave a GB 3095 limit")
	}
	if v, ok := Limit(ZhuzhouPlan, "pm25", Annual, 0, in2020); !ok || v != 45 {
		t.Error("the plan's targets should not need a grade")
	}
}

func TestInForceSwitchesAtMidnightChinaStandardTime(t *testing.T) {
	tests := []struct {
		name string
		at   string
		want Standard
	}{
		{"the last second of 2026-02-28 is under 2012", "2026-02-28T23:59:59+08:00", GB3095v2012},
		{"2026-03-01 00:00 is under the transitional limits", "2026-03-01T00:00:00+08:00", GB3095v2026Transitional},
		{"the same instant in UTC is under the transitional limits", "2026-02-28T16:00:00Z", GB3095v2026Transitional},
		{"the last second of 2030 is still transitional", "2030-12-31T23:59:59+08:00", GB3095v2026Transitional},
		{"2031-01-01 00:00 is under the final limits", "2031-01-01T00:00:00+08:00", GB3095v2026Final},
		{"2030-12-31 16:00 UTC is already 2031 in China", "2030-12-31T16:00:00Z", GB3095v2026Final},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, err := time.Parse(time.RFC3339, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := InForce(at); got != tt.want {
				t.Errorf("InForce = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExceedsTreatsTheLimitItselfAsCompliant(t *testing.T) {
	tests := []struct {
		name  string
		value float64
		want  bool
	}{
		{"a value below the limit complies", 74.9, false},
		{"a value at the limit complies", 75, false},
		{"a value above the limit exceeds", 75.1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Exceeds(tt.value, 75); got != tt.want {
				t.Errorf("Exceeds(%g, 75) = %v", tt.value, got)
			}
		})
	}
}

func TestGoodDaysTargetIsThePlans(t *testing.T) {
	if v, ok := GoodDaysTarget(ZhuzhouPlan); !ok || v != 0.83 {
		t.Errorf("GoodDaysTarget(ZhuzhouPlan) = %v, %v", v, ok)
	}
	if _, ok := GoodDaysTarget(GB3095v2012); ok {
		t.Error("GB 3095 has no good-days target")
	}
	if got := Table(ZhuzhouPlan, in2020); len(got) != 2 || got[0].Grade != 0 {
		t.Errorf("Table(ZhuzhouPlan) = %+v", got)
	}
}

func TestParsers(t *testing.T) {
	standards := []struct {
		in   string
		want Standard
	}{
		{"auto", Auto}, {"", Auto}, {"2012", GB3095v2012}, {"GB 3095-2012", GB3095v2012},
		{"2026", GB3095v2026}, {"2026-transitional", GB3095v2026Transitional},
		{"gb3095-2026-final", GB3095v2026Final}, {"Zhuzhou", ZhuzhouPlan},
	}
	for _, tt := range standards {
		t.Run(fmt.Sprintf("standard %q is %v", tt.in, tt.want), func(t *testing.T) {
			if got, err := ParseStandard(tt.in); got != tt.want || err != nil {
				t.Errorf("ParseStandard = %v, %v", got, err)
			}
		})
	}
	avgs := []struct {
		in   string
		want Averaging
	}{{"annual", Annual}, {"24h", Mean24h}, {"daily", Mean24h}, {"1h", Mean1h}, {"8h", Max8h}}
	for _, tt := range avgs {
		t.Run(fmt.Sprintf("averaging %q is %v", tt.in, tt.want), func(t *testing.T) {
			got, err := ParseAveraging(tt.in)
			if got != tt.want || err != nil {
				t.Errorf("ParseAveraging = %v, %v", got, err)
			}
			if back, _ := ParseAveraging(got.String()); back != got {
				t.Errorf("%v does not round-trip", got)
			}
		})
	}
	grades := []struct {
		in   string
		want Grade
	}{{"I", GradeI}, {"2", GradeII}, {"Grade II", GradeII}, {"一级", GradeI}}
	for _, tt := range grades {
		t.Run(fmt.Sprintf("grade %q is %v", tt.in, tt.want), func(t *testing.T) {
			if got, err := ParseGrade(tt.in); got != tt.want || err != nil {
				t.Errorf("ParseGrade = %v, %v", got, err)
			}
		})
	}
	for _, bad := range []func() error{
		func() error { _, err := ParseStandard("2019"); return err },
		func() error { _, err := ParseAveraging("week"); return err },
		func() error { _, err := ParseGrade("III"); return err },
	} {
		if bad() == nil {
			t.Error("a bad value parsed")
		}
	}
	if Unit("co") != "mg/m³" || Unit("pm25") != "µg/m³" || Unit("ph") != "" {
		t.Error("units")
	}
}
