package main

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/hj212srv/fieldunit"
	"github.com/envpipe/envpipe/ingest/station"
)

// hj212Transport carries one station's frames.
type hj212Transport interface {
	// Send delivers one frame of station i. An error ends the run
	// (cancellation); a frame that could not be delivered is counted and
	// dropped: it stays in the station's history.
	Send(ctx context.Context, i int, frame []byte) error
	// Offline takes station i off line (TCP: disconnects).
	Offline(i int)
	// Close waits up to drain for answers and disconnects.
	Close(ctx context.Context, drain time.Duration)
	Stats() hj212Stats
}

// hj212Stats is what a transport counted.
type hj212Stats struct {
	Failed, Answered, Refused, Requests int64
}

// runHJ212 is run for -hj212 mqtt|tcp: the stations with an hj212_mn (and
// not -silent) measure on the simulated clock, keep their history and
// upload what -hj212-uploads says, except while an -hj212-outage holds them
// off line. It stops like JSON mode (signal, -duration, -count frames) and
// writes a summary to stdout.
func runHJ212(ctx context.Context, cfg config, stdout io.Writer) error {
	o := cfg.HJ212
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg, errs := station.Load(cfg.Stations)
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", cfg.Stations, errors.Join(errs...))
	}
	start := cfg.Start
	if start.IsZero() {
		start = time.Now()
	}
	sc, err := newScenario(reg, cfg.Silent, cfg.Faulty, cfg.Episodes, start)
	if err != nil {
		return err
	}
	outs, err := newOutages(reg, o.Outages, start)
	if err != nil {
		return err
	}
	var sts []*station.Station
	for _, st := range reg.All() {
		if st.HJ212MN != "" && !sc.Silent(st.ID) {
			sts = append(sts, st)
		}
	}
	if len(sts) == 0 {
		return fmt.Errorf("%s: no station with an hj212_mn (that is not -silent): nothing to send in HJ 212 mode", cfg.Stations)
	}
	units := make([]*fieldunit.Unit, len(sts))
	for i, st := range sts {
		u := fieldunit.New(st.HJ212MN, st.HJ212Password, systemCode(st))
		u.Units = st.HJ212Units
		units[i] = u
	}

	var tr hj212Transport
	switch o.Mode {
	case "tcp":
		tr = newHJ212TCP(o.Addr, units, log)
	case "mqtt":
		pub, err := connect(ctx, mqttOptions{
			Broker: cfg.Broker, Username: cfg.Username, Password: cfg.Password,
			PerStationAuth: cfg.PerStationAuth, StationPassword: cfg.StationPassword,
			ClientID: cfg.ClientID, Conns: cfg.Conns, Window: cfg.Window,
		}, sts, log)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		topics := make([]string, len(sts))
		for i, st := range sts {
			topics[i] = strings.ReplaceAll(o.Topic, "{station}", st.ID)
		}
		tr = &hj212MQTT{pub: pub, topics: topics}
	default:
		return fmt.Errorf("-hj212 %q: must be mqtt or tcp", o.Mode)
	}

	wall0 := time.Now()
	sim := &hj212Sim{
		stations: sts, units: units, opts: o, outages: outs, model: Model{Seed: cfg.Seed}, scenario: sc,
		clock: simClock{wall0: wall0, start: start, speed: cfg.Speed, live: cfg.Live}, interval: cfg.Interval, count: cfg.Count,
		log: log, hours: make([]hourAcc, len(sts)), offline: make([]bool, len(sts)),
	}
	if cfg.Duration > 0 {
		sim.deadline = wall0.Add(cfg.Duration)
	}
	log.Info("HJ 212 stations measuring", "transport", o.Mode, "stations", len(sts), "outages", len(outs),
		"start", start.In(cst).Format(time.RFC3339), "speed", cfg.Speed, "uploads", strings.Join(o.Uploads, ","))
	reason := sim.run(ctx, tr)
	tr.Close(ctx, cfg.Drain)
	elapsed := time.Since(wall0)

	s := tr.Stats()
	rate := 0.0
	if sec := elapsed.Seconds(); sec > 0 {
		rate = float64(sim.frames) / sec
	}
	fmt.Fprintf(stdout, "stationsim: HJ 212 over %s: %s after %s: %d frames sent (%d readings measured), %d failed; %.1f frames/s\n",
		o.Mode, reason, elapsed.Round(time.Millisecond), sim.frames, sim.readings, s.Failed, rate)
	if o.Mode == "tcp" {
		fmt.Fprintf(stdout, "stationsim: answers: %d stored (9014), %d refused (9011); %d history requests answered\n",
			s.Answered, s.Refused, s.Requests)
	} else {
		fmt.Fprintf(stdout, "stationsim: %d published (acknowledged by the broker)\n", s.Answered)
	}
	log.Info("done", "reason", reason.String(), "frames", sim.frames, "failed", s.Failed, "answered", s.Answered, "refused", s.Refused)
	return nil
}

