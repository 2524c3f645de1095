package alert

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/envpipe/envpipe/alert/limits"
	"github.com/envpipe/envpipe/alert/waterclass"
	"github.com/envpipe/envpipe/ingest"
)

// Lang is the language of alert texts.
type Lang int

const (
	LangZH Lang = iota
	LangEN
)

// ParseLang parses "zh" or "en".
func ParseLang(s string) (Lang, error) {
	switch s {
	case "zh":
		return LangZH, nil
	case "en":
		return LangEN, nil
	}
	return 0, fmt.Errorf("%q is not zh or en", s)
}

func (l Lang) String() string {
	if l == LangEN {
		return "en"
	}
	return "zh"
}

// TemplateData is what annotation templates see. Numbers are raw; format
// them with {{num .Value}} (trailing zeros dropped, at most 3 decimals) and
// ratios with {{pct .Ratio}}.
type TemplateData struct {
	Rule     string
	Severity string
	State    string // pending | firing | resolved
	// Warning is true for the approach level (warn_ratio), false for the
	// limit itself.
	Warning bool
	// Below is true for lower bounds (dissolved oxygen).
	Below     bool
	Direction string // above | below

	Value     float64
	Limit     float64 // the limit (NaN for flag rules)
	Threshold float64 // what the value was compared with: Limit, or the approach level
	Ratio     float64 // how far along the limit: Value/Limit (Limit/Value for lower bounds)
	Unit      string

	Station   string // name
	StationID string
	County    string
	River     string
	Section   string

	Param   string // display name in the language (e.g. 氨氮（NH3-N）)
	ParamID string // e.g. nh3n
	What    string // what was compared, e.g. "24小时滑动均值", "24 h rolling mean"
	Source  string // where the limit comes from, e.g. "GB 3095-2012 二级"
	Since   string // local time (UTC+8) the episode began

	// water_class
	Class       string // the item's class, e.g. III, 劣V (English: worse than V)
	TargetClass string
	// ClassText is the item's class as a phrase: III类, 劣V类; Class III,
	// worse than Class V.
	ClassText string
	// stale
	Silent   string // how long the station has been silent
	Interval string // its reporting interval
	LastSeen string // when its last data arrived (local time)
	// flag
	Flag     string
	FlagText string
}

var templateFuncs = template.FuncMap{
	"num": formatNum,
	// suffix appends sfx unless s ends with it already: {{suffix .Station
	// "断面"}} gives 枫溪断面 for a station named 枫溪 or 枫溪断面.
	"suffix": func(s, sfx string) string {
		if strings.HasSuffix(s, sfx) {
			return s
		}
		return s + sfx
	},
	"pct": func(r float64) string {
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return "—"
		}
		return strconv.FormatFloat(math.Round(r*100), 'f', -1, 64) + "%"
	},
	// resolved reports whether .State is that of an end.
	"resolved": func(state string) bool { return state == StateResolved.String() },
	// since is the sentence on when the episode began: "Since 09:00." while
	// it lasts, "The alert began at 09:00." in its end.
	"since": func(state, since, lang string) string {
		end := state == StateResolved.String()
		switch {
		case lang == "zh" && end:
			return "告警始于 " + since + "。"
		case lang == "zh":
			return "自 " + since + " 起。"
		case end:
			return "The alert began at " + since + "."
		default:
			return "Since " + since + "."
		}
	},
}

