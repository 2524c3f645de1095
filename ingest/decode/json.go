package decode

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fastjson"

	"github.com/envpipe/envpipe/ingest"
)

// DefaultMaxReadings bounds the length of an array payload.
const DefaultMaxReadings = 1000

// Result is what one payload decoded into. Readings whose values were all
// rejected are not in Readings.
type Result struct {
	Readings []ingest.Reading
	Rejects  []ingest.Reject
	// Dropped is earlier input the decoder gave up on while decoding this
	// payload (the packets of an HJ 212 split message that never completed,
	// each acknowledged when it came): the pipeline counts and dead-letters
	// each with its own payload.
	Dropped []Dropped
	// Keep, when not nil, makes the ack wait for a copy the decoder keeps
	// of this payload outside the WAL (the packet of an HJ 212 split
	// message, held until its message is complete): the pipeline calls it
	// once, and acks the message only after done reported nil, in arrival
	// order as always. done(err) stops all acks, as a failed WAL write does.
	Keep func(done func(error))
	// Acked, when not nil, is called right after the message's ack, when
	// everything before it is durable in the WAL too.
	Acked func()
}

// Dropped is one earlier payload given up on, and why.
type Dropped struct {
	Reject  ingest.Reject
	Payload []byte
}

// Decoder decodes JSON payloads. The zero value is ready to use.
type Decoder struct {
	// MaxReadings bounds an array payload; 0 means DefaultMaxReadings.
	MaxReadings int

	p      fastjson.Parser
	values []ingest.Value // backing store for every reading's Values
	res    Result
	seen   [][]byte
}

// JSON decodes one payload: a reading object or an array of them.
func (d *Decoder) JSON(payload []byte) *Result {
	d.res.Readings = d.res.Readings[:0]
	d.res.Rejects = d.res.Rejects[:0]
	d.values = d.values[:0]

	v, err := d.p.ParseBytes(payload)
	if err != nil {
		d.reject(ingest.ReasonMalformedJSON, "", "", err.Error())
		return &d.res
	}
	switch v.Type() {
	case fastjson.TypeObject:
		d.reading(v)
	case fastjson.TypeArray:
		arr, _ := v.Array()
		max := d.MaxReadings
		if max <= 0 {
			max = DefaultMaxReadings
		}
		if len(arr) > max {
			d.reject(ingest.ReasonTooManyReadings, "", "", fmt.Sprintf("%d readings in one message, at most %d", len(arr), max))
			return &d.res
		}
		if len(arr) == 0 {
			d.reject(ingest.ReasonBadShape, "", "", "empty array")
		}
		for i, e := range arr {
			if e.Type() != fastjson.TypeObject {
				d.reject(ingest.ReasonBadShape, "", "", fmt.Sprintf("array element %d is %s, not an object", i, e.Type()))
				continue
			}
			d.reading(e)
		}
	default:
		d.reject(ingest.ReasonBadShape, "", "", fmt.Sprintf("payload is %s, not an object or array", v.Type()))
	}
	// Values were appended to d.values, which may have moved while growing:
	// point each reading at its final slice now.
	off := 0
	for i := range d.res.Readings {
		n := len(d.res.Readings[i].Values)
		d.res.Readings[i].Values = d.values[off : off+n : off+n]
		off += n
	}
	return &d.res
}

func (d *Decoder) reject(reason ingest.Reason, station, param, detail string) {
	d.res.Rejects = append(d.res.Rejects, ingest.Reject{Reason: reason, Station: station, Param: param, Detail: detail})
}

