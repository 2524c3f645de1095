package hj212srv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/pipeline"
)

// conn is one station connection: a reader goroutine (frames in, deliveries
// out) and a writer goroutine (answers and requests out).
//
// Answers leave in frame order: every frame read takes a slot at the tail
// of pending; a slot is resolved when its answer is known (at once for the
// frames handled here, by the pipeline's Ack for the others), and the
// resolved slots at the head move to out, which the writer sends. Each slot
// holds one of max_inflight tokens until its answer is written, so the
// reader stops reading when the station is max_inflight answers ahead.
type conn struct {
	l      *Listener
	nc     net.Conn
	remote string
	topic  string // "tcp:<remote>", the Delivery's Topic
	log    *slog.Logger

	tokens  chan struct{} // one per unanswered frame; capacity max_inflight
	wake    chan struct{} // the writer has work
	drained chan struct{} // the writer returned tokens
	done    chan struct{} // closed by close

	closeOnce sync.Once
	reason    string // why it was closed; written once, before done is closed

	mu      sync.Mutex
	pending []*slot
	head    int    // pending[:head] are answered
	out     []byte // answers and requests ready for the writer
	outN    int    // slots whose answers are in out (tokens to return)
	outResp [2]int // answers in out: 9014, 9011
}

// slot is one frame's place in the answer order.
type slot struct {
	resp  []byte // the answer, nil for none
	kind  int    // respData or respRequest
	ready bool
}

const (
	respData    = 0 // 9014
	respRequest = 1 // 9011
)

// maxInvalidFrames is how many frames in a row may fail the frame check
// (length, CRC, syntax) or be discarded as oversized before the connection
// is closed. A device with a bad firmware sends every frame wrong, and each
// of those is answered, counted and dead-lettered, so 16 is enough to show
// the problem; more would only let junk hold a connection slot.
const maxInvalidFrames = 16

func newConn(l *Listener, nc net.Conn) *conn {
	remote := nc.RemoteAddr().String()
	return &conn{
		l: l, nc: nc, remote: remote, topic: "tcp:" + remote,
		log:     l.log.With("remote", remote),
		tokens:  make(chan struct{}, l.cfg.MaxInflight),
		wake:    make(chan struct{}, 1),
		drained: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
}

// readLoop reads frames until the connection ends or the listener is
// quiesced.
func (c *conn) readLoop(ctx context.Context) {
	defer c.l.wg.Done()
	fr := hj212.NewFramer(c.nc, c.l.cfg.MaxFrameBytes)
	lim := newLimiter(c.l.cfg.MaxFramesPerSecond)
	var skipped int64
	// The idle timeout runs from the last frame that passed the frame
	// check: garbage, oversized or short junk does not keep a connection
	// open, and a run of maxInvalidFrames of them closes it at once.
	resetIdle, invalid := true, 0
	for {
		if resetIdle {
			_ = c.nc.SetReadDeadline(time.Now().Add(c.l.cfg.IdleTimeout))
			resetIdle = false
		}
		if c.l.quiesced.Load() {
			return
		}
		raw, err := fr.Next()
		if st := fr.Stats(); st.Skipped != skipped {
			c.l.m.skippedBytes.Add(float64(st.Skipped - skipped))
			skipped = st.Skipped
		}
		if err != nil {
			if errors.Is(err, hj212.ErrTooLong) {
				c.l.m.frames.WithLabelValues(frameOversized).Inc()
				c.log.Warn("frame above max_frame_bytes discarded", "max_frame_bytes", c.l.cfg.MaxFrameBytes)
				if invalid++; invalid >= maxInvalidFrames {
					c.tooManyInvalid()
					return
				}
				continue
			}
			c.readFailed(err)
			return
		}
		if c.l.quiesced.Load() {
			// Read as Quiesce stopped the reader: a read that finds data
			// returns it even past its deadline. Dropped unanswered.
			return
		}
		if d := lim.take(time.Now()); d > 0 && !c.sleep(d) {
			return
		}
		select {
		case c.tokens <- struct{}{}:
		case <-c.done:
			return
		case <-c.l.quiesce:
			return
		}
		more, valid := c.handle(ctx, raw)
		if !more {
			return
		}
		if valid {
			resetIdle, invalid = true, 0
		} else if invalid++; invalid >= maxInvalidFrames {
			c.tooManyInvalid()
			return
		}
	}
}

func (c *conn) tooManyInvalid() {
	c.log.Info("closing connection after invalid frames in a row", "frames", maxInvalidFrames)
	c.close(closeInvalid)
}

// readFailed closes the connection for a read error, unless the error only
// reports that Quiesce or close stopped the reader.
func (c *conn) readFailed(err error) {
	select {
	case <-c.done:
		return // closed already; this error is the consequence
	default:
	}
	var ne net.Error
	switch {
	case c.l.quiesced.Load():
		// Stopped reading; the connection stays open for the answers.
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The station may only have shut down its sending side and still
		// wait for its 9014s: let the answers due go out first.
		c.drain()
		c.close(closeEOF)
	case errors.As(err, &ne) && ne.Timeout():
		c.log.Info("closing idle connection", "idle_timeout", c.l.cfg.IdleTimeout)
		c.close(closeIdle)
	default:
		c.log.Debug("read failed", "err", err)
		c.close(closeError)
	}
}

// drain waits, at most write_timeout, until every frame read has been
// answered or dropped: the answers whose readings become durable in that
// time are written.
func (c *conn) drain() {
	t := time.NewTimer(c.l.cfg.WriteTimeout)
	defer t.Stop()
	for len(c.tokens) > 0 {
		select {
		case <-c.drained:
		case <-c.done:
			return
		case <-t.C:
			c.log.Info("closing after the station's EOF with answers unsent", "unanswered", len(c.tokens))
			return
		}
	}
}

// sleep waits d for the rate limit; false when reading must stop.
func (c *conn) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
	case <-c.l.quiesce:
	}
	return false
}

