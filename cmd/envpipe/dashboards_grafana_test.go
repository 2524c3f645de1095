package main

// What Grafana does to a dashboard's queries before they reach a data source,
// reproduced for the dashboard tests (dashboards_integration_test.go): the
// time range and $timeFilter, $__interval, template variables with their
// formats (multi-value and "All" as Grafana's InfluxDB and Prometheus data
// sources format them), and a PromQL tokenizer that finds the metric names
// an expression uses.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// gfDashboard is one dashboard JSON file, kept as a generic tree.
type gfDashboard struct {
	file string
	m    map[string]any
}

func (d gfDashboard) str(key string) string { s, _ := d.m[key].(string); return s }

// gfLoadDashboards reads every *.json of dir.
func gfLoadDashboards(t *testing.T, dir string) []gfDashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s (%v)", dir, err)
	}
	var out []gfDashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, gfDashboard{file: filepath.Base(f), m: m})
	}
	return out
}

// gfPanels returns every panel, the panels of rows included.
func (d gfDashboard) panels() []map[string]any {
	var out []map[string]any
	var walk func(list []any)
	walk = func(list []any) {
		for _, p := range list {
			pm, ok := p.(map[string]any)
			if !ok {
				continue
			}
			out = append(out, pm)
			if sub, ok := pm["panels"].([]any); ok {
				walk(sub)
			}
		}
	}
	ps, _ := d.m["panels"].([]any)
	walk(ps)
	return out
}

func gfList(m map[string]any, path ...string) []any {
	var cur any = m
	for _, k := range path {
		cm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = cm[k]
	}
	l, _ := cur.([]any)
	return l
}

// gfDatasourceType is the type of a datasource reference ({type, uid}, or a
// legacy name string), "" when there is none.
func gfDatasourceType(ref any, uids map[string]string) string {
	switch r := ref.(type) {
	case map[string]any:
		if s, _ := r["type"].(string); s != "" {
			return s
		}
		if u, _ := r["uid"].(string); u != "" {
			return uids[u]
		}
	case string:
		return uids[r]
	}
	return ""
}

// gfQuery is one query of a dashboard: a panel target, an annotation or a
// variable.
type gfQuery struct {
	where    string // dashboard file and place, for messages
	dsType   string // influxdb | prometheus
	text     string // InfluxQL or PromQL
	panel    map[string]any
	interval string // the panel's min interval, if any
	kind     string // target | annotation | variable
}

// gfQueries returns every InfluxDB and Prometheus query of d (hidden targets
// included: Grafana still offers them). uids maps datasource uids to types.
func (d gfDashboard) queries(t *testing.T, uids map[string]string) []gfQuery {
	t.Helper()
	var out []gfQuery
	for _, p := range d.panels() {
		pds := p["datasource"]
		iv, _ := p["interval"].(string)
		for i, tg := range gfList(p, "targets") {
			tm, _ := tg.(map[string]any)
			ds := tm["datasource"]
			if ds == nil {
				ds = pds
			}
			typ := gfDatasourceType(ds, uids)
			where := fmt.Sprintf("%s panel %v %q target %v", d.file, p["id"], p["title"], tm["refId"])
			switch typ {
			case "influxdb":
				if raw, _ := tm["rawQuery"].(bool); !raw {
					t.Errorf("%s: not a raw InfluxQL query (rawQuery: true): the tests only check raw queries", where)
					continue
				}
				q, _ := tm["query"].(string)
				out = append(out, gfQuery{where: where, dsType: typ, text: q, panel: p, interval: iv, kind: "target"})
			case "prometheus":
				q, _ := tm["expr"].(string)
				out = append(out, gfQuery{where: where, dsType: typ, text: q, panel: p, interval: iv, kind: "target"})
			default:
				t.Errorf("%s: target %d has datasource %v of unknown type", where, i, ds)
			}
		}
	}
	for _, a := range gfList(d.m, "annotations", "list") {
		am, _ := a.(map[string]any)
		typ := gfDatasourceType(am["datasource"], uids)
		where := fmt.Sprintf("%s annotation %q", d.file, am["name"])
		switch typ {
		case "influxdb":
			q, _ := am["query"].(string)
			if tg, ok := am["target"].(map[string]any); ok {
				if s, _ := tg["query"].(string); s != "" {
					q = s
				}
			}
			out = append(out, gfQuery{where: where, dsType: typ, text: q, kind: "annotation"})
		case "prometheus":
			q, _ := am["expr"].(string)
			if tg, ok := am["target"].(map[string]any); ok {
				if s, _ := tg["expr"].(string); s != "" {
					q = s
				}
			}
			out = append(out, gfQuery{where: where, dsType: typ, text: q, kind: "annotation"})
		}
	}
	for _, v := range gfList(d.m, "templating", "list") {
		vm, _ := v.(map[string]any)
		if vm["type"] != "query" {
			continue
		}
		typ := gfDatasourceType(vm["datasource"], uids)
		out = append(out, gfQuery{where: fmt.Sprintf("%s variable %q", d.file, vm["name"]), dsType: typ,
			text: gfVarQueryText(vm), kind: "variable"})
	}
	return out
}

