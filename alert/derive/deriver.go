package derive

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/envpipe/envpipe/alert/aqi"
	"github.com/envpipe/envpipe/alert/waterclass"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

const (
	hourSec = 3600
	daySec  = 86400
	hourNs  = int64(time.Hour)
)

// Deriver is the derivation stage. It observes every accepted reading
// (Observe, on the pipeline goroutine), is ticked once a second (Tick, on
// any goroutine) and hands the derived points, as batched line protocol, to
// the emit callback given to New. All state is behind one mutex; emit is
// called outside it, one batch at a time and in the order the batches were
// made, so a recomputed point never lands before the version it replaces.
type Deriver struct {
	mu      sync.Mutex
	emitMu  sync.Mutex
	enabled bool
	edition aqi.Edition
	late    int64 // lateness, ns
	loc     *time.Location
	offset  int64 // loc's offset from UTC, seconds
	emit    func([]byte)
	now     func() time.Time

	onAQI func(st *station.Station, period string, start time.Time, aqi int, complete bool)
	slots station.Slots[*stationState]
	byID  map[string]*stationState
	air   []*stationState
	water []*stationState

	net network

	w     lineWriter
	stats Stats
}

// Stats counts what the Deriver did, for metrics.
type Stats struct {
	// Readings observed (of known stations).
	Readings uint64
	// TooLate counts air readings whose hour had already been finalized
	// (its end + lateness passed on the station's clock): stored by the
	// pipeline, but they recompute nothing.
	TooLate uint64
	// Points emitted, by measurement.
	HourlyPoints, DailyPoints, AQIHourPoints, AQIDayPoints, WaterPoints, CompliancePoints uint64
	// Batches handed to emit.
	Batches uint64
}

// stationState is what the Deriver keeps about one station.
type stationState struct {
	st    *station.Station
	air   bool
	slots int // minutes one reading covers, 1..60 (its interval, rounded up)
	cover int64

	// The station's clock (see the package documentation): the end of the
	// period its latest reading covers, running on with the wall clock
	// from the moment it last advanced.
	has        bool
	clockMax   int64 // ns
	clockSeen  int64 // wall ns
	clockCover int64 // ns: the cover of the reading that set clockMax
	next       int64 // ns: the station clock at which advance has work to do
	dirty      bool  // a late reading changed an emitted hour

	// Air stations.
	hours []*hourRec // by start, ascending
	days  []*dayRec  // by start, ascending

	// Water sections.
	waterbody waterclass.Waterbody
	target    waterclass.Class
	wdays     []*waterDay // by start, ascending
}

// clockGrace is how late a station's next reading may come before its
// clock runs on without it: the jitter of its network.
const clockGrace = int64(15 * time.Second)

// clock returns the station's clock at wall time now (ns). It stands at
// clockMax until the next reading is overdue (one cover after the last
// one arrived, and clockGrace), then runs on with the wall clock: running
// on from the last arrival, it reached the end of an hour while that
// hour's last reading was on its way, and the hour was written from 59
// minutes, then again a second later.
func (s *stationState) clock(now int64) int64 {
	if d := now - s.clockSeen - s.clockCover - clockGrace; d > 0 {
		return s.clockMax + d
	}
	return s.clockMax
}

// New builds a Deriver for the given stations (the registry's, as the
// pipeline passes them to Observe). emit receives batches of line protocol
// (newline-terminated points), each a fresh slice it may keep; now is the
// wall clock (time.Now in production).
func New(cfg Config, stations []*station.Station, emit func(lineProtocol []byte), now func() time.Time) (*Deriver, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if emit == nil {
		return nil, errors.New("derive: nil emit")
	}
	if now == nil {
		now = time.Now
	}
	ed, _ := aqi.ParseEdition(cfg.Edition)
	loc, _ := parseLocation(cfg.Location)
	_, off := time.Unix(0, 0).In(loc).Zone()
	d := &Deriver{
		enabled: cfg.IsEnabled(),
		edition: ed,
		late:    int64(cfg.Lateness),
		loc:     loc,
		offset:  int64(off),
		emit:    emit,
		now:     now,
		byID:    map[string]*stationState{},
	}
	d.net.init()
	for _, st := range stations {
		if st == nil || d.byID[st.ID] != nil {
			continue
		}
		s := &stationState{st: st, air: st.Kind == ingest.KindAir}
		iv := st.Interval
		if iv <= 0 {
			iv = time.Minute
		}
		s.cover = int64(iv)
		s.slots = int((iv + time.Minute - 1) / time.Minute)
		s.slots = min(max(s.slots, 1), 60)
		switch st.Kind {
		case ingest.KindAir:
			d.air = append(d.air, s)
		case ingest.KindWater:
			wb := st.Waterbody
			if wb == "" {
				wb = "river"
			}
			var err error
			if s.waterbody, err = waterclass.ParseWaterbody(wb); err != nil {
				return nil, fmt.Errorf("derive: station %s: %w", st.ID, err)
			}
			if s.target, err = waterclass.ParseClass(st.TargetClass); err != nil || s.target > waterclass.ClassV {
				return nil, fmt.Errorf("derive: station %s: target class %q is not I–V", st.ID, st.TargetClass)
			}
			d.water = append(d.water, s)
		default:
			continue
		}
		d.byID[st.ID] = s
		d.slots.Put(st, s)
	}
	return d, nil
}

