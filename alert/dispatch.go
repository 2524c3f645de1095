package alert

import (
	"context"
	"errors"
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
	now     func() time.Time
	ends    endsBook
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
	// fresh: a teller the state file had no memory of (a receiver added
	// or moved since). Under the engine's mu.
	fresh   bool
	ends    *endsBook
	timeout time.Duration
	logger  *slog.Logger

	mu      sync.Mutex
	queue   []Notification
	closing bool
	wake    chan struct{}
	failing bool
	// retry holds what failed, in a way a later try may mend, and what no
	// later call would carry again (anything, for a notifier that takes
	// no re-sends; the end of an alert, for one that does) until it is
	// tried again: with the next delivery, or after wait,
	// which doubles from retryMin to retryMax while the notifier fails;
	// at most maxBatch a call, apart from new notifications. A newer
	// notification of the same alert replaces it. Under mu; wait is the
	// worker goroutine's.
	retry []retryItem
	wait  time.Duration

	dropped *prometheus.CounterVec // by reason, of this receiver
	// gaveUpLog throttles the give-up lines (worker goroutine only).
	gaveUpLog logThrottle
}

// retryItem is a notification and how often it was tried.
type retryItem struct {
	n     Notification
	tries int
}

// maxBatch bounds the notifications in one call: after a long outage
// thousands may wait, and one POST of them all may be refused for its
// size (413) by the receiver or a proxy every time.
const maxBatch = 100

// maxTries bounds how often a notification is tried, the first time
// included, before it is given up: with the waits between tries (see
// retryMin) about half an hour.
const maxTries = 10

// Reasons a notification is dropped, as envpipe_alert_notifications_dropped_total
// counts them.
const (
	dropQueueFull   = "queue_full"  // the receiver's queue was full
	dropRefused     = "refused"     // refused for itself (4xx, robot error code)
	dropTries       = "tries"       // maxTries tries failed
	dropUnreachable = "unreachable" // not tried: its re-sending receiver had just failed
)

var dropReasons = []string{dropQueueFull, dropRefused, dropTries, dropUnreachable}

// retryable reports whether a later try of what failed with err may
// succeed. Notifiers say so through a Retryable method on their error
// (alert/notify does); an error that does not say is taken as
// retryable, as a network error would be.
func retryable(err error) bool {
	var r interface{ Retryable() bool }
	return !errors.As(err, &r) || r.Retryable()
}

// refusesAll reports whether err says the receiver refuses any call (bad
// credentials, wrong address), not this call's content.
func refusesAll(err error) bool {
	var r interface{ RefusesAll() bool }
	return errors.As(err, &r) && r.RefusesAll()
}

// idle reports whether there is no notifier: notifications need not be
// rendered at all.
func (d *dispatcher) idle() bool { return len(d.workers) == 0 }