// reading decodes one reading object and appends it (or its rejection).
func (d *Decoder) reading(o *fastjson.Value) {
	obj, _ := o.Object()
	if dup := d.duplicateKey(obj); dup != "" {
		d.reject(ingest.ReasonDuplicateKey, "", "", fmt.Sprintf("key %q appears twice", dup))
		return
	}
	sv := obj.Get("station")
	if sv == nil {
		d.reject(ingest.ReasonBadShape, "", "", `missing "station"`)
		return
	}
	sb, err := sv.StringBytes()
	if err != nil {
		d.reject(ingest.ReasonBadShape, "", "", `"station" is not a string`)
		return
	}
	if !validName(sb, 64) {
		d.reject(ingest.ReasonInvalidStationID, "", "", fmt.Sprintf("station id %q", truncate(sb)))
		return
	}
	station := string(sb)

	t, reason, detail := parseTime(obj.Get("time"))
	if reason != "" {
		d.reject(reason, station, "", detail)
		return
	}

	vals := obj.Get("values")
	if vals == nil || vals.Type() != fastjson.TypeObject {
		d.reject(ingest.ReasonNoValues, station, "", `missing "values" object`)
		return
	}
	vobj, _ := vals.Object()
	if dup := d.duplicateKey(vobj); dup != "" {
		d.reject(ingest.ReasonDuplicateKey, station, "", fmt.Sprintf("values key %q appears twice", dup))
		return
	}
	flags, units, ok := d.optionalMaps(obj, station)
	if !ok {
		return
	}

	start := len(d.values)
	vobj.Visit(func(key []byte, v *fastjson.Value) {
		d.value(station, key, v, flags, units)
	})
	n := len(d.values) - start
	if n == 0 {
		if vobj.Len() == 0 {
			d.reject(ingest.ReasonNoValues, station, "", `"values" is empty`)
		}
		return
	}
	d.res.Readings = append(d.res.Readings, ingest.Reading{Station: station, Time: t, Values: d.values[start:]})
	// Values is re-pointed in JSON once all readings are decoded.
	d.res.Readings[len(d.res.Readings)-1].Values = d.values[start : start+n]
}

// optionalMaps returns the "flags" and "units" objects (nil when absent).
func (d *Decoder) optionalMaps(obj *fastjson.Object, station string) (flags, units *fastjson.Object, ok bool) {
	for _, name := range [...]string{"flags", "units"} {
		v := obj.Get(name)
		if v == nil {
			continue
		}
		o, err := v.Object()
		if err != nil {
			d.reject(ingest.ReasonBadShape, station, "", fmt.Sprintf("%q is not an object", name))
			return nil, nil, false
		}
		if dup := d.duplicateKey(o); dup != "" {
			d.reject(ingest.ReasonDuplicateKey, station, "", fmt.Sprintf("%s key %q appears twice", name, dup))
			return nil, nil, false
		}
		if name == "flags" {
			flags = o
		} else {
			units = o
		}
	}
	return flags, units, true
}

func (d *Decoder) value(station string, key []byte, v *fastjson.Value, flags, units *fastjson.Object) {
	if !validName(key, 32) {
		d.reject(ingest.ReasonInvalidParam, station, "", fmt.Sprintf("parameter name %q", truncate(key)))
		return
	}
	pid, p, known := ingest.LookupParam(string(key))
	if !known {
		d.reject(ingest.ReasonUnknownParam, station, string(key), "")
		return
	}
	if v.Type() != fastjson.TypeNumber {
		d.reject(ingest.ReasonNotNumeric, station, p.Name, fmt.Sprintf("value is %s", v.Type()))
		return
	}
	f, err := v.Float64()
	if err != nil {
		d.reject(ingest.ReasonNotNumeric, station, p.Name, err.Error())
		return
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.reject(ingest.ReasonNotFinite, station, p.Name, "")
		return
	}
	if units != nil {
		if u := units.Get(p.Name); u != nil {
			ub, err := u.StringBytes()
			if err != nil {
				d.reject(ingest.ReasonBadUnit, station, p.Name, "unit is not a string")
				return
			}
			g, ok := convert(f, string(ub), p)
			if !ok {
				d.reject(ingest.ReasonBadUnit, station, p.Name, fmt.Sprintf("cannot convert %q to %s", truncate(ub), p.Unit))
				return
			}
			// A finite value can overflow when scaled up.
			if math.IsInf(g, 0) || math.IsNaN(g) {
				d.reject(ingest.ReasonNotFinite, station, p.Name, fmt.Sprintf("%g %s is not finite in %s", f, truncate(ub), p.Unit))
				return
			}
			f = g
		}
	}
	flag := ingest.FlagNormal
	if flags != nil {
		if fv := flags.Get(p.Name); fv != nil {
			fb, err := fv.StringBytes()
			if err != nil || len(fb) != 1 || !ingest.ValidFlag(ingest.Flag(fb[0])) {
				d.reject(ingest.ReasonBadFlag, station, p.Name, "flag must be one of N F M S D C T B")
				return
			}
			flag = ingest.Flag(fb[0])
		}
	}
	d.values = append(d.values, ingest.Value{Param: p.Name, V: f, Flag: flag, PID: pid})
}

