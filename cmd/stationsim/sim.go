package main

import (
	"container/heap"
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// sender delivers one message. Send blocks while the connection that carries
// station i has its in-flight window full; it fails only when ctx is done.
type sender interface {
	Send(ctx context.Context, i int, topic string, payload []byte) error
}

// stopReason says why the simulation loop ended.
type stopReason int

const (
	stopSignal   stopReason = iota // the context was cancelled (SIGINT/SIGTERM)
	stopDuration                   // -duration of wall time has passed
	stopCount                      // -count messages were sent
)

func (r stopReason) String() string {
	switch r {
	case stopDuration:
		return "duration reached"
	case stopCount:
		return "count reached"
	}
	return "interrupted"
}

// simOptions are the simulator's settings.
type simOptions struct {
	Topic    string        // topic template with {station}
	Interval time.Duration // overrides every station's interval when > 0
	Batch    int           // readings per message (>= 1)
	Count    int64         // stop after this many messages (0 = no limit)
	Deadline time.Time     // stop at this wall time (zero = no limit)
}

// simulator produces every publishing station's readings on the simulated
// clock, in time order, and hands them to a sender as messages.
type simulator struct {
	stations  []*station.Station // publishing stations (silent ones left out)
	topics    []string
	intervals []time.Duration
	model     Model
	scenario  *scenario
	clock     simClock
	opts      simOptions
	log       *slog.Logger

	// Progress, read by the progress logger while the loop runs.
	messages atomic.Int64 // messages sent
	readings atomic.Int64 // readings in them
	simNow   atomic.Int64 // Unix ns of the latest reading made
	first    time.Time    // time of the first reading (loop goroutine only)
}

// newSimulator prepares the schedule for every station of all that the
// scenario does not silence.
func newSimulator(all []*station.Station, model Model, sc *scenario, clock simClock, opts simOptions, log *slog.Logger) *simulator {
	s := &simulator{model: model, scenario: sc, clock: clock, opts: opts, log: log}
	if s.opts.Batch < 1 {
		s.opts.Batch = 1
	}
	for _, st := range all {
		if sc.Silent(st.ID) {
			continue
		}
		iv := st.Interval
		if opts.Interval > 0 {
			iv = opts.Interval
		}
		if iv <= 0 {
			iv = time.Minute
		}
		s.stations = append(s.stations, st)
		s.topics = append(s.topics, strings.ReplaceAll(opts.Topic, "{station}", st.ID))
		s.intervals = append(s.intervals, iv)
	}
	return s
}

// reading returns what station i reports at t, with the scenario applied.
func (s *simulator) reading(i int, t time.Time) ingest.Reading {
	st := s.stations[i]
	vals := s.model.Values(st, t, s.model.RNG(st.ID, t))
	s.scenario.Apply(st, t, vals)
	return ingest.Reading{Station: st.ID, Time: t, Values: vals}
}

// run publishes until ctx is done, the deadline passes or the message count
// is reached. Each station's first reading is stamped with the latest
// multiple of its interval at or before the simulated start (so every station
// reports at once), the next ones one interval apart, each sent when the
// simulated clock reaches its time. When sending falls behind (a full
// window, a slow broker), the simulated clock is not waited for: readings
// keep their timestamps and go out as fast as the broker takes them.
// Partial batches are sent when the deadline is reached, and dropped on an
// interrupt or when the count is reached.
func (s *simulator) run(ctx context.Context, out sender) stopReason {
	q := make(schedule, len(s.stations))
	for i := range s.stations {
		q[i] = due{at: alignDown(s.clock.start, s.intervals[i]), i: i}
	}
	heap.Init(&q)
	batches := make([][]ingest.Reading, len(s.stations))

	sl := newWallSleeper()
	defer sl.stop()
	sleepUntil := func(w time.Time) bool { return sl.until(ctx, w) }
	// Sends end at the deadline too, even when a full window holds them up.
	sendCtx := ctx
	if !s.opts.Deadline.IsZero() {
		var cancel context.CancelFunc
		sendCtx, cancel = context.WithDeadline(ctx, s.opts.Deadline)
		defer cancel()
	}
	send := func(ctx context.Context, i int) bool {
		msg := encodeMessage(batches[i])
		n := len(batches[i])
		batches[i] = batches[i][:0]
		if err := out.Send(ctx, i, s.topics[i], msg); err != nil {
			return false
		}
		s.messages.Add(1)
		s.readings.Add(int64(n))
		return true
	}
	countReached := func() bool { return s.opts.Count > 0 && s.messages.Load() >= s.opts.Count }
	// atDeadline sends the partial batches (giving them a second) and stops.
	atDeadline := func() stopReason {
		flushCtx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		for i := range batches {
			if len(batches[i]) > 0 && !countReached() && !send(flushCtx, i) {
				break
			}
		}
		if ctx.Err() != nil {
			return stopSignal
		}
		return stopDuration
	}
	pastDeadline := func(wall time.Time) bool {
		return !s.opts.Deadline.IsZero() && (!wall.Before(s.opts.Deadline) || !time.Now().Before(s.opts.Deadline))
	}

	for len(q) > 0 {
		if countReached() {
			return stopCount
		}
		next := q[0]
		wall := s.clock.Wall(next.at)
		if pastDeadline(wall) {
			if !sleepUntil(s.opts.Deadline) {
				return stopSignal
			}
			return atDeadline()
		}
		if !sleepUntil(wall) {
			return stopSignal
		}
		r := s.reading(next.i, next.at)
		if s.first.IsZero() {
			s.first = r.Time
		}
		s.simNow.Store(r.Time.UnixNano())
		batches[next.i] = append(batches[next.i], r)
		if len(batches[next.i]) >= s.opts.Batch {
			if !send(sendCtx, next.i) {
				if ctx.Err() != nil {
					return stopSignal
				}
				return atDeadline()
			}
			if s.log.Enabled(ctx, slog.LevelDebug) {
				s.log.Debug("published", "station", r.Station, "time", r.Time.Format(time.RFC3339Nano), "readings", s.opts.Batch)
			}
		}
		q[0].at = next.at.Add(s.intervals[next.i])
		heap.Fix(&q, 0)
	}
	return stopSignal // no stations: unreachable, run refuses an empty network
}

// due is a station's next reading time.
type due struct {
	at time.Time
	i  int
}

// schedule is a min-heap of due readings, earliest first, ties in station
// order so that runs are reproducible.
type schedule []due

func (q schedule) Len() int { return len(q) }
func (q schedule) Less(a, b int) bool {
	if !q[a].at.Equal(q[b].at) {
		return q[a].at.Before(q[b].at)
	}
	return q[a].i < q[b].i
}
func (q schedule) Swap(a, b int) { q[a], q[b] = q[b], q[a] }
func (q *schedule) Push(x any)   { *q = append(*q, x.(due)) }
func (q *schedule) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