func newDispatcher(ns []Notifier, timeout time.Duration, m *metrics, logger *slog.Logger) *dispatcher {
	d := &dispatcher{now: time.Now}
	for _, n := range ns {
		w := &worker{n: n, ends: &d.ends, timeout: timeout, wake: make(chan struct{}, 1),
			logger:  logger.With("receiver", n.Name()),
			dropped: m.dropped.MustCurryWith(prometheus.Labels{"receiver": n.Name()})}
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
	var ends []sentEnd
	now := d.now()
	for _, n := range batch {
		if n.Status == StatusResolved {
			ends = append(ends, sentEnd{n: n, at: now})
		}
	}
	k := 0
	for _, w := range d.workers {
		if resend && !w.resend {
			continue
		}
		k++
	}
	d.ends.add(ends, k) // before a worker can be done with them
	for _, w := range d.workers {
		if resend && !w.resend {
			continue
		}
		w.enqueue(batch)
	}
}

// sendEnds queues ends still owed at the last stop for every notifier but
// those new to the state file.
func (d *dispatcher) sendEnds(ends []sentEnd) {
	batch := make([]Notification, len(ends))
	for i, x := range ends {
		batch[i] = x.n
	}
	k := 0
	for _, w := range d.workers {
		if !w.fresh {
			k++
		}
	}
	d.ends.add(ends, k)
	for _, w := range d.workers {
		if !w.fresh {
			w.enqueue(batch)
		}
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
	var gone []Notification // superseded or dropped: done with
	w.mu.Lock()
	if len(w.retry) > 0 {
		// The alert's state changed: its newer notification replaces the
		// one waiting (a resolved goes alone, without the firing).
		newer := fingerprints(batch)
		w.retry = slices.DeleteFunc(w.retry, func(r retryItem) bool {
			if newer[r.n.Fingerprint()] {
				gone = append(gone, r.n)
				return true
			}
			return false
		})
	}
	w.queue = append(w.queue, batch...)
	if over := len(w.queue) - maxQueued; over > 0 {
		gone = append(gone, w.queue[:over]...)
		w.queue = append(w.queue[:0], w.queue[over:]...)
		w.dropped.WithLabelValues(dropQueueFull).Add(float64(over))
	}
	w.mu.Unlock()
	w.ends.done(gone...)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// take returns what is queued and, if retries is true and the worker is
// not closing (what failed is not held up at shutdown), up to maxBatch of
// what waits to be retried, the longest waiting first.
func (w *worker) take(retries bool) (again []retryItem, q []Notification, closing bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if retries && !w.closing && len(w.retry) > 0 {
		k := min(len(w.retry), maxBatch)
		again = slices.Clone(w.retry[:k])
		w.retry = slices.Delete(w.retry, 0, k)
	}
	q = w.queue
	w.queue = nil
	return again, q, w.closing
}

// keep puts failed notifications aside to be retried, unless a newer one
// of the same alert is queued.
func (w *worker) keep(failed []retryItem) {
	if len(failed) == 0 {
		return
	}
	var gone []Notification
	w.mu.Lock()
	newer := fingerprints(w.queue)
	for _, r := range failed {
		if !newer[r.n.Fingerprint()] {
			w.retry = append(w.retry, r)
		} else {
			gone = append(gone, r.n)
		}
	}
	if over := len(w.retry) - maxQueued; over > 0 {
		for _, r := range w.retry[:over] {
			gone = append(gone, r.n)
		}
		w.retry = append(w.retry[:0], w.retry[over:]...)
		w.dropped.WithLabelValues(dropQueueFull).Add(float64(over))
	}
	w.mu.Unlock()
	w.ends.done(gone...)
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
			again, q, closing := w.take(retries)
			if len(again) == 0 && len(q) == 0 {
				if closing {
					return
				}
				break
			}
			retries = w.deliver(ctx, again, q, closing) // not in a loop while it fails
		}
		switch {
		case !w.retrying():
			w.wait = retryMin
		case retryC == nil:
			// Not reset by other deliveries' success: a notification that
			// keeps failing while others get through backs off too.
			retryC = time.After(w.wait)
			w.wait = min(2*w.wait, retryMax)
		}
	}
}

// deliver sends what is tried again, then q, in order, in calls that
// never put one alert twice in a call (a firing and its resolution go in
// order): at most maxBatch, and what is tried again apart from what is
// new, in calls halved with each try, so that whatever keeps failing
// ends up alone and holds nothing else back for long. It reports false
// when a call failed in a way a later try may mend (the receiver is
// down, say): the rest is then not tried now (unless closing), and a
// notifier that takes no re-sends gets it, and what failed, later, what
// failed at the back of the line.
func (w *worker) deliver(ctx context.Context, again []retryItem, q []Notification, closing bool) bool {
	items := make([]retryItem, 0, len(again)+len(q))
	items = append(items, again...)
	for _, n := range q {
		items = append(items, retryItem{n: n})
	}
	// last[fp] is the index of the alert's newest notification: one that
	// fails is kept for later only if it is that.
	last := make(map[string]int, len(items))
	for i := range items {
		last[items[i].n.Fingerprint()] = i
	}
	for lo := 0; lo < len(items); {
		limit := maxBatch
		if lo < len(again) {
			limit = max(maxBatch>>min(items[lo].tries-1, 16), 1)
		}
		hi := lo
		seen := map[string]bool{}
		for hi < len(items) && hi-lo < limit && (hi < len(again)) == (lo < len(again)) {
			fp := items[hi].n.Fingerprint()
			if seen[fp] {
				break
			}
			seen[fp] = true
			hi++
		}
		if failed, ok := w.call(ctx, items, lo, hi, last, closing); !ok && !closing {
			w.keep(append(w.untried(items, hi, last), failed...))
			return false
		}
		lo = hi
	}
	return true
}

// call sends items[lo:hi] in one call. A call the receiver refuses (not
// retryable) for its content is split in halves, each sent alone, so that
// one notification it refuses for itself, or a call too large (413),
// holds nothing else back; a notification refused alone is given up. A
// call refused whatever it holds (401, 404) is given up whole. It
// reports false when a call failed in a way a later try may mend, with
// what a notifier that takes no re-sends is to try again.
func (w *worker) call(ctx context.Context, items []retryItem, lo, hi int, last map[string]int, closing bool) ([]retryItem, bool) {
	batch := make([]Notification, 0, hi-lo)
	for i := lo; i < hi; i++ {
		batch = append(batch, items[i].n)
	}
	err := w.notify(ctx, batch)
	switch {
	case err == nil:
		w.ends.done(batch...)
		return nil, true
	case !retryable(err) && refusesAll(err):
		gone := slices.Clone(items[lo:hi])
		for i := range gone {
			gone[i].tries++
		}
		w.giveUp(gone, dropRefused, err)
		return nil, true // the receiver answered: it is up
	case !retryable(err) && hi-lo > 1:
		mid := lo + (hi-lo)/2
		left, lok := w.call(ctx, items, lo, mid, last, closing)
		right, rok := w.call(ctx, items, mid, hi, last, closing)
		return append(left, right...), lok && rok
	case !retryable(err):
		r := items[lo]
		r.tries++
		w.giveUp([]retryItem{r}, dropRefused, err)
		return nil, true // the receiver answered: it is up
	}
	if closing {
		return nil, false
	}
	var failed, gone []retryItem
	for i := lo; i < hi; i++ {
		r := items[i]
		r.tries++
		switch {
		case last[r.n.Fingerprint()] != i: // replaced by a newer one
			w.ends.done(r.n)
		case w.resend && r.n.Status != StatusResolved: // the next re-send carries it again; no re-send carries an end
		case r.tries >= maxTries:
			gone = append(gone, r)
		default:
			failed = append(failed, r)
		}
	}
	w.giveUp(gone, dropTries, err)
	return failed, false
}

// untried returns items[from:], not tried because the receiver just
// failed, to be tried later. A notifier that takes re-sends keeps only
// the ends of alerts and drops the firing ones (counted): its re-sends
// carry the firing alerts again, never an end.
func (w *worker) untried(items []retryItem, from int, last map[string]int) []retryItem {
	var keep []retryItem
	unreachable := 0
	for i := from; i < len(items); i++ {
		switch {
		case last[items[i].n.Fingerprint()] != i: // replaced by a newer one
			w.ends.done(items[i].n)
		case w.resend && items[i].n.Status != StatusResolved:
			unreachable++
		default:
			keep = append(keep, items[i])
		}
	}
	if unreachable > 0 {
		w.dropped.WithLabelValues(dropUnreachable).Add(float64(unreachable))
	}
	return keep
}

// giveUp drops notifications that will not be tried again, counted by
// reason, and logs each once with its alert's identity (at most
// giveUpLogs a minute; the rest are counted in the next line).
func (w *worker) giveUp(items []retryItem, reason string, err error) {
	if len(items) == 0 {
		return
	}
	w.dropped.WithLabelValues(reason).Add(float64(len(items)))
	for _, r := range items {
		w.ends.done(r.n)
		if more, ok := w.gaveUpLog.allow(time.Now()); ok {
			l := r.n.Labels
			w.logger.Error("notification given up", "alert", l["alertname"], "station", l["station"],
				"param", l["param"], "severity", l["severity"], "status", r.n.Status, "reason", reason,
				"tries", r.tries, "err", err, "not_logged_before", more)
		}
	}
}

// logThrottle lets through at most giveUpLogs lines a minute and counts
// the others.
type logThrottle struct {
	since      time.Time
	n          int
	suppressed int
}

const giveUpLogs = 10

// allow reports whether a line may be logged at now and, if so, how many
// were held back since the last one.
func (l *logThrottle) allow(now time.Time) (suppressed int, ok bool) {
	if now.Sub(l.since) >= time.Minute {
		l.since, l.n = now, 0
	}
	if l.n >= giveUpLogs {
		l.suppressed++
		return 0, false
	}
	l.n++
	suppressed, l.suppressed = l.suppressed, 0
	return suppressed, true
}

// notify makes one call. A failure a later try may mend is logged when
// the receiver starts failing (and its recovery once); a refusal is left
// to giveUp.
func (w *worker) notify(ctx context.Context, batch []Notification) error {
	cctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	err := w.n.Notify(cctx, batch)
	switch {
	case err == nil:
		if w.failing {
			w.logger.Info("notifications delivered again")
			w.failing = false
		}
	case retryable(err):
		if !w.failing {
			msg := "notification failed"
			if !w.resend {
				msg = "notification failed; it will be retried"
			}
			w.logger.Error(msg, "alerts", len(batch), "err", err)
		}
		w.failing = true
	}
	return err
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
			Help: "Notifications dropped, by receiver and reason: queue_full (its queue was full), refused (the receiver refused it for itself), tries (every try failed), unreachable (not tried: the receiver, which takes re-sends, had just failed).",
		}, []string{"receiver", "reason"}),
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
		for _, r := range dropReasons {
			m.dropped.WithLabelValues(n.Name(), r)
		}
	}
	return m
}