// linearKeys is the largest object whose keys duplicateKey compares pair by
// pair: faster than sorting for the few keys of a normal reading, quadratic
// for the thousands a hostile payload can hold.
const linearKeys = 32

// duplicateKey returns a key that appears twice in o, or "".
func (d *Decoder) duplicateKey(o *fastjson.Object) string {
	d.seen = d.seen[:0]
	dup := ""
	if o.Len() > linearKeys {
		o.Visit(func(key []byte, _ *fastjson.Value) { d.seen = append(d.seen, key) })
		slices.SortFunc(d.seen, bytes.Compare)
		for i := 1; i < len(d.seen); i++ {
			if bytes.Equal(d.seen[i-1], d.seen[i]) {
				dup = string(d.seen[i])
				break
			}
		}
		d.seen = d.seen[:0]
		return dup
	}
	o.Visit(func(key []byte, _ *fastjson.Value) {
		if dup != "" {
			return
		}
		for _, k := range d.seen {
			if string(k) == string(key) {
				dup = string(key)
				return
			}
		}
		d.seen = append(d.seen, key)
	})
	d.seen = d.seen[:0]
	return dup
}

// Integer times in [unixSecondsMin, unixSecondsMax) are Unix seconds from
// 2001 to 2286 sent where milliseconds belong.
const (
	unixSecondsMin = 1_000_000_000
	unixSecondsMax = 10_000_000_000
)

// parseTime accepts RFC 3339 (any offset) or integer Unix milliseconds.
func parseTime(v *fastjson.Value) (time.Time, ingest.Reason, string) {
	if v == nil {
		return time.Time{}, ingest.ReasonBadTime, `missing "time"`
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		t, err := time.Parse(time.RFC3339Nano, string(b))
		if err != nil {
			return time.Time{}, ingest.ReasonBadTime, fmt.Sprintf("time %q is not RFC 3339", truncate(b))
		}
		return t, "", ""
	case fastjson.TypeNumber:
		ms, err := v.Int64()
		if err != nil {
			return time.Time{}, ingest.ReasonBadTime, "time is not an integer of Unix milliseconds"
		}
		if ms >= unixSecondsMin && ms < unixSecondsMax {
			// As milliseconds a date in early 1970, which the validator
			// would refuse as too old without saying why.
			return time.Time{}, ingest.ReasonTimeTooOld, fmt.Sprintf("time %d is %s as Unix milliseconds: looks like Unix seconds; time must be RFC 3339 or Unix milliseconds",
				ms, time.UnixMilli(ms).UTC().Format(time.RFC3339))
		}
		return time.UnixMilli(ms), "", ""
	}
	return time.Time{}, ingest.ReasonBadTime, fmt.Sprintf("time is %s", v.Type())
}

// validName allows what is safe as a tag value, field key and topic level.
func validName(b []byte, max int) bool {
	if len(b) == 0 || len(b) > max {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

// truncate keeps details short and printable in logs and dead letters.
func truncate(b []byte) string {
	const max = 64
	if len(b) > max {
		return strconv.Quote(string(b[:max]))[1:] + "…"
	}
	return string(b)
}
