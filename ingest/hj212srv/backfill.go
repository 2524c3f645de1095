package hj212srv

import (
	"log/slog"
	"sync"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/station"
)

// backfill finds gaps in the data of TCP stations and asks the stations for
// their stored minute and hourly data over the gap.
//
// A gap is found from DataTime alone: the newest DataTime of a station's
// real-time (2011) and minute (2051) frames is remembered, and a frame whose
// DataTime is more than max(3 × interval, min_gap, 3 × the station's usual
// step) after it closes a gap; a second "gap" of the same length right after
// it is taken as the station's cadence instead. Both requests (2051, then 2061) cover the gap
// from that newest DataTime (the hourly one from the start of its hour) to
// the frame's, capped at max_span. One request per station is in flight;
// the rest wait in a short queue, overlapping ranges merged.
//
// What is remembered lives in memory: after a restart of envpipe the first
// frame of each station only sets the mark.
type backfill struct {
	cfg BackfillConfig
	m   *Metrics
	log *slog.Logger

	mu      sync.Mutex
	st      map[*station.Station]*bfStation
	lastQN  time.Time
	stopped bool
}

// maxQueued bounds the requests waiting per station.
const maxQueued = 8

// maxTries is how often a request whose connection closed before the
// answer is sent again (once the station is back).
const maxTries = 2

type bfStation struct {
	st       *station.Station
	last     time.Time     // newest DataTime of 2011/2051 data
	step     time.Duration // last step between DataTimes that was not a gap
	lastGap  time.Duration // the previous step, when it was a gap
	conn     *conn         // where the station was last heard, nil when closed
	mn, pw   string
	stCode   string
	version  hj212.Version
	queue    []bfRequest
	inflight *bfInflight
}

type bfRequest struct {
	cn         string
	begin, end time.Time
	tries      int
}

type bfInflight struct {
	req   bfRequest
	qn    string
	conn  *conn
	timer *time.Timer
}

func newBackfill(cfg BackfillConfig, m *Metrics, log *slog.Logger) *backfill {
	return &backfill{cfg: cfg, m: m, log: log, st: map[*station.Station]*bfStation{}}
}

// observe notes a data frame that passed the checks, from c.
func (b *backfill) observe(c *conn, st *station.Station, f *hj212.Frame) {
	tracked := f.CN == hj212.CNRealtime || f.CN == hj212.CNMinute
	t, hasTime := newestDataTime(f)

	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.st[st]
	if s == nil {
		s = &bfStation{st: st}
		b.st[st] = s
	}
	s.conn = c
	s.mn, s.pw, s.stCode = f.MN, f.PW, f.ST
	if f.HasFlag {
		s.version = f.Flag.Version()
	}
	if tracked && hasTime {
		if !s.last.IsZero() {
			switch d := t.Sub(s.last); {
			case d > b.threshold(s) && sameStep(d, s.lastGap):
				// Two "gaps" in a row of one length are the station's
				// cadence (an interval configured too short), not silence.
				s.step, s.lastGap = d, 0
			case d > b.threshold(s):
				b.gap(s, s.last, t)
				s.lastGap = d
			case d > 0:
				s.step, s.lastGap = d, 0
			}
		}
		if t.After(s.last) {
			s.last = t
		}
	}
	b.next(s)
}

// sameStep reports whether two steps are equal within 10 %.
func sameStep(a, b time.Duration) bool {
	return b > 0 && a-b <= a/10 && b-a <= a/10
}

func (b *backfill) threshold(s *bfStation) time.Duration {
	return max(3*s.st.Interval, b.cfg.MinGap, 3*s.step)
}

// gap queues the requests for the data between from and to.
func (b *backfill) gap(s *bfStation, from, to time.Time) {
	b.m.gaps.Inc()
	b.log.Info("gap in a station's data: asking for its minute and hourly data",
		"station", s.st.ID, "from", from.In(hj212.CST).Format(time.DateTime), "to", to.In(hj212.CST).Format(time.DateTime),
		"silence", to.Sub(from).String())
	b.enqueue(s, bfRequest{cn: hj212.CNMinute, begin: from, end: to})
	// Hours are whole in CST (+08:00), so truncating the instant works.
	b.enqueue(s, bfRequest{cn: hj212.CNHourly, begin: from.Truncate(time.Hour), end: to})
}

// enqueue adds r, capped at max_span, merged with a queued request of the
// same CN that it overlaps, and left out when the request in flight covers
// it.
func (b *backfill) enqueue(s *bfStation, r bfRequest) {
	if r.end.Sub(r.begin) > b.cfg.MaxSpan {
		r.begin = r.end.Add(-b.cfg.MaxSpan)
	}
	if p := s.inflight; p != nil && p.req.cn == r.cn && !r.begin.Before(p.req.begin) && !r.end.After(p.req.end) {
		return
	}
	for i := range s.queue {
		q := &s.queue[i]
		if q.cn == r.cn && !r.begin.After(q.end) && !r.end.Before(q.begin) {
			if r.begin.Before(q.begin) {
				q.begin = r.begin
			}
			if r.end.After(q.end) {
				q.end = r.end
			}
			if q.end.Sub(q.begin) > b.cfg.MaxSpan {
				q.begin = q.end.Add(-b.cfg.MaxSpan)
			}
			return
		}
	}
	if len(s.queue) >= maxQueued {
		b.m.requestResults.WithLabelValues(bfDropped).Inc()
		b.log.Warn("history request dropped: too many queued for the station", "station", s.st.ID, "cn", s.queue[0].cn)
		s.queue = s.queue[1:]
	}
	s.queue = append(s.queue, r)
}

