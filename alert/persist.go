package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/envpipe/envpipe/alert/waterclass"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/internal/jsonstr"
)

// The state file (Config.StateFile) holds the pending and firing alerts;
// it is rewritten at every transition, before notifiers hear of it, so a
// crash never forgets an alert that was paged. The windows file beside it
// (StateFile + ".windows") holds the rolling windows, the year-to-date
// accumulators and the recent-readings memory; it is rewritten every
// state_interval and at shutdown, so a crash loses at most state_interval
// of window data (readings acknowledged in that time are not redelivered).
// Both are JSON, written to a temporary file, fsynced and renamed.

const stateVersion = 1

type store struct {
	path string
}

func (s *store) windowsPath() string { return s.path + ".windows" }

func (s *store) saveAlerts(data []byte) error { return writeAtomic(s.path, data) }

// writeAtomic replaces path with data: temporary file, fsync, rename,
// fsync of the directory.
func writeAtomic(path string, data []byte) error {
	return writeAtomicFunc(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomicFunc replaces path with what write writes, as writeAtomic.
func writeAtomicFunc(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// jfloat is a float64 that encodes NaN and ±Inf as null.
type jfloat float64

func (f jfloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return []byte(formatFloat(v)), nil
}

func (f *jfloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = jfloat(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = jfloat(v)
	return nil
}

type savedAlerts struct {
	Version int          `json:"version"`
	Saved   time.Time    `json:"saved"`
	Alerts  []savedAlert `json:"alerts"`
	// Told is each teller's memory by TellerKey: what its receiver was
	// told. Always written (maybe empty), so that its absence marks a
	// file of an envpipe that kept no such memory.
	Told map[string][]savedTold `json:"told"`
	// Ends are the ends some receiver was still owed (endsBook).
	Ends []savedEnd `json:"ends,omitempty"`
}

type savedEnd struct {
	At           time.Time         `json:"at"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"starts_at"`
	EndsAt       time.Time         `json:"ends_at"`
	GeneratorURL string            `json:"generator_url,omitempty"`
	Value        jfloat            `json:"value"`
	Limit        jfloat            `json:"limit"`
}

func savedEnds(ends []sentEnd) []savedEnd {
	out := make([]savedEnd, 0, len(ends))
	for _, x := range ends {
		n := &x.n
		out = append(out, savedEnd{At: x.at, Labels: n.Labels, Annotations: n.Annotations, StartsAt: n.StartsAt,
			EndsAt: n.EndsAt, GeneratorURL: n.GeneratorURL, Value: jfloat(n.Value), Limit: jfloat(n.Limit)})
	}
	return out
}

type savedTold struct {
	Fingerprint string    `json:"fingerprint"`
	StartsAt    time.Time `json:"starts_at"`
	Resolved    bool      `json:"resolved,omitempty"`
	At          time.Time `json:"at"`
}

type savedAlert struct {
	Rule        string    `json:"rule"`
	Station     string    `json:"station"`
	Param       string    `json:"param,omitempty"`
	Severity    string    `json:"severity"`
	State       string    `json:"state"`
	ActiveAt    time.Time `json:"active_at"`
	FiredAt     time.Time `json:"fired_at,omitzero"`
	EvalAt      time.Time `json:"eval_at"`
	Value       jfloat    `json:"value"`
	Limit       jfloat    `json:"limit"`
	Threshold   jfloat    `json:"threshold"`
	Ratio       jfloat    `json:"ratio"`
	Sent        bool      `json:"sent"`
	Flag        string    `json:"flag,omitempty"`
	Class       int       `json:"class,omitempty"`
	TargetClass int       `json:"target_class,omitempty"`
	LastSeen    time.Time `json:"last_seen,omitzero"`
}

type savedWindows struct {
	Version int       `json:"version"`
	Saved   time.Time `json:"saved"`
	// ParamBits names the bits of savedRecent.Params, so that a file
	// reads right whatever the catalogue's order.
	ParamBits []string      `json:"param_bits,omitempty"`
	Series    []savedSeries `json:"series"`
	Recent    []savedRecent `json:"recent,omitempty"`
}

type savedSeries struct {
	Station string       `json:"station"`
	Param   string       `json:"param"`
	Width   int64        `json:"width,omitempty"`
	Cur     int64        `json:"cur,omitempty"`
	LastT   time.Time    `json:"last_t"`
	Buckets [][3]float64 `json:"buckets,omitempty"` // index, sum, n
	YTD     *savedYTD    `json:"ytd,omitempty"`
}

type savedYTD struct {
	Year     int     `json:"year"`
	SumMeans float64 `json:"sum_means"`
	Days     int     `json:"days"`
	Day      int64   `json:"day"`
	// Hours are the open day's hours that have values. Older files have
	// the day's sum and count instead, which say nothing of its hours:
	// that day starts empty (one day of the year's mean).
	Hours []savedHour `json:"hours,omitempty"`
}

type savedHour struct {
	Hour int     `json:"hour"`
	Sum  float64 `json:"sum"`
	N    int64   `json:"n"`
	Mask uint64  `json:"mask"`
}

type savedRecent struct {
	Station string   `json:"station"`
	Times   []int64  `json:"times"`
	Periods []string `json:"periods"`
	// Params are the parameters counted at each time and period, as bits
	// (savedWindows.ParamBits); absent in older files, which count every
	// parameter of a time and period once.
	Params []uint32 `json:"params,omitempty"`
	N      int      `json:"n"`
	// Arrived is the wall time of the station's latest reading, so that
	// its silence counts from there after a restart (stale rules).
	Arrived time.Time `json:"arrived,omitzero"`
}

// snapshotAlerts returns the state file's alerts (under e.mu) and, when
// some notifier is a teller, the fingerprints of those alerts.
func (e *Engine) snapshotAlerts(now time.Time) (savedAlerts, map[string]bool) {
	out := savedAlerts{Version: stateVersion, Saved: now.UTC(), Alerts: []savedAlert{}}
	var active map[string]bool
	for _, w := range e.disp.workers {
		if w.teller != nil {
			active = map[string]bool{}
			break
		}
	}
	for _, a := range e.alerts {
		if a.State != StatePending && a.State != StateFiring {
			continue
		}
		if active != nil {
			active[fingerprint(a.Labels)] = true
		}
		sa := savedAlert{Rule: a.Rule, Station: a.Station, Param: a.Param, Severity: a.Severity,
			State: a.State.String(), ActiveAt: a.ActiveAt, FiredAt: a.FiredAt, EvalAt: a.EvalAt,
			Value: jfloat(a.Value), Limit: jfloat(a.Limit), Threshold: jfloat(a.Threshold), Ratio: jfloat(a.Ratio),
			Sent: a.Sent, Class: int(a.Class), TargetClass: int(a.TargetClass), LastSeen: a.LastSeen}
		if a.Flag != 0 {
			sa.Flag = string(rune(a.Flag))
		}
		out.Alerts = append(out.Alerts, sa)
	}
	return out, active
}

// addTold adds the tellers' memories (by TellerKey) to out. Only what
// still matters is kept: ends (a teller forgets them after a day) and
// alerts still pending or firing, so that the file does not grow with
// alerts that ended untold (send_resolved off).
func addTold(out *savedAlerts, told map[string][]Told, active map[string]bool) {
	out.Told = make(map[string][]savedTold, len(told))
	for key, mem := range told {
		list := []savedTold{}
		for _, t := range mem {
			if t.Resolved || active[t.Fingerprint] {
				list = append(list, savedTold{Fingerprint: t.Fingerprint, StartsAt: t.StartsAt, Resolved: t.Resolved, At: t.At})
			}
		}
		out.Told[key] = list
	}
}

func marshalState(s savedAlerts) []byte {
	b, _ := json.Marshal(s)
	return b
}

// windowsChunk is how many stations a windows save encodes per hold of e.mu.
// The windows of 10 000 stations after a day of minute data are about
// 100 MB of JSON and take about a second to encode: under one hold that
// stopped Observe, hence ingestion, for that second at every save, and
// the whole file sat in the heap. 32 stations take a few milliseconds.
const windowsChunk = 32

// writeWindows writes the windows file to w, series by series, a chunk of
// stations at a time: each chunk is encoded under e.mu into a buffer that
// is written out after the lock is released. A station's series are
// consistent with each other; the file as a whole is not a snapshot of one
// instant, which restoring windows does not need (each series carries its
// own clock).
func (e *Engine) writeWindows(w io.Writer, now time.Time) error {
	var buf []byte
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	buf = fmt.Appendf(buf, `{"version":%d,"saved":`, stateVersion)
	buf = appendJSONTime(buf, now.UTC())
	buf = append(buf, `,"param_bits":[`...)
	for i, name := range paramBitNames {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = jsonstr.Append(buf, name)
	}
	buf = append(buf, `],"series":[`...)
	sep := false
	err := e.inChunks(func(ss *stationState) {
		for p, s := range ss.series {
			if s.lastT.IsZero() {
				continue
			}
			if sep {
				buf = append(buf, ',')
			}
			sep = true
			buf = appendSeries(buf, ss.st.ID, p, s)
		}
	}, flush)
	if err != nil {
		return err
	}
	buf = append(buf, `],"recent":[`...)
	sep = false
	err = e.inChunks(func(ss *stationState) {
		if ss.nRecent == 0 {
			return
		}
		if sep {
			buf = append(buf, ',')
		}
		sep = true
		buf = appendRecent(buf, ss)
	}, flush)
	if err != nil {
		return err
	}
	buf = append(buf, "]}"...)
	return flush()
}

// inChunks calls f for every station, windowsChunk stations per hold of
// e.mu, and calls flush after each chunk with the lock released.
func (e *Engine) inChunks(f func(*stationState), flush func() error) error {
	for i := 0; ; i += windowsChunk {
		e.mu.Lock()
		n := len(e.order)
		for _, ss := range e.order[min(i, n):min(i+windowsChunk, n)] {
			f(ss)
		}
		e.mu.Unlock()
		if err := flush(); err != nil {
			return err
		}
		if i+windowsChunk >= n {
			return nil
		}
	}
}

// appendSeries appends series s of station and param as a savedSeries in
// JSON. Written by hand rather than by encoding/json, whose reflection and
// per-value buffers made a save of 10 000 stations cost about 1.3 s of CPU
// and 50 MB of garbage.
func appendSeries(buf []byte, station, param string, s *series) []byte {
	buf = append(buf, `{"station":`...)
	buf = jsonstr.Append(buf, station)
	buf = append(buf, `,"param":`...)
	buf = jsonstr.Append(buf, param)
	windowed := len(s.ring) > 0 && s.started
	if windowed {
		if s.width != 0 {
			buf = append(buf, `,"width":`...)
			buf = strconv.AppendInt(buf, s.width, 10)
		}
		if s.cur != 0 {
			buf = append(buf, `,"cur":`...)
			buf = strconv.AppendInt(buf, s.cur, 10)
		}
	}
	buf = append(buf, `,"last_t":`...)
	buf = appendJSONTime(buf, s.lastT)
	if windowed {
		first := true
		for j := range s.ring {
			b := s.bucketAt(j)
			if b.n <= 0 {
				continue
			}
			if first {
				buf = append(buf, `,"buckets":[`...)
				first = false
			} else {
				buf = append(buf, ',')
			}
			buf = append(buf, '[')
			buf = strconv.AppendInt(buf, s.cur-s.age(j), 10)
			buf = append(buf, ',')
			buf = appendJSONFloat(buf, b.sum)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, b.n, 10)
			buf = append(buf, ']')
		}
		if !first {
			buf = append(buf, ']')
		}
	}
	if y := s.ytd; y != nil {
		buf = append(buf, `,"ytd":{"year":`...)
		buf = strconv.AppendInt(buf, int64(y.year), 10)
		buf = append(buf, `,"sum_means":`...)
		buf = appendJSONFloat(buf, y.sumMeans)
		buf = append(buf, `,"days":`...)
		buf = strconv.AppendInt(buf, int64(y.days), 10)
		buf = append(buf, `,"day":`...)
		buf = strconv.AppendInt(buf, y.day, 10)
		y.flush()
		first := true
		for i := range y.hours {
			h := &y.hours[i]
			if h.n == 0 {
				continue
			}
			if first {
				buf = append(buf, `,"hours":[`...)
				first = false
			} else {
				buf = append(buf, ',')
			}
			buf = append(buf, `{"hour":`...)
			buf = strconv.AppendInt(buf, int64(i), 10)
			buf = append(buf, `,"sum":`...)
			buf = appendJSONFloat(buf, h.sum)
			buf = append(buf, `,"n":`...)
			buf = strconv.AppendInt(buf, h.n, 10)
			buf = append(buf, `,"mask":`...)
			buf = strconv.AppendUint(buf, h.mask, 10)
			buf = append(buf, '}')
		}
		if !first {
			buf = append(buf, ']')
		}
		buf = append(buf, '}')
	}
	return append(buf, '}')
}

// appendRecent appends ss's recent readings as a savedRecent in JSON.
func appendRecent(buf []byte, ss *stationState) []byte {
	buf = append(buf, `{"station":`...)
	buf = jsonstr.Append(buf, ss.st.ID)
	recent := ss.recent[:min(ss.nRecent, recentReadings)]
	buf = append(buf, `,"times":[`...)
	for i, k := range recent {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, k.t, 10)
	}
	buf = append(buf, `],"periods":[`...)
	for i, k := range recent {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = jsonstr.Append(buf, string(periodName(k.period)))
	}
	buf = append(buf, `],"params":[`...)
	for i, k := range recent {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendUint(buf, uint64(k.params), 10)
	}
	buf = append(buf, `],"n":`...)
	buf = strconv.AppendInt(buf, int64(ss.nRecent), 10)
	if !ss.arrived.IsZero() {
		buf = append(buf, `,"arrived":`...)
		buf = appendJSONTime(buf, ss.arrived.UTC())
	}
	return append(buf, '}')
}

// appendJSONTime appends t as encoding/json does (RFC 3339, nanoseconds).
func appendJSONTime(buf []byte, t time.Time) []byte {
	buf = append(buf, '"')
	buf = t.AppendFormat(buf, time.RFC3339Nano)
	return append(buf, '"')
}

// appendJSONFloat appends v, finite, as the shortest JSON number that reads
// back as v.
func appendJSONFloat(buf []byte, v float64) []byte {
	return strconv.AppendFloat(buf, v, 'g', -1, 64)
}

// load restores the state and windows files, if present. Alerts of rules
// or stations that no longer exist are dropped (Alertmanager resolves
// them by their endsAt).
func (e *Engine) load() error {
	var errs []error
	data, err := os.ReadFile(e.store.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		errs = append(errs, err)
	default:
		if err := e.loadAlerts(data); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.store.path, err))
		}
	}
	data, err = os.ReadFile(e.store.windowsPath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		errs = append(errs, err)
	default:
		if err := e.loadWindows(data); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.store.windowsPath(), err))
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) loadAlerts(data []byte) error {
	var in savedAlerts
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	if in.Version != stateVersion {
		return fmt.Errorf("version %d, want %d", in.Version, stateVersion)
	}
	byName := map[string]*Rule{}
	for _, r := range e.rules {
		byName[r.Name] = r
	}
	restored := 0
	for _, sa := range in.Alerts {
		rule, ss := byName[sa.Rule], e.stations[sa.Station]
		state, err := ParseState(sa.State)
		if rule == nil || ss == nil || err != nil || !rule.applies(ss.st) {
			e.logger.Warn("saved alert dropped: its rule or station is gone", "alert", sa.Rule, "station", sa.Station)
			continue
		}
		var ls *levelSpec
		lv := rule.levels(0)
		for i := range lv.all() {
			if lv.s[i].severity == sa.Severity {
				ls = &lv.s[i]
				break
			}
		}
		if ls == nil {
			continue
		}
		a := e.newAlert(rule, ss.st, sa.Param, ls)
		a.Episode = Episode{State: state, ActiveAt: sa.ActiveAt, FiredAt: sa.FiredAt, EvalAt: sa.EvalAt, Value: float64(sa.Value)}
		a.Limit, a.Threshold, a.Ratio = float64(sa.Limit), float64(sa.Threshold), float64(sa.Ratio)
		a.Sent, a.LastSeen = sa.Sent, sa.LastSeen
		a.Class, a.TargetClass = waterclass.Class(sa.Class), waterclass.Class(sa.TargetClass)
		if sa.Flag != "" {
			a.Flag = ingest.Flag(sa.Flag[0])
		}
		e.addAlert(ss, alertKey{rule.index, sa.Station, sa.Param, sa.Severity}, a)
		if state == StateFiring {
			e.m.firing.WithLabelValues(a.Severity).Inc()
		}
		restored++
	}
	e.restoreTold(in.Told)
	now := e.now()
	for _, se := range in.Ends {
		if now.Sub(se.At) > endsKept {
			continue
		}
		n := Notification{Status: StatusResolved, Labels: se.Labels, Annotations: se.Annotations, StartsAt: se.StartsAt,
			EndsAt: se.EndsAt, GeneratorURL: se.GeneratorURL, Value: float64(se.Value), Limit: float64(se.Limit)}
		e.restoredEnds = append(e.restoredEnds, sentEnd{n: n, at: se.At})
	}
	e.logger.Info("alert state restored", "alerts", restored, "saved", in.Saved)
	return nil
}

