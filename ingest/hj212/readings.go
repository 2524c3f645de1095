package hj212

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/envpipe/envpipe/ingest"
)

// Command codes (standards.md §4.5) envpipe deals with.
const (
	CNRealtime        = "2011" // real-time data upload
	CNStatus          = "2021" // equipment running status
	CNDaily           = "2031" // daily data upload; down: request daily history
	CNRunTime         = "2041" // equipment running time, daily
	CNMinute          = "2051" // minute data upload; down: request minute history
	CNHourly          = "2061" // hourly data upload; down: request hourly history
	CNRestart         = "2081" // data-logger power-on time
	CNRequestResponse = "9011" // QnRtn
	CNExecResult      = "9012" // ExeRtn
	CNNotifyResponse  = "9013"
	CNDataResponse    = "9014"
	CNHeartbeat2025   = "9015" // HJ 212-2025 heartbeat (one source, §4.11)
)

// CST is China Standard Time, UTC+8 all year: the zone DataTime and QN are
// written in unless a station's clock says otherwise. A fixed zone, so that
// no tzdata is needed.
var CST = time.FixedZone("CST", 8*60*60)

// Period is what a reading's time stands for, from the frame's CN.
type Period string

const (
	PeriodRealtime Period = "rtd"    // 2011: the instant of acquisition
	PeriodMinute   Period = "minute" // 2051: start of a minute-data interval
	PeriodHour     Period = "hour"   // 2061: start of the hour
	PeriodDay      Period = "day"    // 2031: start of the day
)

// PeriodOf returns the period of a data-upload CN and the CP suffix its
// values are taken from: Rtd for real-time data, Avg for the aggregates.
func PeriodOf(cn string) (p Period, suffix string, ok bool) {
	switch cn {
	case CNRealtime:
		return PeriodRealtime, "Rtd", true
	case CNMinute:
		return PeriodMinute, "Avg", true
	case CNHourly:
		return PeriodHour, "Avg", true
	case CNDaily:
		return PeriodDay, "Avg", true
	}
	return "", "", false
}

// Problem is one value Readings left out, and why. Problems do not fail the
// frame: the caller counts them (Reason is a metrics label) and may
// dead-letter the frame.
type Problem struct {
	Time   time.Time // the value's DataTime
	Key    string    // the factor code, or the CP key when it is not a factor's
	Reason string    // one of the Reason* problem constants
	Detail string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s %s: %s (%s)", p.Time.Format(time.DateTime), p.Key, p.Detail, p.Reason)
}

// Batch is what one data upload yields.
type Batch struct {
	Period   Period
	Readings []ingest.Reading // one per DataTime, in the CP's order; none empty
	Problems []Problem        // values left out
	// Notes are remarks on values kept: a flag outside HJ 212-2017 Table 8
	// (ReasonUnknownFlag), stored raw as a non-N flag.
	Notes []Problem
}

// Readings converts a data upload (CN 2011, 2051, 2061 or 2031) to readings
// for station: one per DataTime (groups with the same DataTime merge, as
// after reassembling a split message), each value taken from -Rtd for
// real-time data and -Avg for aggregates, its -Flag mapped to ingest.Flag
// (missing means N), and converted to the parameter's canonical unit.
//
// units overrides the unit a factor code is sent in (code → unit, as in the
// station configuration; see CheckUnits). DataTime is read in loc; nil means
// CST. For aggregates DataTime is the start of the period (standards.md §4.6),
// and so is the reading's time; Batch.Period says which period.
//
// A value that cannot be used (unknown or unsupported factor, missing or
// malformed value, flag that is not one character, unit that does not
// convert, duplicate) is left out and reported as a Problem. A value with a
// one-character flag outside Table 8 is kept with that flag (not N, so it
// is stored as flagged) and reported as a Note. The whole frame fails with ErrNotData
// for another CN and with ErrDataTime when a value has no valid DataTime.
func (f *Frame) Readings(station string, units map[string]string, loc *time.Location) (Batch, error) {
	return f.readings(station, units, loc, ingest.Params)
}

// factorFields gathers one factor's fields within a DataTime group.
type factorFields struct {
	code        string
	value, flag string
	hasValue    bool
	hasFlag     bool
	dupValue    bool
	dupFlag     bool
}

type dataGroup struct {
	t       time.Time
	factors []factorFields
	index   map[string]int // code → position in factors, once there are more than linearLookup
}

// linearLookup is the most entries (factors in a group, DataTime groups in a
// frame) searched one by one: faster than a map for the dozen factors of a
// normal upload, quadratic for the many thousands a reassembled message can
// hold.
const linearLookup = 32

// timeKey identifies an instant as time.Time.Equal does, for a map.
type timeKey struct {
	sec  int64
	nsec int
}

