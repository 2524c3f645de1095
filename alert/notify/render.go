package notify

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/envpipe/envpipe/alert"
)

// Annotations the robots read besides summary and description; all are
// optional. value and limit, when present, are shown instead of
// Notification.Value and .Limit: a bare number with the parameter's unit
// (alert.ParamUnit, or the unit annotation), any other text as it is
// (e.g. a water class "IV 类").
const (
	AnnotationSummary     = "summary"
	AnnotationDescription = "description"
	AnnotationStationName = "station_name"
	AnnotationCountyName  = "county_name"
	AnnotationUnit        = "unit"
	AnnotationValue       = "value"
	AnnotationLimit       = "limit"
)

// renderer turns alerts into a robot's markdown message.
type renderer struct {
	t           *texts
	lang        string
	loc         *time.Location
	now         func() time.Time
	stationName func(string) string
	// lineSep separates the lines of a block: DingTalk's markdown joins
	// lines not separated by an empty one.
	lineSep string
	// limit is the message's size limit in bytes of UTF-8.
	limit int
}

const blockSep = "\n\n"

func newRenderer(lang string, o Options, lineSep string, limit int) *renderer {
	t, ok := textSets[lang]
	if !ok {
		t, lang = textSets["zh"], "zh"
	}
	return &renderer{t: t, lang: lang, loc: o.Location, now: o.Now, stationName: o.StationName, lineSep: lineSep, limit: limit}
}

// sortForMessage orders alerts as a reader wants them, and as truncation
// should keep them: firing before resolved, critical before the rest,
// oldest first, then by identity.
func sortForMessage(alerts []alert.Notification) []alert.Notification {
	s := slices.Clone(alerts)
	rank := func(a *alert.Notification) int {
		r := 0
		if a.Status == alert.StatusResolved {
			r += 10
		}
		switch a.Labels["severity"] {
		case "critical":
		case "warning":
			r += 1
		default:
			r += 2
		}
		return r
	}
	slices.SortStableFunc(s, func(a, b alert.Notification) int {
		return cmp.Or(
			cmp.Compare(rank(&a), rank(&b)),
			a.StartsAt.Compare(b.StartsAt),
			strings.Compare(a.Fingerprint(), b.Fingerprint()),
		)
	})
	return s
}

// message renders alerts (sorted) as a title and a markdown text of at
// most r.limit bytes: prefix, a heading when there are several, one block
// per alert, and "… and N more" for those that do not fit. When the blocks
// do not all fit, a compact form (one line per alert) is used if it shows
// more of them: in a pollution episode, the group sees every station over
// the limit rather than the first few in detail.
func (r *renderer) message(alerts []alert.Notification, prefix string) (title, text string) {
	alerts = sortForMessage(alerts)
	blocks := make([]string, len(alerts))
	firing := 0
	for i := range alerts {
		blocks[i] = r.block(&alerts[i])
		if alerts[i].Status != alert.StatusResolved {
			firing++
		}
	}
	title = r.header(&alerts[0]) + r.summary(&alerts[0])
	if len(alerts) > 1 {
		title += r.t.titleMore(len(alerts) - 1)
	}
	head := prefix
	if len(alerts) > 1 {
		head += r.t.heading(firing, len(alerts)-firing) + blockSep
	}
	text, shown := r.fit(head, blocks, blockSep)
	if shown < len(alerts) && len(alerts) > 1 {
		lines := make([]string, len(alerts))
		for i := range alerts {
			lines[i] = r.line(&alerts[i])
		}
		if compact, n := r.fit(head, lines, r.lineSep); n > shown {
			text = compact
		}
	}
	return title, text
}

// fit writes head and as many parts as fit in r.limit, then the "more"
// line for the rest. It returns the text and how many parts it shows.
func (r *renderer) fit(head string, parts []string, sep string) (string, int) {
	var b strings.Builder
	b.WriteString(head)
	// reserve is room for the "more" line, sized for the worst case.
	reserve := len(blockSep) + len(r.t.more(len(parts)))
	shown := 0
	for i, p := range parts {
		s := ""
		if i > 0 {
			s = sep
		}
		need := b.Len() + len(s) + len(p)
		last := i == len(parts)-1
		if (last && need <= r.limit) || (!last && need+reserve <= r.limit) {
			b.WriteString(s)
			b.WriteString(p)
			shown++
			continue
		}
		if i == 0 {
			// Not even one alert fits (a very long description): show
			// what fits of it.
			room := r.limit - b.Len() - len("…")
			if !last {
				room -= reserve
			}
			b.WriteString(truncateUTF8(p, max(room, 0)))
			b.WriteString("…")
			shown++
		}
		break
	}
	if shown < len(parts) {
		b.WriteString(blockSep)
		b.WriteString(r.t.more(len(parts) - shown))
	}
	return b.String(), shown
}