// restoreTold gives the tellers their memories back. A file without
// memories is an older envpipe's, which counted a firing alert it had sent
// as told: the tellers take the restored firing alerts as told now (their
// reminders come a repeat interval later) rather than page them all again.
// A teller with no memory in a newer file is a new receiver (or one whose
// destination changed): it starts empty and catches up at this start, as
// one with a memory does, so it is told once, now, of what fires (only
// what its filter lets through). Not seeded as told: a group added to the
// rota must learn what fires now rather than never (without reminders)
// or only from a resolution; and at the next restart its memory is in the
// file, so it is not told again.
func (e *Engine) restoreTold(saved map[string][]savedTold) {
	var seed []Told
	if saved == nil {
		now := e.now()
		for _, a := range e.alerts {
			if a.State == StateFiring && a.Sent {
				seed = append(seed, Told{Fingerprint: fingerprint(a.Labels), StartsAt: a.FiredAt, At: now})
			}
		}
	}
	for _, w := range e.disp.workers {
		if w.teller == nil {
			continue
		}
		if saved == nil {
			w.teller.RestoreTold(seed)
			continue
		}
		list, ok := saved[w.teller.TellerKey()]
		if !ok {
			w.catchUp = !w.resend
			w.fresh = true
			continue
		}
		told := make([]Told, 0, len(list))
		for _, t := range list {
			told = append(told, Told{Fingerprint: t.Fingerprint, StartsAt: t.StartsAt, Resolved: t.Resolved, At: t.At})
		}
		w.teller.RestoreTold(told)
		w.catchUp = !w.resend
	}
}

