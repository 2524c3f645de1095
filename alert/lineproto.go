package alert

import (
	"strconv"
	"strings"

	"github.com/envpipe/envpipe/ingest/influx"
)

// appendLine appends t as one point of the `alerts` measurement:
//
//	alerts,alertname=…,county=…,param=…,severity=…,state=…,station=…
//	       value=<float>,limit=<float>,threshold=<float>,text="<summary>",backfill=<bool> <At in ns>
//
// Tags in sorted key order; param is absent for station-wide alerts
// (stale); limit and threshold are absent for flag rules. text is the
// summary in the configured language.
func (e *Engine) appendLine(b []byte, t *Transition) []byte {
	a := &t.Alert
	b = append(b, "alerts"...)
	b = influx.AppendTag(b, "alertname", a.Rule)
	b = influx.AppendTag(b, "county", a.st.County)
	b = influx.AppendTag(b, "param", a.Param)
	b = influx.AppendTag(b, "severity", a.Severity)
	b = influx.AppendTag(b, "state", t.To.String())
	b = influx.AppendTag(b, "station", a.Station)
	b = append(b, " value="...)
	b = strconv.AppendFloat(b, finite(a.Value), 'g', -1, 64)
	if usable(a.Limit) {
		b = append(b, ",limit="...)
		b = strconv.AppendFloat(b, a.Limit, 'g', -1, 64)
	}
	if usable(a.Threshold) {
		b = append(b, ",threshold="...)
		b = strconv.AppendFloat(b, a.Threshold, 'g', -1, 64)
	}
	summary, _ := a.rule.render(e.lang, e.templateData(a))
	b = append(b, `,text="`...)
	b = appendFieldString(b, summary)
	b = append(b, `",backfill=`...)
	b = strconv.AppendBool(b, t.Backfill)
	b = append(b, ' ')
	b = strconv.AppendInt(b, t.At.UnixNano(), 10)
	return append(b, '\n')
}

func finite(v float64) float64 {
	if usable(v) {
		return v
	}
	return 0
}

// appendFieldString escapes a line-protocol string field value; line
// breaks become spaces.
func appendFieldString(b []byte, s string) []byte {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return b
}
