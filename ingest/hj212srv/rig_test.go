package hj212srv

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/pipeline"
	"github.com/envpipe/envpipe/ingest/station"
)

// fakeLog is an in-memory WAL: records are durable at once, or when the
// test releases them (hold).
type fakeLog struct {
	mu    sync.Mutex
	hold  bool
	recs  [][]byte
	dones []func(error)
}

func (l *fakeLog) Append(_ context.Context, rec []byte, done func(error)) error {
	l.mu.Lock()
	l.recs = append(l.recs, append([]byte(nil), rec...))
	if l.hold {
		l.dones = append(l.dones, done)
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()
	done(nil)
	return nil
}

// release makes every record appended so far durable, in order.
func (l *fakeLog) release() {
	l.mu.Lock()
	ds := l.dones
	l.dones = nil
	l.mu.Unlock()
	for _, d := range ds {
		d(nil)
	}
}

func (l *fakeLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recs)
}

// rig is a listener feeding a real pipeline that appends to a fakeLog.
type rig struct {
	l      *Listener
	log    *fakeLog
	dead   *deadLetters
	prom   *prometheus.Registry
	addr   string
	cancel context.CancelFunc
	runErr chan error
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.MaxFramesPerSecond = 0
	cfg.Backfill.Enabled = false
	return cfg
}

func newRig(t *testing.T, cfg Config, reg *station.Registry, hold bool) *rig {
	t.Helper()
	r := &rig{log: &fakeLog{hold: hold}, dead: &deadLetters{}, prom: prometheus.NewRegistry(), runErr: make(chan error, 1)}
	m := NewMetrics(r.prom, reg)
	deliveries := make(chan pipeline.Delivery, 16)
	pipe := pipeline.New(pipeline.Config{
		Registry: reg, Validation: station.DefaultValidation(), Log: r.log, DeadLetters: r.dead,
		Metrics: pipeline.NewMetrics(r.prom), Logger: testLogger(),
		Decoders: map[pipeline.Format]pipeline.Decoder{pipeline.FormatHJ212: NewDecoder(DecoderConfig{
			Registry: reg, MaxFrameBytes: cfg.MaxFrameBytes, Metrics: m, Logger: testLogger()})},
	})
	ctx, cancel := context.WithCancel(context.Background())
	pipeDone := make(chan struct{})
	go func() { defer close(pipeDone); _ = pipe.Run(ctx, deliveries) }()
	r.l = NewListener(cfg, reg, deliveries, m, testLogger())
	if err := r.l.Listen(); err != nil {
		t.Fatal(err)
	}
	r.addr = r.l.Addr().String()
	lctx, lcancel := context.WithCancel(context.Background())
	go func() { r.runErr <- r.l.Run(lctx) }()
	r.cancel = func() { lcancel(); cancel() }
	t.Cleanup(func() {
		r.log.release()
		lcancel()
		select {
		case <-r.runErr:
		case <-time.After(10 * time.Second):
			t.Error("listener did not stop within 10s")
		}
		cancel()
		<-pipeDone
	})
	return r
}

func (r *rig) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	return metricValue(t, r.prom, name, labels...)
}

// client is a station speaking raw bytes.
type client struct {
	t  *testing.T
	nc net.Conn
	fr *hj212.Framer
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, fr: hj212.NewFramer(nc, 0)}
}

func (c *client) send(frames ...[]byte) {
	c.t.Helper()
	for _, f := range frames {
		if _, err := c.nc.Write(f); err != nil {
			c.t.Fatal(err)
		}
	}
}

// next returns the next frame from envpipe, failing after timeout.
func (c *client) next(timeout time.Duration) *hj212.Frame {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(timeout))
	raw, err := c.fr.Next()
	if err != nil {
		c.t.Fatalf("no frame from envpipe within %v: %v", timeout, err)
	}
	f, err := hj212.Parse(raw, hj212.ParseOptions{})
	if err != nil {
		c.t.Fatalf("envpipe sent a bad frame %q: %v", raw, err)
	}
	return f
}

// none asserts that envpipe sends nothing for d.
func (c *client) none(d time.Duration) {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	raw, err := c.fr.Next()
	if err == nil {
		c.t.Fatalf("envpipe sent %q, want nothing yet", raw)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("read: %v, want a timeout", err)
	}
	// The framer keeps its state across a timeout; a fresh one resumes.
	c.fr = hj212.NewFramer(c.nc, 0)
}

// closed asserts that envpipe closes the connection within d.
func (c *client) closed(d time.Duration) {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 256)
	for {
		_, err := c.nc.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatalf("connection still open after %v", d)
		}
		return
	}
}

// expect reads the next frame and checks its CN, QN and (for 9011) QnRtn.
func (c *client) expect(cn, qn string, rtn hj212.QnRtn) {
	c.t.Helper()
	f := c.next(5 * time.Second)
	if f.CN != cn || f.QN != qn {
		c.t.Fatalf("got CN=%s QN=%s, want CN=%s QN=%s", f.CN, f.QN, cn, qn)
	}
	if cn == hj212.CNRequestResponse {
		if got, _ := f.CP.Get("QnRtn"); got != strconv.Itoa(int(rtn)) {
			c.t.Fatalf("QN=%s: QnRtn=%s, want %d", qn, got, rtn)
		}
	}
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