// readings is Readings with the parameter catalogue passed in, so that tests
// can exercise parameters ingest does not have yet.
func (f *Frame) readings(station string, units map[string]string, loc *time.Location, params map[string]ingest.Param) (Batch, error) {
	period, suffix, ok := PeriodOf(f.CN)
	if !ok {
		return Batch{}, fmt.Errorf("%w: CN=%s", ErrNotData, f.CN)
	}
	if loc == nil {
		loc = CST
	}
	b := Batch{Period: period}
	var groups []dataGroup
	var byTime map[timeKey]int // group by time, once there are more than linearLookup
	cur := -1
	for _, it := range f.CP {
		for _, fl := range it {
			if fl.Key == "DataTime" {
				t, err := ParseDataTime(fl.Value, loc)
				if err != nil {
					return Batch{}, err
				}
				cur = -1
				tk := timeKey{t.Unix(), t.Nanosecond()}
				if byTime != nil {
					if i, ok := byTime[tk]; ok {
						cur = i
					}
				} else {
					for i := range groups {
						if groups[i].t.Equal(t) {
							cur = i
						}
					}
				}
				if cur < 0 {
					g := dataGroup{t: t}
					if len(groups) == 0 {
						// Most uploads have one group: size it once. Later
						// groups grow as needed, or a CP of n items with n
						// DataTimes would take n² memory.
						g.factors = make([]factorFields, 0, len(f.CP))
					}
					groups = append(groups, g)
					cur = len(groups) - 1
					if byTime == nil && len(groups) > linearLookup {
						byTime = make(map[timeKey]int, 2*len(groups))
						for i := range groups {
							byTime[timeKey{groups[i].t.Unix(), groups[i].t.Nanosecond()}] = i
						}
					} else if byTime != nil {
						byTime[tk] = cur
					}
				}
				continue
			}
			code, sfx, isFactor := strings.Cut(fl.Key, "-")
			if !isFactor {
				var t time.Time
				if cur >= 0 {
					t = groups[cur].t
				}
				b.Problems = append(b.Problems, Problem{t, fl.Key, ReasonUnknownField, "not a factor value"})
				continue
			}
			if cur < 0 {
				return Batch{}, fmt.Errorf("%w: %s before any DataTime", ErrDataTime, fl.Key)
			}
			g := &groups[cur]
			ff := g.factor(code)
			switch sfx {
			case suffix:
				if ff.hasValue {
					ff.dupValue = ff.dupValue || fl.Value != ff.value
				} else {
					ff.value, ff.hasValue = fl.Value, true
				}
			case "Flag":
				if ff.hasFlag {
					ff.dupFlag = ff.dupFlag || fl.Value != ff.flag
				} else {
					ff.flag, ff.hasFlag = fl.Value, true
				}
			}
			// Other suffixes (Min, Max, Cou, EFlag, SampleTime, Zs…) are not
			// what envpipe stores; they still register the factor above, so
			// an unknown code is reported even if it has no value.
		}
	}
	for _, g := range groups {
		r := ingest.Reading{Station: station, Time: g.t, Values: make([]ingest.Value, 0, len(g.factors))}
		for _, ff := range g.factors {
			v, p, note := convert(ff, units, params)
			if p != nil {
				p.Time, p.Key = g.t, ff.code
				b.Problems = append(b.Problems, *p)
				continue
			}
			if note != nil {
				note.Time, note.Key = g.t, ff.code
				b.Notes = append(b.Notes, *note)
			}
			if prev, dup := r.Get(v.Param); dup {
				b.Problems = append(b.Problems, Problem{g.t, ff.code, ReasonDuplicate,
					fmt.Sprintf("second value for %s (first %g)", v.Param, prev.V)})
				continue
			}
			r.Values = append(r.Values, v)
		}
		if len(r.Values) > 0 {
			b.Readings = append(b.Readings, r)
		}
	}
	return b, nil
}

func (g *dataGroup) factor(code string) *factorFields {
	if g.index != nil {
		if i, ok := g.index[code]; ok {
			return &g.factors[i]
		}
		g.index[code] = len(g.factors)
	} else {
		for i := range g.factors {
			if g.factors[i].code == code {
				return &g.factors[i]
			}
		}
		if len(g.factors) == linearLookup {
			g.index = make(map[string]int, 4*linearLookup)
			for i := range g.factors {
				g.index[g.factors[i].code] = i
			}
			g.index[code] = len(g.factors)
		}
	}
	g.factors = append(g.factors, factorFields{code: code})
	return &g.factors[len(g.factors)-1]
}

// keepableFlag reports whether a -Flag can be stored as it is: one printable
// ASCII character that needs no escaping in a line-protocol string field.
func keepableFlag(s string) bool {
	return len(s) == 1 && s[0] > ' ' && s[0] < 0x7f && s[0] != '"' && s[0] != '\\'
}

