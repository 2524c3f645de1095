package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// refusal is an error that says a later try cannot succeed, as
// alert/notify's errors for a 4xx or a robot's error code do.
type refusal struct{ error }

func (refusal) Retryable() bool { return false }

// picky is down (503) until up, then refuses every call that carries
// alert "p" with refuse(), and every call of more than max alerts (413).
type picky struct {
	up     time.Time
	refuse func() error
	max    int

	mu      sync.Mutex
	got     []Notification
	calls   int
	largest int
}

func (f *picky) Name() string { return "picky" }
func (f *picky) Notify(_ context.Context, alerts []Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.largest = max(f.largest, len(alerts))
	if time.Now().Before(f.up) {
		return errors.New("503")
	}
	if f.max > 0 && len(alerts) > f.max {
		return refusal{errors.New("413 request entity too large")}
	}
	for _, a := range alerts {
		if a.Labels["alertname"] == "p" {
			return f.refuse()
		}
	}
	f.got = append(f.got, alerts...)
	return nil
}

// A notification the receiver refuses for itself holds no other back: a
// refusal is not retried (a call of several is split to find it), and
// what fails with an error that does not say is given up after maxTries.
func TestDispatcherRetryOfARefusedNotificationHoldsNoOtherBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		refuse func() error
		within time.Duration // a delivered within
		reason string
	}{
		{"refused (not retryable)", func() error { return refusal{errors.New("400 bad request")} }, 2 * time.Minute, dropRefused},
		{"an error that does not say whether to retry", func() error { return errors.New("400 bad request") }, 2 * time.Hour, dropTries},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &picky{up: time.Now().Add(20 * time.Second), refuse: tc.refuse}
				m := newMetrics(prometheus.NewRegistry(), []Notifier{f})
				d := newDispatcher([]Notifier{f}, time.Second, m, slog.New(slog.DiscardHandler))
				d.start()
				d.send([]Notification{note("p", StatusFiring)}, false)
				time.Sleep(10 * time.Second)
				d.send([]Notification{note("a", StatusFiring)}, false)
				time.Sleep(tc.within)
				d.stop(time.Second)
				f.mu.Lock()
				defer f.mu.Unlock()
				if got := describe(f.got); got != "a//:firing " {
					t.Errorf("delivered %q within %v (%d calls), want a's firing", got, tc.within, f.calls)
				}
				if v := testutilCounter(m.dropped.WithLabelValues("picky", tc.reason)); v != 1 {
					t.Errorf("dropped{reason=%q} %v, want 1", tc.reason, v)
				}
			})
		})
	}
}

// After an outage, what waits goes in calls of at most maxBatch: one
// call of everything would be refused for its size every time.
func TestDispatcherRetriesInBoundedCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &picky{up: time.Now().Add(time.Hour), max: maxBatch, refuse: func() error { return nil }}
		m := newMetrics(prometheus.NewRegistry(), []Notifier{f})
		d := newDispatcher([]Notifier{f}, time.Second, m, slog.New(slog.DiscardHandler))
		d.start()
		for i := range 10 {
			batch := make([]Notification, 100)
			for j := range batch {
				batch[j] = note(fmt.Sprintf("x%d", i*100+j), StatusFiring)
			}
			d.send(batch, false)
			time.Sleep(time.Minute)
		}
		time.Sleep(time.Hour)
		d.stop(time.Second)
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.got) != 1000 || f.largest > maxBatch {
			t.Errorf("delivered %d of 1000 within 70 min after an hour's outage, in calls of up to %d (%d calls)",
				len(f.got), f.largest, f.calls)
		}
	})
}

// A receiver that never comes back is tried maxTries times, then the
// notification is given up and counted.
func TestDispatcherGivesUpAfterMaxTries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &flaky{failures: 1 << 30}
		m := newMetrics(prometheus.NewRegistry(), []Notifier{f})
		d := newDispatcher([]Notifier{f}, time.Second, m, slog.New(slog.DiscardHandler))
		d.start()
		d.send([]Notification{note("a", StatusFiring)}, false)
		time.Sleep(3 * time.Hour)
		d.stop(time.Second)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.attempts != maxTries {
			t.Errorf("%d attempts, want %d", f.attempts, maxTries)
		}
		if v := testutilCounter(m.dropped.WithLabelValues("flaky", dropTries)); v != 1 {
			t.Errorf("dropped{reason=tries} %v, want 1", v)
		}
	})
}

// refusingAll refuses every call whatever it holds (401: credentials).
type refusingAll struct {
	mu    sync.Mutex
	calls int
}

type refusalOfAll struct{ error }

func (refusalOfAll) Retryable() bool  { return false }
func (refusalOfAll) RefusesAll() bool { return true }

func (f *refusingAll) Name() string { return "locked" }
func (f *refusingAll) Notify(context.Context, []Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return refusalOfAll{errors.New("401 unauthorized")}
}

// A receiver that refuses every call (wrong credentials) costs one call
// for a batch, not one per notification found by splitting it.
func TestDispatcherDoesNotSplitACallRefusedWhateverItHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &refusingAll{}
		m := newMetrics(prometheus.NewRegistry(), []Notifier{f})
		d := newDispatcher([]Notifier{f}, time.Second, m, slog.New(slog.DiscardHandler))
		d.start()
		var ns []Notification
		for i := range 50 {
			ns = append(ns, note(fmt.Sprintf("a%d", i), StatusFiring))
		}
		d.send(ns, false)
		time.Sleep(time.Minute)
		d.stop(time.Second)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.calls != 1 {
			t.Errorf("%d calls, want 1", f.calls)
		}
		if v := testutilCounter(m.dropped.WithLabelValues("locked", dropRefused)); v != 50 {
			t.Errorf("dropped{reason=refused} %v, want 50", v)
		}
	})
}
