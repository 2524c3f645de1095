package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/envpipe/envpipe/alert"
	"github.com/envpipe/envpipe/alert/derive"
	"github.com/envpipe/envpipe/alert/notify"
	"github.com/envpipe/envpipe/ingest/deadletter"
	"github.com/envpipe/envpipe/ingest/hj212srv"
	"github.com/envpipe/envpipe/ingest/influx"
	"github.com/envpipe/envpipe/ingest/mqtt"
	"github.com/envpipe/envpipe/ingest/pipeline"
	"github.com/envpipe/envpipe/ingest/station"
	"github.com/envpipe/envpipe/ingest/wal"
)

// run is the daemon: it wires the data path
//
//	mqtt.Source ─▶ pipeline ─▶ wal ─▶ influx.Writer
//
// and shuts it down in data-flow order when ctx ends.
func run(ctx context.Context, configPath string, logOut io.Writer) error {
	return runWith(ctx, configPath, overrides{}, logOut)
}

// runWith is run with command-line overrides of the config's paths.
func runWith(ctx context.Context, configPath string, ov overrides, logOut io.Writer) error {
	cfg, reg, errs := loadConfigWith(configPath, ov)
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n%w", errors.Join(errs...))
	}
	logger := newLogger(cfg.Log, logOut)
	if cfg.MemoryLimitMB > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimitMB << 20)
	}
	if cfg.MaxProcs > 0 && os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(cfg.MaxProcs)
	}
	logger.Info("starting envpipe", "version", version, "config", configPath, "stations", reg.Len())
	for _, n := range cfg.notes {
		logger.Warn("configuration: " + n)
	}

	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if err := os.MkdirAll(cfg.WAL.Dir, 0o750); err != nil {
		return fmt.Errorf("create wal dir: %w", err)
	}
	log, err := wal.Open(cfg.WAL.Dir, wal.Options{
		SegmentSize:    cfg.WAL.SegmentSizeMB << 20,
		MaxSize:        cfg.WAL.MaxSizeMB << 20,
		CommitInterval: cfg.WAL.CommitInterval,
		Logger:         logger.With("component", "wal"),
	})
	if err != nil {
		return fmt.Errorf("open wal: %w", err)
	}
	walClosed := false
	defer func() {
		if !walClosed {
			log.Close()
		}
	}()
	registerWALMetrics(promReg, log)

	if err := os.MkdirAll(filepath.Dir(cfg.DeadLetter.Path), 0o750); err != nil {
		return fmt.Errorf("create dead-letter dir: %w", err)
	}
	dead, err := deadletter.Open(cfg.DeadLetter.Path, cfg.DeadLetter.MaxSizeMB<<20)
	if err != nil {
		return err
	}
	defer dead.Close()

	deliveries := make(chan pipeline.Delivery, cfg.MQTT.QueueSize)

	// Derivation (hourly means, AQI, water class, compliance): an observer
	// of the pipeline whose points go back into the WAL through pipe.Emit.
	// emitCtx ends with the pipeline stage (stopPipe, below): an Emit
	// blocked on a full WAL holds the append lock that the pipeline waits
	// for. Later emits still append while the WAL has room.
	emitCtx, stopEmit := context.WithCancel(context.Background())
	defer stopEmit()
	var pipe *pipeline.Pipeline
	emit := func(what string) func(lp []byte) {
		return func(lp []byte) {
			if err := pipe.Emit(emitCtx, lp); err != nil {
				logger.Error(what+" points not written", "err", err)
			}
		}
	}
	var observers []pipeline.Observer
	deriver, err := newDeriver(ctx, cfg, reg, emit("derived"), logger)
	if err != nil {
		return err
	}
	if deriver != nil {
		observers = append(observers, deriver)
	}
	engine, err := newAlertEngine(cfg, reg, promReg, emit("alert"), logger)
	if err != nil {
		return err
	}
	if engine != nil {
		observers = append(observers, engine)
		if deriver != nil {
			// Hourly AQI feeds the AQI rules. One computed with a pollutant
			// missing is only a lower bound: it may raise an alert, not end one.
			deriver.OnAQI(func(st *station.Station, period string, start time.Time, v int, complete bool) {
				switch {
				case period != "hour":
				case complete:
					engine.ObserveValue(st, "aqi", start, float64(v))
				default:
					engine.ObserveLowerBound(st, "aqi", start, float64(v))
				}
			})
		}
	}
	hjMetrics := hj212srv.NewMetrics(promReg, reg)
	// The packets of split HJ 212 messages are acked one by one, as
	// devices expect; the journal keeps them until their message is whole.
	journal, err := hj212srv.OpenJournal(filepath.Join(cfg.WAL.Dir, hj212srv.JournalDir), logger)
	if err != nil {
		return err
	}
	defer journal.Close()
	held, err := journal.Replay()
	if err != nil {
		return err
	}
	hjDecoder := hj212srv.NewDecoder(hj212srv.DecoderConfig{
		Registry: reg, MaxFrameBytes: cfg.HJ212.MaxFrameBytes, Metrics: hjMetrics, Logger: logger, Journal: journal})
	pipe = pipeline.New(pipeline.Config{
		Decoders: map[pipeline.Format]pipeline.Decoder{
			pipeline.FormatHJ212:   hjDecoder,
			hj212srv.FormatJournal: hjDecoder,
		},
		Registry:    reg,
		Validation:  cfg.Validation,
		Log:         log,
		DeadLetters: dead,
		Observers:   observers,
		Metrics:     pipeline.NewMetrics(promReg),
		Logger:      logger,
	})
	if deriver != nil {
		if q, err := influx.NewQuerier(cfg.InfluxDB); err == nil {
			warmOpenHour(ctx, deriver, q, reg, time.Now(), logger)
		}
	}
	writer, err := influx.NewWriter(cfg.InfluxDB, log, influx.NewMetrics(promReg), logger)
	if err != nil {
		return err
	}
	src, err := mqtt.New(cfg.MQTT, deliveries, mqtt.NewMetrics(promReg), logger)
	if err != nil {
		return err
	}
	// Stations that speak HJ 212 over TCP connect here; their frames join
	// the MQTT deliveries in the same pipeline.
	var hjl *hj212srv.Listener
	if cfg.HJ212.Listen != "" {
		hjl = hj212srv.NewListener(cfg.HJ212, reg, deliveries, hjMetrics, logger)
		if err := hjl.Listen(); err != nil {
			return fmt.Errorf("hj212 listener: %w", err)
		}
		logger.Info("HJ 212 listener", "addr", hjl.Addr().String())
	}

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http listen: %w", err)
	}
	handler := httpHandler(promReg, src, writer, log)
	if cfg.HTTP.Pprof {
		mux := http.NewServeMux()
		mux.Handle("/", handler)
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		handler = mux
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http server stopped", "err", err)
		}
	}()
	logger.Info("serving /metrics, /healthz, /readyz", "addr", ln.Addr().String())

	// Each stage has its own context so that shutdown can stop them in
	// data-flow order: source first, sink last.
	srcCtx, stopSrc := context.WithCancel(context.Background())
	pipeCtx, stopPipe := context.WithCancel(context.Background())
	writerCtx, stopWriter := context.WithCancel(context.Background())
	defer stopSrc()
	defer stopPipe()
	defer stopWriter()

	pipeDone := make(chan error, 1)
	go func() { pipeDone <- pipe.Run(pipeCtx, deliveries) }()
	writerDone := make(chan error, 1)
	go func() { writerDone <- writer.Run(writerCtx, 10*time.Second) }()
	alertCtx, stopAlert := context.WithCancel(context.Background())
	defer stopAlert()
	alertDone := make(chan error, 1)
	go func() {
		if engine == nil {
			alertDone <- nil
			return
		}
		alertDone <- engine.Run(alertCtx)
	}()
	tickDone := make(chan struct{})
	go func() {
		defer close(tickDone)
		if deriver == nil {
			return
		}
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-emitCtx.Done():
				return
			case now := <-tk.C:
				deriver.Tick(now)
			}
		}
	}()
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); watchWAL(writerCtx, log, logger) }()

	// The packets held at the last stop go first, before any transport
	// delivers the rest of their messages; the writer already runs, as
	// the WAL may be full.