// convert turns one factor's fields into a value, or says why it cannot
// (problem); note is a remark on a value kept (an unknown flag).
func convert(ff factorFields, units map[string]string, params map[string]ingest.Param) (v ingest.Value, problem, note *Problem) {
	fac, ok := factors[ff.code]
	if !ok {
		return ingest.Value{}, &Problem{Reason: ReasonUnknownFactor, Detail: "factor code not in the HJ 212 table"}, nil
	}
	param, ok := params[fac.Param]
	if !ok {
		return ingest.Value{}, &Problem{Reason: ReasonUnsupportedFactor,
			Detail: fmt.Sprintf("%s has no envpipe parameter (would be %q)", fac.Name, fac.Param)}, nil
	}
	switch {
	case !ff.hasValue:
		return ingest.Value{}, &Problem{Reason: ReasonMissingValue, Detail: "no value of the kind the CN calls for"}, nil
	case ff.dupValue || ff.dupFlag:
		return ingest.Value{}, &Problem{Reason: ReasonDuplicate, Detail: "factor given twice with different values"}, nil
	}
	x, err := parseDecimal(ff.value)
	if err != nil {
		return ingest.Value{}, &Problem{Reason: ReasonBadValue, Detail: fmt.Sprintf("value %q", ff.value)}, nil
	}
	flag := ingest.FlagNormal
	if ff.hasFlag {
		if !keepableFlag(ff.flag) {
			return ingest.Value{}, &Problem{Reason: ReasonUnknownFlag, Detail: fmt.Sprintf("flag %q is not one printable character that can be stored", ff.flag)}, nil
		}
		flag = ingest.Flag(ff.flag[0])
		if !ingest.ValidFlag(flag) {
			// HJ/T 212-2005's P and 0–3, vendor flags (H, L, ], …): not N,
			// so the value is stored flagged with the raw flag, and kept
			// out of compliance figures and alerts (standards.md §4.7).
			note = &Problem{Reason: ReasonUnknownFlag, Detail: fmt.Sprintf("flag %q is not in HJ 212-2017 Table 8; value kept as flagged", ff.flag)}
		}
	}
	from := fac.Unit
	if u, ok := units[ff.code]; ok {
		from = u
	}
	cv, err := ConvertUnit(x, from, param.Unit)
	if err != nil {
		return ingest.Value{}, &Problem{Reason: ReasonBadUnit, Detail: err.Error()}, nil
	}
	// parseDecimal refused non-finite input, but scaling can still overflow.
	if math.IsInf(cv, 0) || math.IsNaN(cv) {
		return ingest.Value{}, &Problem{Reason: ReasonBadValue,
			Detail: fmt.Sprintf("value %q %s is not finite in %s", ff.value, from, param.Unit)}, nil
	}
	pid, _, _ := ingest.LookupParam(fac.Param)
	return ingest.Value{Param: fac.Param, V: cv, Flag: flag, PID: pid}, nil, note
}

// parseDecimal accepts a plain decimal number, optionally signed and with an
// exponent: what HJ 212 data fields hold. strconv.ParseFloat alone would also
// take "NaN", "Inf", hex floats and underscores.
func parseDecimal(s string) (float64, error) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return 0, fmt.Errorf("not a number: %q", s)
		}
	}
	if i != len(s) {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, fmt.Errorf("not a finite number: %q", s)
	}
	return v, nil
}

// dataTimeLayout is DataTime's N14 format.
const dataTimeLayout = "20060102150405"

// ParseDataTime parses a DataTime (YYYYMMDDhhmmss) in loc, nil meaning CST.
// It also accepts the 17-digit form with milliseconds that HJ/T 212-2005
// senders use (standards.md TV7).
func ParseDataTime(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = CST
	}
	if (len(s) != 14 && len(s) != 17) || !isDigits(s) {
		return time.Time{}, fmt.Errorf("%w: %q is not YYYYMMDDhhmmss", ErrDataTime, s)
	}
	t, err := time.ParseInLocation(dataTimeLayout, s[:14], loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q: %v", ErrDataTime, s, err)
	}
	if len(s) == 17 {
		ms, _ := strconv.Atoi(s[14:])
		t = t.Add(time.Duration(ms) * time.Millisecond)
	}
	return t, nil
}

// FormatDataTime formats t as a DataTime in loc, nil meaning CST.
func FormatDataTime(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = CST
	}
	return t.In(loc).Format(dataTimeLayout)
}

// FormatQN formats t as a QN (YYYYMMDDhhmmsszzz) in loc, nil meaning CST.
func FormatQN(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = CST
	}
	t = t.In(loc)
	return t.Format(dataTimeLayout) + fmt.Sprintf("%03d", t.Nanosecond()/int(time.Millisecond))
}
