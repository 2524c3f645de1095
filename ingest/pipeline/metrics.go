package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest"
)

// Metrics of the pipeline stage.
type Metrics struct {
	received    *prometheus.CounterVec
	accepted    *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	deadLetters prometheus.Counter
	lastReading *prometheus.GaugeVec
}

// NewMetrics registers the pipeline's metrics with reg, pre-initialised.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_messages_received_total",
			Help: "Messages received, by payload format.",
		}, []string{"format"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_readings_accepted_total",
			Help: "Readings accepted into the WAL, by station kind.",
		}, []string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_readings_rejected_total",
			Help: "Refused messages, readings or values, by reason.",
		}, []string{"reason"}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "envpipe_dead_letters_total",
			Help: "Records written to the dead-letter file.",
		}),
		lastReading: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "envpipe_station_last_reading_timestamp_seconds",
			Help: "Time of the newest accepted reading per station (Unix seconds).",
		}, []string{"station"}),
	}
	for _, f := range []Format{FormatJSON, FormatHJ212} {
		m.received.WithLabelValues(string(f))
	}
	for _, k := range []ingest.Kind{ingest.KindAir, ingest.KindWater} {
		m.accepted.WithLabelValues(string(k))
	}
	for _, r := range ingest.Reasons {
		m.rejected.WithLabelValues(string(r))
	}
	reg.MustRegister(m.received, m.accepted, m.rejected, m.deadLetters, m.lastReading)
	return m
}