replay:
	for _, d := range held {
		select {
		case deliveries <- d:
		case <-ctx.Done():
			break replay
		case err := <-pipeDone:
			pipeDone <- err
			break replay
		case err := <-writerDone:
			writerDone <- err
			break replay
		}
	}
	held = nil
	srcDone := make(chan error, 1)
	go func() { srcDone <- src.Run(srcCtx) }()
	hjDone := make(chan error, 1)
	if hjl != nil {
		go func() { hjDone <- hjl.Run(srcCtx) }()
	} else {
		hjDone <- nil
	}

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err := <-pipeDone:
		runErr = fmt.Errorf("pipeline: %w", err)
		pipeDone <- nil
	case err := <-writerDone:
		runErr = fmt.Errorf("influx writer: %w", err)
		writerDone <- nil
	case err := <-srcDone:
		runErr = fmt.Errorf("mqtt: %w", err)
		srcDone <- nil
	}

	// 1. Stop handing messages over; what is queued stays unacked and comes
	//    back from the broker next time.
	src.Quiesce()
	if hjl != nil {
		hjl.Quiesce()
	}
	// 2. Finish the message in hand.
	stopPipe()
	stopEmit()
	<-pipeDone
	// The alert engine saves its state and delivers what is queued.
	stopAlert()
	<-alertDone
	// What the next tick would have written: the network points that
	// Observe defers to it.
	if deriver != nil {
		deriver.Tick(time.Now())
	}
	<-tickDone
	// 3. Write what is durable to InfluxDB, the write in flight first, within
	//    10 s, so a clean stop leaves no backlog when InfluxDB is up.
	stopWriter()
	<-watchDone
	if err := <-writerDone; err != nil && runErr == nil {
		runErr = fmt.Errorf("influx writer: %w", err)
	}
	// 4. Flush the WAL: the last group commit fires its acks.
	walClosed = true
	if err := log.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("close wal: %w", err)
	}
	// The journal's last records: the acks of held packets wait for them.
	if err := journal.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("close hj212 journal: %w", err)
	}
	// 5. Disconnect, after the last PUBACKs went out.
	stopSrc()
	<-srcDone
	if err := <-hjDone; err != nil && runErr == nil {
		runErr = fmt.Errorf("hj212 listener: %w", err)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	if runErr != nil {
		logger.Error("stopped with an error", "err", runErr)
	} else {
		logger.Info("stopped")
	}
	return runErr
}

