package derive

import (
	"math"
	"strconv"

	"github.com/envpipe/envpipe/ingest/influx"
)

// lineWriter appends points in InfluxDB line protocol. A point is begun
// with begin, given tags (in sorted key order) and fields, and finished with
// end; a point without fields is dropped, since line protocol needs one.
type lineWriter struct {
	b      []byte
	start  int
	fields int
	points int
}

func (w *lineWriter) begin(measurement string) {
	w.start = len(w.b)
	w.fields = 0
	w.b = append(w.b, measurement...)
}

func (w *lineWriter) tag(key, value string) { w.b = influx.AppendTag(w.b, key, value) }

func (w *lineWriter) sep(key string) {
	if w.fields == 0 {
		w.b = append(w.b, ' ')
	} else {
		w.b = append(w.b, ',')
	}
	w.fields++
	w.b = influx.AppendEscaped(w.b, key)
	w.b = append(w.b, '=')
}

func (w *lineWriter) int(key string, v int64) {
	w.sep(key)
	w.b = strconv.AppendInt(w.b, v, 10)
	w.b = append(w.b, 'i')
}

func (w *lineWriter) float(key string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return // line protocol has no NaN or Inf
	}
	w.sep(key)
	w.b = strconv.AppendFloat(w.b, v, 'g', -1, 64)
}

func (w *lineWriter) bool(key string, v bool) {
	w.sep(key)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *lineWriter) str(key, v string) {
	w.sep(key)
	w.b = append(w.b, '"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '"', '\\':
			w.b = append(w.b, '\\', c)
		case '\n', '\r':
			w.b = append(w.b, ' ')
		default:
			w.b = append(w.b, c)
		}
	}
	w.b = append(w.b, '"')
}

// end finishes the point with a timestamp in Unix seconds.
func (w *lineWriter) end(unixSec int64) { w.endNano(unixSec * 1e9) }

// endNano finishes the point with a timestamp in Unix nanoseconds.
func (w *lineWriter) endNano(unixNano int64) {
	if w.fields == 0 {
		w.b = w.b[:w.start]
		return
	}
	w.b = append(w.b, ' ')
	w.b = strconv.AppendInt(w.b, unixNano, 10)
	w.b = append(w.b, '\n')
	w.points++
}
