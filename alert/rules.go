package alert

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/envpipe/envpipe/alert/limits"
	"github.com/envpipe/envpipe/alert/waterclass"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// Aggregate is how a rule turns what a station sends into the value it
// compares with its limit.
type Aggregate string

// The aggregates.
const (
	// AggInstant: each N-flagged value as it arrives.
	AggInstant Aggregate = "instant"
	// AggMean: the rolling mean of the N-flagged values over `window`, in
	// event time.
	AggMean Aggregate = "mean"
	// AggYTDMean: the year-to-date mean (calendar year in China Standard
	// Time): the mean of the daily means of the closed days so far, today
	// left out; for pm25 and pm10 of air stations reporting at least
	// hourly, of the days with 20 valid hours, as derive's pm25_ytd (see
	// ytdAcc).
	AggYTDMean Aggregate = "ytd_mean"
	// AggAQI: the hourly AQI, fed through Engine.ObserveValue (or
	// ObserveLowerBound, when a pollutant was missing) as param "aqi".
	AggAQI Aggregate = "aqi"
	// AggWaterClass: each water sample's items (GB 3838-2002) against the
	// section's target class (or the class the limit names); one alert per
	// offending item.
	AggWaterClass Aggregate = "water_class"
	// AggStale: the station has sent nothing for `limit` × its interval
	// (wall clock).
	AggStale Aggregate = "stale"
	// AggFlag: the latest value of a parameter carries one of `flags`
	// (equipment alerts).
	AggFlag Aggregate = "flag"
)

// DefaultMinDays is the ytd_mean rules' min_days when the rule is silent.
const DefaultMinDays = 30

var aggregates = []Aggregate{AggInstant, AggMean, AggYTDMean, AggAQI, AggWaterClass, AggStale, AggFlag}

// Severities. A rule's `severity` is that of its limit; its approach level
// (warn_ratio) is always SeverityWarning.
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
	SeverityInfo     = "info"
)

var severities = []string{SeverityCritical, SeverityWarning, SeverityInfo}

// Label names that make an alert's identity; rules cannot set them.
var identityLabels = []string{"alertname", "station", "county", "param", "severity"}

// RuleSet is a loaded rules.yaml.
type RuleSet struct {
	Rules []*Rule `yaml:"rules"`
}

// Rule is one entry of rules.yaml. See the package documentation for the
// schema; Validate (run by ParseRules) fills in defaults.
type Rule struct {
	// Name is the alertname.
	Name string `yaml:"name"`
	// Param is the parameter watched (e.g. pm10, nh3n, aqi). For
	// water_class and flag it may be empty: every item, every parameter.
	Param    string   `yaml:"param"`
	Stations Selector `yaml:"stations"`

	Aggregate Aggregate     `yaml:"aggregate"`
	Window    time.Duration `yaml:"window"` // mean only
	// MinCoverage (mean only) is the share of the window the N values must
	// cover (each value counts for its station's interval, but no stretch of
	// the window counts for more than the time its values span: a station
	// reporting faster than its interval earns nothing extra) before the
	// mean is evaluated at all; 0 evaluates from the first value.
	MinCoverage float64 `yaml:"min_coverage"`
	// MinDays (ytd_mean only) is how many daily means the year-to-date mean
	// needs before it is evaluated: an annual target judged on a week of
	// January says little. 0 means DefaultMinDays.
	MinDays int      `yaml:"min_days"`
	Flags   []string `yaml:"flags"` // flag only

	Limit     Limit         `yaml:"limit"`
	Direction string        `yaml:"direction"`  // above (default) | below
	WarnRatio float64       `yaml:"warn_ratio"` // approach level; 0 = none
	For       time.Duration `yaml:"for"`
	// Hysteresis is the fraction of the threshold a firing alert's value
	// must fall back past before it resolves.
	Hysteresis  float64           `yaml:"hysteresis"`
	Severity    string            `yaml:"severity"`
	Labels      map[string]string `yaml:"labels"`
	Annotations Annotations       `yaml:"annotations"`

	// compiled by validate
	index int
	agg   aggKind
	dir   Direction
	flags [256]bool
	tmpl  [2][2]*template.Template // [lang][summary, description]
}