// formatNum drops trailing zeros and keeps at most 3 decimals.
func formatNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// defaultTexts are the built-in annotations by aggregate: [lang][summary,
// description].
var defaultTexts = map[Aggregate][2][2]string{
	AggInstant: valueTexts,
	AggMean:    valueTexts,
	AggYTDMean: valueTexts,
	AggAQI:     valueTexts,
	AggWaterClass: {
		{
			`{{suffix .Station "断面"}}{{.Param}} {{num .Value}}{{if .Unit}} {{.Unit}}{{end}}，{{if resolved .State}}{{else if gt .Ratio 1.0}}劣于{{else}}接近{{end}}{{.TargetClass}}类标准（{{if .Below}}≥{{else}}≤{{end}} {{num .Limit}}{{if .Unit}} {{.Unit}}{{end}}）`,
			`{{.River}}{{suffix .Section "断面"}}（{{.County}}）{{.Param}} {{num .Value}}{{if .Unit}} {{.Unit}}{{end}}，为{{.ClassText}}，目标{{.TargetClass}}类；{{.Source}}限值 {{num .Limit}}{{if .Unit}} {{.Unit}}{{end}}，达到限值的 {{pct .Ratio}}。{{since .State .Since "zh"}}`,
		},
		{
			`{{.Station}}: {{.Param}} {{num .Value}}{{if .Unit}} {{.Unit}}{{end}}{{if resolved .State}},{{else if gt .Ratio 1.0}} fails{{else}} approaches{{end}} Class {{.TargetClass}} ({{if .Below}}≥{{else}}≤{{end}} {{num .Limit}}{{if .Unit}} {{.Unit}}{{end}})`,
			`{{.River}} {{.Section}} ({{.County}}): {{.Param}} {{num .Value}}{{if .Unit}} {{.Unit}}{{end}} is {{.ClassText}}, target Class {{.TargetClass}}; the {{.Source}} limit is {{num .Limit}}{{if .Unit}} {{.Unit}}{{end}}, {{pct .Ratio}} of it. {{since .State .Since "en"}}`,
		},
	},
	AggStale: {
		{
			`{{.Station}}已 {{.Silent}} 未上报数据`,
			`{{.County}} {{.Station}}（{{.StationID}}）应每 {{.Interval}} 上报一次，已超过 {{num .Limit}} 个周期未收到数据；最后一次数据到达于 {{.LastSeen}}。`,
		},
		{
			`{{.Station}} has sent no data for {{.Silent}}`,
			`{{.Station}} ({{.StationID}}, {{.County}}) reports every {{.Interval}} and has been silent for more than {{num .Limit}} intervals; its last data arrived at {{.LastSeen}}.`,
		},
	},
	AggFlag: {
		{
			`{{.Station}} {{.Param}}设备异常：{{.Flag}}（{{.FlagText}}）`,
			`{{.County}} {{.Station}}（{{.StationID}}）{{.Param}}数据标记为 {{.Flag}}（{{.FlagText}}），自 {{.Since}} 起；带此标记的数据不参与污染告警。`,
		},
		{
			`{{.Station}}: {{.Param}} equipment problem, flag {{.Flag}} ({{.FlagText}})`,
			`{{.Station}} ({{.StationID}}, {{.County}}): {{.Param}} data flagged {{.Flag}} ({{.FlagText}}) since {{.Since}}; flagged data raise no pollution alerts.`,
		},
	},
}

// valueTexts say, for an end, the value that ended the alert beside the
// limit, not "above the limit": the receiver's header says it ended.
var valueTexts = [2][2]string{
	{
		`{{.Station}} {{.Param}} {{.What}} {{num .Value}}{{if .Unit}} {{.Unit}}{{end}}，{{if not (resolved .State)}}{{if .Below}}低于{{else}}超过{{end}}{{end}}{{if .Warning}}预警值{{else}}限值{{end}} {{num .Threshold}}{{if .Unit}} {{.Unit}}{{end}}`,
		`{{.County}} {{.Station}}（{{.StationID}}）{{.Param}} {{.What}}为 {{num .Value}}{{if .Unit}} {{.Unit}}{{end}}，{{if resolved .State}}限值 {{num .Limit}}{{if .Unit}} {{.Unit}}{{end}}{{else if .Warning}}已达限值 {{num .Limit}}{{if .Unit}} {{.Unit}}{{end}} 的 {{pct .Ratio}}{{else}}{{if .Below}}低于{{else}}超过{{end}}限值 {{num .Limit}}{{if .Unit}} {{.Unit}}{{end}}{{end}}{{if .Source}}（{{.Source}}）{{end}}。{{since .State .Since "zh"}}`,
	},
	{
		`{{.Station}}: {{.Param}} {{.What}} {{num .Value}}{{if .Unit}} {{.Unit}}{{end}}{{if resolved .State}} ({{if .Warning}}warning level{{else}}limit{{end}} {{num .Threshold}}{{if .Unit}} {{.Unit}}{{end}}){{else}} is {{.Direction}} the {{if .Warning}}warning level{{else}}limit{{end}} of {{num .Threshold}}{{if .Unit}} {{.Unit}}{{end}}{{end}}`,
		`{{.Station}} ({{.StationID}}, {{.County}}): {{.Param}} {{.What}} {{num .Value}}{{if .Unit}} {{.Unit}}{{end}}, {{if resolved .State}}the limit is {{num .Limit}}{{if .Unit}} {{.Unit}}{{end}}{{else if .Warning}}{{pct .Ratio}} of the limit of {{num .Limit}}{{if .Unit}} {{.Unit}}{{end}}{{else}}{{.Direction}} the limit of {{num .Limit}}{{if .Unit}} {{.Unit}}{{end}}{{end}}{{if .Source}} ({{.Source}}){{end}}. {{since .State .Since "en"}}`,
	},
}