// gfVarQueryText is a query variable's query: a string, or {query: ...}.
func gfVarQueryText(vm map[string]any) string {
	switch q := vm["query"].(type) {
	case string:
		return q
	case map[string]any:
		s, _ := q["query"].(string)
		return s
	}
	return ""
}

// ---------------------------------------------------------------- time

// gfTime evaluates a Grafana relative time ("now", "now-2d", "now/y",
// "now-1d/d") or an absolute RFC 3339 / epoch-ms value in loc. roundUp
// rounds "/unit" to the end of the unit, as Grafana does for "to".
func gfTime(s string, now time.Time, loc *time.Location, roundUp bool) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	if tm, err := time.Parse(time.RFC3339, s); err == nil {
		return tm, nil
	}
	if !strings.HasPrefix(s, "now") {
		return time.Time{}, fmt.Errorf("time %q: not now[...], RFC 3339 or epoch ms", s)
	}
	t := now.In(loc)
	rest := s[3:]
	re := regexp.MustCompile(`^([+-])(\d+)([smhdwMy])`)
	for rest != "" {
		if m := re.FindStringSubmatch(rest); m != nil {
			n, _ := strconv.Atoi(m[2])
			if m[1] == "-" {
				n = -n
			}
			t = gfAdd(t, n, m[3][0])
			rest = rest[len(m[0]):]
			continue
		}
		if len(rest) >= 2 && rest[0] == '/' {
			t = gfRound(t, rest[1], roundUp)
			rest = rest[2:]
			continue
		}
		return time.Time{}, fmt.Errorf("time %q: cannot parse %q", s, rest)
	}
	return t, nil
}

func gfAdd(t time.Time, n int, unit byte) time.Time {
	switch unit {
	case 's':
		return t.Add(time.Duration(n) * time.Second)
	case 'm':
		return t.Add(time.Duration(n) * time.Minute)
	case 'h':
		return t.Add(time.Duration(n) * time.Hour)
	case 'd':
		return t.AddDate(0, 0, n)
	case 'w':
		return t.AddDate(0, 0, 7*n)
	case 'M':
		return t.AddDate(0, n, 0)
	default: // y
		return t.AddDate(n, 0, 0)
	}
}

func gfRound(t time.Time, unit byte, up bool) time.Time {
	y, mo, d := t.Date()
	var start time.Time
	switch unit {
	case 's':
		start = t.Truncate(time.Second)
	case 'm':
		start = time.Date(y, mo, d, t.Hour(), t.Minute(), 0, 0, t.Location())
	case 'h':
		start = time.Date(y, mo, d, t.Hour(), 0, 0, 0, t.Location())
	case 'd':
		start = time.Date(y, mo, d, 0, 0, 0, 0, t.Location())
	case 'w':
		start = time.Date(y, mo, d-int(t.Weekday()), 0, 0, 0, 0, t.Location())
	case 'M':
		start = time.Date(y, mo, 1, 0, 0, 0, 0, t.Location())
	default:
		start = time.Date(y, 1, 1, 0, 0, 0, 0, t.Location())
	}
	if !up {
		return start
	}
	return gfAdd(start, 1, unit).Add(-time.Millisecond)
}

