package limits

import (
	"fmt"
	"strings"
	"time"
)

// Standard names a set of limits.
type Standard int

const (
	// Auto is the set in force at the time asked about; see InForce.
	Auto Standard = iota
	// GB3095v2012 is GB 3095-2012 (as amended in 2018).
	GB3095v2012
	// GB3095v2026 is GB 3095-2026, transitional or final by date.
	GB3095v2026
	// GB3095v2026Transitional is GB 3095-2026's transitional limits,
	// whatever the date.
	GB3095v2026Transitional
	// GB3095v2026Final is GB 3095-2026's final limits, whatever the date
	// (e.g. to warn ahead of 2031).
	GB3095v2026Final
	// ZhuzhouPlan is the Zhuzhou 2018–2020 ecological action plan's 2020
	// targets.
	ZhuzhouPlan
)

var standardNames = map[Standard]string{
	Auto:                    "auto",
	GB3095v2012:             "GB 3095-2012",
	GB3095v2026:             "GB 3095-2026",
	GB3095v2026Transitional: "GB 3095-2026 transitional",
	GB3095v2026Final:        "GB 3095-2026 final",
	ZhuzhouPlan:             "Zhuzhou plan 2020",
}

func (s Standard) String() string {
	if n, ok := standardNames[s]; ok {
		return n
	}
	return fmt.Sprintf("Standard(%d)", int(s))
}

// ParseStandard parses a configuration value: "auto" (or empty), "2012",
// "2026", "2026-transitional", "2026-final", "zhuzhou"; a "GB 3095-"
// prefix is allowed.
func ParseStandard(s string) (Standard, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.ReplaceAll(t, " ", "")
	t = strings.TrimPrefix(t, "gb3095-")
	switch t {
	case "", "auto":
		return Auto, nil
	case "2012":
		return GB3095v2012, nil
	case "2026":
		return GB3095v2026, nil
	case "2026-transitional", "2026transitional":
		return GB3095v2026Transitional, nil
	case "2026-final", "2026final":
		return GB3095v2026Final, nil
	case "zhuzhou", "zhuzhou-plan", "zhuzhouplan":
		return ZhuzhouPlan, nil
	}
	return Auto, fmt.Errorf("limits: unknown standard %q", s)
}

// chinaStandardTime is the zone of the standards' dates (UTC+8, no DST).
var chinaStandardTime = time.FixedZone("CST", 8*60*60)

// The dates of GB 3095-2026 (reference/standards.md §2.3).
var (
	// gb3095v2026Start is the first instant GB 3095-2026 applies to.
	gb3095v2026Start = time.Date(2026, time.March, 1, 0, 0, 0, 0, chinaStandardTime)
	// gb3095v2026FinalStart is the first instant of its final limits.
	gb3095v2026FinalStart = time.Date(2031, time.January, 1, 0, 0, 0, 0, chinaStandardTime)
)

// InForce returns the limit set in force at t: GB3095v2012,
// GB3095v2026Transitional or GB3095v2026Final.
func InForce(t time.Time) Standard {
	switch {
	case t.Before(gb3095v2026Start):
		return GB3095v2012
	case t.Before(gb3095v2026FinalStart):
		return GB3095v2026Transitional
	}
	return GB3095v2026Final
}

// Resolve returns the concrete limit set s stands for at t: Auto becomes
// InForce(t), GB3095v2026 its transitional or final set, and the others
// themselves.
func (s Standard) Resolve(at time.Time) Standard {
	switch s {
	case Auto:
		return InForce(at)
	case GB3095v2026:
		if at.Before(gb3095v2026FinalStart) {
			return GB3095v2026Transitional
		}
		return GB3095v2026Final
	}
	return s
}

// Averaging is the averaging time a limit applies to.
type Averaging int

const (
	// Annual is the calendar-year mean.
	Annual Averaging = iota + 1
	// Mean24h is the 24-hour (calendar-day) mean.
	Mean24h
	// Mean1h is the 1-hour mean.
	Mean1h
	// Max8h is the daily maximum 8-hour moving mean (O3).
	Max8h
)

func (a Averaging) String() string {
	switch a {
	case Annual:
		return "annual"
	case Mean24h:
		return "24h"
	case Mean1h:
		return "1h"
	case Max8h:
		return "8h"
	}
	return fmt.Sprintf("Averaging(%d)", int(a))
}

