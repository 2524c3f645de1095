package hj212srv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest/influx"
	"github.com/envpipe/envpipe/ingest/pipeline"
	"github.com/envpipe/envpipe/ingest/station"
	"github.com/envpipe/envpipe/ingest/wal"
	"github.com/envpipe/envpipe/internal/testenv"
)

// stack is envpipe's data path for HJ 212 over TCP, wired as cmd/envpipe
// wires it: Listener → deliveries → pipeline (with the Decoder) → WAL →
// influx.Writer → influxd, each stage real.
type stack struct {
	influxd *testenv.Influx
	l       *Listener
	addr    string
	prom    *prometheus.Registry
	dead    *deadLetters
	stop    func()
}

func startStack(t *testing.T, reg *station.Registry, cfg Config) *stack {
	t.Helper()
	s := &stack{influxd: testenv.InfluxDB(t), prom: prometheus.NewRegistry(), dead: &deadLetters{}}
	logger := testLogger()
	log, err := wal.Open(t.TempDir(), wal.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(s.prom, reg)
	deliveries := make(chan pipeline.Delivery, 4096)
	pipe := pipeline.New(pipeline.Config{
		Registry: reg, Validation: station.DefaultValidation(), Log: log, DeadLetters: s.dead,
		Metrics: pipeline.NewMetrics(s.prom), Logger: logger,
		Decoders: map[pipeline.Format]pipeline.Decoder{pipeline.FormatHJ212: NewDecoder(DecoderConfig{
			Registry: reg, MaxFrameBytes: cfg.MaxFrameBytes, Metrics: m, Logger: logger})},
	})
	icfg := influx.DefaultConfig()
	icfg.URL = s.influxd.URL()
	icfg.Bucket = s.influxd.Database() + "/autogen"
	icfg.FlushInterval = 100 * time.Millisecond
	icfg.RetryMin, icfg.RetryMax = 100*time.Millisecond, time.Second
	writer, err := influx.NewWriter(icfg, log, influx.NewMetrics(s.prom), logger)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = "127.0.0.1:0"
	s.l = NewListener(cfg, reg, deliveries, m, logger)
	if err := s.l.Listen(); err != nil {
		t.Fatal(err)
	}
	s.addr = s.l.Addr().String()

	lctx, stopListener := context.WithCancel(context.Background())
	pctx, stopPipe := context.WithCancel(context.Background())
	wctx, stopWriter := context.WithCancel(context.Background())
	lDone, pDone, wDone := make(chan error, 1), make(chan error, 1), make(chan error, 1)
	go func() { lDone <- s.l.Run(lctx) }()
	go func() { pDone <- pipe.Run(pctx, deliveries) }()
	go func() { wDone <- writer.Run(wctx, 10*time.Second) }()
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		// cmd/envpipe's order: stop reading, finish the pipeline, drain
		// to InfluxDB, close the WAL (its last acks answer), then close
		// the connections.
		s.l.Quiesce()
		stopPipe()
		if err := <-pDone; err != nil {
			t.Errorf("pipeline: %v", err)
		}
		stopWriter()
		if err := <-wDone; err != nil {
			t.Errorf("influx writer: %v", err)
		}
		if err := log.Close(); err != nil {
			t.Errorf("close wal: %v", err)
		}
		stopListener()
		if err := <-lDone; err != nil {
			t.Errorf("listener: %v", err)
		}
	}
	t.Cleanup(s.stop)
	return s
}

func (s *stack) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	return metricValue(t, s.prom, name, labels...)
}

// waitCount waits until measurement.field holds want values and checks
// that the count then stays there (nothing late, nothing doubled).
func (s *stack) waitCount(t *testing.T, measurement, field string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	n := 0
	for {
		if n = s.influxd.Count(measurement, field); n >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n != want {
		t.Fatalf("InfluxDB holds %d %s.%s values, want %d", n, measurement, field, want)
	}
	time.Sleep(300 * time.Millisecond)
	if n = s.influxd.Count(measurement, field); n != want {
		t.Fatalf("InfluxDB then holds %d %s.%s values, want %d", n, measurement, field, want)
	}
}

// sum returns sum(field) over measurement.
func (s *stack) sum(t *testing.T, measurement, field string) float64 {
	t.Helper()
	series, err := s.influxd.Query(fmt.Sprintf(`SELECT sum(%q) FROM %q`, field, measurement))
	if err != nil {
		t.Fatal(err)
	}
	for _, se := range series {
		for _, v := range se.Column("sum") {
			if f, ok := v.(float64); ok {
				return f
			}
		}
	}
	return 0
}
