package alert

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/alert/limits"
	"github.com/envpipe/envpipe/alert/waterclass"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// Alert is one alert: one level of a rule at one station (and parameter).
// Its identity is its labels: alertname, station, county, param (when the
// rule has one), severity, and the rule's labels.
type Alert struct {
	Rule     string
	Station  string
	Param    string
	Severity string
	Labels   map[string]string // shared and never modified once built
	Episode
	// Limit is the rule's limit at the latest evaluation (NaN for flag
	// rules), Threshold what the value was compared with (the limit or
	// the approach level; for stale rules both are in seconds of silence),
	// Ratio how far the value is along the limit (Limit/Value for lower
	// bounds).
	Limit, Threshold, Ratio float64
	// Warning is true for the approach level of a rule with warn_ratio.
	Warning bool
	// Below is true when low values are bad.
	Below bool
	// Sent is true while the current firing has been handed to notifiers:
	// it fired within the horizon. A firing learned from backfilled data
	// is announced when newer data, within the horizon, still finds it
	// firing.
	Sent bool

	Flag        ingest.Flag      // flag rules: the flag that raised it
	Class       waterclass.Class // water_class: the item's class
	TargetClass waterclass.Class // water_class: the class held to
	LastSeen    time.Time        // stale: wall time of the station's last data

	rule *Rule
	st   *station.Station
}

type alertKey struct {
	rule     int
	station  string
	param    string
	severity string
}

// Transition is one alert changing state, or a firing alert learned from
// backfill being announced (From == To == StateFiring).
type Transition struct {
	Alert    Alert // the alert after the transition
	From, To State
	// At is the time of the input that caused it: event time, or wall time
	// for stale rules.
	At time.Time
	// Backfill is true when At is older than now − horizon.
	Backfill bool
	// Notify is true when notifiers get it: a firing within the horizon,
	// or the resolution of a firing that was sent.
	Notify bool
}

// Options are an Engine's collaborators.
type Options struct {
	// Notifiers receive firing and resolved alerts as they happen; those
	// implementing Resender with Resend() true also get every firing alert
	// again every resend_interval.
	Notifiers []Notifier
	// Emit writes line protocol durably (the daemon passes pipeline.Emit):
	// one `alerts` point per transition. It may be nil.
	Emit func(lineProtocol []byte)
	// Registerer gets the engine's metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the wall clock (time.Now if nil).
	Now func() time.Time
}

// Engine evaluates the rules on the stream. Observe and ObserveValue may
// be called from any goroutine (the pipeline calls Observe on its own);
// Run delivers notifications and ticks the wall-clock rules.
type Engine struct {
	cfg     Config
	lang    Lang
	rules   []*Rule
	now     func() time.Time
	emit    func([]byte)
	logger  *slog.Logger
	m       *metrics
	disp    *dispatcher
	store   *store
	grafana string

	mu         sync.Mutex
	stations   map[string]*stationState
	slots      station.Slots[*stationState] // for Observe
	order      []*stationState
	alerts     map[alertKey]*Alert // canonical; stations index theirs too
	specs      map[string]*seriesSpec
	evals      []ruleEval // by rule index
	start      time.Time
	lastResend time.Time
	lastSave   time.Time
	saveMu     sync.Mutex // serialises window saves

	// Transitions change the alert state under mu; Run saves it (one fsync
	// for everything that changed meanwhile) and only then hands the
	// notifications to the notifiers, so that a crash can never page for an
	// alert the state file does not know (no second page after a restart).
	stateDirty    bool
	pendingNotify []Notification
	saveKick      chan struct{}
	// restoredEnds are the ends the state file says a receiver was still
	// owed (see endsBook), until Run sends them.
	restoredEnds []sentEnd
	// While saving the alert state fails (a full disk), it is tried again
	// no sooner than saveRetry: saveWait doubles from a second up to
	// state_interval, so that a failure is not retried every second.
	saveRetry time.Time
	saveWait  time.Duration
	// stateLog and windowsLog throttle the save failures' log lines
	// (under saveMu).
	stateLog, windowsLog failLog
}

// failLog logs a failure that repeats once, then at most once a minute,
// and once when it ends.
type failLog struct {
	failing bool
	last    time.Time
	missed  int // failures not logged since the last line
}

func (f *failLog) failed(l *slog.Logger, now time.Time, msg string, err error) {
	if f.failing && now.Sub(f.last) < time.Minute && now.Sub(f.last) > -time.Minute {
		f.missed++
		return
	}
	l.Error(msg, "err", err, "failures_not_logged", f.missed)
	f.failing, f.last, f.missed = true, now, 0
}

func (f *failLog) ok(l *slog.Logger, msg string) {
	if f.failing {
		l.Info(msg)
		f.failing, f.missed = false, 0
	}
}

type stationState struct {
	st     *station.Station
	spec   *seriesSpec
	rules  []*Rule
	stale  bool // some rule is a stale rule
	series map[string]*series
	// slab holds the series side by side (made with the first): a
	// reading's parameters then touch neighbouring memory, not one page
	// each, which counts once stations outnumber the CPU's caches.
	slab []series
	// ruleSeries[i] caches series[rules[i].Param] once it exists.
	ruleSeries []*series
	// layout caches seriesFor of the latest reading's parameters by
	// position: a station sends the same parameters in the same order.
	// ruleValue[i] is then the position of rules[i].Param in it (-1: none),
	// valid while ruleValueOK.
	layout      []paramSeries
	ruleValue   []int
	ruleValueOK bool
	// alerts indexes the station's alerts of e.alerts: most stations have
	// none, so most evaluations end without a map lookup.
	alerts []stationAlert
	// recent remembers the latest readings' (time, period) and the
	// parameters counted for them, so that a message delivered twice (MQTT
	// QoS 1) is not counted twice, while a second reading of the same
	// instant with other parameters is.
	recent  *[recentReadings]readingKey // made at the first reading
	nRecent int
	// maxRecent bounds the times in recent: a newer reading, the usual
	// case, is no duplicate without a scan.
	maxRecent int64
	// arrived is the wall time of the latest reading, zero when none came
	// since the engine started and the windows file had none; savedArrival
	// is true while it is the windows file's.
	arrived      time.Time
	savedArrival bool
}