// Selector chooses stations. Every key that is set must match; an empty
// selector matches every station the aggregate applies to.
type Selector struct {
	IDs            []string   `yaml:"ids"`
	Kind           string     `yaml:"kind"` // air | water
	County         StringList `yaml:"county"`
	River          StringList `yaml:"river"`
	DrinkingSource *bool      `yaml:"drinking_source"`
}

// StringList is a YAML string or list of strings.
type StringList []string

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = StringList{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// Match reports whether st is selected.
func (s *Selector) Match(st *station.Station) bool {
	if len(s.IDs) > 0 && !slices.Contains(s.IDs, st.ID) {
		return false
	}
	if s.Kind != "" && s.Kind != string(st.Kind) {
		return false
	}
	if len(s.County) > 0 && !slices.Contains(s.County, st.County) {
		return false
	}
	if len(s.River) > 0 && !slices.Contains(s.River, st.River) {
		return false
	}
	if s.DrinkingSource != nil && *s.DrinkingSource != st.DrinkingSource {
		return false
	}
	return true
}

// Annotations are a rule's message templates (text/template, see
// TemplateData), in Chinese and English. Empty ones get the built-in text
// for the rule's aggregate.
type Annotations struct {
	Summary     Text `yaml:"summary"`
	Description Text `yaml:"description"`
}

// Text is one message in both languages.
type Text struct {
	ZH string `yaml:"zh"`
	EN string `yaml:"en"`
}

// Limit is a rule's limit: a number, or a reference resolved at each
// evaluation from the standards in force at the value's time:
//
//	gb3095:pm10:24h          GB 3095 Grade II, edition in force
//	gb3095:pm10:24h:I        Grade I
//	gb3095-2012:o3:8h        a pinned edition (2012, 2026,
//	                         2026-transitional, 2026-final)
//	zhuzhou:pm25:annual      the Zhuzhou plan's 2020 target
//
// For water_class the limit is a class: "target" (the default, the
// station's target_class) or I–V. For stale it is the multiple of the
// station's interval (default 3).
type Limit struct {
	Value float64
	Ref   string
	set   bool

	std   limits.Standard
	param string
	avg   limits.Averaging
	grade limits.Grade
	class waterclass.Class
}

// UnmarshalYAML takes a number or a string.
func (l *Limit) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: limit must be a number or a reference such as gb3095:pm10:24h", n.Line)
	}
	l.set = true
	if n.Tag == "!!int" || n.Tag == "!!float" {
		v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil {
			return fmt.Errorf("line %d: limit %q: %v", n.Line, n.Value, err)
		}
		l.Value = v
		return nil
	}
	l.Ref = strings.TrimSpace(n.Value)
	return nil
}

// IsSet reports whether the rule gave a limit.
func (l *Limit) IsSet() bool { return l.set }

// At returns the limit in force at t; false when a reference has no value
// then (cannot happen for a validated rule except for a pinned set lacking
// the item).
func (l *Limit) At(t time.Time) (float64, bool) {
	if l.Ref == "" {
		return l.Value, true
	}
	return limits.Limit(l.std, l.param, l.avg, l.grade, t)
}