// gfLocation is a dashboard's time zone ("browser" and "" are UTC here).
func gfLocation(tz string) (*time.Location, error) {
	switch tz {
	case "", "browser", "utc":
		return time.UTC, nil
	}
	return time.LoadLocation(tz)
}

// ---------------------------------------------------------------- interval

// gfParseInterval parses a Grafana interval ("1h", ">1m", "500ms", "1d").
func gfParseInterval(s string) (time.Duration, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), ">")
	m := regexp.MustCompile(`^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$`).FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("interval %q", s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour}[m[2]]
	return time.Duration(v * float64(unit)), nil
}

// gfRoundInterval is Grafana's rangeutil.roundInterval.
func gfRoundInterval(ms int64) int64 {
	steps := []struct{ below, to int64 }{
		{15, 10}, {35, 20}, {75, 50}, {150, 100}, {350, 200}, {750, 500}, {1500, 1000}, {3500, 2000},
		{7500, 5000}, {12500, 10000}, {17500, 15000}, {25000, 20000}, {45000, 30000}, {90000, 60000},
		{210000, 120000}, {450000, 300000}, {750000, 600000}, {1050000, 900000}, {1500000, 1200000},
		{2700000, 1800000}, {5400000, 3600000}, {9000000, 7200000}, {16200000, 10800000},
		{32400000, 21600000}, {86400000, 43200000}, {604800000, 86400000}, {1814400000, 604800000},
		{3628800000, 2592000000},
	}
	for _, s := range steps {
		if ms < s.below {
			return s.to
		}
	}
	return 31536000000
}

// gfInterval is $__interval for a range, a resolution (max data points) and
// a lower limit (the panel's min interval, else the data source's).
func gfInterval(rng time.Duration, resolution int, low time.Duration) time.Duration {
	iv := time.Duration(gfRoundInterval(rng.Milliseconds()/int64(resolution))) * time.Millisecond
	if iv < low {
		iv = low
	}
	return iv
}

// gfIntervalText formats an interval as Grafana does for InfluxQL and PromQL
// ("1h", "5m", "1d", "500ms").
func gfIntervalText(d time.Duration) string {
	ms := d.Milliseconds()
	switch {
	case ms%(24*3600*1000) == 0:
		return fmt.Sprintf("%dd", ms/(24*3600*1000))
	case ms%(3600*1000) == 0:
		return fmt.Sprintf("%dh", ms/(3600*1000))
	case ms%(60*1000) == 0:
		return fmt.Sprintf("%dm", ms/(60*1000))
	case ms%1000 == 0:
		return fmt.Sprintf("%ds", ms/1000)
	}
	return fmt.Sprintf("%dms", ms)
}

// ---------------------------------------------------------------- variables

// gfVar is a template variable with its options and its current selection.
type gfVar struct {
	name       string
	typ        string
	multi      bool
	includeAll bool
	allValue   string
	query      string
	options    []string
	selected   []string // nil: All
}

func gfVarsOf(d gfDashboard) []*gfVar {
	var out []*gfVar
	for _, v := range gfList(d.m, "templating", "list") {
		vm, _ := v.(map[string]any)
		gv := &gfVar{}
		gv.name, _ = vm["name"].(string)
		gv.typ, _ = vm["type"].(string)
		gv.multi, _ = vm["multi"].(bool)
		gv.includeAll, _ = vm["includeAll"].(bool)
		gv.allValue, _ = vm["allValue"].(string)
		gv.query = gfVarQueryText(vm)
		if gv.typ == "custom" || gv.typ == "constant" || gv.typ == "interval" {
			for _, o := range strings.Split(gv.query, ",") {
				o = strings.TrimSpace(o)
				if i := strings.Index(o, " : "); i >= 0 { // "text : value"
					o = strings.TrimSpace(o[i+3:])
				}
				if o != "" {
					gv.options = append(gv.options, o)
				}
			}
		}
		// The saved selection: "$__all" (or nothing, with includeAll) is All.
		cur, _ := vm["current"].(map[string]any)
		switch cv := cur["value"].(type) {
		case string:
			if cv != "$__all" {
				gv.selected = []string{cv}
			}
		case []any:
			for _, x := range cv {
				if s, _ := x.(string); s != "" && s != "$__all" {
					gv.selected = append(gv.selected, s)
				}
			}
		}
		if len(gv.selected) == 0 && !gv.includeAll && len(gv.options) > 0 {
			gv.selected = []string{gv.options[0]}
		}
		out = append(out, gv)
	}
	return out
}