// hj212Sim is the HJ 212 mode's measuring loop.
type hj212Sim struct {
	stations []*station.Station
	units    []*fieldunit.Unit
	opts     hj212Options
	outages  outages
	model    Model
	scenario *scenario
	clock    simClock
	interval time.Duration // overrides every station's when > 0
	count    int64
	deadline time.Time
	log      *slog.Logger

	hours    []hourAcc
	offline  []bool
	frames   int64 // sent (loop goroutine only)
	readings int64
}

// hourAcc gathers a station's readings of one hour for its hourly mean.
type hourAcc struct {
	hour time.Time
	recs []fieldunit.Record
}

// run measures every station at its interval on the simulated clock, as
// the JSON simulator does (same schedule, same model and scenario).
func (s *hj212Sim) run(ctx context.Context, tr hj212Transport) stopReason {
	intervals := make([]time.Duration, len(s.stations))
	q := make(schedule, len(s.stations))
	for i, st := range s.stations {
		iv := st.Interval
		if s.interval > 0 {
			iv = s.interval
		}
		if iv <= 0 {
			iv = time.Minute
		}
		intervals[i] = iv
		q[i] = due{at: alignDown(s.clock.start, iv), i: i}
	}
	heap.Init(&q)
	sl := newWallSleeper()
	defer sl.stop()
	sleepUntil := func(w time.Time) bool { return sl.until(ctx, w) }
	for {
		if s.count > 0 && s.frames >= s.count {
			return stopCount
		}
		next := q[0]
		wall := s.clock.Wall(next.at)
		if !s.deadline.IsZero() && !wall.Before(s.deadline) {
			if !sleepUntil(s.deadline) {
				return stopSignal
			}
			return stopDuration
		}
		if !sleepUntil(wall) {
			return stopSignal
		}
		if err := s.measure(ctx, tr, next.i, next.at); err != nil {
			return stopSignal
		}
		q[0].at = next.at.Add(intervals[next.i])
		heap.Fix(&q, 0)
	}
}

// measure is station i's reading at t: into its history, the hour's mean
// when an hour is complete, and uploaded unless the station is off line.
func (s *hj212Sim) measure(ctx context.Context, tr hj212Transport, i int, t time.Time) error {
	st, u := s.stations[i], s.units[i]
	vals := s.model.Values(st, t, s.model.RNG(st.ID, t))
	s.scenario.Apply(st, t, vals)
	rec := fieldunit.Record{Time: t, Values: vals}
	s.readings++
	u.Store(hj212.CNMinute, rec)

	off := s.outages.offline(st.ID, t)
	if off != s.offline[i] {
		s.offline[i] = off
		if off {
			s.log.Info("station off line (still measuring)", "station", st.ID, "at", t.In(cst).Format(time.RFC3339))
			tr.Offline(i)
		} else {
			s.log.Info("station back on line", "station", st.ID, "at", t.In(cst).Format(time.RFC3339))
		}
	}

	var frames [][]byte
	h := &s.hours[i]
	if hour := t.Truncate(time.Hour); !hour.Equal(h.hour) {
		if len(h.recs) > 0 {
			mean := fieldunit.Mean(h.hour, h.recs)
			u.Store(hj212.CNHourly, mean)
			if s.opts.uploads(hj212.CNHourly) {
				frames = append(frames, s.upload(u, hj212.CNHourly, mean))
			}
		}
		h.hour, h.recs = hour, h.recs[:0]
	}
	h.recs = append(h.recs, rec)
	for _, cn := range []string{hj212.CNRealtime, hj212.CNMinute} {
		if s.opts.uploads(cn) {
			frames = append(frames, s.upload(u, cn, rec))
		}
	}
	if off {
		return nil
	}
	for _, f := range frames {
		if f == nil {
			continue
		}
		if err := tr.Send(ctx, i, f); err != nil {
			return err
		}
		s.frames++
	}
	return nil
}

func (s *hj212Sim) upload(u *fieldunit.Unit, cn string, r fieldunit.Record) []byte {
	b, err := u.Upload(cn, r)
	if err != nil {
		s.log.Error("frame not built", "mn", u.MN, "cn", cn, "err", err)
		return nil
	}
	return b
}

