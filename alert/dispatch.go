package alert

import (
	"context"
	"log/slog"
	"sync"
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
	n       Notifier
	resend  bool
	timeout time.Duration
	logger  *slog.Logger

	mu      sync.Mutex
	queue   []Notification
	closing bool
	wake    chan struct{}
	failing bool

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

func (w *worker) enqueue(batch []Notification) {
	w.mu.Lock()
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

func (w *worker) take() ([]Notification, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q, w.closing
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
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		for {
			q, closing := w.take()
			if len(q) == 0 {
				if closing {
					return
				}
				break
			}
			w.deliver(ctx, q)
		}
	}
}

// deliver sends q in order, in as few calls as possible without putting
// one alert twice in a call (a firing and its resolution go in order).
func (w *worker) deliver(ctx context.Context, q []Notification) {
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
		w.notify(ctx, q[:n])
		q = q[n:]
	}
}

func (w *worker) notify(ctx context.Context, batch []Notification) {
	cctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	err := w.n.Notify(cctx, batch)
	if err != nil {
		if !w.failing {
			w.logger.Error("notification failed", "alerts", len(batch), "err", err)
		}
		w.failing = true
		return
	}
	if w.failing {
		w.logger.Info("notifications delivered again")
		w.failing = false
	}
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