// values is what the variable stands for now.
func (v *gfVar) values() []string {
	if v.selected == nil {
		return v.options
	}
	return v.selected
}

func (v *gfVar) isAll() bool { return v.selected == nil && v.includeAll }

// gfEscapeRegex is @grafana/data's escapeRegex (plus ^ and $).
func gfEscapeRegex(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`/.*+?|()[]{}\^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// gfFormat formats a variable's values for an explicit format (${v:fmt}),
// or, with fmt "", as the InfluxDB and Prometheus data sources do
// (interpolateQueryExpr): raw for a single-value variable, regex-escaped
// and (a|b) for a multi-value or include-All one.
func gfFormat(v *gfVar, fmtName string) string {
	vals := v.values()
	if v.isAll() && v.allValue != "" && fmtName == "" {
		return v.allValue
	}
	switch fmtName {
	case "":
		if !v.multi && !v.includeAll {
			return strings.Join(vals, ",")
		}
		fallthrough
	case "regex":
		esc := make([]string, len(vals))
		for i, s := range vals {
			esc[i] = gfEscapeRegex(s)
		}
		if len(esc) == 1 {
			return esc[0]
		}
		return "(" + strings.Join(esc, "|") + ")"
	case "raw", "csv", "text":
		return strings.Join(vals, ",")
	case "pipe":
		return strings.Join(vals, "|")
	case "singlequote":
		q := make([]string, len(vals))
		for i, s := range vals {
			q[i] = "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
		}
		return strings.Join(q, ",")
	case "doublequote":
		q := make([]string, len(vals))
		for i, s := range vals {
			q[i] = `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
		}
		return strings.Join(q, ",")
	case "glob":
		if len(vals) == 1 {
			return vals[0]
		}
		return "{" + strings.Join(vals, ",") + "}"
	}
	return strings.Join(vals, ",")
}

// gfVarRef is Grafana's variable syntax: $name, [[name:fmt]], ${name:fmt}.
var gfVarRef = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}`)

// gfInterpolate replaces the variables of vars and the built-ins in q.
// Unknown names stay as they are (as in Grafana), so that the caller can
// report them.
func gfInterpolate(q string, vars []*gfVar, builtins map[string]string, forceFmt string) string {
	byName := map[string]*gfVar{}
	for _, v := range vars {
		byName[v.name] = v
	}
	return gfVarRef.ReplaceAllStringFunc(q, func(m string) string {
		sm := gfVarRef.FindStringSubmatch(m)
		name := sm[1] + sm[2] + sm[4]
		fmtName := sm[3] + sm[6]
		if b, ok := builtins[name]; ok {
			return b
		}
		v, ok := byName[name]
		if !ok {
			return m
		}
		if fmtName == "" {
			fmtName = forceFmt
		}
		return gfFormat(v, fmtName)
	})
}

// gfLeftover returns the variable references left in an interpolated
// InfluxQL query (outside string literals): names nothing defines.
func gfLeftover(q string) []string {
	var out []string
	for _, m := range gfVarRef.FindAllStringIndex(q, -1) {
		s := q[m[0]:m[1]]
		// A regex /^...$/ ends with "$/": not a reference.
		if s == "$" {
			continue
		}
		out = append(out, s)
	}
	return out
}

// ---------------------------------------------------------------- PromQL names

var promKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "bool": true, "offset": true, "atan2": true, "inf": true, "nan": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true, "limitk": true,
	"limit_ratio": true, "start": true, "end": true,
}

// promMetricNames returns the metric names an expression selects: the
// identifiers that are not functions (followed by "("), keywords, label
// names (inside {...} and by/on/... lists), strings, durations or numbers.
// Template variables must be interpolated first.
func promMetricNames(expr string) ([]string, error) {
	// label_values(metric, label) / label_values(label) / query_result(expr):
	// Grafana's variable functions.
	if m := regexp.MustCompile(`^\s*label_values\((.*),\s*\w+\s*\)\s*$`).FindStringSubmatch(expr); m != nil {
		expr = m[1]
	} else if regexp.MustCompile(`^\s*label_values\(\s*\w+\s*\)\s*$`).MatchString(expr) {
		return nil, nil
	} else if m := regexp.MustCompile(`^\s*query_result\((.*)\)\s*$`).FindStringSubmatch(expr); m != nil {
		expr = m[1]
	}
	var names []string
	s := expr
	i := 0
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	skipSpace := func(j int) int {
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r') {
			j++
		}
		return j
	}
	skipBalanced := func(j int, open, close byte) (int, error) { // s[j] == open
		depth := 0
		for ; j < len(s); j++ {
			switch s[j] {
			case '"', '\'', '`':
				q := s[j]
				for j++; j < len(s) && s[j] != q; j++ {
					if s[j] == '\\' && q != '`' {
						j++
					}
				}
			case open:
				depth++
			case close:
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("unbalanced %c in %q", open, expr)
	}
	var err error
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && c != '`' {
					j++
				}
			}
			i = j + 1
		case c == '{':
			if i, err = skipBalanced(i, '{', '}'); err != nil {
				return nil, err
			}
		case c == '[':
			if i, err = skipBalanced(i, '[', ']'); err != nil {
				return nil, err
			}
		case c == '#': // comment to the end of the line
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '$':
			return nil, fmt.Errorf("uninterpolated variable at %q", s[i:])
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			// a number or a duration (5m, 1e3, 0x1f)
			for i < len(s) && (isIdent(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := s[i:j]
			k := skipSpace(j)
			lw := strings.ToLower(word)
			switch {
			case lw == "by" || lw == "without" || lw == "on" || lw == "ignoring" || lw == "group_left" || lw == "group_right":
				if k < len(s) && s[k] == '(' {
					if j, err = skipBalanced(k, '(', ')'); err != nil {
						return nil, err
					}
				}
			case promKeywords[lw]:
			case k < len(s) && s[k] == '(':
				// a function call
			default:
				names = append(names, word)
			}
			i = j
		default:
			i++
		}
	}
	return names, nil
}