// next sends the station's next request if none is in flight.
func (b *backfill) next(s *bfStation) {
	for !b.stopped && s.inflight == nil && s.conn != nil && len(s.queue) > 0 {
		r := s.queue[0]
		now := time.Now()
		if !now.After(b.lastQN) {
			now = b.lastQN.Add(time.Millisecond) // QNs must differ: answers are matched by QN
		}
		b.lastQN = now
		stCode := s.stCode
		if stCode == "" {
			stCode = "22"
			if s.st.Kind == ingest.KindWater {
				stCode = "21"
			}
		}
		f, err := hj212.HistoryRequest{CN: r.cn, ST: stCode, MN: s.mn, PW: s.pw, Version: s.version,
			Begin: r.begin, End: r.end, Now: now}.Frame()
		var raw []byte
		if err == nil {
			raw, err = f.Encode()
		}
		if err != nil {
			s.queue = s.queue[1:]
			b.m.requestResults.WithLabelValues(bfFailed).Inc()
			b.log.Error("history request not built", "station", s.st.ID, "err", err)
			continue
		}
		if !s.conn.sendRequest(raw) {
			s.conn = nil // closed: wait for the station to come back
			return
		}
		s.queue = s.queue[1:]
		r.tries++
		p := &bfInflight{req: r, qn: f.QN, conn: s.conn}
		p.timer = time.AfterFunc(b.cfg.Timeout, func() { b.expire(s, p) })
		s.inflight = p
		b.m.requests.WithLabelValues(r.cn).Inc()
		b.log.Info("history request sent", "station", s.st.ID, "cn", r.cn, "qn", f.QN,
			"begin", r.begin.In(hj212.CST).Format(time.DateTime), "end", r.end.In(hj212.CST).Format(time.DateTime))
	}
}

// answer takes a station's 9011 or 9012 (a frame that passed the checks).
func (b *backfill) answer(st *station.Station, f *hj212.Frame) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.st[st]
	if s == nil || s.inflight == nil || s.inflight.qn != f.QN {
		b.log.Debug("answer to no request in flight", "station", st.ID, "cn", f.CN, "qn", f.QN)
		return
	}
	switch f.CN {
	case hj212.CNRequestResponse:
		rtn, _ := f.CP.Get("QnRtn")
		if rtn == "1" {
			return // ready: the data and the 9012 follow
		}
		b.finish(s, bfRefused, "qn_rtn", rtn)
	case hj212.CNExecResult:
		switch exe, _ := f.CP.Get("ExeRtn"); exe {
		case "1":
			b.finish(s, bfAnswered)
		case "100":
			b.finish(s, bfNoData)
		default:
			b.finish(s, bfFailed, "exe_rtn", exe)
		}
	}
}

// finish ends the request in flight with result and sends the next one.
func (b *backfill) finish(s *bfStation, result string, logArgs ...any) {
	p := s.inflight
	p.timer.Stop()
	s.inflight = nil
	b.m.requestResults.WithLabelValues(result).Inc()
	args := append([]any{"station", s.st.ID, "cn", p.req.cn, "qn", p.qn, "result", result}, logArgs...)
	if result == bfAnswered || result == bfNoData {
		b.log.Info("history request done", args...)
	} else {
		b.log.Warn("history request failed", args...)
	}
	b.next(s)
}

func (b *backfill) expire(s *bfStation, p *bfInflight) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.inflight == p {
		b.finish(s, bfTimeout, "timeout", b.cfg.Timeout.String())
	}
}

// connClosed forgets c. A request in flight on it is queued again (up to
// maxTries) for when the station is back.
func (b *backfill) connClosed(c *conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.st {
		if s.conn == c {
			s.conn = nil
		}
		if p := s.inflight; p != nil && p.conn == c {
			if p.req.tries < maxTries {
				s.queue = append([]bfRequest{p.req}, s.queue...)
				if len(s.queue) > maxQueued {
					s.queue = s.queue[:maxQueued]
				}
			}
			b.finish(s, bfDisconnected)
		}
	}
}

// stop cancels the timers; nothing is sent after it.
func (b *backfill) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	for _, s := range b.st {
		if s.inflight != nil {
			s.inflight.timer.Stop()
		}
	}
}

// newestDataTime returns the latest DataTime in f's CP.
func newestDataTime(f *hj212.Frame) (time.Time, bool) {
	var newest time.Time
	found := false
	for _, it := range f.CP {
		for _, fl := range it {
			if fl.Key != "DataTime" {
				continue
			}
			if t, err := hj212.ParseDataTime(fl.Value, nil); err == nil && (!found || t.After(newest)) {
				newest, found = t, true
			}
		}
	}
	return newest, found
}