func (l *Limit) parseRef(param string) error {
	parts := strings.Split(l.Ref, ":")
	if len(parts) < 3 || len(parts) > 4 {
		return fmt.Errorf("%q is not a number or <standard>:<param>:<averaging>[:<grade>] (e.g. gb3095:pm10:24h, zhuzhou:pm25:annual)", l.Ref)
	}
	std := strings.ToLower(parts[0])
	switch std {
	case "gb3095", "gb 3095":
		l.std = limits.Auto
	default:
		s, err := limits.ParseStandard(std)
		if err != nil || s == limits.Auto {
			return fmt.Errorf("%q: unknown standard %q (gb3095, gb3095-2012, gb3095-2026, gb3095-2026-final, zhuzhou)", l.Ref, parts[0])
		}
		l.std = s
	}
	l.param = parts[1]
	if param != "" && l.param != param {
		return fmt.Errorf("%q is a limit for %s, the rule watches %s", l.Ref, l.param, param)
	}
	avg, err := limits.ParseAveraging(parts[2])
	if err != nil {
		return fmt.Errorf("%q: %v", l.Ref, err)
	}
	l.avg = avg
	l.grade = limits.GradeII
	if len(parts) == 4 {
		g, err := limits.ParseGrade(parts[3])
		if err != nil {
			return fmt.Errorf("%q: %v", l.Ref, err)
		}
		l.grade = g
	}
	// The reference must resolve today and under every edition it may
	// follow.
	for _, at := range []time.Time{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if _, ok := limits.Limit(l.std, l.param, l.avg, l.grade, at); !ok {
			return fmt.Errorf("%q: %v has no %s %v limit", l.Ref, l.std.Resolve(at), l.param, l.avg)
		}
	}
	return nil
}

// LoadRules reads and validates a rules file. It returns every problem
// found, each naming the rule and key (rules[i].<key>); the caller adds
// the file name.
func LoadRules(path string) (*RuleSet, []error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{err}
	}
	return ParseRules(data)
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// ParseRules decodes rules YAML strictly (unknown keys are errors) and
// validates every rule.
func ParseRules(data []byte) (*RuleSet, []error) {
	var errs []error
	// Where each rule starts, to name the rule in decoding errors.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, []error{err}
	}
	var starts []int
	if len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "rules" && m.Content[i+1].Kind == yaml.SequenceNode {
				for _, n := range m.Content[i+1].Content {
					starts = append(starts, n.Line)
				}
			}
		}
	}
	var rs RuleSet
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&rs); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, []error{err}
		}
		for _, e := range te.Errors {
			msg := unknownField.ReplaceAllString(e, "unknown key $1")
			var line int
			if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil {
				if i := ruleAt(starts, line); i >= 0 {
					msg = fmt.Sprintf("rules[%d]: %s", i, msg)
				}
			}
			errs = append(errs, errors.New(msg))
		}
	}
	return &rs, append(errs, rs.Validate()...)
}

func ruleAt(starts []int, line int) int {
	i := -1
	for k, s := range starts {
		if s <= line {
			i = k
		}
	}
	return i
}