// ParseAveraging parses "annual" (also "year"), "24h" (also "day",
// "daily"), "1h" (also "hour", "hourly") or "8h" (also "max8h").
func ParseAveraging(s string) (Averaging, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "annual", "year", "yearly":
		return Annual, nil
	case "24h", "day", "daily":
		return Mean24h, nil
	case "1h", "hour", "hourly":
		return Mean1h, nil
	case "8h", "max8h", "daily-max-8h":
		return Max8h, nil
	}
	return 0, fmt.Errorf("limits: unknown averaging %q (want annual, 24h, 1h or 8h)", s)
}

// Grade is a GB 3095 limit grade (浓度限值级别).
type Grade int

const (
	// GradeI applies to Class 1 zones (protected areas).
	GradeI Grade = 1
	// GradeII applies to Class 2 zones (where people live and work).
	GradeII Grade = 2
)

func (g Grade) String() string {
	switch g {
	case GradeI:
		return "I"
	case GradeII:
		return "II"
	}
	return fmt.Sprintf("Grade(%d)", int(g))
}

// ParseGrade parses "I", "II", "1", "2" (also "Grade II", "一级", "二级").
func ParseGrade(s string) (Grade, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSpace(strings.TrimPrefix(t, "GRADE"))
	switch t {
	case "I", "1", "一级", "Ⅰ":
		return GradeI, nil
	case "II", "2", "二级", "Ⅱ":
		return GradeII, nil
	}
	return 0, fmt.Errorf("limits: unknown grade %q (want I or II)", s)
}

// Unit returns the unit of a parameter's limits: "mg/m³" for co,
// "µg/m³" for the others, "" for an unknown parameter.
func Unit(param string) string {
	switch param {
	case "co":
		return "mg/m³"
	case "so2", "no2", "o3", "pm10", "pm25":
		return "µg/m³"
	}
	return ""
}

// Exceeds reports whether a concentration exceeds a limit: strictly
// above it. A value equal to the limit complies.
func Exceeds(value, limit float64) bool { return value > limit }

// Limit returns the limit of a parameter for an averaging time and grade
// in a limit set at time at (used to resolve Auto and GB3095v2026). It
// returns false when the set has no such limit (e.g. CO has no annual
// limit, O3 has only 1 h and 8 h) or an argument is invalid. For
// ZhuzhouPlan the grade is ignored.
func Limit(std Standard, param string, avg Averaging, grade Grade, at time.Time) (float64, bool) {
	std = std.Resolve(at)
	if std == ZhuzhouPlan {
		v, ok := zhuzhou[key{param, avg}]
		return v, ok
	}
	t, ok := tables[std]
	if !ok || (grade != GradeI && grade != GradeII) {
		return 0, false
	}
	v, ok := t[key{param, avg}]
	if !ok {
		return 0, false
	}
	return v[grade-1], true
}

// Entry is one limit of a set.
type Entry struct {
	Param     string
	Averaging Averaging
	Grade     Grade // 0 for plan targets, which have no grade
	Value     float64
	Unit      string
}

// Table returns every limit of a set at time at, by parameter (so2, no2,
// co, o3, pm10, pm25), averaging time and grade.
func Table(std Standard, at time.Time) []Entry {
	std = std.Resolve(at)
	var out []Entry
	for _, p := range params {
		for _, a := range []Averaging{Annual, Mean24h, Mean1h, Max8h} {
			if std == ZhuzhouPlan {
				if v, ok := zhuzhou[key{p, a}]; ok {
					out = append(out, Entry{p, a, 0, v, Unit(p)})
				}
				continue
			}
			for _, g := range []Grade{GradeI, GradeII} {
				if v, ok := Limit(std, p, a, g, at); ok {
					out = append(out, Entry{p, a, g, v, Unit(p)})
				}
			}
		}
	}
	return out
}

// GoodDaysTarget returns the target share (0–1) of good-air days (daily
// AQI ≤ 100) a limit set carries; only ZhuzhouPlan has one.
func GoodDaysTarget(std Standard) (float64, bool) {
	if std == ZhuzhouPlan {
		return zhuzhouGoodDays, true
	}
	return 0, false
}
