package pipeline

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest/station"
	"github.com/envpipe/envpipe/ingest/wal"
)

func durabilityPipe(t *testing.T, log Log) *Pipeline {
	cfg := station.DefaultValidation()
	cfg.MaxAge = 100 * 365 * 24 * time.Hour
	return New(Config{Registry: benchRegistry(t, 3), Validation: cfg, Log: log,
		Metrics: NewMetrics(prometheus.NewRegistry()), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// nearlyFullWAL returns a WAL of 1 000 bytes at most, 900 of them taken by
// derived records, and a pipeline on it; the WAL is closed at the end.
func nearlyFullWAL(t *testing.T) (*wal.WAL, *Pipeline) {
	w, err := wal.Open(t.TempDir(), wal.Options{MaxSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	p := durabilityPipe(t, w)
	for w.Stats().UnwrittenBytes < 900 {
		if err := p.Emit(context.Background(), []byte("filler,a=b v=1 1\n")); err != nil {
			t.Fatal(err)
		}
	}
	return w, p
}

func msg(payload string, acked *atomic.Bool) Delivery {
	return Delivery{Format: FormatJSON, Topic: "env/zz-air-0001/data", Station: "zz-air-0001",
		Payload: []byte(payload), Ack: func() { acked.Store(true) }}
}

// A message whose WAL append was cut off by shutdown (the WAL at its size
// limit) must not be acked by the next derived record's durability.
func TestAMessageNotAppendedIsNotAckedByTheNextRecord(t *testing.T) {
	w, p := nearlyFullWAL(t)
	var xAcked atomic.Bool
	d := msg(`{"station":"zz-air-0001","time":"2026-11-28T09:00:00Z","values":{"pm25":42.4}}`, &xAcked)
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- p.Handle(ctx, &d) }()
	for !w.Stats().Blocked {
		time.Sleep(time.Millisecond)
	}
	cancel() // stopPipe()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("Handle = %v", err)
	}
	headBefore := w.Head()
	if err := w.Commit(w.Head()); err != nil { // the writer catches up
		t.Fatal(err)
	}
	// the deriver's shutdown Tick emits one record
	if err := p.Emit(context.Background(), []byte("aqi,station=x aqi=50 1\n")); err != nil {
		t.Fatal(err)
	}
	// Until the emitted record is durable and its ack released.
	for deadline := time.Now().Add(5 * time.Second); w.Head() == headBefore && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if xAcked.Load() {
		t.Fatalf("message X was acked although its reading was never appended to the WAL")
	}
}

type failOnceLog struct {
	mu sync.Mutex
	n  int
}

func (l *failOnceLog) Append(_ context.Context, _ []byte, done func(error)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if l.n == 1 {
		done(errors.New("fsync: input/output error"))
	} else {
		done(nil)
	}
	return nil
}

// After a failed WAL write nothing is acked: not the message it held, and
// not later ones, whose durability reports would be matched to the wrong
// messages.
func TestAFailedWALWriteAcksNothing(t *testing.T) {
	p := durabilityPipe(t, &failOnceLog{})
	var aAcked, bAcked atomic.Bool
	a := msg(`{"station":"zz-air-0001","time":"2026-11-28T09:00:00Z","values":{"pm25":42.4}}`, &aAcked)
	b := msg(`{"station":"zz-air-0001","time":"2026-11-28T09:01:00Z","values":{"pm25":42.4}}`, &bAcked)
	if err := p.Handle(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	if err := p.Handle(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if aAcked.Load() || bAcked.Load() {
		t.Fatalf("acked after a failed WAL write: A %v, B %v", aAcked.Load(), bAcked.Load())
	}
	if err := p.failed(); err == nil {
		t.Error("the pipeline did not report the WAL failure")
	}
}

// The WAL at its size limit (InfluxDB down): a derived Emit blocked under
// emitCtx holds the append lock. Cancelling emitCtx with the pipeline's
// context, as run.go does, lets Run return instead of waiting for InfluxDB.
func TestRunStopsWhileAnEmitIsBlockedOnAFullWAL(t *testing.T) {
	w, p := nearlyFullWAL(t)
	emitCtx, stopEmit := context.WithCancel(context.Background())
	defer stopEmit()
	go p.Emit(emitCtx, []byte("aqi,station=x aqi=50,pad=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\" 1\n")) // the deriver's tick
	for !w.Stats().Blocked {
		time.Sleep(time.Millisecond)
	}
	in := make(chan Delivery, 1)
	var acked atomic.Bool
	in <- msg(`{"station":"zz-air-0001","time":"2026-11-28T09:00:00Z","values":{"pm25":42.4}}`, &acked)
	pipeCtx, stopPipe := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(pipeCtx, in) }()
	time.Sleep(50 * time.Millisecond)
	stopPipe()
	stopEmit()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("pipeline.Run did not return 2 s after it was stopped: shutdown hangs while the WAL is full")
	}
}
