package notify

import "github.com/prometheus/client_golang/prometheus"

// Results counted in envpipe_notifications_total.
const (
	// ResultSuccess: a notification was delivered (after retries or not).
	ResultSuccess = "success"
	// ResultFailure: a notification was given up: refused (4xx, robot
	// error code), attempts exhausted, or the context ended.
	ResultFailure = "failure"
	// ResultRetry: an attempt failed transiently and another follows.
	ResultRetry = "retry"
	// ResultSuppressed: a Notify call sent nothing: the receiver had been
	// told already (re-sends within repeat_interval, an end told before)
	// or its match filter or send_resolved excluded every alert.
	ResultSuppressed = "suppressed"
)

var results = []string{ResultSuccess, ResultFailure, ResultRetry, ResultSuppressed}

// Metrics are the notifiers' self-metrics. Create them once per registry
// and share them through Options.Metrics.
type Metrics struct {
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the notifiers' metrics with reg (nil: not
// registered anywhere, as tests may want):
//
//	envpipe_notifications_total{receiver, result}
//	envpipe_notification_duration_seconds{receiver}
//
// One notification is one message to one receiver (one POST series to one
// Alertmanager instance, webhook or robot). Its duration covers every
// attempt and the waits between them: the delay from hand-over to
// delivery (or to giving up).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_notifications_total",
			Help: "Notifications by receiver and result: success, failure (refused or given up), retry (a failed attempt followed by another), suppressed (nothing new to tell).",
		}, []string{"receiver", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "envpipe_notification_duration_seconds",
			Help:    "Time to deliver (or give up on) a notification, retries and back-off included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"receiver"}),
	}
	if reg != nil {
		reg.MustRegister(m.total, m.duration)
	}
	return m
}

// init makes a receiver's series exist at zero.
func (m *Metrics) init(receiver string) {
	for _, r := range results {
		m.total.WithLabelValues(receiver, r)
	}
	m.duration.WithLabelValues(receiver)
}

func (m *Metrics) count(receiver, result string) { m.total.WithLabelValues(receiver, result).Inc() }