// Observe takes one accepted reading (pipeline.Observer). r is not kept.
func (d *Deriver) Observe(st *station.Station, r *ingest.Reading) {
	if !d.enabled || r == nil {
		return
	}
	now := d.now().UnixNano()
	d.mu.Lock()
	var s *stationState
	if st != nil {
		var ok bool
		if s, ok = d.slots.Get(st); !ok {
			s = d.byID[st.ID] // a station not from a registry, or its copy
		}
	}
	if s == nil {
		d.mu.Unlock()
		return
	}
	if r.Period == ingest.PeriodDay && (s.air || st.Interval < 24*time.Hour) {
		// Daily means a station computed itself are stored as they are:
		// envpipe's air days come from its own hours, and a water section
		// sampled more often is classed by its samples (a daily mean at
		// 00:00 would overwrite that sample's class). A section that
		// reports once a day is classed by its daily means.
		d.mu.Unlock()
		return
	}
	d.stats.Readings++
	t := r.Time.UnixNano()
	if s.air {
		d.observeAir(s, r, t, now)
	} else {
		d.observeWater(s, r, t)
	}
	cover := s.cover
	switch r.Period {
	case ingest.PeriodDay:
		cover = int64(24 * time.Hour)
	case ingest.PeriodHour:
		cover = int64(time.Hour)
	case ingest.PeriodMinute:
		cover = int64(time.Minute)
	}
	if c := t + cover; !s.has || c > s.clockMax {
		s.has = true
		s.clockMax = c
		s.clockSeen = now
		s.clockCover = cover
	}
	if s.clock(now) >= s.next {
		d.advance(s, s.clock(now))
	}
	d.flushLocked(now, false)
}

// Tick closes what the passage of time closes: it advances every station's
// clock to wall time now, emits the hours and days that became due, the
// recomputations that late readings asked for, and the network figures.
// The daemon calls it about once a second.
func (d *Deriver) Tick(now time.Time) {
	if !d.enabled {
		return
	}
	n := now.UnixNano()
	d.mu.Lock()
	for _, list := range [][]*stationState{d.air, d.water} {
		for _, s := range list {
			if !s.has {
				continue
			}
			if c := s.clock(n); s.dirty || c >= s.next {
				d.advance(s, c)
			}
		}
	}
	d.flushLocked(n, true)
}

// Stats returns the counters.
func (d *Deriver) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// flushLocked emits the network points that are due (see flushNetwork)
// and hands the pending batch to emit. It is called with d.mu held and
// releases it; emitMu keeps batches in the order they were made.
func (d *Deriver) flushLocked(now int64, force bool) {
	d.flushNetwork(now, force)
	if len(d.w.b) == 0 {
		d.mu.Unlock()
		return
	}
	batch := d.w.b
	d.w = lineWriter{}
	d.stats.Batches++
	d.emitMu.Lock()
	d.mu.Unlock()
	defer d.emitMu.Unlock()
	d.emit(batch)
}

// advance brings a station up to its clock c (ns).
func (d *Deriver) advance(s *stationState, c int64) {
	if s.air {
		d.advanceAir(s, c)
	} else {
		d.advanceWater(s, c)
	}
	s.dirty = false
}

// Time arithmetic. Hours and days are counted in d.loc, a fixed offset, so
// every hour is 3600 s and every day 86400 s long; keys are Unix seconds of
// their start.

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// hourOf returns the start (Unix s) of the hour containing t (Unix ns).
func (d *Deriver) hourOf(t int64) int64 {
	return floorDiv(floorDiv(t, int64(time.Second))+d.offset, hourSec)*hourSec - d.offset
}

// dayOf returns the start (Unix s) of the day containing t (Unix ns).
func (d *Deriver) dayOf(t int64) int64 {
	return floorDiv(floorDiv(t, int64(time.Second))+d.offset, daySec)*daySec - d.offset
}

// yearOf returns the start (Unix s) of the year containing the day starting
// at day (Unix s).
func (d *Deriver) yearOf(day int64) int64 {
	y := time.Unix(day, 0).In(d.loc).Year()
	return time.Date(y, time.January, 1, 0, 0, 0, 0, d.loc).Unix()
}

// yearEnd returns the start (Unix s) of the year after the one containing
// the day starting at day (Unix s).
func (d *Deriver) yearEnd(day int64) int64 {
	y := time.Unix(day, 0).In(d.loc).Year()
	return time.Date(y+1, time.January, 1, 0, 0, 0, 0, d.loc).Unix()
}

// retainFrom returns the Unix s before which a station with clock c (ns)
// keeps no day records: the start of the year of the oldest day that may
// still change (one that ended less than lateness ago).
func (d *Deriver) retainFrom(c int64) int64 {
	return d.yearOf(d.dayOf(c - d.late - 25*hourNs))
}

func sortedIndex[T any](list []T, start int64, key func(T) int64) (int, bool) {
	// Readings arrive in time order, nearly always for the newest record.
	if n := len(list); n > 0 {
		switch k := key(list[n-1]); {
		case k == start:
			return n - 1, true
		case k < start:
			return n, false
		}
	}
	i := sort.Search(len(list), func(i int) bool { return key(list[i]) >= start })
	return i, i < len(list) && key(list[i]) == start
}

func insertAt[T any](list []T, i int, v T) []T {
	list = append(list, v)
	copy(list[i+1:], list[i:])
	list[i] = v
	return list
}

// time returns the instant of Unix seconds sec in the Deriver's zone.
func (d *Deriver) time(sec int64) time.Time { return time.Unix(sec, 0).In(d.loc) }

// OnAQI registers f to see every hourly and daily AQI as it is written
// (period "hour" or "day", start of the period), e.g. for alert rules on
// the AQI. complete is false when a pollutant the report scores had no
// valid value: the AQI is then only a lower bound of the true one (the
// largest sub-index of the others), the aqi point's complete field. f runs
// with the Deriver's lock held: it must not call back into the Deriver.
// Call before the first Observe.
func (d *Deriver) OnAQI(f func(st *station.Station, period string, start time.Time, aqi int, complete bool)) {
	d.mu.Lock()
	d.onAQI = f
	d.mu.Unlock()
}