const recentReadings = 64

type paramSeries struct {
	param string
	s     *series
}

// maxLayout bounds stationState.layout; further parameters go to the map.
const maxLayout = 32

type stationAlert struct {
	rule            int
	param, severity string
	a               *Alert
}

// alert returns the station's alert of a rule, param and severity, if any.
func (ss *stationState) alert(rule int, param, severity string) *Alert {
	for i := range ss.alerts {
		if x := &ss.alerts[i]; x.rule == rule && x.severity == severity && x.param == param {
			return x.a
		}
	}
	return nil
}

// addAlert records a new alert in e.alerts and in its station's index.
func (e *Engine) addAlert(ss *stationState, key alertKey, a *Alert) {
	e.alerts[key] = a
	for i := range ss.alerts {
		if x := &ss.alerts[i]; x.rule == key.rule && x.severity == key.severity && x.param == key.param {
			x.a = a
			return
		}
	}
	ss.alerts = append(ss.alerts, stationAlert{key.rule, key.param, key.severity, a})
}

// ruleEval caches what a rule's evaluations share: the limit of the
// latest standard resolved and the levels of the latest limit. Both
// change only at an edition's start.
type ruleEval struct {
	limSet bool
	limStd limits.Standard
	lim    float64
	limOK  bool

	lvSet   bool
	lvLimit uint64 // math.Float64bits of the limit
	lv      levelSet
}

// limitAt is rule.Limit.At(t), cached: a reference's value depends on t
// only through the standard it resolves to.
func (e *Engine) limitAt(rule *Rule, t time.Time) (float64, bool) {
	l := &rule.Limit
	if l.Ref == "" {
		return l.Value, true
	}
	c := &e.evals[rule.index]
	std := l.std.Resolve(t)
	if !c.limSet || c.limStd != std {
		c.lim, c.limOK = l.At(t)
		c.limSet, c.limStd = true, std
	}
	return c.lim, c.limOK
}

// levels is rule.levels(limit), cached for the latest limit. The result
// is valid until the next call for the rule.
func (e *Engine) levels(rule *Rule, limit float64) *levelSet {
	c := &e.evals[rule.index]
	if bits := math.Float64bits(limit); !c.lvSet || c.lvLimit != bits {
		c.lv = rule.levels(limit)
		c.lvSet, c.lvLimit = true, bits
	}
	return &c.lv
}

// readingKey identifies a reading for duplicate detection, with the
// parameters counted at its time and period (see paramBit). The period is
// coded as a byte so that the ring holds no pointers: the garbage collector
// skips it, which matters with thousands of stations.
type readingKey struct {
	t      int64
	params uint32
	period uint8 // index in periods; len(periods) for any other
}

// paramBit is v's bit in readingKey.params: bit ID for the catalogue's
// parameters, bit 0 for any other (they share it: counted once per time
// and period, as every parameter was before).
func paramBit(v *ingest.Value) uint32 {
	id := v.ParamID()
	if id >= 32 {
		id = 0
	}
	return 1 << id
}

// paramBitNames names the bits of readingKey.params, for the windows file.
var paramBitNames = func() []string {
	names := make([]string, 1, 32)
	for id := 1; id < min(ingest.NumParams+1, 32); id++ {
		names = append(names, "")
	}
	for name := range ingest.Params {
		if id, _, _ := ingest.LookupParam(name); int(id) < len(names) {
			names[id] = name
		}
	}
	return names
}()

var periods = [...]ingest.Period{ingest.PeriodInstant, ingest.PeriodMinute, ingest.PeriodHour, ingest.PeriodDay}

func periodCode(p ingest.Period) uint8 {
	for i, q := range periods {
		if p == q {
			return uint8(i)
		}
	}
	return uint8(len(periods))
}

func periodName(c uint8) ingest.Period {
	if int(c) < len(periods) {
		return periods[c]
	}
	return "other"
}

// counted records r's parameters as counted at its time and period, and
// returns the bits (paramBit) of r's parameters, all, and of those already
// counted before, dup: r is a duplicate when dup == all, and its values of
// the parameters in dup are.
func (ss *stationState) counted(r *ingest.Reading) (dup, all uint32) {
	for i := range r.Values {
		all |= paramBit(&r.Values[i])
	}
	k := readingKey{t: r.Time.UnixNano(), params: all, period: periodCode(r.Period)}
	if ss.recent == nil {
		ss.recent = new([recentReadings]readingKey)
	}
	if k.t <= ss.maxRecent {
		for i := range min(ss.nRecent, recentReadings) {
			if x := &ss.recent[i]; x.t == k.t && x.period == k.period {
				dup = x.params & all
				x.params |= all
				return dup, all
			}
		}
	}
	ss.recent[ss.nRecent%recentReadings] = k
	ss.nRecent++
	ss.maxRecent = max(ss.maxRecent, k.t)
	return 0, all
}