// stopReading unblocks the reader after Quiesce.
func (c *conn) stopReading() { _ = c.nc.SetReadDeadline(time.Now()) }

// handle deals with one frame; it holds a token. more is false when reading
// must stop; valid is false when the frame failed the frame check (length,
// CRC, syntax).
func (c *conn) handle(ctx context.Context, raw []byte) (more, valid bool) {
	payload := bytes.Clone(raw) // raw is the framer's buffer
	v := c.l.chk.check(payload, "")
	f := v.frame
	switch {
	case !v.ok():
		// The pipeline's Decoder refuses it for the same reason, and
		// counts and dead-letters it; the Ack answers.
		c.l.m.frames.WithLabelValues(frameInvalid).Inc()
		var resp []byte
		if f != nil && f.WantsAck() {
			resp = encode(hj212.RequestResponse(f, v.rtn))
		}
		c.log.Debug("frame refused", "reason", v.reject.Reason, "detail", v.reject.Detail)
		return c.forward(ctx, payload, resp, respRequest), !v.badFrame
	case isData(f.CN):
		c.l.m.frames.WithLabelValues(frameData).Inc()
		if c.l.bf != nil {
			c.l.bf.observe(c, v.station, f)
		}
		var resp []byte
		if f.WantsAck() {
			resp = encode(hj212.DataResponse(f))
		}
		return c.forward(ctx, payload, resp, respData), true
	case f.CN == hj212.CNRequestResponse || f.CN == hj212.CNExecResult:
		c.l.m.frames.WithLabelValues(frameAnswer).Inc()
		if c.l.bf != nil {
			c.l.bf.answer(v.station, f)
		}
		c.resolve(c.push(nil, 0), true)
	default:
		c.l.m.frames.WithLabelValues(frameOther).Inc()
		var resp []byte
		kind := respData
		switch {
		case !f.WantsAck(), f.CN == hj212.CNNotifyResponse, f.CN == hj212.CNDataResponse:
		case isUpload(f.CN):
			// Status, running time, restart time, heartbeat: received,
			// not stored.
			resp = encode(hj212.DataResponse(f))
		default:
			// A command envpipe does not carry out.
			resp, kind = encode(hj212.RequestResponse(f, hj212.QnRtnRejected)), respRequest
		}
		c.log.Debug("frame not ingested", "cn", f.CN, "station", v.station.ID)
		c.resolve(c.push(resp, kind), true)
	}
	return true, true
}

// isUpload reports whether cn is an upload from a station (2xxx) or the
// HJ 212-2025 heartbeat, which get a 9014 when they ask for an answer.
func isUpload(cn string) bool {
	return len(cn) == 4 && cn[0] == '2' || cn == hj212.CNHeartbeat2025
}