func (e *Engine) loadWindows(data []byte) error {
	var in savedWindows
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	if in.Version != stateVersion {
		return fmt.Errorf("version %d, want %d", in.Version, stateVersion)
	}
	for _, sv := range in.Series {
		ss := e.stations[sv.Station]
		if ss == nil {
			continue
		}
		s := ss.seriesFor(sv.Param)
		if s == nil {
			continue
		}
		s.lastT = sv.LastT
		// A cur whose start in seconds would overflow is not from us.
		if s.size > 0 && sv.Width == s.width && len(sv.Buckets) > 0 && sv.Cur > math.MinInt64/s.width && sv.Cur < math.MaxInt64/s.width {
			s.ensureRing()
			clear(s.ring)
			s.head = bucket{}
			s.setCur(sv.Cur)
			s.started = true
			for _, b := range sv.Buckets {
				idx := int64(b[0])
				if idx <= s.cur-s.size || idx > s.cur {
					continue
				}
				*s.slot(idx) = bucket{sum: b[1], n: int64(b[2])}
			}
			s.recompute()
		}
		if y := sv.YTD; y != nil && s.ytd != nil {
			hours := s.ytd.hours
			clear(hours[:])
			for _, h := range y.Hours {
				if h.Hour >= 0 && h.Hour < len(hours) && h.N > 0 {
					hours[h.Hour] = hourAcc{sum: h.Sum, n: h.N, mask: h.Mask}
				}
			}
			*s.ytd = ytdAcc{year: y.Year, sumMeans: y.SumMeans, days: y.Days, day: y.Day, dayYear: yearOfDay(y.Day),
				hours: hours, curHour: -1, strict: s.ytd.strict}
		}
	}
	// The file's parameter bits in ours; a file without them counted every
	// parameter of a time and period at once: all bits.
	var bits [32]uint32
	for b := range bits {
		bits[b] = ^uint32(0)
	}
	if len(in.ParamBits) > 0 {
		for b := range bits {
			bits[b] = 0
			if b < len(in.ParamBits) {
				v := ingest.Value{Param: in.ParamBits[b]}
				bits[b] = paramBit(&v)
			}
		}
	}
	for _, sr := range in.Recent {
		ss := e.stations[sr.Station]
		if ss == nil || len(sr.Times) != len(sr.Periods) || len(sr.Times) > recentReadings ||
			(sr.Params != nil && len(sr.Params) != len(sr.Times)) {
			continue
		}
		ss.recent = new([recentReadings]readingKey)
		for i := range sr.Times {
			k := readingKey{t: sr.Times[i], params: ^uint32(0), period: periodCode(ingest.Period(sr.Periods[i]))}
			if sr.Params != nil {
				k.params = 0
				for b := range bits {
					if sr.Params[i]&(1<<b) != 0 {
						k.params |= bits[b]
					}
				}
			}
			ss.recent[i] = k
		}
		ss.nRecent = sr.N
		if !sr.Arrived.IsZero() && ss.arrived.IsZero() {
			// Not after now: a clock set back must not make a station
			// look heard from in the future.
			ss.arrived, ss.savedArrival = earlier(sr.Arrived, e.now()), true
		}
		ss.maxRecent = math.MinInt64
		for _, k := range ss.recent[:min(max(ss.nRecent, 0), recentReadings)] {
			ss.maxRecent = max(ss.maxRecent, k.t)
		}
	}
	return nil
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