// New builds an engine for the stations and loads the state files, if any.
// A state file it cannot read is logged and later overwritten: the engine
// starts empty rather than not at all.
func New(cfg Config, rules *RuleSet, stations []*station.Station, opt Options) (*Engine, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("alert: %w", errors.Join(errs...))
	}
	if rules == nil {
		return nil, errors.New("alert: no rules")
	}
	if errs := rules.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("alert: %w", errors.Join(errs...))
	}
	lang, _ := ParseLang(cfg.Lang)
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Registerer == nil {
		opt.Registerer = prometheus.NewRegistry()
	}
	logger := opt.Logger.With("component", "alert")
	m := newMetrics(opt.Registerer, opt.Notifiers)
	e := &Engine{
		cfg:      cfg,
		lang:     lang,
		rules:    rules.Rules,
		now:      opt.Now,
		emit:     opt.Emit,
		logger:   logger,
		m:        m,
		disp:     newDispatcher(opt.Notifiers, cfg.NotifyTimeout, m, logger),
		store:    &store{path: cfg.StateFile},
		grafana:  strings.TrimRight(cfg.GrafanaURL, "/"),
		stations: map[string]*stationState{},
		alerts:   map[alertKey]*Alert{},
		specs:    map[string]*seriesSpec{},
		evals:    make([]ruleEval, len(rules.Rules)),
		saveKick: make(chan struct{}, 1),
	}
	e.disp.now = e.now
	for _, st := range stations {
		e.addStation(st)
	}
	e.start = e.now()
	e.lastSave = e.start
	if err := e.load(); err != nil {
		logger.Error("alert state not restored; starting empty", "err", err)
	}
	return e, nil
}

// seriesSpec says which windows (and whether a year-to-date mean) a
// station's parameters need. Stations watched by the same rules share one.
type seriesSpec struct {
	rules   []*Rule
	stale   bool
	windows map[string][]time.Duration
	ytd     map[string]bool
	params  int // parameters with a series: the keys of windows and ytd
}

func (e *Engine) addStation(st *station.Station) *stationState {
	var key []byte
	for i, r := range e.rules {
		if r.applies(st) {
			key = binary.AppendUvarint(key, uint64(i))
		}
	}
	spec := e.specs[string(key)]
	if spec == nil {
		spec = &seriesSpec{windows: map[string][]time.Duration{}, ytd: map[string]bool{}}
		for _, r := range e.rules {
			if !r.applies(st) {
				continue
			}
			spec.rules = append(spec.rules, r)
			switch r.Aggregate {
			case AggMean:
				spec.windows[r.Param] = appendUnique(spec.windows[r.Param], r.Window)
			case AggYTDMean:
				spec.ytd[r.Param] = true
			case AggStale:
				spec.stale = true
			}
		}
		spec.params = len(spec.windows)
		for p := range spec.ytd {
			if _, ok := spec.windows[p]; !ok {
				spec.params++
			}
		}
		e.specs[string(key)] = spec
	}
	// Series are made at a parameter's first value: a registry of
	// thousands of stations costs little for those that never report.
	ss := &stationState{st: st, spec: spec, rules: spec.rules, stale: spec.stale,
		ruleSeries: make([]*series, len(spec.rules)), maxRecent: math.MinInt64}
	e.stations[st.ID] = ss
	e.order = append(e.order, ss)
	return ss
}

// seriesFor returns the station's series of param, making it on first use;
// nil when no rule keeps a window or year-to-date mean of param.
func (ss *stationState) seriesFor(param string) *series {
	if s := ss.series[param]; s != nil {
		return s
	}
	w, ytd := ss.spec.windows[param], ss.spec.ytd[param]
	if len(w) == 0 && !ytd {
		return nil
	}
	if ss.series == nil {
		ss.series = map[string]*series{}
		ss.slab = make([]series, 0, ss.spec.params)
	}
	var s *series
	if n := len(ss.slab); n < cap(ss.slab) {
		// Within the capacity: the slab never moves.
		ss.slab = ss.slab[:n+1]
		s = &ss.slab[n]
		s.init(w, ytd)
	} else {
		s = newSeries(w, ytd)
	}
	if s.ytd != nil {
		s.ytd.strict = ytdStrict(ss.st, param)
	}
	ss.series[param] = s
	return s
}

// valueSeries is seriesFor(param) of the i-th value of a reading.
func (ss *stationState) valueSeries(i int, param string) *series {
	if i < len(ss.layout) && ss.layout[i].param == param {
		return ss.layout[i].s
	}
	s := ss.seriesFor(param)
	// Cloned: the reading's strings may share its payload's memory.
	switch {
	case i < len(ss.layout):
		ss.layout[i] = paramSeries{strings.Clone(param), s}
	case i == len(ss.layout) && i < maxLayout:
		ss.layout = append(ss.layout, paramSeries{strings.Clone(param), s})
	}
	ss.ruleValueOK = false
	return s
}

// getter finds rules' values in r: by the positions cached for the layout
// when r has exactly the layout's parameters, else as r.Get does.
type getter struct {
	ss     *stationState
	r      *ingest.Reading
	cached bool
}

// newGetter must follow valueSeries for every value of r.
func (ss *stationState) newGetter(r *ingest.Reading) getter {
	g := getter{ss: ss, r: r, cached: len(r.Values) == len(ss.layout)}
	if g.cached && !ss.ruleValueOK {
		if ss.ruleValue == nil {
			ss.ruleValue = make([]int, len(ss.rules))
		}
		for i, rule := range ss.rules {
			ss.ruleValue[i] = -1
			for j := range ss.layout {
				if ss.layout[j].param == rule.Param {
					ss.ruleValue[i] = j
					break
				}
			}
		}
		ss.ruleValueOK = true
	}
	return g
}

// get is r.Get(ss.rules[i].Param).
func (g *getter) get(i int) (*ingest.Value, bool) {
	if !g.cached {
		for j := range g.r.Values {
			if v := &g.r.Values[j]; v.Param == g.ss.rules[i].Param {
				return v, true
			}
		}
		return nil, false
	}
	if j := g.ss.ruleValue[i]; j >= 0 {
		return &g.r.Values[j], true
	}
	return nil, false
}

