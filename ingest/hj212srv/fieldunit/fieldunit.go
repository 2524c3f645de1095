// Package fieldunit is the station side of HJ 212: a field unit (the data
// logger, 数采仪) that builds data uploads from readings, keeps a history of
// minute, hourly and daily data, and answers a centre's history requests
// (2051/2061/2031 with BeginTime and EndTime) over a TCP session: 9011
// QnRtn=1, the stored data as ordinary upload frames, then 9012.
//
// It exists for envpipe's tests and for stationsim; it is not a device
// driver. Values are kept in envpipe's canonical units and converted to
// each factor code's HJ 212 unit when a frame is built.
package fieldunit

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/hj212"
)

// Unit is one station's field unit. Set the exported fields before use; the
// methods are safe for concurrent use.
type Unit struct {
	MN string // device ID, the station's hj212_mn
	PW string // access password, the station's hj212_password
	ST string // system code: "22" ambient air, "21" surface water
	// Version goes into the Flag's version bits (hj212.Version2017 = 1).
	Version hj212.Version
	// AckUploads sets the A bit on uploads, asking the centre for a 9014.
	AckUploads bool
	// Loc is the zone of DataTime and QN; nil means CST.
	Loc *time.Location
	// Units overrides the unit a factor code is sent in (code → unit), as
	// the station's hj212_units tells the centre.
	Units map[string]string

	mu     sync.Mutex
	hist   map[string][]Record // by CN, sorted by time
	lastQN time.Time
}

// Record is one data point: its DataTime (for aggregates the start of the
// period) and its values in envpipe's canonical units.
type Record struct {
	Time   time.Time
	Values []ingest.Value
}

// New returns a unit for an HJ 212-2017 station that asks for answers.
func New(mn, pw, st string) *Unit {
	return &Unit{MN: mn, PW: pw, ST: st, Version: hj212.Version2017, AckUploads: true}
}

// Store keeps r in the history of cn (hj212.CNMinute, CNHourly or CNDaily),
// replacing a record with the same time.
func (u *Unit) Store(cn string, r Record) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.hist == nil {
		u.hist = map[string][]Record{}
	}
	h := u.hist[cn]
	i := sort.Search(len(h), func(i int) bool { return !h[i].Time.Before(r.Time) })
	if i < len(h) && h[i].Time.Equal(r.Time) {
		h[i] = r
		return
	}
	h = append(h, Record{})
	copy(h[i+1:], h[i:])
	h[i] = r
	u.hist[cn] = h
}

// History returns the records of cn whose time is in [begin, end].
func (u *Unit) History(cn string, begin, end time.Time) []Record {
	u.mu.Lock()
	defer u.mu.Unlock()
	h := u.hist[cn]
	i := sort.Search(len(h), func(i int) bool { return !h[i].Time.Before(begin) })
	j := sort.Search(len(h), func(i int) bool { return h[i].Time.After(end) })
	if i >= j {
		return nil
	}
	return append([]Record(nil), h[i:j]...)
}

// Len returns the number of records of cn.
func (u *Unit) Len(cn string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.hist[cn])
}

// Upload returns the frame, CR LF included, that uploads r as cn
// (hj212.CNRealtime, CNMinute, CNHourly or CNDaily).
func (u *Unit) Upload(cn string, r Record) ([]byte, error) {
	f, err := u.Frame(cn, r)
	if err != nil {
		return nil, err
	}
	return f.Encode()
}