// line renders one alert in the compact form.
func (r *renderer) line(a *alert.Notification) string {
	var out strings.Builder
	if err := r.t.line.Execute(&out, r.view(a)); err != nil {
		panic("notify: template: " + err.Error())
	}
	return oneLine(out.String())
}

func (r *renderer) header(a *alert.Notification) string {
	if a.Status == alert.StatusResolved {
		return r.t.resolved
	}
	return r.t.firing
}

func (r *renderer) summary(a *alert.Notification) string {
	return oneLine(cmp.Or(a.Annotations[AnnotationSummary], a.Labels["alertname"], "envpipe"))
}

// block renders one alert; empty lines are dropped.
func (r *renderer) block(a *alert.Notification) string {
	var out strings.Builder
	if err := r.t.block.Execute(&out, r.view(a)); err != nil {
		// The templates are fixed and their data plain strings.
		panic("notify: template: " + err.Error())
	}
	lines := strings.Split(out.String(), "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "" })
	var b strings.Builder
	for i, l := range lines {
		switch {
		case i == 0:
		case strings.HasPrefix(lines[i-1], ">") && !strings.HasPrefix(l, ">"):
			// End the quote, or markdown continues it on this line.
			b.WriteString(blockSep)
		default:
			b.WriteString(r.lineSep)
		}
		b.WriteString(l)
	}
	return b.String()
}

// view is what the templates show of an alert.
func (r *renderer) view(a *alert.Notification) alertView {
	station := a.Labels["station"]
	name := cmp.Or(a.Annotations[AnnotationStationName], r.lookupStation(station), station)
	county := cmp.Or(a.Annotations[AnnotationCountyName], a.Labels["county"])
	param := a.Labels["param"]
	unit, ok := a.Annotations[AnnotationUnit]
	if !ok {
		unit = alert.ParamUnit(param)
	}
	v := alertView{
		Header:      r.header(a),
		Summary:     r.summary(a),
		Where:       oneLine(r.t.where(name, station, county)),
		Param:       r.paramName(param),
		Severity:    r.severity(a.Labels["severity"]),
		Since:       r.time(a.StartsAt),
		Description: oneLine(a.Annotations[AnnotationDescription]),
		URL:         strings.TrimSpace(a.GeneratorURL),
	}
	// How much, against which limit: only for a measured parameter (a
	// station that went silent has neither).
	if param != "" {
		v.Value = quantity(a.Annotations[AnnotationValue], a.Value, unit)
		v.Limit = quantity(a.Annotations[AnnotationLimit], a.Limit, unit)
		if _, ok := a.Annotations[AnnotationValue]; !ok && a.Value == 0 && v.Limit == "" {
			v.Value = "" // nothing measured
		}
		if v.Value == "" {
			v.Limit = ""
		}
	}
	if a.Status == alert.StatusResolved {
		end := a.EndsAt
		if end.IsZero() {
			end = r.now()
		}
		v.Ended = r.time(end)
		v.Lasted = r.duration(end.Sub(a.StartsAt))
	}
	if v.Where == "" {
		v.Where = "—"
	}
	return v
}

func (r *renderer) lookupStation(id string) string {
	if r.stationName == nil || id == "" {
		return ""
	}
	return r.stationName(id)
}

func (r *renderer) paramName(p string) string {
	if p == "" {
		return ""
	}
	lang := alert.LangZH
	if r.lang == "en" {
		lang = alert.LangEN
	}
	return alert.ParamName(p, lang)
}

// quantity is an annotation's value (a bare number gets the unit) or,
// without one, v with the unit; "" when neither says anything.
func quantity(ann string, v float64, unit string) string {
	ann = oneLine(ann)
	switch {
	case ann == "—" || ann == "-":
		return ""
	case ann != "":
		if _, err := strconv.ParseFloat(ann, 64); err == nil && unit != "" {
			return ann + " " + unit
		}
		return ann
	case v == 0:
		return ""
	}
	return withUnit(v, unit)
}

func (r *renderer) severity(s string) string {
	if n, ok := r.t.severity[s]; ok {
		return n
	}
	return s
}

func (r *renderer) time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(r.loc).Format(r.t.timeLayout)
}

func (r *renderer) duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	m := int(d / time.Minute)
	return r.t.duration(m/(24*60), m/60%24, m%60)
}

// withUnit formats a value to at most three decimals, with its unit.
func withUnit(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	s := strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
	if unit != "" {
		s += " " + unit
	}
	return s
}

// oneLine folds a text's lines and runs of spaces into single spaces, so
// that an annotation cannot break a block's layout.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// truncateUTF8 returns the longest prefix of s of at most n bytes that
// does not cut a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