// compileTemplates parses the rule's annotations (or the defaults) and
// runs each once on sample data, so that a template naming a field that
// does not exist fails at load time rather than at 3 a.m.
func (r *Rule) compileTemplates() []error {
	var errs []error
	def := defaultTexts[r.Aggregate]
	given := [2][2]string{
		{r.Annotations.Summary.ZH, r.Annotations.Description.ZH},
		{r.Annotations.Summary.EN, r.Annotations.Description.EN},
	}
	keys := [2]string{"summary", "description"}
	sample := sampleData()
	for lang := range 2 {
		for k := range 2 {
			src := given[lang][k]
			if src == "" {
				src = def[lang][k]
			}
			key := fmt.Sprintf("annotations.%s.%s", keys[k], Lang(lang))
			t, err := template.New(key).Funcs(templateFuncs).Option("missingkey=error").Parse(src)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", key, err))
				continue
			}
			if err := t.Execute(discard{}, sample); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", key, err))
				continue
			}
			r.tmpl[lang][k] = t
		}
	}
	return errs
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func sampleData() *TemplateData {
	return &TemplateData{Rule: "Sample", Severity: "critical", State: "firing", Direction: "above",
		Value: 1, Limit: 1, Threshold: 1, Ratio: 1, Unit: "µg/m³", Station: "S", StationID: "s", County: "C",
		Param: "P", ParamID: "p", What: "w", Source: "s", Since: "t", Class: "II", TargetClass: "II", ClassText: "II类",
		Silent: "1m", Interval: "1m", LastSeen: "t", Flag: "D", FlagText: "f"}
}

// render executes the rule's summary and description for d.
func (r *Rule) render(lang Lang, d *TemplateData) (summary, description string) {
	var out [2]string
	for k := range 2 {
		t := r.tmpl[lang][k]
		if t == nil {
			continue
		}
		var b strings.Builder
		if err := t.Execute(&b, d); err != nil {
			b.Reset()
			b.WriteString(r.Name)
		}
		out[k] = b.String()
	}
	return out[0], out[1]
}

// waterCodes are the customary short names of GB 3838 items.
var waterCodes = map[string]string{
	"ph": "pH", "do": "DO", "codmn": "CODMn", "cod": "COD", "bod5": "BOD5", "nh3n": "NH3-N",
	"tp": "TP", "tn": "TN", "cu": "Cu", "zn": "Zn", "fluoride": "F⁻", "se": "Se", "as": "As",
	"hg": "Hg", "cd": "Cd", "cr6": "Cr(VI)", "pb": "Pb", "cyanide": "CN⁻", "phenol": "Phenol",
	"petroleum": "Oil", "las": "LAS", "sulfide": "S²⁻", "fecal_coliform": "F.coli",
}

var airNames = map[string][2]string{
	"pm25":         {"PM2.5", "PM2.5"},
	"pm10":         {"PM10", "PM10"},
	"so2":          {"二氧化硫（SO2）", "SO2"},
	"no2":          {"二氧化氮（NO2）", "NO2"},
	"o3":           {"臭氧（O3）", "O3"},
	"co":           {"一氧化碳（CO）", "CO"},
	"aqi":          {"空气质量指数（AQI）", "AQI"},
	"temp":         {"气温", "temperature"},
	"rh":           {"相对湿度", "relative humidity"},
	"pressure":     {"气压", "pressure"},
	"wind_speed":   {"风速", "wind speed"},
	"wind_dir":     {"风向", "wind direction"},
	"water_temp":   {"水温", "water temperature"},
	"conductivity": {"电导率", "conductivity"},
	"turbidity":    {"浊度", "turbidity"},
	"chla":         {"叶绿素a", "chlorophyll a"},
}

// ParamName is a parameter's display name: 氨氮（NH3-N） / ammonia
// nitrogen (NH3-N), PM2.5, 二氧化硫（SO2） / SO2, pH 值 / pH (a name
// that holds its code already does not repeat it).
func ParamName(param string, lang Lang) string {
	if n, ok := airNames[param]; ok {
		return n[lang]
	}
	for _, it := range waterclass.Items() {
		if it.Name == param {
			code := waterCodes[param]
			name, open, closing := it.Chinese, "（", "）"
			if lang == LangEN {
				name, open, closing = it.English, " (", ")"
			}
			if code == "" || strings.Contains(name, code) {
				return name
			}
			return name + open + code + closing
		}
	}
	return param
}