// Frame builds the upload of r as cn: DataTime, then per value
// "<code>-Rtd" (real-time) or "<code>-Avg" (aggregates) and "<code>-Flag".
// A parameter with no factor code fails.
func (u *Unit) Frame(cn string, r Record) (*hj212.Frame, error) {
	_, suffix, ok := hj212.PeriodOf(cn)
	if !ok {
		return nil, fmt.Errorf("fieldunit: CN %q is not a data upload", cn)
	}
	cp := make(hj212.CP, 0, 1+len(r.Values))
	cp = append(cp, hj212.Item{{Key: "DataTime", Value: hj212.FormatDataTime(r.Time, u.Loc)}})
	for _, v := range r.Values {
		code, unit, ok := Code(v.Param)
		if !ok {
			return nil, fmt.Errorf("fieldunit: no HJ 212 factor code for %q", v.Param)
		}
		if x, ok := u.Units[code]; ok {
			unit = x
		}
		x, err := hj212.ConvertUnit(v.V, ingest.Params[v.Param].Unit, unit)
		if err != nil {
			return nil, fmt.Errorf("fieldunit: %s: %w", v.Param, err)
		}
		flag := v.Flag
		if flag == 0 {
			flag = ingest.FlagNormal
		}
		cp = append(cp, hj212.Item{
			{Key: code + "-" + suffix, Value: formatValue(x)},
			{Key: code + "-Flag", Value: string(rune(flag))},
		})
	}
	var bits hj212.Flag
	if u.AckUploads {
		bits = hj212.FlagAck
	}
	return &hj212.Frame{QN: u.nextQN(), ST: u.ST, CN: cn, PW: u.PW, MN: u.MN,
		Flag: hj212.MakeFlag(u.Version, bits), HasFlag: true, CP: cp}, nil
}

// formatValue writes x as a plain decimal, rounded to 6 decimals so that a
// unit conversion leaves no binary noise (101.32, not 101.32000000000001).
func formatValue(x float64) string {
	r := math.Round(x*1e6) / 1e6
	if math.Abs(r) >= 1e15 {
		r = x
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// nextQN returns a QN for now, later than every QN this unit gave before.
func (u *Unit) nextQN() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	if !now.After(u.lastQN) {
		now = u.lastQN.Add(time.Millisecond)
	}
	u.lastQN = now.Truncate(time.Millisecond)
	return hj212.FormatQN(u.lastQN, u.Loc)
}

// codes maps a parameter to the HJ 212-2017 factor code that carries it,
// and that code's unit: the first code (in code order) of the codec's table,
// leaving out the HJ/T 212-2005 codes.
var codes = func() map[string][2]string {
	m := map[string][2]string{}
	for _, f := range hj212.Factors() {
		if f.Param == "" || len(f.Code) == 0 || f.Code[0] < 'a' || f.Code[0] > 'z' {
			continue
		}
		if _, ok := m[f.Param]; !ok {
			m[f.Param] = [2]string{f.Code, f.Unit}
		}
	}
	return m
}()

// Code returns the factor code a field unit sends param as, and the unit of
// the values under that code.
func Code(param string) (code, unit string, ok bool) {
	c, ok := codes[param]
	return c[0], c[1], ok
}

// Mean aggregates records into one record at t: per parameter the mean of
// its values flagged N (flag N), or when none is, the mean of all of them
// with the first record's flag.
func Mean(t time.Time, records []Record) Record {
	type acc struct {
		sumN, sumAll float64
		nN, nAll     int
		flag         ingest.Flag
	}
	var order []string
	accs := map[string]*acc{}
	for _, r := range records {
		for _, v := range r.Values {
			a := accs[v.Param]
			if a == nil {
				a = &acc{flag: v.Flag}
				accs[v.Param] = a
				order = append(order, v.Param)
			}
			a.sumAll += v.V
			a.nAll++
			if v.Flag == ingest.FlagNormal || v.Flag == 0 {
				a.sumN += v.V
				a.nN++
			}
		}
	}
	out := Record{Time: t, Values: make([]ingest.Value, 0, len(order))}
	for _, p := range order {
		a := accs[p]
		v := ingest.Value{Param: p, V: a.sumAll / float64(a.nAll), Flag: a.flag}
		if a.nN > 0 {
			v.V, v.Flag = a.sumN/float64(a.nN), ingest.FlagNormal
		}
		out.Values = append(out.Values, v)
	}
	return out
}
