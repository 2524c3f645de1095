package influx

import (
	"math"
	"strconv"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// Encoder appends readings as InfluxDB line protocol, the schema of
// DESIGN.md: measurement = the station's kind (air, water), or for period
// data (HJ 212 minute, hourly, daily means) the kind and the period
// (air_minute, air_hour, air_day, ...); tags station, county (+ river,
// section for water); one float field per parameter. A value whose flag is
// not N is written as <param>_flagged with a string field <param>_flag, so
// that queries on <param> see only valid data while nothing is thrown away.
//
// An Encoder caches each station's measurement-and-tags prefix; it is not
// safe for concurrent use.
type Encoder struct {
	// instant holds the prefixes of instantaneous readings (nearly all) by
	// station.Station.Index; prefix the others, and those of stations
	// whose slot is taken (stations not from a registry).
	instant station.Slots[[]byte]
	prefix  map[prefixKey][]byte
}

type prefixKey struct {
	st     *station.Station
	period ingest.Period
}

// NewEncoder returns an empty encoder.
func NewEncoder() *Encoder { return &Encoder{prefix: map[prefixKey][]byte{}} }

// Append appends one point for r (which belongs to st) and a newline.
func (e *Encoder) Append(buf []byte, st *station.Station, r *ingest.Reading) []byte {
	buf = append(buf, e.prefixOf(st, r.Period)...)
	buf = AppendFields(buf, r.Values)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, r.Time.UnixNano(), 10)
	return append(buf, '\n')
}

func (e *Encoder) prefixOf(st *station.Station, period ingest.Period) []byte {
	if period == ingest.PeriodInstant {
		if p, ok := e.instant.Get(st); ok {
			return p
		}
	}
	k := prefixKey{st, period}
	if p, ok := e.prefix[k]; ok {
		return p
	}
	p := Prefix(st, period)
	if period != ingest.PeriodInstant || !e.instant.Put(st, p) {
		e.prefix[k] = p
	}
	return p
}

// AppendFields appends the field set of values (without leading space).
func AppendFields(buf []byte, values []ingest.Value) []byte {
	for i, v := range values {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, v.Param...)
		if v.Flag != ingest.FlagNormal && v.Flag != 0 {
			buf = append(buf, "_flagged="...)
			buf = AppendFloat(buf, v.V)
			buf = append(buf, ',')
			buf = append(buf, v.Param...)
			buf = append(buf, `_flag="`...)
			buf = append(buf, byte(v.Flag), '"')
			continue
		}
		buf = append(buf, '=')
		buf = AppendFloat(buf, v.V)
	}
	return buf
}

// AppendFloat appends v as strconv.AppendFloat(buf, v, 'g', -1, 64) does,
// byte for byte, in a fraction of the time for what instruments send:
// values between 1e-4 and 1e6 with at most six decimals. Those are exact
// multiples of 1e-6 as far as float64 can tell (m/1e6 == v); the rounding
// interval of a float64 below 1e6 is under 1e-10 wide, so no shorter
// decimal rounds to v and the digits of m are the shortest ones.
func AppendFloat(buf []byte, v float64) []byte {
	if a := math.Abs(v); a >= 1e-4 && a < 1e6 {
		if m := math.Round(v * 1e6); m/1e6 == v {
			if m < 0 {
				buf = append(buf, '-')
				m = -m
			}
			u := uint64(m)
			buf = strconv.AppendUint(buf, u/1e6, 10)
			if frac := u % 1e6; frac != 0 {
				var d [7]byte
				d[0] = '.'
				for i := 6; i > 0; i-- {
					d[i] = byte('0' + frac%10)
					frac /= 10
				}
				n := len(d)
				for d[n-1] == '0' {
					n--
				}
				buf = append(buf, d[:n]...)
			}
			return buf
		}
	}
	if v == 0 && !math.Signbit(v) {
		return append(buf, '0')
	}
	return strconv.AppendFloat(buf, v, 'g', -1, 64)
}

// Measurement is where readings of kind k and period p are written.
func Measurement(k ingest.Kind, p ingest.Period) string {
	if p == ingest.PeriodInstant {
		return string(k)
	}
	return string(k) + "_" + string(p)
}

// Prefix is "<measurement>,<tags> " for st's readings of period p, tag keys
// sorted as InfluxDB prefers.
func Prefix(st *station.Station, p ingest.Period) []byte {
	b := []byte(Measurement(st.Kind, p))
	b = AppendTag(b, "county", st.County)
	if st.Kind == ingest.KindWater {
		b = AppendTag(b, "river", st.River)
		b = AppendTag(b, "section", st.Section)
	}
	b = AppendTag(b, "station", st.ID)
	return append(b, ' ')
}

// AppendTag appends ",key=value" with value escaped; empty values are
// skipped because line protocol does not allow them.
func AppendTag(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',')
	b = append(b, key...)
	b = append(b, '=')
	return AppendEscaped(b, value)
}

// AppendEscaped escapes what line protocol requires in tag keys and values.
func AppendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ',', '=', ' ', '\\':
			b = append(b, '\\', c)
		case '\n', '\r':
			b = append(b, '\\', ' ') // never valid in a tag; the registry forbids it
		default:
			b = append(b, c)
		}
	}
	return b
}