// ParamUnit is a parameter's unit ("" for pH and AQI).
func ParamUnit(param string) string {
	if p, ok := ingest.Params[param]; ok {
		return p.Unit
	}
	for _, it := range waterclass.Items() {
		if it.Name == param {
			return it.Unit
		}
	}
	return ""
}

var flagTexts = map[ingest.Flag][2]string{
	ingest.FlagNormal:      {"正常", "normal"},
	ingest.FlagStopped:     {"仪器停运", "instrument stopped"},
	ingest.FlagMaintenance: {"维护期间数据", "maintenance"},
	ingest.FlagManual:      {"手工输入的设定值", "manually set value"},
	ingest.FlagFault:       {"仪器故障", "instrument fault"},
	ingest.FlagCalibration: {"仪器校准", "calibration"},
	ingest.FlagOverRange:   {"超出测量上限", "above the measuring range"},
	ingest.FlagCommError:   {"通讯异常", "communication fault"},
}

// chinaTime is UTC+8, the zone of the standards and of the people paged.
var chinaTime = time.FixedZone("CST", 8*3600)

func formatTime(t time.Time, lang Lang) string {
	if t.IsZero() {
		return "—"
	}
	s := t.In(chinaTime).Format("2006-01-02 15:04")
	if lang == LangEN {
		s += " CST"
	}
	return s
}

// formatDuration writes d as 4小时 / 4h, 1小时30分钟 / 1h30m, 45秒 / 45s.
func formatDuration(d time.Duration, lang Lang) string {
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	var b strings.Builder
	unit := func(n int, zh, en string) {
		if lang == LangEN {
			fmt.Fprintf(&b, "%d%s", n, en)
		} else {
			fmt.Fprintf(&b, "%d%s", n, zh)
		}
	}
	if h > 0 {
		unit(h, "小时", "h")
	}
	if m > 0 {
		unit(m, "分钟", "m")
	}
	if s > 0 || b.Len() == 0 {
		unit(s, "秒", "s")
	}
	return b.String()
}

// what describes the compared value: 24小时滑动均值 / 24 h rolling mean.
func (r *Rule) what(lang Lang) string {
	switch r.Aggregate {
	case AggMean:
		if lang == LangEN {
			return formatDuration(r.Window, lang) + " rolling mean"
		}
		return formatDuration(r.Window, lang) + "滑动均值"
	case AggYTDMean:
		if lang == LangEN {
			return "year-to-date mean"
		}
		return "年均值（今年以来）"
	case AggAQI:
		if lang == LangEN {
			return "(hourly)"
		}
		return "小时值"
	case AggInstant:
		if lang == LangEN {
			return "value"
		}
		return "实时值"
	}
	return ""
}

// source names where a limit comes from at time t.
func (r *Rule) source(t time.Time, lang Lang, target waterclass.Class) string {
	if r.Aggregate == AggWaterClass {
		if lang == LangEN {
			return "GB 3838-2002 Class " + target.English()
		}
		return "GB 3838-2002 " + target.String() + "类"
	}
	l := &r.Limit
	if l.Ref == "" {
		return ""
	}
	std := l.std.Resolve(t)
	if std == limits.ZhuzhouPlan {
		if lang == LangEN {
			return "Zhuzhou 2018–2020 action plan target"
		}
		return "株洲市生态环境保护行动计划 2020 年目标"
	}
	if lang == LangEN {
		return fmt.Sprintf("%v Grade %v, %v", std, l.grade, l.avg)
	}
	g := "二级"
	if l.grade == 1 {
		g = "一级"
	}
	name, ok := standardsZH[std]
	if !ok {
		name = std.String() + " "
	}
	return name + g
}

// standardsZH names the GB 3095 editions in Chinese, as they precede the
// grade: GB 3095-2026 过渡期二级.
var standardsZH = map[limits.Standard]string{
	limits.GB3095v2012:             "GB 3095-2012 ",
	limits.GB3095v2026:             "GB 3095-2026 ",
	limits.GB3095v2026Transitional: "GB 3095-2026 过渡期",
	limits.GB3095v2026Final:        "GB 3095-2026 最终限值",
}