// seriesOfRule is series[rules[i].Param], nil until made.
func (ss *stationState) seriesOfRule(i int) *series {
	if s := ss.ruleSeries[i]; s != nil {
		return s
	}
	s := ss.series[ss.rules[i].Param]
	ss.ruleSeries[i] = s
	return s
}

func appendUnique(l []time.Duration, d time.Duration) []time.Duration {
	for _, x := range l {
		if x == d {
			return l
		}
	}
	return append(l, d)
}

func (e *Engine) station(st *station.Station) *stationState {
	if ss, ok := e.slots.Get(st); ok {
		return ss
	}
	ss := e.stations[st.ID]
	if ss != nil {
		ss.st = st
	} else {
		ss = e.addStation(st)
	}
	e.slots.Put(st, ss)
	return ss
}

func normal(f ingest.Flag) bool { return f == ingest.FlagNormal || f == 0 }

// Observe evaluates the rules on one accepted reading (pipeline.Observer).
// Only N-flagged values count for pollution rules; flags raise equipment
// alerts. r is not retained.
func (e *Engine) Observe(st *station.Station, r *ingest.Reading) {
	now := e.now()
	e.mu.Lock()
	ss := e.station(st)
	ts := e.observe(ss, r, now, nil)
	lp := e.commit(ts, now)
	e.mu.Unlock()
	e.write(lp)
}

// ObserveValue evaluates the rules on a derived value of a station, such
// as the hourly AQI (param "aqi") at the start of its hour.
func (e *Engine) ObserveValue(st *station.Station, param string, t time.Time, v float64) {
	e.observeValue(st, param, t, v, false)
}

// ObserveLowerBound is ObserveValue for a value known only to be at most
// the true one, such as an hourly AQI computed with a pollutant missing
// (the AQI is the largest sub-index). It can raise an alert, but it
// neither clears a firing alert nor drops a pending one: a value at or
// below the threshold says nothing about the true one, so it leaves the
// alert as it was (for a lower limit, direction below, the reverse: it
// can only show the limit met). It does not enter rolling or
// year-to-date means, and mean and ytd_mean rules ignore it.
func (e *Engine) ObserveLowerBound(st *station.Station, param string, t time.Time, v float64) {
	e.observeValue(st, param, t, v, true)
}

func (e *Engine) observeValue(st *station.Station, param string, t time.Time, v float64, lower bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	now := e.now()
	e.mu.Lock()
	ss := e.station(st)
	if s := ss.seriesFor(param); s != nil && !lower {
		s.add(t, v, hourMean) // a derived value, such as the AQI, stands for its hour
	}
	var ts []Transition
	for i, rule := range ss.rules {
		switch rule.agg {
		case aggMean, aggYTDMean:
			if rule.Param == param && !lower {
				ts = e.evalValue(ss, rule, ss.seriesOfRule(i), param, v, t, now, false, ts)
			}
		case aggInstant, aggAQI:
			if rule.Param == param {
				ts = e.evalValue(ss, rule, ss.seriesOfRule(i), param, v, t, now, lower, ts)
			}
		}
	}
	lp := e.commit(ts, now)
	e.mu.Unlock()
	e.write(lp)
}

func (e *Engine) observe(ss *stationState, r *ingest.Reading, now time.Time, ts []Transition) []Transition {
	ss.arrived, ss.savedArrival = now, false
	if ss.stale {
		for _, rule := range ss.rules {
			if rule.agg == aggStale {
				ts = e.evalStale(ss, rule, now, ts)
			}
		}
	}
	dup, all := ss.counted(r)
	if dup == all {
		return ts
	}
	// fresh reports whether v is not a duplicate; most readings have none.
	fresh := func(v *ingest.Value) bool { return dup == 0 || paramBit(v)&dup == 0 }
	cover := coverOf(ss.st.Interval, r.Period)
	for i := range r.Values {
		v := &r.Values[i]
		if s := ss.valueSeries(i, v.Param); s != nil && normal(v.Flag) && usable(v.V) && fresh(v) {
			s.add(r.Time, v.V, cover)
		}
	}
	g := ss.newGetter(r)
	var water map[waterclass.Class]*waterclass.Result
	for i, rule := range ss.rules {
		switch rule.agg {
		case aggInstant, aggMean, aggYTDMean:
			v, ok := g.get(i)
			if ok && normal(v.Flag) && usable(v.V) && fresh(v) {
				ts = e.evalValue(ss, rule, ss.seriesOfRule(i), rule.Param, v.V, r.Time, now, false, ts)
			}
		case aggFlag:
			for j := range r.Values {
				if v := &r.Values[j]; (rule.Param == "" || rule.Param == v.Param) && fresh(v) {
					ts = e.evalFlag(ss, rule, v, r.Time, now, ts)
				}
			}
		case aggWaterClass:
			if water == nil {
				water = map[waterclass.Class]*waterclass.Result{}
			}
			ts = e.evalWater(ss, rule, r, water, now, ts)
		}
	}
	return ts
}