var (
	namePattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	labelPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate checks every rule, fills in defaults and compiles templates.
// It returns every problem, each as rules[i].<key>: ….
func (rs *RuleSet) Validate() []error {
	var errs []error
	if len(rs.Rules) == 0 {
		errs = append(errs, errors.New("rules: no rules defined"))
	}
	names := map[string]int{}
	for i, r := range rs.Rules {
		if r == nil {
			errs = append(errs, fmt.Errorf("rules[%d]: empty entry", i))
			continue
		}
		r.index = i
		for _, e := range r.validate() {
			errs = append(errs, fmt.Errorf("rules[%d].%v", i, e))
		}
		if j, ok := names[r.Name]; ok && r.Name != "" {
			errs = append(errs, fmt.Errorf("rules[%d].name: %q is already the name of rules[%d]", i, r.Name, j))
		} else {
			names[r.Name] = i
		}
	}
	return errs
}

// knownParam reports whether p is a parameter envpipe knows: a reading
// parameter, a GB 3838 item, or the derived "aqi".
func knownParam(p string) bool {
	if _, ok := ingest.Params[p]; ok || p == "aqi" {
		return true
	}
	return waterItem(p)
}

func waterItem(p string) bool {
	for _, it := range waterclass.Items() {
		if it.Name == p {
			return true
		}
	}
	return false
}

// validate returns "<key>: problem" errors (the caller adds rules[i].).
func (r *Rule) validate() []error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if r.Name == "" {
		bad("name", "missing (it is the alertname)")
	} else if !namePattern.MatchString(r.Name) {
		bad("name", "%q may contain only letters, digits and '_' and must not start with a digit", r.Name)
	}
	if !slices.Contains(aggregates, r.Aggregate) {
		bad("aggregate", "%q is not one of instant, mean, ytd_mean, aqi, water_class, stale, flag", r.Aggregate)
	}
	agg := r.Aggregate
	r.agg = agg.kind()

	// param
	switch agg {
	case AggStale:
		if r.Param != "" {
			bad("param", "a stale rule watches the whole station: leave param out")
		}
	case AggAQI:
		if r.Param == "" {
			r.Param = "aqi"
		}
	case AggWaterClass:
		if r.Param != "" && !waterItem(r.Param) {
			bad("param", "%q is not a GB 3838 item (e.g. nh3n, do, tp); leave it out for every item", r.Param)
		}
	case AggFlag:
		if r.Param != "" && !knownParam(r.Param) {
			bad("param", "%q is not a known parameter", r.Param)
		}
	default:
		if r.Param == "" {
			bad("param", "missing")
		} else if !knownParam(r.Param) {
			bad("param", "%q is not a known parameter", r.Param)
		}
	}

	// window, min_coverage
	if agg == AggMean {
		switch {
		case r.Window <= 0:
			bad("window", "missing: the rolling window, e.g. 1h or 24h")
		case r.Window%time.Minute != 0 || r.Window > maxWindow:
			bad("window", "%v must be whole minutes, at most %v", r.Window, maxWindow)
		}
		if r.MinCoverage < 0 || r.MinCoverage > 1 {
			bad("min_coverage", "%v is not in 0..1", r.MinCoverage)
		}
	} else {
		if r.Window != 0 {
			bad("window", "only mean rules have a window")
		}
		if r.MinCoverage != 0 {
			bad("min_coverage", "only mean rules have min_coverage")
		}
	}
	if agg == AggYTDMean {
		if r.MinDays < 0 || r.MinDays > 366 {
			bad("min_days", "%d is not in 0..366", r.MinDays)
		}
		if r.MinDays == 0 {
			r.MinDays = DefaultMinDays
		}
	} else if r.MinDays != 0 {
		bad("min_days", "only ytd_mean rules have min_days")
	}

	// flags
	if agg == AggFlag {
		if len(r.Flags) == 0 {
			bad("flags", "missing: the flags that raise the alert, e.g. [D, B, T]")
		}
		for _, f := range r.Flags {
			if len(f) != 1 || !ingest.ValidFlag(ingest.Flag(f[0])) || f[0] == byte(ingest.FlagNormal) {
				bad("flags", "%q is not an HJ 212 flag other than N (F, M, S, D, C, T, B)", f)
				continue
			}
			r.flags[f[0]] = true
		}
	} else if len(r.Flags) > 0 {
		bad("flags", "only flag rules have flags")
	}

	// limit
	switch agg {
	case AggStale:
		if !r.Limit.set {
			r.Limit.Value, r.Limit.set = 3, true
		}
		if r.Limit.Ref != "" || r.Limit.Value < 1 {
			bad("limit", "a stale rule's limit is the multiple of the station's interval (≥ 1, default 3)")
		}
	case AggWaterClass:
		switch {
		case !r.Limit.set || r.Limit.Ref == "target":
			r.Limit.Ref, r.Limit.class = "target", 0
		case r.Limit.Ref != "":
			c, err := waterclass.ParseClass(r.Limit.Ref)
			if err != nil || c > waterclass.ClassV {
				bad("limit", "%q is not target or a class I–V", r.Limit.Ref)
			}
			r.Limit.class = c
		default:
			bad("limit", "a water_class rule's limit is target (the default) or a class I–V")
		}
	case AggFlag:
		if r.Limit.set {
			bad("limit", "flag rules have no limit")
		}
	default:
		switch {
		case !r.Limit.set:
			bad("limit", "missing: a number or a reference such as gb3095:%s:24h", cmpOr(r.Param, "pm10"))
		case r.Limit.Ref != "":
			if err := r.Limit.parseRef(r.Param); err != nil {
				bad("limit", "%v", err)
			}
		case math.IsNaN(r.Limit.Value) || math.IsInf(r.Limit.Value, 0):
			bad("limit", "must be finite")
		}
	}

	// direction
	switch r.Direction {
	case "", "above":
		r.dir = Above
	case "below":
		r.dir = Below
		if agg == AggStale || agg == AggFlag || agg == AggWaterClass || agg == AggAQI {
			bad("direction", "%s rules have no direction", agg)
		}
	default:
		bad("direction", "%q is not above or below", r.Direction)
	}
	if r.Direction == "" {
		r.Direction = "above"
	}

	// warn_ratio, hysteresis, for
	if r.WarnRatio != 0 {
		if agg == AggStale || agg == AggFlag {
			bad("warn_ratio", "%s rules have no approach level", agg)
		} else if r.WarnRatio <= 0 || r.WarnRatio >= 1 {
			bad("warn_ratio", "%v is not between 0 and 1 (e.g. 0.9: warning at 90 %% of the limit)", r.WarnRatio)
		}
	}
	if r.Hysteresis != 0 {
		if agg == AggStale || agg == AggFlag {
			bad("hysteresis", "%s rules resolve as soon as the condition ends", agg)
		} else if r.Hysteresis < 0 || r.Hysteresis >= 0.5 {
			bad("hysteresis", "%v is not in 0..0.5 (a fraction of the threshold, e.g. 0.05)", r.Hysteresis)
		}
	}
	if r.For < 0 {
		bad("for", "must not be negative")
	}

	// severity
	if r.Severity == "" {
		r.Severity = SeverityCritical
		if agg == AggStale || agg == AggFlag {
			r.Severity = SeverityWarning
		}
	}
	if !slices.Contains(severities, r.Severity) {
		bad("severity", "%q is not critical, warning or info", r.Severity)
	} else if r.WarnRatio != 0 && r.Severity != SeverityCritical && agg != AggStale && agg != AggFlag {
		bad("severity", "with warn_ratio the limit is critical and the approach level warning; severity must be critical")
	}

	// labels
	for k := range r.Labels {
		switch {
		case !labelPattern.MatchString(k):
			bad("labels", "%q is not a valid label name", k)
		case slices.Contains(identityLabels, k):
			bad("labels", "%q is set by envpipe (alertname, station, county, param, severity)", k)
		}
	}

	// selector
	switch r.Stations.Kind {
	case "", "air", "water":
	default:
		bad("stations.kind", "%q is not air or water", r.Stations.Kind)
	}
	for _, id := range r.Stations.IDs {
		if !station.ValidID(id) {
			bad("stations.ids", "%q is not a valid station id", id)
		}
	}
	if agg == AggWaterClass && r.Stations.Kind == "air" {
		bad("stations.kind", "water_class rules apply to water stations")
	}

	// annotations
	if slices.Contains(aggregates, agg) {
		errs = append(errs, r.compileTemplates()...)
	}
	return errs
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// maxWindow bounds rolling windows (memory: see window.go).
const maxWindow = 7 * 24 * time.Hour

// CheckStations reports selectors naming stations the registry lacks, and
// rules that select no station at all.
func (rs *RuleSet) CheckStations(stations []*station.Station) []error {
	var errs []error
	ids := map[string]bool{}
	for _, st := range stations {
		ids[st.ID] = true
	}
	for i, r := range rs.Rules {
		if r == nil {
			continue
		}
		for _, id := range r.Stations.IDs {
			if !ids[id] {
				errs = append(errs, fmt.Errorf("rules[%d].stations.ids: unknown station %q", i, id))
			}
		}
	}
	return errs
}

// Idle lists the rules that select no station of the registry, e.g. the
// drinking-water rule in a network without drinking-water sources. Not an
// error: the same rules file serves networks of different shapes.
func (rs *RuleSet) Idle(stations []*station.Station) []string {
	var idle []string
	for i, r := range rs.Rules {
		if r == nil {
			continue
		}
		n := 0
		for _, st := range stations {
			if r.applies(st) {
				n++
			}
		}
		if n == 0 {
			idle = append(idle, fmt.Sprintf("rules[%d] (%s)", i, r.Name))
		}
	}
	return idle
}

// applies reports whether r watches st: the selector matches and the
// aggregate makes sense for the station's kind.
func (r *Rule) applies(st *station.Station) bool {
	if !r.Stations.Match(st) {
		return false
	}
	switch r.Aggregate {
	case AggWaterClass:
		return st.Kind == ingest.KindWater
	case AggStale, AggFlag:
		return true
	}
	if p, ok := ingest.Params[r.Param]; ok {
		return p.Kind == st.Kind
	}
	if r.Param == "aqi" {
		return st.Kind == ingest.KindAir
	}
	return st.Kind == ingest.KindWater // a GB 3838 item outside the basic catalogue
}

// levels returns the rule's levels for a limit: with warn_ratio the
// approach level (warning) first, then the limit (rule severity). For water_class the
// thresholds are ratios to the class limit (1 and warn_ratio).
func (r *Rule) levels(limit float64) levelSet {
	var ls levelSet
	switch r.agg {
	case aggWaterClass:
		if r.WarnRatio != 0 {
			ls.add(SeverityWarning, Level{r.WarnRatio, Above, r.Hysteresis}, true)
		}
		ls.add(r.Severity, Level{1, Above, r.Hysteresis}, false)
		return ls
	case aggStale:
		ls.add(r.Severity, Level{limit, Above, 0}, false)
		return ls
	}
	if r.WarnRatio != 0 {
		thr := tidy(limit * r.WarnRatio)
		if r.dir == Below {
			thr = tidy(limit / r.WarnRatio)
		}
		ls.add(SeverityWarning, Level{thr, r.dir, r.Hysteresis}, true)
	}
	ls.add(r.Severity, Level{limit, r.dir, r.Hysteresis}, false)
	return ls
}

// levelSet is a rule's one or two levels, by value: no allocation per
// evaluation.
type levelSet struct {
	s [2]levelSpec
	n int
}

func (ls *levelSet) add(severity string, l Level, warning bool) {
	ls.s[ls.n] = levelSpec{severity: severity, level: l, warning: warning, resolve: l.resolvePoint()}
	ls.n++
}

func (ls *levelSet) all() []levelSpec { return ls.s[:ls.n] }

type levelSpec struct {
	severity string
	level    Level
	warning  bool
	resolve  float64 // level.resolvePoint(), computed once
}

// cond is level.Cond(v).
func (ls *levelSpec) cond(v float64) Cond { return ls.level.condAt(v, ls.resolve) }

// aggKind is Aggregate as a small integer, for the evaluation loops.
type aggKind uint8

const (
	aggUnknown aggKind = iota
	aggInstant
	aggMean
	aggYTDMean
	aggAQI
	aggWaterClass
	aggStale
	aggFlag
)

func (a Aggregate) kind() aggKind {
	switch a {
	case AggInstant:
		return aggInstant
	case AggMean:
		return aggMean
	case AggYTDMean:
		return aggYTDMean
	case AggAQI:
		return aggAQI
	case AggWaterClass:
		return aggWaterClass
	case AggStale:
		return aggStale
	case AggFlag:
		return aggFlag
	}
	return aggUnknown
}
