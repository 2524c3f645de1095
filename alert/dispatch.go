package alert

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Resender is implemented by notifiers that want every firing alert again
// every resend_interval, such as Alertmanager, which keeps alerts in memory
// only and resolves an alert by itself when its endsAt passes. Notifiers
// that do not implement it (chat robots) get transitions only.
type Resender interface {
	Resend() bool
}

// maxQueued bounds the notifications waiting for one notifier; beyond it
// the oldest are dropped (and counted).
const maxQueued = 10000

// dispatcher hands notifications to each notifier on its own goroutine, in
// the order they were made, so that a slow receiver delays no one else and
// never blocks the pipeline.
type dispatcher struct {
	workers []*worker
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	started bool
}

type worker struct {
	n      Notifier
	resend bool
	teller Teller // nil unless n is one
	// toldSaved is the teller's memory version in the state file.
	toldSaved atomic.Uint64
	// catchUp: n takes no re-sends but its memory was restored, so the
	// first re-send after the start goes to it too and its memory lets
	// through what it was never told (say, a firing that a crash kept
	// from being delivered). Under the engine's mu.
	catchUp bool
	timeout time.Duration
	logger  *slog.Logger

	mu      sync.Mutex
	queue   []Notification
	closing bool
	wake    chan struct{}
	failing bool
	// retry holds what failed to reach a notifier that takes no re-sends
	// (nothing later would carry it again) until it is tried again: with
	// the next delivery, or after wait, which doubles from retryMin to
	// retryMax while the notifier fails. A newer notification of the same
	// alert replaces it. Under mu; wait is the worker goroutine's.
	retry []Notification
	wait  time.Duration

	dropped prometheus.Counter
}

// idle reports whether there is no notifier: notifications need not be
// rendered at all.
func (d *dispatcher) idle() bool { return len(d.workers) == 0 }

func newDispatcher(ns []Notifier, timeout time.Duration, m *metrics, logger *slog.Logger) *dispatcher {
	d := &dispatcher{}
	for _, n := range ns {
		w := &worker{n: n, timeout: timeout, wake: make(chan struct{}, 1),
			logger:  logger.With("receiver", n.Name()),
			dropped: m.dropped.WithLabelValues(n.Name())}
		if r, ok := n.(Resender); ok && r.Resend() {
			w.resend = true
		}
		w.teller, _ = n.(Teller)
		d.workers = append(d.workers, w)
	}
	return d
}

// send queues a batch for every notifier, or with resend only for those
// that want re-sends. It never blocks.
func (d *dispatcher) send(batch []Notification, resend bool) {
	for _, w := range d.workers {
		if resend && !w.resend {
			continue
		}
		w.enqueue(batch)
	}
}

// resend queues a re-send of the firing alerts for the notifiers that
// want re-sends, and once, after a restart, for those that catch up.
func (d *dispatcher) resend(batch []Notification) {
	for _, w := range d.workers {
		if w.resend || w.catchUp {
			w.catchUp = false
			if len(batch) > 0 {
				w.enqueue(batch)
			}
		}
	}
}

// toldChanged reports whether a teller's memory changed since it was
// last saved.
func (d *dispatcher) toldChanged() bool {
	for _, w := range d.workers {
		if w.teller != nil && w.teller.ToldVersion() != w.toldSaved.Load() {
			return true
		}
	}
	return false
}

// told returns the tellers' memories by TellerKey, and their versions by
// worker.
func (d *dispatcher) told() (map[string][]Told, []uint64) {
	told := map[string][]Told{}
	versions := make([]uint64, len(d.workers))
	for i, w := range d.workers {
		if w.teller != nil {
			told[w.teller.TellerKey()], versions[i] = w.teller.Told()
		}
	}
	return told, versions
}

// markToldSaved records the tellers' memory versions the state file now
// holds (by worker, as addTold returns them).
func (d *dispatcher) markToldSaved(versions []uint64) {
	for i, w := range d.workers {
		if w.teller != nil {
			w.toldSaved.Store(versions[i])
		}
	}
}

// The wait before failed notifications are tried again: about what
// Alertmanager's group_interval (5 m) lets pass before it tries a failed
// notification again, starting sooner.
const (
	retryMin = 30 * time.Second
	retryMax = 5 * time.Minute
)