func usable(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// evalValue evaluates a value-type rule (instant, mean, ytd_mean, aqi)
// after a new value of param at event time t; s is the station's series
// of param, if any. A lower bound (see ObserveLowerBound) only steps an
// alert it breaches.
func (e *Engine) evalValue(ss *stationState, rule *Rule, s *series, param string, v float64, t, now time.Time, lower bool,
	ts []Transition) []Transition {
	switch rule.agg {
	case aggMean:
		if s == nil {
			return ts
		}
		mean, cov, ok := s.mean(rule.Window, ss.st.Interval)
		if !ok || cov < rule.MinCoverage {
			return ts
		}
		v, t = mean, s.lastT
	case aggYTDMean:
		if s == nil || s.ytd == nil {
			return ts
		}
		mean, days, ok := s.ytd.value()
		if !ok || days < rule.MinDays {
			return e.endPastYear(ss, rule, param, s, now, ts)
		}
		v, t = mean, s.lastT
	}
	limit, ok := e.limitAt(rule, t)
	if !ok {
		return ts
	}
	lv := e.levels(rule, limit)
	for i := range lv.n {
		ls := &lv.s[i]
		c := ls.cond(v)
		if lower && (c == CondBreach) != (ls.level.Direction == Above) {
			// A lower bound proves only a breach of an upper limit, or
			// that a lower limit is met; otherwise the alert stays as it is.
			continue
		}
		if c != CondBreach && ss.alert(rule.index, param, ls.severity) == nil {
			continue // the common case, without the closure
		}
		ts = e.stepLimit(ss, rule, param, ls, c, v, limit, t, now, ts)
	}
	return ts
}

// stepLimit steps the alert of a value rule at level ls: v at time t
// against limit.
func (e *Engine) stepLimit(ss *stationState, rule *Rule, param string, ls *levelSpec, c Cond, v, limit float64,
	t, now time.Time, ts []Transition) []Transition {
	return e.step(ss, rule, param, ls, c, v, t, now, ts, func(a *Alert) {
		a.Limit, a.Threshold = limit, ls.level.Threshold
		a.Ratio = ratio(v, limit, rule.dir)
	})
}

// endPastYear ends the alerts of a ytd_mean rule that are about a year
// before the year of s's latest value, whose year-to-date has too few days
// to be judged: an annual mean's alert ends with its year, rather than
// firing on with last year's value until min_days days into the next.
// Alerts of the current year are left as they are, e.g. after a restart
// that lost the windows file.
func (e *Engine) endPastYear(ss *stationState, rule *Rule, param string, s *series, now time.Time,
	ts []Transition) []Transition {
	if len(ss.alerts) == 0 {
		return ts // the common case: nothing to end, nor a mean to compute
	}
	year, t := s.ytd.dayYear, s.lastT
	v, _, ok := s.ytd.value()
	if !ok {
		v = s.ytd.openMean()
	}
	limit, ok := e.limitAt(rule, t)
	if !ok {
		return ts
	}
	lv := e.levels(rule, limit)
	for i := range lv.n {
		ls := &lv.s[i]
		a := ss.alert(rule.index, param, ls.severity)
		if a == nil || (a.State != StatePending && a.State != StateFiring) || yearOfDay(dayOf(a.EvalAt)) >= year {
			continue
		}
		ts = e.stepLimit(ss, rule, param, ls, CondClear, v, limit, t, now, ts)
	}
	return ts
}

func ratio(v, limit float64, d Direction) float64 {
	if d == Below {
		return limit / v
	}
	return v / limit
}

func (e *Engine) evalFlag(ss *stationState, rule *Rule, v *ingest.Value, t, now time.Time, ts []Transition) []Transition {
	c := CondClear
	if rule.flags[byte(v.Flag)] {
		c = CondBreach
	}
	lv := e.levels(rule, 0)
	ls := &lv.s[0]
	if c != CondBreach && ss.alert(rule.index, v.Param, ls.severity) == nil {
		return ts // the common case, without the closure
	}
	return e.step(ss, rule, v.Param, ls, c, v.V, t, now, ts, func(a *Alert) {
		a.Limit, a.Threshold, a.Ratio = math.NaN(), math.NaN(), math.NaN()
		if c == CondBreach {
			a.Flag = v.Flag
		}
	})
}

func (e *Engine) evalWater(ss *stationState, rule *Rule, r *ingest.Reading, cache map[waterclass.Class]*waterclass.Result, now time.Time, ts []Transition) []Transition {
	if r.Period == ingest.PeriodDay {
		// A daily mean (HJ 212 2031) is stamped with the day's start and
		// comes after its end: it is as new as that end, not backfill.
		now = now.Add(-24 * time.Hour)
	}
	target := rule.Limit.class
	if target == 0 {
		target = waterclass.Class(ss.st.TargetClassNum())
	}
	if target == 0 {
		return ts
	}
	res := cache[target]
	if res == nil {
		sample := map[string]float64{}
		for _, v := range r.Values {
			if normal(v.Flag) && usable(v.V) {
				sample[v.Param] = v.V
			}
		}
		wb, err := waterclass.ParseWaterbody(cmpOr(ss.st.Waterbody, "river"))
		if err != nil {
			wb = waterclass.River
		}
		out, err := waterclass.Assess(sample, waterclass.Options{Waterbody: wb, Target: target, Method: waterclass.Monitoring})
		if err != nil {
			e.logger.Warn("water sample not assessed", "station", ss.st.ID, "err", err)
			out = waterclass.Result{}
		}
		res = &out
		cache[target] = res
	}
	for _, it := range res.Items {
		if !it.Decides || math.IsNaN(it.Ratio) || (rule.Param != "" && rule.Param != it.Item) {
			continue
		}
		limit, below := waterLimit(it)
		noApproach := it.Limit.IsRange()
		lv := e.levels(rule, 0)
		for i := range lv.n {
			ls := &lv.s[i]
			c := ls.cond(it.Ratio)
			if ls.warning && noApproach {
				// Only the range's breach alerts; clear ends a warning
				// saved by a version that raised them.
				c = CondClear
			}
			thr := limit
			if ls.warning {
				if below {
					thr = tidy(limit / ls.level.Threshold)
				} else {
					thr = tidy(limit * ls.level.Threshold)
				}
			}
			ts = e.step(ss, rule, it.Item, ls, c, it.Value, r.Time, now, ts, func(a *Alert) {
				a.Limit, a.Threshold, a.Ratio, a.Below = limit, thr, it.Ratio, below
				a.Class, a.TargetClass = it.Class, target
			})
		}
	}
	return ts
}

// waterLimit is the side of an item's bound the value is measured
// against: the upper limit, or the lower one (dissolved oxygen, low pH).
func waterLimit(it waterclass.ItemResult) (limit float64, below bool) {
	b := it.Limit
	hasLo, hasHi := !math.IsInf(b.Lo, -1), !math.IsInf(b.Hi, 1)
	switch {
	case hasLo && !hasHi:
		return b.Lo, true
	case hasLo && hasHi && it.Value > 0 && b.Lo/it.Value > it.Value/b.Hi:
		return b.Lo, true
	}
	return b.Hi, false
}

// evalStale evaluates a stale rule at wall time now.
func (e *Engine) evalStale(ss *stationState, rule *Rule, now time.Time, ts []Transition) []Transition {
	interval := ss.st.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	thr := rule.Limit.Value * interval.Seconds()
	lv := e.levels(rule, thr)
	ls := &lv.s[0]
	var silent time.Duration
	c := CondClear
	if ss.arrived.IsZero() {
		// Nothing since the start: the start is the last sign of life,
		// except for an alert that was firing before a restart, which
		// keeps firing until the station is heard from.
		silent = now.Sub(e.start)
		if a := ss.alert(rule.index, "", ls.severity); a != nil && a.State == StateFiring {
			c = CondHold
			silent = now.Sub(a.LastSeen)
		}
	} else {
		silent = now.Sub(ss.arrived)
	}
	if c != CondHold {
		c = ls.cond(silent.Seconds())
	}
	if c == CondBreach && ss.savedArrival && now.Sub(e.start) <= min(time.Duration(thr*float64(time.Second)), staleGrace) {
		// Silent past the limit by the saved time of its last reading, but
		// what it sent while envpipe was down may still be on its way from
		// the broker: no new alert before it had that long to be heard
		// from (never longer than a station never heard from gets).
		if a := ss.alert(rule.index, "", ls.severity); a == nil || a.State != StateFiring {
			return ts
		}
	}
	if c != CondBreach && ss.alert(rule.index, "", ls.severity) == nil {
		return ts // the common case, without the closure
	}
	return e.step(ss, rule, "", ls, c, silent.Seconds(), now, now, ts, func(a *Alert) {
		a.Limit, a.Threshold, a.Ratio = thr, thr, silent.Seconds()/thr
		if !ss.arrived.IsZero() {
			a.LastSeen = ss.arrived
		} else if a.LastSeen.IsZero() {
			a.LastSeen = e.start
		}
	})
}

// staleGrace bounds how long after a start a station that the windows
// file shows silent past its stale limit is given to be heard from.
const staleGrace = 10 * time.Minute

// step runs the state machine of one alert and records the transition.
func (e *Engine) step(ss *stationState, rule *Rule, param string, ls *levelSpec, c Cond, v float64, at, now time.Time,
	ts []Transition, fill func(*Alert)) []Transition {
	a := ss.alert(rule.index, param, ls.severity)
	if a == nil {
		if c != CondBreach {
			return ts
		}
		a = e.newAlert(rule, ss.st, param, ls)
		e.addAlert(ss, alertKey{rule.index, ss.st.ID, param, ls.severity}, a)
	}
	prev := a.Episode
	if !prev.EvalAt.IsZero() && at.Before(prev.EvalAt) {
		return ts // late input: the alert has seen newer data
	}
	a.Episode = Step(prev, c, v, at, rule.For)
	fill(a)
	backfill := at.Before(now.Add(-e.cfg.Horizon))
	if a.State == prev.State {
		if a.State == StateFiring && !a.Sent && !backfill {
			a.Sent = true
			ts = append(ts, Transition{Alert: *a, From: StateFiring, To: StateFiring, At: at, Notify: true})
		}
		return ts
	}
	tr := Transition{From: prev.State, To: a.State, At: at, Backfill: backfill}
	switch a.State {
	case StateFiring:
		tr.Notify = !backfill
		a.Sent = tr.Notify
	case StateResolved:
		tr.Notify = a.Sent
		a.Sent = false
	}
	tr.Alert = *a
	return append(ts, tr)
}

func (e *Engine) newAlert(rule *Rule, st *station.Station, param string, ls *levelSpec) *Alert {
	labels := make(map[string]string, len(rule.Labels)+5)
	for k, v := range rule.Labels {
		labels[k] = v
	}
	labels["alertname"] = rule.Name
	labels["station"] = st.ID
	if st.County != "" {
		labels["county"] = st.County
	}
	if param != "" {
		labels["param"] = param
	}
	labels["severity"] = ls.severity
	return &Alert{Rule: rule.Name, Station: st.ID, Param: param, Severity: ls.severity, Labels: labels,
		Warning: ls.warning, Below: ls.level.Direction == Below, rule: rule, st: st,
		Limit: math.NaN(), Threshold: math.NaN(), Ratio: math.NaN()}
}

// Tick evaluates the wall-clock rules (stale stations) at now, re-sends
// firing alerts when resend_interval has passed, and saves the windows
// when state_interval has passed. Run calls it every second.
func (e *Engine) Tick(now time.Time) {
	e.mu.Lock()
	var ts []Transition
	for _, ss := range e.order {
		if !ss.stale {
			continue
		}
		for _, rule := range ss.rules {
			if rule.agg == aggStale {
				ts = e.evalStale(ss, rule, now, ts)
			}
		}
	}
	lp := e.commit(ts, now)
	if !e.disp.idle() && (e.lastResend.IsZero() || now.Sub(e.lastResend) >= e.cfg.ResendInterval) {
		e.lastResend = now
		e.disp.resend(e.firingLocked(now))
	}
	saveWindows := now.Sub(e.lastSave) >= e.cfg.StateInterval
	if saveWindows {
		e.lastSave = now
	}
	e.mu.Unlock()
	e.write(lp)
	if saveWindows {
		e.saveWindows(now)
	}
}

// firingLocked returns every firing alert that was sent, for a re-send.
func (e *Engine) firingLocked(now time.Time) []Notification {
	var out []Notification
	for _, a := range e.alerts {
		if a.State == StateFiring && a.Sent {
			out = append(out, e.notification(a, now))
		}
	}
	return out
}

// commit records transitions: metrics, the state file, notifications; it
// returns their line protocol for the caller to write outside the lock.
func (e *Engine) commit(ts []Transition, now time.Time) []byte {
	if len(ts) == 0 {
		return nil
	}
	var notify []Notification
	var lp []byte
	changed := false
	for i := range ts {
		t := &ts[i]
		if t.From != t.To {
			changed = true
			e.m.transitions.WithLabelValues(t.To.String()).Inc()
			if t.To == StateFiring {
				e.m.firing.WithLabelValues(t.Alert.Severity).Inc()
			}
			if t.From == StateFiring {
				e.m.firing.WithLabelValues(t.Alert.Severity).Dec()
			}
			lp = e.appendLine(lp, t)
			e.logger.Info("alert "+t.To.String(), "alert", t.Alert.Rule, "station", t.Alert.Station,
				"param", t.Alert.Param, "severity", t.Alert.Severity, "value", t.Alert.Value,
				"threshold", t.Alert.Threshold, "at", t.At, "backfill", t.Backfill, "notify", t.Notify)
		}
		if t.Notify && !e.disp.idle() { // rendering costs; nobody to tell
			notify = append(notify, e.notification(&t.Alert, now))
		}
	}
	if changed || len(notify) > 0 {
		e.stateDirty = true
		e.pendingNotify = append(e.pendingNotify, notify...)
		select {
		case e.saveKick <- struct{}{}:
		default:
		}
	}
	return lp
}

// saveAndNotify saves the alert state if it changed, then hands the
// notifications committed before the save to the notifiers. The state
// includes what tellers told (see Teller), which deliveries change after
// the save that preceded them: Run calls this every second to save it.
// After a failed save it tries again only once saveRetry has passed,
// unless force (Flush, shutdown); meanwhile notifications go unsaved, as
// they do when the save fails: a page matters more than the guarantee
// against a second one after a crash.
func (e *Engine) saveAndNotify(force bool) {
	e.mu.Lock()
	if !e.stateDirty && len(e.pendingNotify) == 0 && !e.disp.toldChanged() {
		e.mu.Unlock()
		return
	}
	now := e.now()
	if !force && now.Before(e.saveRetry) {
		notify := e.pendingNotify
		e.pendingNotify = nil
		e.mu.Unlock()
		if len(notify) > 0 {
			e.disp.send(notify, false)
		}
		return
	}
	// The memories first: a delivery after this is a change the next save
	// catches, whereas one between the alerts' snapshot and here could
	// record an alert the snapshot does not hold, which addTold leaves out.
	told, versions := e.disp.told()
	state, active := e.snapshotAlerts(now)
	notify := e.pendingNotify
	e.pendingNotify, e.stateDirty = nil, false
	e.mu.Unlock()
	// The ends still owed, and those about to go: a crash after the save
	// and before their delivery must not lose them.
	state.Ends = savedEnds(e.disp.ends.owed(notify, now))
	addTold(&state, told, active)
	e.saveMu.Lock()
	err := e.store.saveAlerts(marshalState(state))
	if err != nil {
		e.stateLog.failed(e.logger, now, "alert state not saved; retrying", err)
	} else {
		e.stateLog.ok(e.logger, "alert state saved again")
	}
	e.saveMu.Unlock()
	e.mu.Lock()
	if err != nil {
		e.m.saveErrors.Inc()
		e.stateDirty = true // tried again, later
		e.saveWait = min(max(2*e.saveWait, time.Second), e.cfg.StateInterval)
		e.saveRetry = now.Add(e.saveWait)
	} else {
		e.saveWait, e.saveRetry = 0, time.Time{}
	}
	e.mu.Unlock()
	if err == nil {
		e.disp.markToldSaved(versions)
	}
	if len(notify) > 0 {
		e.disp.send(notify, false)
	}
}

func (e *Engine) write(lp []byte) {
	if len(lp) > 0 && e.emit != nil {
		e.emit(lp)
	}
}

// notification renders a as notifiers see it at wall time now.
func (e *Engine) notification(a *Alert, now time.Time) Notification {
	d := e.templateData(a)
	summary, desc := a.rule.render(e.lang, d)
	n := Notification{
		Labels: a.Labels,
		Annotations: map[string]string{
			"summary":      summary,
			"description":  desc,
			"value":        formatNum(a.Value),
			"station_name": a.st.Name,
		},
		StartsAt:     a.FiredAt,
		GeneratorURL: e.generatorURL(a),
		Value:        a.Value,
		Limit:        a.Threshold,
	}
	if usable(a.Limit) {
		n.Annotations["limit"] = formatNum(a.Limit)
	}
	if usable(a.Threshold) {
		n.Annotations["threshold"] = formatNum(a.Threshold)
	}
	if a.State == StateFiring {
		n.Status = StatusFiring
		n.EndsAt = later(now, a.FiredAt).Add(4 * e.cfg.ResendInterval)
	} else {
		n.Status = StatusResolved
		n.EndsAt = a.ResolvedAt
		if n.EndsAt.After(now) {
			n.EndsAt = now
		}
		n.EndsAt = later(n.EndsAt, n.StartsAt)
	}
	return n
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (e *Engine) generatorURL(a *Alert) string {
	if e.grafana == "" {
		return ""
	}
	q := url.Values{"var-station": {a.Station}}
	if a.Param != "" {
		q.Set("var-param", a.Param)
	}
	return e.grafana + e.cfg.Dashboards[string(a.st.Kind)] + "?" + q.Encode()
}

func (e *Engine) templateData(a *Alert) *TemplateData {
	r, st, lang := a.rule, a.st, e.lang
	since := a.FiredAt
	if since.IsZero() {
		since = a.ActiveAt
	}
	d := &TemplateData{
		Rule: r.Name, Severity: a.Severity, State: a.State.String(), Warning: a.Warning, Below: a.Below,
		Direction: "above",
		Value:     a.Value, Limit: a.Limit, Threshold: a.Threshold, Ratio: a.Ratio,
		Unit:    ParamUnit(a.Param),
		Station: cmpOr(st.Name, st.ID), StationID: st.ID, County: st.County, River: st.River, Section: st.Section,
		Param: ParamName(a.Param, lang), ParamID: a.Param, What: r.what(lang),
		Source: r.source(cmpTime(a.EvalAt, since), lang, a.TargetClass),
		Since:  formatTime(since, lang),
	}
	if a.Below {
		d.Direction = "below"
	}
	switch r.Aggregate {
	case AggWaterClass:
		d.Class, d.TargetClass = a.Class.String(), a.TargetClass.String()
		d.ClassText = d.Class + "类"
		if lang == LangEN {
			d.Class, d.TargetClass = a.Class.English(), a.TargetClass.English()
			d.ClassText = "Class " + d.Class
			if a.Class == waterclass.WorseThanV {
				d.ClassText = "worse than Class V"
			}
		}
	case AggStale:
		d.Unit = ""
		d.Limit = r.Limit.Value
		d.Silent = formatDuration(time.Duration(a.Value*float64(time.Second)).Truncate(time.Second), lang)
		d.Interval = formatDuration(st.Interval, lang)
		d.LastSeen = formatTime(a.LastSeen, lang)
	case AggFlag:
		d.Flag = string(rune(a.Flag))
		d.FlagText = flagTexts[a.Flag][lang]
	}
	return d
}

func cmpTime(a, b time.Time) time.Time {
	if !a.IsZero() {
		return a
	}
	return b
}

// Alerts returns a snapshot of every alert that is pending or firing.
func (e *Engine) Alerts() []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Alert
	for _, a := range e.alerts {
		if a.State == StatePending || a.State == StateFiring {
			out = append(out, *a)
		}
	}
	return out
}

// Run delivers notifications and calls Tick every second (or every
// resend_interval, if shorter) until ctx ends; then it saves the state and
// the windows and gives the notifiers up to 5 s to deliver what is queued.
// Start it before the pipeline and stop it after the pipeline has
// stopped: Observe keeps working without Run, but nothing is delivered.
func (e *Engine) Run(ctx context.Context) error {
	e.disp.start()
	e.sendRestoredEnds()
	tick := min(time.Second, e.cfg.ResendInterval)
	t := time.NewTicker(tick)
	defer t.Stop()
	e.Tick(e.now())
	var lastSave time.Time
	for {
		select {
		case <-ctx.Done():
			e.Flush()
			e.disp.stop(5 * time.Second)
			e.saveAndNotify(true) // what the receivers were told meanwhile
			return nil
		case <-e.saveKick:
			// Every save writes every active alert: in a network-wide
			// episode, batches of transitions arriving back to back are
			// saved together, at most one file every minSaveGap.
			if d := minSaveGap - time.Since(lastSave); d > 0 {
				gap := time.NewTimer(d)
				select {
				case <-ctx.Done():
					gap.Stop()
					continue
				case <-gap.C:
				}
			}
			e.saveAndNotify(false)
			lastSave = time.Now()
		case <-t.C:
			e.Tick(e.now())
			e.saveAndNotify(false)
		}
	}
}

// sendRestoredEnds hands the ends still owed at the last stop to the
// notifiers once, except ends of alerts that are active again (an old end
// would end the new episode at Alertmanager), and not to receivers new to
// the state file, which never heard of those alerts. Receivers that
// remember what they told (Teller) skip those they were told.
func (e *Engine) sendRestoredEnds() {
	e.mu.Lock()
	ends := e.restoredEnds
	e.restoredEnds = nil
	active := map[string]bool{}
	for _, a := range e.alerts {
		if a.State == StatePending || a.State == StateFiring {
			active[fingerprint(a.Labels)] = true
		}
	}
	e.mu.Unlock()
	var batch []sentEnd
	for _, x := range ends {
		if !active[x.n.Fingerprint()] {
			batch = append(batch, x)
		}
	}
	if len(batch) > 0 {
		e.logger.Info("ends a receiver was still owed at the last stop sent again", "alerts", len(batch))
		e.disp.sendEnds(batch)
	}
}

// minSaveGap is the least time between two saves of the alert state
// prompted by transitions; it delays a notification by at most that much.
const minSaveGap = 100 * time.Millisecond

// Flush saves the alert state and the windows now, and hands pending
// notifications to the notifiers.
func (e *Engine) Flush() {
	e.mu.Lock()
	e.stateDirty = true
	e.mu.Unlock()
	e.saveAndNotify(true)
	now := e.now()
	e.mu.Lock()
	e.lastSave = now
	e.mu.Unlock()
	e.saveWindows(now)
}

// saveWindows writes the windows file; it takes e.mu itself, in chunks
// (writeWindows), so the caller must not hold it.
func (e *Engine) saveWindows(now time.Time) {
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	err := writeAtomicFunc(e.store.windowsPath(), func(f io.Writer) error {
		w := bufio.NewWriterSize(f, 256<<10)
		if err := e.writeWindows(w, now); err != nil {
			return err
		}
		return w.Flush()
	})
	if err != nil {
		e.m.saveErrors.Inc()
		e.windowsLog.failed(e.logger, now, "alert windows not saved", err)
	} else {
		e.windowsLog.ok(e.logger, "alert windows saved again")
	}
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