// promExposedNames parses a /metrics page: every family (# TYPE) and every
// sample name (histograms' _bucket, _sum, _count).
func promExposedNames(body string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			f := strings.Fields(line)
			if len(f) >= 3 && (f[1] == "TYPE" || f[1] == "HELP") {
				names[f[2]] = true
			}
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end > 0 {
			names[line[:end]] = true
		}
	}
	return names
}

// promRuleExprs returns the expr of every rule of a Prometheus rules file.
func promRuleExprs(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			out[fmt.Sprintf("%s: rule %s%s", filepath.Base(path), r.Alert, r.Record)] = r.Expr
		}
	}
	return out
}

// gfDatasourceUIDs reads the provisioned data sources: uid → type, and the
// min interval (jsonData.timeInterval) by uid.
func gfDatasourceUIDs(t *testing.T, dir string) (map[string]string, map[string]time.Duration) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	uids := map[string]string{}
	ivs := map[string]time.Duration{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Datasources []struct {
				UID      string         `yaml:"uid"`
				Type     string         `yaml:"type"`
				JSONData map[string]any `yaml:"jsonData"`
			} `yaml:"datasources"`
		}
		if err := yaml.Unmarshal(b, &p); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, ds := range p.Datasources {
			uids[ds.UID] = ds.Type
			if s, _ := ds.JSONData["timeInterval"].(string); s != "" {
				d, err := gfParseInterval(s)
				if err != nil {
					t.Fatalf("%s: %s: %v", f, ds.UID, err)
				}
				ivs[ds.Type] = d
			}
		}
	}
	if len(uids) == 0 {
		t.Fatalf("no provisioned data sources in %s", dir)
	}
	return uids, ivs
}

// ---------------------------------------------------------------- unit tests

