package hj212srv

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/station"
)

// Frame results of envpipe_hj212_frames_total (TCP).
const (
	frameData      = "data"      // data upload handed to the pipeline
	frameInvalid   = "invalid"   // failed a check; handed to the pipeline to be refused
	frameAnswer    = "answer"    // a station's 9011/9012 to envpipe's request
	frameOther     = "other"     // another upload or command, answered or ignored here
	frameOversized = "oversized" // above max_frame_bytes, discarded by the framer
)

// Reasons a connection ended (envpipe_hj212_disconnects_total).
const (
	closeEOF      = "closed_by_station"
	closeIdle     = "idle"
	closeError    = "read_error"
	closeWrite    = "write_error"
	closeShutdown = "shutdown"
	closeInvalid  = "invalid_frames" // maxInvalidFrames invalid frames in a row
)

// Backfill request outcomes (envpipe_hj212_backfill_results_total).
const (
	bfAnswered     = "answered"     // 9012 ExeRtn=1
	bfNoData       = "no_data"      // 9012 ExeRtn=100
	bfRefused      = "refused"      // 9011 QnRtn other than 1
	bfFailed       = "failed"       // 9012 with another ExeRtn
	bfTimeout      = "timeout"      // no 9012 within backfill.timeout
	bfDisconnected = "disconnected" // the connection closed first
	bfDropped      = "dropped"      // never sent: the station's queue was full
)

// Metrics of HJ 212 ingestion, shared by the Decoder and the Listener.
type Metrics struct {
	swappedCRC     *prometheus.CounterVec
	unknownFlags   *prometheus.CounterVec
	splitDropped   *prometheus.CounterVec
	connections    prometheus.Gauge
	accepted       *prometheus.CounterVec
	disconnects    *prometheus.CounterVec
	frames         *prometheus.CounterVec
	responses      *prometheus.CounterVec
	skippedBytes   prometheus.Counter
	gaps           prometheus.Counter
	requests       *prometheus.CounterVec
	requestResults *prometheus.CounterVec
}

// NewMetrics registers the metrics with reg, label values pre-initialised
// (swapped-CRC counts for the stations that allow it).
func NewMetrics(reg prometheus.Registerer, stations *station.Registry) *Metrics {
	m := &Metrics{
		swappedCRC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_hj212_swapped_crc_total",
			Help: "HJ 212 frames accepted with the byte-swapped Modbus CRC (hj212_swapped_crc), by station.",
		}, []string{"station"}),
		unknownFlags: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_hj212_unknown_flags_total",
			Help: "HJ 212 values stored with a flag outside HJ 212-2017 Table 8 (e.g. HJ/T 212-2005 P, vendor H/L), kept raw as not N, by station.",
		}, []string{"station"}),
		splitDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_hj212_split_dropped_total",
			Help: "Split HJ 212 messages given up before all packets arrived, by reason.",
		}, []string{"reason"}),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "envpipe_hj212_connections",
			Help: "HJ 212 TCP connections open.",
		}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_hj212_connections_total",
			Help: "HJ 212 TCP connections accepted, or refused at max_connections.",
		}, []string{"result"}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_hj212_disconnects_total",
			Help: "HJ 212 TCP connections closed, by reason.",
		}, []string{"reason"}),
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_hj212_frames_total",
			Help: "HJ 212 frames read over TCP, by result.",
		}, []string{"result"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_hj212_responses_total",
			Help: "HJ 212 answers sent to stations over TCP, by CN (9014 data response, 9011 request response).",
		}, []string{"cn"}),
		skippedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "envpipe_hj212_skipped_bytes_total",
			Help: "Bytes read over TCP that were in no frame: garbage, truncated and oversized frames.",
		}),
		gaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "envpipe_hj212_backfill_gaps_total",
			Help: "Gaps in a TCP station's data that envpipe asked the station to fill.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_hj212_backfill_requests_total",
			Help: "History requests sent to TCP stations, by CN (2051 minute, 2061 hourly).",
		}, []string{"cn"}),
		requestResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_hj212_backfill_results_total",
			Help: "History requests by outcome.",
		}, []string{"result"}),
	}
	if stations != nil {
		for _, st := range stations.All() {
			if st.HJ212MN != "" && st.HJ212SwappedCRC {
				m.swappedCRC.WithLabelValues(st.ID)
			}
		}
	}
	for _, r := range []string{hj212.ReasonSplitExpired, hj212.ReasonSplitEvicted, hj212.ReasonSplitIncomplete} {
		m.splitDropped.WithLabelValues(r)
	}
	for _, r := range []string{"accepted", "refused"} {
		m.accepted.WithLabelValues(r)
	}
	for _, r := range []string{closeEOF, closeIdle, closeError, closeWrite, closeShutdown, closeInvalid} {
		m.disconnects.WithLabelValues(r)
	}
	for _, r := range []string{frameData, frameInvalid, frameAnswer, frameOther, frameOversized} {
		m.frames.WithLabelValues(r)
	}
	for _, cn := range []string{hj212.CNDataResponse, hj212.CNRequestResponse} {
		m.responses.WithLabelValues(cn)
	}
	for _, cn := range []string{hj212.CNMinute, hj212.CNHourly} {
		m.requests.WithLabelValues(cn)
	}
	for _, r := range []string{bfAnswered, bfNoData, bfRefused, bfFailed, bfTimeout, bfDisconnected, bfDropped} {
		m.requestResults.WithLabelValues(r)
	}
	reg.MustRegister(m.swappedCRC, m.unknownFlags, m.splitDropped, m.connections, m.accepted, m.disconnects, m.frames,
		m.responses, m.skippedBytes, m.gaps, m.requests, m.requestResults)
	return m
}