// httpHandler serves /metrics, /healthz (alive) and /readyz (connected to
// the broker, writing to InfluxDB, WAL below its limit). As Kubernetes'
// own /readyz, ?exclude=NAME (repeatable) leaves a check out: a load
// balancer in front of the HJ 212 listener wants /readyz?exclude=influxdb,
// since the WAL takes readings through an InfluxDB outage.
func httpHandler(reg *prometheus.Registry, src *mqtt.Source, w *influx.Writer, log *wal.WAL) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(rw, "ok")
	})
	mux.HandleFunc("/readyz", func(rw http.ResponseWriter, r *http.Request) {
		type check struct {
			OK     bool   `json:"ok"`
			Detail string `json:"detail,omitempty"`
		}
		res := map[string]check{}
		res["mqtt"] = check{OK: src.Connected()}
		if !src.Connected() {
			res["mqtt"] = check{Detail: "not connected to the broker"}
		}
		ok, detail := w.Healthy()
		res["influxdb"] = check{OK: ok, Detail: detail}
		st := log.Stats()
		res["wal"] = check{OK: !st.Blocked}
		if st.Blocked {
			res["wal"] = check{Detail: "WAL at its size limit: not acking, the broker queues"}
		}
		for _, name := range r.URL.Query()["exclude"] {
			delete(res, name)
		}
		status := http.StatusOK
		for _, c := range res {
			if !c.OK {
				status = http.StatusServiceUnavailable
			}
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(status)
		_ = json.NewEncoder(rw).Encode(res)
	})
	return mux
}

