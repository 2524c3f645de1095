package main

// The JSON payload of DESIGN.md ("JSON payload"):
//
//	{"station":"zz-air-0101","time":"2026-11-28T09:00:00+08:00",
//	 "values":{"pm25":38.2,...},"flags":{"pm10":"D"}}
//
// or an array of such objects. Written by hand, in parameter order, because
// a load test encodes hundreds of thousands of them.

import (
	"strconv"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/internal/jsonstr"
)

// encodeMessage returns the payload for one reading (a JSON object) or for
// several (a JSON array of objects).
func encodeMessage(rs []ingest.Reading) []byte {
	b := make([]byte, 0, 320*len(rs))
	if len(rs) == 1 {
		return appendReading(b, &rs[0])
	}
	b = append(b, '[')
	for i := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendReading(b, &rs[i])
	}
	return append(b, ']')
}

// appendReading appends r as a JSON object: time in RFC 3339 with the +08:00
// offset, values in the canonical units, flags only for values whose flag is
// not N.
func appendReading(b []byte, r *ingest.Reading) []byte {
	b = append(b, `{"station":`...)
	b = jsonstr.Append(b, r.Station)
	b = append(b, `,"time":"`...)
	b = r.Time.In(cst).AppendFormat(b, time.RFC3339Nano) // fractions only when not whole seconds
	b = append(b, `","values":{`...)
	for i, v := range r.Values {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, v.Param)
		b = append(b, ':')
		b = strconv.AppendFloat(b, v.V, 'f', -1, 64)
	}
	b = append(b, '}')
	first := true
	for _, v := range r.Values {
		if v.Flag == ingest.FlagNormal || v.Flag == 0 {
			continue
		}
		if first {
			b = append(b, `,"flags":{`...)
			first = false
		} else {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, v.Param)
		b = append(b, ':', '"', byte(v.Flag), '"')
	}
	if !first {
		b = append(b, '}')
	}
	return append(b, '}')
}
