package derive

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

var cst = time.FixedZone("CST", 8*3600)

func at(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, cst) }

// point is one parsed line of line protocol.
type point struct {
	Meas   string
	Tags   map[string]string
	Fields map[string]string // raw: 12i, 1.5, true, "s"
	Time   int64
}

func (p point) has(f string) bool { _, ok := p.Fields[f]; return ok }

func (p point) int(t testing.TB, f string) int64 {
	t.Helper()
	raw, ok := p.Fields[f]
	if !ok || !strings.HasSuffix(raw, "i") {
		t.Fatalf("%s %v: field %s = %q, want an integer", p.Meas, p.Tags, f, raw)
	}
	v, err := strconv.ParseInt(strings.TrimSuffix(raw, "i"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (p point) float(t testing.TB, f string) float64 {
	t.Helper()
	raw, ok := p.Fields[f]
	if !ok {
		t.Fatalf("%s %v @%v: no field %s (have %v)", p.Meas, p.Tags, time.Unix(0, p.Time).In(cst), f, p.Fields)
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		t.Fatalf("field %s = %q: %v", f, raw, err)
	}
	return v
}

func (p point) str(t testing.TB, f string) string {
	t.Helper()
	raw, ok := p.Fields[f]
	if !ok || len(raw) < 2 || raw[0] != '"' {
		t.Fatalf("%s %v: field %s = %q, want a string", p.Meas, p.Tags, f, raw)
	}
	s, err := strconv.Unquote(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (p point) bool(t testing.TB, f string) bool {
	t.Helper()
	raw := p.Fields[f]
	if raw != "true" && raw != "false" {
		t.Fatalf("%s %v: field %s = %q, want a bool", p.Meas, p.Tags, f, raw)
	}
	return raw == "true"
}

// splitUnescaped splits s at sep outside escapes and double quotes.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func parseLine(t testing.TB, line string) point {
	t.Helper()
	parts := splitUnescaped(line, ' ')
	if len(parts) != 3 {
		t.Fatalf("bad line %q", line)
	}
	head := splitUnescaped(parts[0], ',')
	p := point{Meas: head[0], Tags: map[string]string{}, Fields: map[string]string{}}
	prev := ""
	for _, kv := range head[1:] {
		k, v, _ := strings.Cut(kv, "=")
		if k <= prev {
			t.Fatalf("tags not sorted in %q", line)
		}
		prev = k
		p.Tags[unescape(k)] = unescape(v)
	}
	for _, kv := range splitUnescaped(parts[1], ',') {
		k, v, _ := strings.Cut(kv, "=")
		p.Fields[k] = v
	}
	ts, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		t.Fatalf("bad timestamp in %q", line)
	}
	p.Time = ts
	return p
}

// store plays InfluxDB: a point replaces the fields it carries of the
// point with the same measurement, tags and time.
type store struct {
	mu      sync.Mutex
	t       testing.TB
	points  map[string]*point
	writes  []point // every point, in emission order
	batches int
}

func newStore(t testing.TB) *store { return &store{t: t, points: map[string]*point{}} }

func seriesKey(meas string, tags map[string]string, ts int64) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(meas)
	for _, k := range keys {
		fmt.Fprintf(&b, ",%s=%s", k, tags[k])
	}
	fmt.Fprintf(&b, " %d", ts)
	return b.String()
}

func (s *store) emit(lp []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches++
	text := string(lp)
	if !strings.HasSuffix(text, "\n") {
		s.t.Errorf("batch does not end with a newline: %q", text)
	}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		p := parseLine(s.t, line)
		s.writes = append(s.writes, p)
		k := seriesKey(p.Meas, p.Tags, p.Time)
		if old, ok := s.points[k]; ok {
			for f, v := range p.Fields {
				old.Fields[f] = v
			}
			continue
		}
		cp := p
		cp.Fields = map[string]string{}
		for f, v := range p.Fields {
			cp.Fields[f] = v
		}
		s.points[k] = &cp
	}
}

// get returns the stored point of a measurement with the given tags (a
// subset) at time ts, or false.
func (s *store) get(meas string, ts time.Time, tags ...string) (point, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []point
	for _, p := range s.points {
		if p.Meas != meas || p.Time != ts.UnixNano() || !matchTags(p.Tags, tags) {
			continue
		}
		found = append(found, *p)
	}
	if len(found) > 1 {
		s.t.Fatalf("%d %s points at %v with %v", len(found), meas, ts, tags)
	}
	if len(found) == 0 {
		return point{}, false
	}
	return found[0], true
}

func (s *store) must(meas string, ts time.Time, tags ...string) point {
	s.t.Helper()
	p, ok := s.get(meas, ts, tags...)
	if !ok {
		s.t.Fatalf("no %s point at %v with %v", meas, ts.In(cst), tags)
	}
	return p
}

// all returns the stored points of a measurement with the given tags,
// by time.
func (s *store) all(meas string, tags ...string) []point {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []point
	for _, p := range s.points {
		if p.Meas == meas && matchTags(p.Tags, tags) {
			out = append(out, *p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time < out[j].Time })
	return out
}

// writesOf counts the emitted points of a measurement with the tags at ts.
func (s *store) writesOf(meas string, ts time.Time, tags ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.writes {
		if p.Meas == meas && p.Time == ts.UnixNano() && matchTags(p.Tags, tags) {
			n++
		}
	}
	return n
}

func matchTags(have map[string]string, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		if have[want[i]] != want[i+1] {
			return false
		}
	}
	return true
}

// rig is a Deriver with a fake wall clock and a store.
type rig struct {
	t    testing.TB
	d    *Deriver
	s    *store
	now  time.Time
	mu   sync.Mutex
	stns map[string]*station.Station
}

func airStation(id string, interval time.Duration) *station.Station {
	return &station.Station{ID: id, Kind: ingest.KindAir, County: "Hetang", Interval: interval}
}

func waterStation(id, target, waterbody string) *station.Station {
	return &station.Station{ID: id, Kind: ingest.KindWater, County: "Lusong", River: "湘江", Section: "枫溪 断面",
		Waterbody: waterbody, TargetClass: target, Interval: 4 * time.Hour}
}

func newRig(t testing.TB, cfg Config, now time.Time, stations ...*station.Station) *rig {
	t.Helper()
	r := &rig{t: t, s: newStore(t), now: now, stns: map[string]*station.Station{}}
	d, err := New(cfg, stations, r.s.emit, func() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.now })
	if err != nil {
		t.Fatal(err)
	}
	r.d = d
	for _, st := range stations {
		r.stns[st.ID] = st
	}
	return r
}

func (r *rig) setNow(t time.Time) {
	r.mu.Lock()
	r.now = t
	r.mu.Unlock()
}

// observe feeds one reading; values are param, value pairs with an
// optional flag: "pm25", 35.0 or "pm25", 35.0, 'M'.
func (r *rig) observe(id string, ts time.Time, vals ...ingest.Value) {
	rd := &ingest.Reading{Station: id, Time: ts, Values: vals}
	r.d.Observe(r.stns[id], rd)
}

func (r *rig) tick(now time.Time) {
	r.setNow(now)
	r.d.Tick(now)
}

// settle ticks at the rig's wall clock, as the daemon does every second:
// it writes the network points that Observe deferred (networkEvery).
func (r *rig) settle() {
	r.mu.Lock()
	now := r.now
	r.mu.Unlock()
	r.d.Tick(now)
}

func nv(param string, v float64) ingest.Value {
	return ingest.Value{Param: param, V: v, Flag: ingest.FlagNormal}
}

func fv(param string, v float64, f ingest.Flag) ingest.Value {
	return ingest.Value{Param: param, V: v, Flag: f}
}