// forward hands a frame to the pipeline; its Ack sends resp.
func (c *conn) forward(ctx context.Context, payload, resp []byte, kind int) bool {
	s := c.push(resp, kind)
	if c.l.quiesced.Load() {
		c.resolve(s, false)
		return false
	}
	d := pipeline.Delivery{Format: pipeline.FormatHJ212, Topic: c.topic, Payload: payload,
		Ack: func() { c.resolve(s, true) }}
	select {
	case c.l.out <- d:
		return true
	case <-ctx.Done():
	case <-c.done:
	case <-c.l.quiesce:
	}
	c.resolve(s, false) // not handed over: no answer, the station sends it again
	return false
}

func encode(f *hj212.Frame) []byte {
	b, err := f.Encode()
	if err != nil {
		// Responses copy QN, PW and MN from a frame that parsed, so they
		// encode; should one not, the station gets no answer and resends.
		return nil
	}
	return b
}

// push appends a slot for the next frame's answer.
func (c *conn) push(resp []byte, kind int) *slot {
	s := &slot{resp: resp, kind: kind}
	c.mu.Lock()
	c.pending = append(c.pending, s)
	c.mu.Unlock()
	return s
}

// resolve marks s answered (answer false: drop its answer) and moves the
// answered slots at the head to the writer. Safe from any goroutine; it
// never blocks, since acks are called under the pipeline's ack lock.
func (c *conn) resolve(s *slot, answer bool) {
	c.mu.Lock()
	if !answer {
		s.resp = nil
	}
	s.ready = true
	moved := false
	for c.head < len(c.pending) && c.pending[c.head].ready {
		p := c.pending[c.head]
		c.pending[c.head] = nil
		c.head++
		if p.resp != nil {
			c.out = append(c.out, p.resp...)
			c.outResp[p.kind]++
		}
		c.outN++
		moved = true
	}
	if c.head == len(c.pending) {
		c.pending, c.head = c.pending[:0], 0
	} else if c.head > 1024 && 2*c.head > len(c.pending) {
		n := copy(c.pending, c.pending[c.head:])
		clear(c.pending[n:])
		c.pending, c.head = c.pending[:n], 0
	}
	c.mu.Unlock()
	if moved {
		c.signal()
	}
}

// sendRequest queues a frame envpipe sends on its own (a history request),
// between answers. It reports false when the connection is closed.
func (c *conn) sendRequest(b []byte) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	c.mu.Lock()
	c.out = append(c.out, b...)
	c.mu.Unlock()
	c.signal()
	return true
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeLoop sends what resolve and sendRequest queue, until close; at a
// shutdown it sends what is queued one last time.
func (c *conn) writeLoop() {
	defer c.l.wg.Done()
	defer c.nc.Close()
	var buf []byte
	for {
		select {
		case <-c.wake:
		case <-c.done:
			if c.reason == closeShutdown {
				c.flush(&buf)
			}
			return
		}
		if !c.flush(&buf) {
			c.close(closeWrite)
			return
		}
	}
}

// flush writes what is queued; false when the write failed.
func (c *conn) flush(buf *[]byte) bool {
	c.mu.Lock()
	*buf, c.out = c.out, (*buf)[:0]
	n, resp := c.outN, c.outResp
	c.outN, c.outResp = 0, [2]int{}
	c.mu.Unlock()
	if len(*buf) > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.l.cfg.WriteTimeout))
		if _, err := c.nc.Write(*buf); err != nil {
			c.log.Info("write failed; closing", "err", err)
			return false
		}
		c.l.m.responses.WithLabelValues(hj212.CNDataResponse).Add(float64(resp[respData]))
		c.l.m.responses.WithLabelValues(hj212.CNRequestResponse).Add(float64(resp[respRequest]))
	}
	for range n {
		<-c.tokens
	}
	if n > 0 {
		select {
		case c.drained <- struct{}{}:
		default:
		}
	}
	return true
}

// close ends the connection once. For a shutdown the writer sends what is
// queued before it closes the socket; otherwise the socket closes now.
func (c *conn) close(reason string) {
	c.closeOnce.Do(func() {
		c.reason = reason
		close(c.done)
		if reason != closeShutdown {
			c.nc.Close()
		} else {
			// Unblock the reader; the writer closes the socket.
			_ = c.nc.SetReadDeadline(time.Now())
		}
		c.l.m.disconnects.WithLabelValues(reason).Inc()
		c.l.forget(c)
		c.log.Debug("connection closed", "reason", reason)
	})
}
