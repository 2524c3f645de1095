package pipeline

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// Metrics of the pipeline stage.
type Metrics struct {
	received    *prometheus.CounterVec
	accepted    *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	refused     *prometheus.CounterVec
	deadLetters prometheus.Counter
	lastReading *lastReadings
}

// lastReadings is envpipe_station_last_reading_timestamp_seconds. The
// pipeline stores each station's newest reading time in the station's
// slot, and a scrape reads the slots: an atomic store for every reading
// instead of setting a gauge child per station.
type lastReadings struct {
	desc *prometheus.Desc
	// interval is envpipe_station_interval_seconds, the station's
	// reporting interval from the registry, beside each last reading: a
	// silence means something only measured in the station's own
	// intervals (water sections report every 4 h, air stations every
	// minute or hour).
	interval *prometheus.Desc
	mu       sync.RWMutex // guards the slices, which New replaces
	sts      []*station.Station
	ns       []atomic.Int64 // Unix ns of the newest reading, by Station.Index; 0: none
}

// attach gives the slots to the registry's stations and returns them.
func (l *lastReadings) attach(sts []*station.Station) []atomic.Int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sts, l.ns = sts, make([]atomic.Int64, len(sts))
	return l.ns
}

func (l *lastReadings) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc; ch <- l.interval }

func (l *lastReadings) Collect(ch chan<- prometheus.Metric) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for i, st := range l.sts {
		if ns := l.ns[i].Load(); ns != 0 {
			ch <- prometheus.MustNewConstMetric(l.desc, prometheus.GaugeValue, float64(ns)/1e9, st.ID)
			ch <- prometheus.MustNewConstMetric(l.interval, prometheus.GaugeValue, st.Interval.Seconds(), st.ID)
		}
	}
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
			Help: "Readings that passed validation, by station kind; they go to the WAL (a failed WAL write stops envpipe before their messages are acked).",
		}, []string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_readings_rejected_total",
			Help: "Refused messages, readings or values, by reason.",
		}, []string{"reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_messages_refused_total",
			Help: "Messages of which something was refused and dead-lettered (the whole message, a reading or a value), by payload format: the share of envpipe_messages_received_total a station operator has to look at.",
		}, []string{"format"}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "envpipe_dead_letters_total",
			Help: "Records written to the dead-letter file.",
		}),
		lastReading: &lastReadings{desc: prometheus.NewDesc("envpipe_station_last_reading_timestamp_seconds",
			"Time of the newest accepted reading per station (Unix seconds).", []string{"station"}, nil),
			interval: prometheus.NewDesc("envpipe_station_interval_seconds",
				"Reporting interval of each station that has sent a reading, from the station registry.", []string{"station"}, nil)},
	}
	for _, f := range []Format{FormatJSON, FormatHJ212} {
		m.received.WithLabelValues(string(f))
		m.refused.WithLabelValues(string(f))
	}
	for _, k := range []ingest.Kind{ingest.KindAir, ingest.KindWater} {
		m.accepted.WithLabelValues(string(k))
	}
	for _, r := range ingest.Reasons {
		m.rejected.WithLabelValues(string(r))
	}
	reg.MustRegister(m.received, m.accepted, m.rejected, m.refused, m.deadLetters, m.lastReading)
	return m
}
