package alert

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func note(name string, s Status) Notification {
	return Notification{Status: s, Labels: map[string]string{"alertname": name}}
}

// gate is a notifier that blocks until released.
type gate struct {
	recorder
	release chan struct{}
	once    sync.Once
}

func (g *gate) Notify(ctx context.Context, alerts []Notification) error {
	g.once.Do(func() { <-g.release })
	return g.recorder.Notify(ctx, alerts)
}

func TestDispatcherKeepsOrderAndNeverPutsAnAlertTwiceInOneCall(t *testing.T) {
	g := &gate{recorder: recorder{name: "am"}, release: make(chan struct{})}
	m := newMetrics(prometheus.NewRegistry(), []Notifier{g})
	d := newDispatcher([]Notifier{g}, time.Second, m, slog.New(slog.DiscardHandler))
	d.start()
	defer d.stop(time.Second)

	d.send([]Notification{note("first", StatusFiring)}, false) // held at the gate
	time.Sleep(20 * time.Millisecond)
	// While the first call hangs, these queue up and must not block.
	done := make(chan struct{})
	go func() {
		d.send([]Notification{note("a", StatusFiring), note("b", StatusFiring)}, false)
		d.send([]Notification{note("a", StatusResolved)}, false)
		d.send([]Notification{note("c", StatusFiring)}, false)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("send blocked on a slow notifier")
	}
	close(g.release)
	g.waitFor(t, 5)
	g.mu.Lock()
	defer g.mu.Unlock()
	var calls []string
	for _, c := range g.calls {
		calls = append(calls, describe(c))
	}
	want := []string{"first//:firing ", "a//:firing b//:firing ", "a//:resolved c//:firing "}
	if len(calls) != len(want) {
		t.Fatalf("calls %q, want %q", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("call %d: %q, want %q", i, calls[i], want[i])
		}
	}
}

func TestDispatcherDrainsOnStopAndResendsOnlyToResenders(t *testing.T) {
	bad := &recorder{name: "bad", fail: errors.New("503")}
	good := &recorder{name: "good"}
	am := &recorder{name: "am", resend: true}
	m := newMetrics(prometheus.NewRegistry(), []Notifier{bad, good, am})
	d := newDispatcher([]Notifier{bad, good, am}, time.Second, m, slog.New(slog.DiscardHandler))
	d.start()
	d.send([]Notification{note("a", StatusFiring)}, false)
	d.send([]Notification{note("b", StatusFiring)}, true) // a re-send
	d.send([]Notification{note("c", StatusFiring)}, false)
	d.stop(time.Second)
	if got := describe(good.all()); got != "a//:firing c//:firing " {
		t.Errorf("good got %q", got)
	}
	if got := describe(am.all()); got != "a//:firing b//:firing c//:firing " {
		t.Errorf("am got %q", got)
	}
	if n := len(bad.all()); n != 2 {
		t.Errorf("bad was tried %d times", n)
	}
}

func TestDispatcherDropsTheOldestBeyondItsQueueBound(t *testing.T) {
	r := &recorder{name: "r"}
	m := newMetrics(prometheus.NewRegistry(), []Notifier{r})
	d := newDispatcher([]Notifier{r}, time.Second, m, slog.New(slog.DiscardHandler))
	batch := make([]Notification, maxQueued+10)
	for i := range batch {
		batch[i] = note("x", StatusFiring)
	}
	d.send(batch, false) // not started: it all queues
	if v := testutilCounter(m.dropped.WithLabelValues("r", dropQueueFull)); v != 10 {
		t.Errorf("dropped %v", v)
	}
}

// flaky is a receiver that fails its first calls.
type flaky struct {
	resend   bool
	mu       sync.Mutex
	failures int
	attempts int
	got      []Notification // delivered
}

func (f *flaky) Name() string { return "flaky" }
func (f *flaky) Resend() bool { return f.resend }
func (f *flaky) Notify(_ context.Context, alerts []Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	if f.attempts <= f.failures {
		return errors.New("503 Service Unavailable")
	}
	f.got = append(f.got, alerts...)
	return nil
}

func TestDispatcherRetriesWhatNoReSendWillCarry(t *testing.T) {
	for _, tc := range []struct {
		name     string
		resend   bool
		failures int
		// sends are batches handed to the dispatcher a minute apart.
		sends [][]Notification
		// want is what the receiver got within an hour; attempts bounds
		// how often it was tried.
		want                     string
		minAttempts, maxAttempts int
	}{
		{name: "a firing that failed is delivered once the receiver is back",
			failures: 3, sends: [][]Notification{{note("a", StatusFiring)}},
			want: "a//:firing ", minAttempts: 4, maxAttempts: 4},
		{name: "a resolved that failed is delivered once the receiver is back",
			failures: 1, sends: [][]Notification{{note("a", StatusResolved)}},
			want: "a//:resolved ", minAttempts: 2, maxAttempts: 2},
		{name: "a resolved replaces the undelivered firing it ends",
			failures: 2, sends: [][]Notification{{note("a", StatusFiring), note("b", StatusFiring)}, {note("a", StatusResolved)}},
			want: "a//:resolved b//:firing ", minAttempts: 4, maxAttempts: 4},
		{name: "a receiver that never comes back is tried with backoff",
			failures: 1 << 30, sends: [][]Notification{{note("a", StatusFiring)}},
			want: "", minAttempts: 5, maxAttempts: 20},
		{name: "a receiver that takes re-sends is left to them",
			resend: true, failures: 1, sends: [][]Notification{{note("a", StatusFiring)}},
			want: "", minAttempts: 1, maxAttempts: 1},
		{name: "a receiver that takes re-sends still gets an end that failed: no re-send carries it",
			resend: true, failures: 1, sends: [][]Notification{{note("a", StatusResolved)}},
			want: "a//:resolved ", minAttempts: 2, maxAttempts: 2},
		{name: "a failed call keeps its ends and leaves its firing alerts to re-sends",
			resend: true, failures: 1, sends: [][]Notification{{note("a", StatusFiring), note("b", StatusResolved)}},
			want: "b//:resolved ", minAttempts: 2, maxAttempts: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &flaky{resend: tc.resend, failures: tc.failures}
				m := newMetrics(prometheus.NewRegistry(), []Notifier{f})
				d := newDispatcher([]Notifier{f}, time.Second, m, slog.New(slog.DiscardHandler))
				d.start()
				for _, b := range tc.sends {
					d.send(b, false)
					time.Sleep(time.Minute)
				}
				time.Sleep(time.Hour)
				d.stop(time.Second)
				f.mu.Lock()
				defer f.mu.Unlock()
				if got := describe(f.got); got != tc.want {
					t.Errorf("delivered %q, want %q", got, tc.want)
				}
				if f.attempts < tc.minAttempts || f.attempts > tc.maxAttempts {
					t.Errorf("%d attempts, want %d..%d", f.attempts, tc.minAttempts, tc.maxAttempts)
				}
			})
		})
	}
}
