package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/alert"
	"github.com/envpipe/envpipe/alert/notify"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/influx"
	"github.com/envpipe/envpipe/ingest/mqtt"
	"github.com/envpipe/envpipe/ingest/pipeline"
	"github.com/envpipe/envpipe/ingest/station"
	"github.com/envpipe/envpipe/ingest/wal"
	"github.com/envpipe/envpipe/internal/testenv"
)

// The alert integration tests run Mosquitto, influxd and Alertmanager, and
// build envpipe's data path in the test (the shape of run.go) with the
// alert engine as the pipeline's observer, so that they can watch the
// engine and pace the publisher on what it has observed. Alertmanager
// routes every alert, each in its own group, to a webhook receiver in the
// test: what a person on call would get.

// webhook receives Alertmanager's notifications.
type webhook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	alerts []hookAlert
	posts  int
}

// hookAlert is one alert of a webhook notification.
type hookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	received     time.Time
}

func (h hookAlert) String() string {
	return h.Labels["alertname"] + "/" + h.Labels["severity"] + "/" + h.Labels["param"] + ":" + h.Status
}

func newWebhook(t *testing.T) *webhook {
	h := &webhook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Alerts []hookAlert `json:"alerts"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &msg); err != nil {
			t.Errorf("webhook: %v: %s", err, body)
		}
		now := time.Now()
		h.mu.Lock()
		h.posts++
		for _, a := range msg.Alerts {
			a.received = now
			h.alerts = append(h.alerts, a)
		}
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *webhook) all() []hookAlert {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookAlert(nil), h.alerts...)
}

// waitFor waits until the receiver holds n alerts.
func (h *webhook) waitFor(t *testing.T, n int, timeout time.Duration) []hookAlert {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if got := h.all(); len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := h.all()
	t.Fatalf("webhook: %d alerts, want %d: %v", len(got), n, got)
	return nil
}

// alertmanagerConfig routes every alert, one group per alert, to url.
func alertmanagerConfig(url string) string {
	return fmt.Sprintf(`route:
  receiver: hook
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 24h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
`, url)
}

// alertStack is envpipe with the alert engine, built in the test.
type alertStack struct {
	t        *testing.T
	dir      string
	broker   *testenv.Broker
	influx   *testenv.Influx
	am       *testenv.AM
	hook     *webhook
	engine   *alert.Engine
	pub      *alertPublisher
	reg      *station.Registry
	observed atomic.Int64
	logs     *syncBuffer
}

// countingObserver counts the readings the engine has observed, so that
// a test can wait for the pipeline to catch up with its publisher.
type countingObserver struct {
	e *alert.Engine
	n *atomic.Int64
}

func (c countingObserver) Observe(st *station.Station, r *ingest.Reading) {
	c.e.Observe(st, r)
	c.n.Add(1)
}

// startAlertStack starts the servers and envpipe with stationsYAML (the
// body of stations.yaml) and rulesYAML; mod adjusts the alert config.
func startAlertStack(t *testing.T, stationsYAML, rulesYAML string, mod func(*alert.Config)) *alertStack {
	t.Helper()
	s := &alertStack{t: t, dir: t.TempDir(), logs: &syncBuffer{}}
	s.broker = testenv.Mosquitto(t, testenv.MosquittoOptions{})
	s.influx = testenv.InfluxDB(t)
	s.hook = newWebhook(t)
	s.am = testenv.Alertmanager(t, alertmanagerConfig(s.hook.srv.URL))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("envpipe log (tail):\n%s", tail(s.logs.String(), 6000))
			t.Logf("alertmanager log (tail):\n%s", tail(s.am.Log(), 3000))
		}
	})

	if err := os.WriteFile(filepath.Join(s.dir, "stations.yaml"), []byte(stationsYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	rulesPath := filepath.Join(s.dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(rulesYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := writeConfig(t, s.dir, s.broker.URL(), s.influx.URL(), testenv.FreePort(t), "")
	cfg, reg, errs := loadConfig(cfgPath)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s.reg = reg
	logger := newLogger(cfg.Log, s.logs)
	promReg := prometheus.NewRegistry()

	acfg := alert.DefaultConfig()
	acfg.Rules = rulesPath
	acfg.Lang = "en"
	acfg.StateFile = filepath.Join(s.dir, "alert-state.json")
	acfg.ResendInterval = time.Second
	if mod != nil {
		mod(&acfg)
	}
	rules, rerrs := alert.LoadRules(acfg.Rules)
	rerrs = append(rerrs, rules.CheckStations(reg.All())...)
	if len(rerrs) > 0 {
		t.Fatal(rerrs)
	}

	log, err := wal.Open(cfg.WAL.Dir, wal.Options{SegmentSize: cfg.WAL.SegmentSizeMB << 20, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	deliveries := make(chan pipeline.Delivery, cfg.MQTT.QueueSize)
	pipeCtx, stopPipe := context.WithCancel(context.Background())
	var pipe *pipeline.Pipeline
	am, err := notify.NewAlertmanager(notify.AlertmanagerConfig{URLs: []string{s.am.URL()},
		Delivery: notify.Delivery{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}},
		notify.Options{Lang: "en", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := alert.New(acfg, rules, reg.All(), alert.Options{
		Notifiers:  []alert.Notifier{am},
		Emit:       func(lp []byte) { _ = pipe.Emit(pipeCtx, lp) },
		Registerer: promReg,
		Logger:     logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.engine = eng
	pipe = pipeline.New(pipeline.Config{
		Registry:   reg,
		Validation: cfg.Validation,
		Log:        log,
		Observers:  []pipeline.Observer{countingObserver{eng, &s.observed}},
		Metrics:    pipeline.NewMetrics(promReg),
		Logger:     logger,
	})
	writer, err := influx.NewWriter(cfg.InfluxDB, log, influx.NewMetrics(promReg), logger)
	if err != nil {
		t.Fatal(err)
	}
	src, err := mqtt.New(cfg.MQTT, deliveries, mqtt.NewMetrics(promReg), logger)
	if err != nil {
		t.Fatal(err)
	}
	engCtx, stopEng := context.WithCancel(context.Background())
	srcCtx, stopSrc := context.WithCancel(context.Background())
	writerCtx, stopWriter := context.WithCancel(context.Background())
	engDone, srcDone, pipeDone, writerDone := make(chan error, 1), make(chan error, 1), make(chan error, 1), make(chan error, 1)
	go func() { engDone <- eng.Run(engCtx) }()
	go func() { srcDone <- src.Run(srcCtx) }()
	go func() { pipeDone <- pipe.Run(pipeCtx, deliveries) }()
	go func() { writerDone <- writer.Run(writerCtx, 10*time.Second) }()
	t.Cleanup(func() {
		// Data-flow order, as run.go: source, pipeline, alerts, writer, WAL.
		src.Quiesce()
		stopPipe()
		<-pipeDone
		stopEng()
		<-engDone
		stopWriter()
		<-writerDone
		log.Close()
		stopSrc()
		<-srcDone
	})
	deadline := time.Now().Add(20 * time.Second)
	for !src.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("envpipe not subscribed within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.pub = &alertPublisher{t: t, client: publisher(t, s.broker.URL(), "alert-pub"), stack: s}
	return s
}

// alertPublisher publishes readings and waits until the engine has seen
// them.
type alertPublisher struct {
	t      *testing.T
	client paho.Client
	stack  *alertStack
	sent   int64
}

var cst = time.FixedZone("CST", 8*3600)

// jsonReading is one JSON payload.
func jsonReading(stationID string, t time.Time, values map[string]float64, flags map[string]string) string {
	m := map[string]any{"station": stationID, "time": t.In(cst).Format(time.RFC3339Nano), "values": values}
	if len(flags) > 0 {
		m["flags"] = flags
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// publish sends one reading and waits until the engine observed it.
func (p *alertPublisher) publish(stationID string, t time.Time, values map[string]float64) {
	p.t.Helper()
	publishAll(p.t, p.client, [][2]string{{"env/" + stationID + "/data", jsonReading(stationID, t, values, nil)}})
	p.sent++
	p.waitObserved()
}

func (p *alertPublisher) waitObserved() {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for p.stack.observed.Load() < p.sent {
		if time.Now().After(deadline) {
			p.t.Fatalf("engine observed %d readings of %d within 20s", p.stack.observed.Load(), p.sent)
		}
		time.Sleep(time.Millisecond)
	}
}

// firing returns "alertname/severity/param" of the engine's firing alerts.
func (s *alertStack) firing() map[string]bool {
	out := map[string]bool{}
	for _, a := range s.engine.Alerts() {
		if a.State == alert.StateFiring {
			out[a.Rule+"/"+a.Severity+"/"+a.Param] = true
		}
	}
	return out
}

// alertPoints returns the `alerts` points in InfluxDB as
// "alertname/severity/param:state", in time order.
func (s *alertStack) alertPoints(t *testing.T) []string {
	t.Helper()
	series, err := s.influx.Query(`SELECT "value", alertname, severity, param, "state" FROM alerts ORDER BY time`)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, sr := range series {
		names, sevs, params, states := sr.Column("alertname"), sr.Column("severity"), sr.Column("param"), sr.Column("state")
		for i := range names {
			p, _ := params[i].(string)
			out = append(out, fmt.Sprintf("%v/%v/%s:%v", names[i], sevs[i], p, states[i]))
		}
	}
	return out
}

func joinHook(as []hookAlert) string {
	var b strings.Builder
	for _, a := range as {
		b.WriteString(a.String() + " ")
	}
	return b.String()
}