func (w *worker) enqueue(batch []Notification) {
	w.mu.Lock()
	if len(w.retry) > 0 {
		// The alert's state changed: its newer notification replaces the
		// one waiting (a resolved goes alone, without the firing).
		newer := fingerprints(batch)
		w.retry = slices.DeleteFunc(w.retry, func(n Notification) bool { return newer[n.Fingerprint()] })
	}
	w.queue = append(w.queue, batch...)
	if over := len(w.queue) - maxQueued; over > 0 {
		w.queue = append(w.queue[:0], w.queue[over:]...)
		w.dropped.Add(float64(over))
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// take returns what is queued, after what waits to be retried if
// retries is true and the worker is not closing (what failed is not held
// up at shutdown).
func (w *worker) take(retries bool) ([]Notification, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	if retries && !w.closing && len(w.retry) > 0 {
		q = append(w.retry, q...)
		w.retry = nil
	}
	w.queue = nil
	return q, w.closing
}

// keep puts failed notifications aside to be retried, unless a newer one
// of the same alert is queued.
func (w *worker) keep(failed []Notification) {
	w.mu.Lock()
	defer w.mu.Unlock()
	newer := fingerprints(w.queue)
	for _, n := range failed {
		if !newer[n.Fingerprint()] {
			w.retry = append(w.retry, n)
		}
	}
	if over := len(w.retry) - maxQueued; over > 0 {
		w.retry = append(w.retry[:0], w.retry[over:]...)
		w.dropped.Add(float64(over))
	}
}

func (w *worker) retrying() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.retry) > 0
}

func fingerprints(ns []Notification) map[string]bool {
	m := make(map[string]bool, len(ns))
	for i := range ns {
		m[ns[i].Fingerprint()] = true
	}
	return m
}

func (d *dispatcher) start() {
	if d.started {
		return
	}
	d.started = true
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	for _, w := range d.workers {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			w.run(ctx)
		}()
	}
}

// stop lets each worker deliver what is queued, within grace.
func (d *dispatcher) stop(grace time.Duration) {
	if !d.started {
		return
	}
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	for _, w := range d.workers {
		w.mu.Lock()
		w.closing = true // drain and return
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	select {
	case <-done:
	case <-time.After(grace):
		d.cancel()
		<-done
	}
	d.cancel()
}

func (w *worker) run(ctx context.Context) {
	w.wait = retryMin
	var retryC <-chan time.Time
	for {
		// What waits to be retried goes when its time has come, or as
		// soon as the notifier takes deliveries again.
		retries := !w.failing
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-retryC:
			retryC, retries = nil, true
		}
		for {
			q, closing := w.take(retries)
			if len(q) == 0 {
				if closing {
					return
				}
				break
			}
			retries = w.deliver(ctx, q, closing) // not in a loop while it fails
		}
		switch {
		case !w.retrying():
			w.wait = retryMin
		case retryC == nil:
			// Not reset by other deliveries' success: a notification the
			// receiver refuses for itself backs off too.
			retryC = time.After(w.wait)
			w.wait = min(2*w.wait, retryMax)
		}
	}
}

// deliver sends q in order, in as few calls as possible without putting
// one alert twice in a call (a firing and its resolution go in order). It
// reports whether every call succeeded. A notifier that takes no re-sends
// gets what failed again later (unless it is closing).
func (w *worker) deliver(ctx context.Context, q []Notification, closing bool) bool {
	ok := true
	for len(q) > 0 {
		seen := map[string]bool{}
		n := 0
		for n < len(q) {
			fp := q[n].Fingerprint()
			if seen[fp] {
				break
			}
			seen[fp] = true
			n++
		}
		if !w.notify(ctx, q[:n]) {
			ok = false
			if !w.resend && !closing {
				later := fingerprints(q[n:])
				w.keep(slices.DeleteFunc(slices.Clone(q[:n]), func(x Notification) bool { return later[x.Fingerprint()] }))
			}
		}
		q = q[n:]
	}
	return ok
}

func (w *worker) notify(ctx context.Context, batch []Notification) bool {
	cctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	err := w.n.Notify(cctx, batch)
	if err != nil {
		if !w.failing {
			msg := "notification failed"
			if !w.resend {
				msg = "notification failed; it will be retried"
			}
			w.logger.Error(msg, "alerts", len(batch), "err", err)
		}
		w.failing = true
		return false
	}
	if w.failing {
		w.logger.Info("notifications delivered again")
		w.failing = false
	}
	return true
}

// metrics are the engine's Prometheus metrics. Deliveries are counted by
// the notifiers themselves (alert/notify: envpipe_notifications_total).
type metrics struct {
	firing      *prometheus.GaugeVec
	transitions *prometheus.CounterVec
	dropped     *prometheus.CounterVec
	saveErrors  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, ns []Notifier) *metrics {
	m := &metrics{
		firing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "envpipe_alerts_firing",
			Help: "Alerts firing, by severity.",
		}, []string{"severity"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_alert_transitions_total",
			Help: "Alert state transitions, by the state entered.",
		}, []string{"to"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_alert_notifications_dropped_total",
			Help: "Notifications dropped because a receiver's queue was full.",
		}, []string{"receiver"}),
		saveErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "envpipe_alert_state_save_errors_total",
			Help: "Failures to write the alert state or windows file.",
		}),
	}
	reg.MustRegister(m.firing, m.transitions, m.dropped, m.saveErrors)
	for _, s := range severities {
		m.firing.WithLabelValues(s)
	}
	for _, s := range []State{StatePending, StateFiring, StateResolved, StateInactive} {
		m.transitions.WithLabelValues(s.String())
	}
	for _, n := range ns {
		m.dropped.WithLabelValues(n.Name())
	}
	return m
}