// hj212MQTT publishes one frame per message.
type hj212MQTT struct {
	pub    *publisher
	topics []string
}

func (m *hj212MQTT) Send(ctx context.Context, i int, frame []byte) error {
	return m.pub.Send(ctx, i, m.topics[i], frame)
}
func (m *hj212MQTT) Offline(int) {}
func (m *hj212MQTT) Close(ctx context.Context, drain time.Duration) {
	m.pub.close(ctx, drain)
}
func (m *hj212MQTT) Stats() hj212Stats {
	return hj212Stats{Failed: m.pub.failed.Load(), Answered: m.pub.acked.Load()}
}

// hj212TCP keeps one connection per station to envpipe's listener,
// reconnecting at the station's next upload when it is lost.
type hj212TCP struct {
	addr  string
	units []*fieldunit.Unit
	log   *slog.Logger

	mu       sync.Mutex
	sessions []*fieldunit.Session
	wg       sync.WaitGroup
	lastLog  time.Time

	sent, failed, answered, refused, requests atomic.Int64
}

const hj212DialTimeout = 5 * time.Second

func newHJ212TCP(addr string, units []*fieldunit.Unit, log *slog.Logger) *hj212TCP {
	return &hj212TCP{addr: addr, units: units, log: log, sessions: make([]*fieldunit.Session, len(units))}
}

func (t *hj212TCP) Send(ctx context.Context, i int, frame []byte) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s := t.session(ctx, i)
	if s == nil {
		t.failed.Add(1)
		return nil
	}
	if err := s.Send(frame); err != nil {
		t.logFailure("send failed; reconnecting at the next upload", "mn", t.units[i].MN, "err", err)
		t.failed.Add(1)
		t.Offline(i)
		return nil
	}
	t.sent.Add(1)
	return nil
}

// session returns station i's session, connecting when there is none.
func (t *hj212TCP) session(ctx context.Context, i int) *fieldunit.Session {
	t.mu.Lock()
	s := t.sessions[i]
	t.mu.Unlock()
	if s != nil {
		return s
	}
	dctx, cancel := context.WithTimeout(ctx, hj212DialTimeout)
	defer cancel()
	s, err := fieldunit.Dial(dctx, t.addr, t.units[i])
	if err != nil {
		t.logFailure("cannot connect to envpipe", "addr", t.addr, "mn", t.units[i].MN, "err", err)
		return nil
	}
	t.mu.Lock()
	t.sessions[i] = s
	t.mu.Unlock()
	t.wg.Go(func() {
		err := s.Serve(context.Background(), t.onFrame)
		if err != nil {
			t.log.Debug("connection ended", "mn", t.units[i].MN, "err", err)
		}
		_, answered := s.Requests()
		t.requests.Add(answered)
	})
	return s
}

func (t *hj212TCP) onFrame(f *hj212.Frame) {
	switch f.CN {
	case hj212.CNDataResponse:
		t.answered.Add(1)
	case hj212.CNRequestResponse:
		t.refused.Add(1)
		rtn, _ := f.CP.Get("QnRtn")
		t.logFailure("envpipe refused a frame", "mn", f.MN, "qn", f.QN, "qn_rtn", rtn)
	}
}

// logFailure logs at most one line every errorLogInterval.
func (t *hj212TCP) logFailure(msg string, args ...any) {
	t.mu.Lock()
	now := time.Now()
	if now.Sub(t.lastLog) < errorLogInterval {
		t.mu.Unlock()
		return
	}
	t.lastLog = now
	t.mu.Unlock()
	t.log.Warn(msg, args...)
}

func (t *hj212TCP) Offline(i int) {
	t.mu.Lock()
	s := t.sessions[i]
	t.sessions[i] = nil
	t.mu.Unlock()
	if s != nil {
		s.Close()
	}
}

// Close waits up to drain (signalDrain after an interrupt) for an answer to
// every frame sent, then disconnects every station.
func (t *hj212TCP) Close(ctx context.Context, drain time.Duration) {
	if ctx.Err() != nil {
		drain = min(drain, signalDrain)
	}
	deadline := time.Now().Add(drain)
	for time.Now().Before(deadline) && t.answered.Load()+t.refused.Load() < t.sent.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	for i := range t.sessions {
		t.Offline(i)
	}
	t.wg.Wait()
}

func (t *hj212TCP) Stats() hj212Stats {
	return hj212Stats{Failed: t.failed.Load(), Answered: t.answered.Load(), Refused: t.refused.Load(), Requests: t.requests.Load()}
}
