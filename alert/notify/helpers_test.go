package notify

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/alert"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is 2026-11-28 09:00 in China.
var t0 = time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)

// fixture is a firing critical PM2.5 alert and a resolved warning about
// dissolved oxygen, deliberately out of message order.
func fixture() []alert.Notification {
	return []alert.Notification{
		{
			Status: alert.StatusResolved,
			Labels: map[string]string{"alertname": "DOLow", "station": "zz-wat-xj01", "county": "Lukou",
				"param": "do", "severity": "warning"},
			Annotations: map[string]string{
				"summary":     "溶解氧接近 II 类下限",
				"description": "朱亭断面溶解氧 1 小时均值 6.2 mg/L，接近 II 类标准下限 6 mg/L。",
			},
			StartsAt: t0.Add(-3*time.Hour - 20*time.Minute),
			EndsAt:   t0.Add(-30 * time.Minute),
			Value:    6.2, Limit: 6,
		},
		{
			Status: alert.StatusFiring,
			Labels: map[string]string{"alertname": "PM25Daily", "station": "zz-air-0101", "county": "Hetang",
				"param": "pm25", "severity": "critical"},
			Annotations: map[string]string{
				"summary":      "PM2.5 24 小时均值超过二级标准",
				"description":  "市监测站 PM2.5 24 小时滑动平均 78.4 µg/m³，超过 GB 3095-2012 二级浓度限值 75 µg/m³。",
				"station_name": "市监测站",
				"value":        "78.433", // as the rule engine writes them: bare numbers
				"limit":        "75",
				"threshold":    "75",
			},
			StartsAt:     t0,
			EndsAt:       t0.Add(5 * time.Minute),
			GeneratorURL: "http://127.0.0.1:3000/d/envpipe-air?var-station=zz-air-0101",
			Value:        78.43333, Limit: 75,
		},
	}
}

func fixtureEN() []alert.Notification {
	a := fixture()
	a[0].Annotations = map[string]string{"summary": "Dissolved oxygen near the Class II minimum",
		"description": "Zhuting section: 1 h mean DO 6.2 mg/L, Class II minimum 6 mg/L."}
	a[1].Annotations = map[string]string{"summary": "PM2.5 24 h mean above Grade II",
		"description":  "PM2.5 24 h rolling mean 78.4 µg/m³ > GB 3095-2012 Grade II limit 75 µg/m³.",
		"station_name": "City Monitoring Station", "value": "78.433", "limit": "75"}
	return a
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", path, got, want)
	}
}

// fake is an HTTP receiver on 127.0.0.1: it records requests and answers
// from a script (the last answer repeats).
type fake struct {
	srv *httptest.Server

	mu      sync.Mutex
	reqs    []fakeReq
	answers []answer
	// check, if set, verifies each request; its error becomes a 401.
	check func(r *http.Request, body []byte) error
}

type fakeReq struct {
	at     time.Time
	url    string
	header http.Header
	body   []byte
}

type answer struct {
	status int
	header map[string]string
	body   string
}

var (
	robotOK = answer{200, nil, `{"errcode":0,"errmsg":"ok"}`}
	httpOK  = answer{200, nil, ``}
)

func newFake(t *testing.T, answers ...answer) *fake {
	f := &fake{answers: answers}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, fakeReq{at: time.Now(), url: r.URL.String(), header: r.Header.Clone(), body: body})
		a := answer{200, nil, ""}
		if len(f.answers) > 0 {
			a = f.answers[0]
			if len(f.answers) > 1 {
				f.answers = f.answers[1:]
			}
		}
		check := f.check
		f.mu.Unlock()
		if check != nil {
			if err := check(r, body); err != nil {
				t.Errorf("fake receiver: %v", err)
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
		}
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) requests() []fakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeReq(nil), f.reqs...)
}

// testOptions has metrics on a fresh registry, logs into buf, and a
// fixed clock.
func testOptions(t *testing.T) (Options, *prometheus.Registry, *syncBuffer) {
	reg := prometheus.NewRegistry()
	buf := &syncBuffer{}
	return Options{
		Metrics: NewMetrics(reg),
		Logger:  slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:     func() time.Time { return t0.Add(10 * time.Minute) },
	}, reg, buf
}

// fastRetry retries quickly so tests do not wait.
var fastRetry = Delivery{Timeout: 5 * time.Second, MaxAttempts: 4, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// counter reads envpipe_notifications_total{receiver, result}.
func counter(t *testing.T, reg *prometheus.Registry, receiver, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "envpipe_notifications_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["receiver"] == receiver && l["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no envpipe_notifications_total{receiver=%q,result=%q}", receiver, result)
	return 0
}

// histogramCount reads envpipe_notification_duration_seconds{receiver}'s
// sample count.
func histogramCount(t *testing.T, reg *prometheus.Registry, receiver string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "envpipe_notification_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, p := range m.GetLabel() {
				if p.GetName() == "receiver" && p.GetValue() == receiver {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	t.Fatalf("no envpipe_notification_duration_seconds{receiver=%q}", receiver)
	return 0
}

func writeTestFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