func TestDashboardInterpolationAsGrafana(t *testing.T) {
	vars := []*gfVar{
		{name: "station", typ: "query", multi: true, includeAll: true, options: []string{"a-1", "b.2"}},
		{name: "river", typ: "query", multi: true, includeAll: true, options: []string{"湘江"}, selected: []string{"湘江"}},
		{name: "param", typ: "custom", options: []string{"pm25", "pm10"}, selected: []string{"pm10"}},
		{name: "all", typ: "query", includeAll: true, allValue: ".*", options: []string{"x"}},
	}
	b := map[string]string{"timeFilter": "time >= 1ms and time <= 2ms", "__interval": "1h"}
	for _, c := range []struct{ in, want string }{
		{`"station" =~ /^$station$/`, `"station" =~ /^(a-1|b\.2)$/`},
		{`"river" =~ /^$river$/`, `"river" =~ /^湘江$/`},
		{`SELECT mean("$param"), "${param}_flagged", "[[param]]"`, `SELECT mean("pm10"), "pm10_flagged", "pm10"`},
		{`${station:csv} ${station:pipe} ${station:singlequote} ${station:regex}`, `a-1,b.2 a-1|b.2 'a-1','b.2' (a-1|b\.2)`},
		{`WHERE $timeFilter GROUP BY time($__interval)`, `WHERE time >= 1ms and time <= 2ms GROUP BY time(1h)`},
		{`x =~ /^$all$/`, `x =~ /^.*$/`},
		{`"$param_flagged"`, `"$param_flagged"`},
	} {
		if got := gfInterpolate(c.in, vars, b, ""); got != c.want {
			t.Errorf("interpolate %q = %q, want %q", c.in, got, c.want)
		}
	}
	if l := gfLeftover(`SELECT "$param_flagged" FROM x WHERE y =~ /^a$/`); !slices.Equal(l, []string{"$param_flagged"}) {
		t.Errorf("leftover = %q", l)
	}

	now := time.Date(2026, 11, 28, 10, 40, 0, 0, time.UTC)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	for _, c := range []struct {
		in   string
		up   bool
		want time.Time
	}{
		{"now", false, now},
		{"now-2d", false, now.Add(-48 * time.Hour)},
		{"now/y", false, time.Date(2026, 1, 1, 0, 0, 0, 0, sh)},
		{"now-1d/d", false, time.Date(2026, 11, 27, 0, 0, 0, 0, sh)},
		{"now/d", true, time.Date(2026, 11, 28, 23, 59, 59, 999e6, sh)},
	} {
		got, err := gfTime(c.in, now, sh, c.up)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("gfTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	if iv := gfInterval(48*time.Hour, 1000, time.Minute); iv != 2*time.Minute {
		t.Errorf("interval(2d) = %v, want 2m", iv)
	}
	if iv := gfInterval(48*time.Hour, 1000, time.Hour); gfIntervalText(iv) != "1h" {
		t.Errorf("interval(2d, min 1h) = %v", iv)
	}
}

func TestDashboardPromQLNameTokenizer(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`sum by (instance) (rate(envpipe_readings_accepted_total[10m])) == 0 and on (instance) envpipe_mqtt_connected == 1`,
			[]string{"envpipe_readings_accepted_total", "envpipe_mqtt_connected"}},
		{`histogram_quantile(0.99, sum by (le) (rate(x_bucket{instance=~"a|b", le!="+Inf"}[5m])))`, []string{"x_bucket"}},
		{`count by (instance) (time() - last_ts > 3600) > 0`, []string{"last_ts"}},
		{`up{job="envpipe"} == 0`, []string{"up"}},
		{`label_values(envpipe_mqtt_connected, instance)`, []string{"envpipe_mqtt_connected"}},
		{`label_values(instance)`, nil},
		{`a offset 5m / ignoring(x) group_left(y) b * 1e3 > bool 2`, []string{"a", "b"}},
		{`count(x > 1) or vector(0)`, []string{"x"}},
	} {
		got, err := promMetricNames(c.expr)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("promMetricNames(%q) = %q, %v; want %q", c.expr, got, err, c.want)
		}
	}
	if _, err := promMetricNames(`rate(x[$__rate_interval])`); err != nil {
		t.Errorf("a variable inside [] is stripped with the range: %v", err)
	}
	if _, err := promMetricNames(`$metric`); err == nil {
		t.Error("an uninterpolated variable outside strings and brackets must be an error")
	}
	names := promExposedNames("# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v\"} 1\nh_bucket{le=\"1\"} 2\nh_sum 1\n")
	for _, n := range []string{"a_total", "h_bucket", "h_sum"} {
		if !names[n] {
			t.Errorf("exposed names lack %s: %v", n, names)
		}
	}
}