// registerWALMetrics exposes the WAL's state, read at scrape time.
func registerWALMetrics(reg prometheus.Registerer, log *wal.WAL) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "envpipe_wal_bytes",
			Help: "Bytes in the WAL not yet written to InfluxDB.",
		}, func() float64 { return float64(log.Stats().UnwrittenBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "envpipe_wal_oldest_unwritten_age_seconds",
			Help: "Age of the oldest WAL record not yet written to InfluxDB (0 when none).",
		}, func() float64 {
			t := log.Stats().OldestUnwritten
			if t.IsZero() {
				return 0
			}
			return time.Since(t).Seconds()
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "envpipe_wal_segments",
			Help: "WAL segment files on disk.",
		}, func() float64 { return float64(log.Stats().Segments) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "envpipe_wal_blocked",
			Help: "1 while the WAL is at its size limit and envpipe has stopped acking (backpressure).",
		}, func() float64 {
			if log.Stats().Blocked {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "envpipe_wal_truncated_bytes_total",
			Help: "Bytes of torn or corrupt records cut off the WAL at start-up.",
		}, func() float64 { return float64(log.Stats().TruncatedBytes) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "envpipe_wal_fsyncs_total",
			Help: "WAL fsyncs (group commits).",
		}, func() float64 { return float64(log.Stats().Fsyncs) }),
	)
}

// watchWAL logs when the WAL reaches its size limit (envpipe stops acking
// and the broker queues) and when it drains below it again.
func watchWAL(ctx context.Context, log *wal.WAL, logger *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	blocked := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := log.Stats()
		if st.Blocked != blocked {
			blocked = st.Blocked
			if blocked {
				logger.Warn("WAL full: not acking new messages until InfluxDB catches up; the broker queues them",
					"component", "wal", "unwritten_bytes", st.UnwrittenBytes, "oldest_unwritten", st.OldestUnwritten)
			} else {
				logger.Info("WAL below its limit again: acking resumed", "component", "wal", "unwritten_bytes", st.UnwrittenBytes)
			}
		}
	}
}

// newDeriver builds the derivation stage (hourly means, AQI, water class,
// compliance) and warms it from InfluxDB; nil when it is disabled.
func newDeriver(ctx context.Context, cfg *config, reg *station.Registry, emit func([]byte), logger *slog.Logger) (*derive.Deriver, error) {
	if !cfg.Derive.IsEnabled() {
		return nil, nil
	}
	d, err := derive.New(cfg.Derive, reg.All(), emit, time.Now)
	if err != nil {
		return nil, err
	}
	if q, err := influx.NewQuerier(cfg.InfluxDB); err == nil {
		warmDeriver(ctx, d, q, time.Now(), logger)
	}
	return d, nil
}

// newAlertEngine builds the alert rules and their notifiers; transitions go
// to the notifiers and, as `alerts` points, through emit into the WAL. nil
// when alerting is off.
func newAlertEngine(cfg *config, reg *station.Registry, promReg prometheus.Registerer, emit func([]byte), logger *slog.Logger) (*alert.Engine, error) {
	if cfg.rules == nil {
		return nil, nil
	}
	receivers, err := notify.Build(cfg.Notify, notify.Options{Lang: cfg.Lang, Metrics: notify.NewMetrics(promReg),
		Logger: logger.With("component", "notify"),
		StationName: func(id string) string {
			if st, ok := reg.Lookup(id); ok {
				return st.Name
			}
			return ""
		}})
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return alert.New(cfg.Alert, cfg.rules, reg.All(), alert.Options{
		Notifiers:  receivers.Notifiers(),
		Emit:       emit,
		Registerer: promReg,
		Logger:     logger,
	})
}
