package notify

import (
	"fmt"
	"text/template"
)

// The robots' message texts, in Chinese and English: every word a WeCom or
// DingTalk group reads that the rule engine did not write. The rule engine
// writes the summary and description annotations in the configured
// language; these templates put them in a frame: header, where, how much,
// against which limit, since when.
//
// An alert renders as one block. Lines that come out empty are dropped, so
// a missing field leaves no empty label behind. A message is an optional
// heading (several alerts), the blocks, and a "more" line when the blocks
// do not all fit the robot's size limit; then, if one line per alert
// shows more of them, the message is made of lines instead of blocks.

// texts is one language's set.
type texts struct {
	firing, resolved string // block headers
	// heading counts the alerts of a message with several: firing and
	// resolved counts.
	heading func(firing, resolved int) string
	// more ends a truncated message.
	more func(n int) string
	// title is DingTalk's notification title: first block's header and
	// summary, and how many others follow.
	titleMore func(n int) string
	// block renders one alert (see alertView).
	block *template.Template
	// line renders one alert in one line: the compact form used when the
	// blocks of a message do not all fit.
	line *template.Template
	// severity names; an unlisted severity is shown as is.
	severity map[string]string
	// duration formats how long an alert lasted.
	duration func(d, h, m int) string
	// timeLayout formats times (in Options.Location).
	timeLayout string
	// where formats a station: its name (may equal its id) and county.
	where func(name, id, county string) string
}

var textSets = map[string]*texts{
	"zh": {
		firing:   "【告警】",
		resolved: "【恢复】",
		heading: func(f, r int) string {
			switch {
			case r == 0:
				return fmt.Sprintf("**envpipe：%d 条告警**", f)
			case f == 0:
				return fmt.Sprintf("**envpipe：%d 条恢复**", r)
			}
			return fmt.Sprintf("**envpipe：%d 条告警，%d 条恢复**", f, r)
		},
		more:      func(n int) string { return fmt.Sprintf("…… 另有 %d 条未显示", n) },
		titleMore: func(n int) string { return fmt.Sprintf(" 等 %d 条", n+1) },
		block: template.Must(template.New("zh").Parse(
			`{{.Header}}**{{.Summary}}**
> 站点：{{.Where}}
{{if .Param}}> 项目：{{.Param}}{{end}}
{{if .Value}}> 数值：**{{.Value}}**{{if .Limit}}（限值 {{.Limit}}）{{end}}{{end}}
{{if .Severity}}> 级别：{{.Severity}}{{end}}
> 开始：{{.Since}}
{{if .Ended}}> 恢复：{{.Ended}}（持续 {{.Lasted}}）{{end}}
{{.Description}}
{{if .URL}}[查看图表]({{.URL}}){{end}}`)),
		line: template.Must(template.New("zh-line").Parse(
			`{{.Header}}{{.Summary}} · {{.Where}} · {{if .Ended}}{{.Ended}} 恢复{{else}}{{.Since}} 起{{end}}`)),
		severity: map[string]string{"critical": "严重", "warning": "预警", "info": "提示"},
		duration: func(d, h, m int) string {
			switch {
			case d > 0:
				return fmt.Sprintf("%d 天 %d 小时", d, h)
			case h > 0:
				return fmt.Sprintf("%d 小时 %d 分钟", h, m)
			case m > 0:
				return fmt.Sprintf("%d 分钟", m)
			}
			return "不足 1 分钟"
		},
		timeLayout: "2006-01-02 15:04",
		where: func(name, id, county string) string {
			s := name
			if name != id {
				s += "（" + id + "）"
			}
			if county != "" {
				s += "，" + county
			}
			return s
		},
	},
	"en": {
		firing:   "[FIRING] ",
		resolved: "[RESOLVED] ",
		heading: func(f, r int) string {
			switch {
			case r == 0:
				return fmt.Sprintf("**envpipe: %d firing**", f)
			case f == 0:
				return fmt.Sprintf("**envpipe: %d resolved**", r)
			}
			return fmt.Sprintf("**envpipe: %d firing, %d resolved**", f, r)
		},
		more:      func(n int) string { return fmt.Sprintf("… and %d more", n) },
		titleMore: func(n int) string { return fmt.Sprintf(" (+%d more)", n) },
		block: template.Must(template.New("en").Parse(
			`{{.Header}}**{{.Summary}}**
> Station: {{.Where}}
{{if .Param}}> Parameter: {{.Param}}{{end}}
{{if .Value}}> Value: **{{.Value}}**{{if .Limit}} (limit {{.Limit}}){{end}}{{end}}
{{if .Severity}}> Severity: {{.Severity}}{{end}}
> Since: {{.Since}}
{{if .Ended}}> Resolved: {{.Ended}} (lasted {{.Lasted}}){{end}}
{{.Description}}
{{if .URL}}[Open panel]({{.URL}}){{end}}`)),
		line: template.Must(template.New("en-line").Parse(
			`{{.Header}}{{.Summary}} · {{.Where}} · {{if .Ended}}resolved {{.Ended}}{{else}}since {{.Since}}{{end}}`)),
		severity: map[string]string{},
		duration: func(d, h, m int) string {
			switch {
			case d > 0:
				return fmt.Sprintf("%dd %dh", d, h)
			case h > 0:
				return fmt.Sprintf("%dh %dm", h, m)
			case m > 0:
				return fmt.Sprintf("%dm", m)
			}
			return "under 1m"
		},
		timeLayout: "2006-01-02 15:04 MST",
		where: func(name, id, county string) string {
			s := name
			if name != id {
				s += " (" + id + ")"
			}
			if county != "" {
				s += ", " + county
			}
			return s
		},
	},
}

// alertView is what a block template sees. Every field is plain text,
// already formatted; empty means "leave the line out".
type alertView struct {
	Header      string // firing or resolved header
	Summary     string
	Where       string // station name (id), county
	Param       string
	Value       string // with unit
	Limit       string // with unit
	Severity    string
	Since       string
	Ended       string // resolved only
	Lasted      string // resolved only
	Description string
	URL         string
}
