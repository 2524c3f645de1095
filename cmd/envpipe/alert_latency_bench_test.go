package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert"
	"github.com/envpipe/envpipe/alert/notify"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// BenchmarkAlertLatency is Done-when 6 of issue 4: the latency from a
// reading's arrival (the pipeline calling Observe) to the Alertmanager
// notifier's POST arriving at an HTTP server, for a rule with for: 0.
// Each iteration observes one reading that changes the alert's state
// (breach, clear, breach, …), so each makes one transition, one state
// file write (fsync) and one POST; the next reading waits for the POST,
// so the figures are latencies, not queueing. Reported: p50, p99 and max
// in milliseconds.
//
//	go test ./cmd/envpipe -run '^$' -bench AlertLatency -benchtime 2000x
func BenchmarkAlertLatency(b *testing.B) {
	received := make(chan time.Time, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var body []notify.PostableAlert
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &body); err != nil || len(body) != 1 || r.URL.Path != "/api/v2/alerts" {
			b.Errorf("POST %s: %v: %s", r.URL.Path, err, data)
		}
		w.WriteHeader(http.StatusOK)
		received <- now
	}))
	defer srv.Close()

	rules, errs := alert.ParseRules([]byte(`
rules:
  - {name: PM10High, param: pm10, aggregate: instant, limit: 150, for: 0s}
`))
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	st := &station.Station{ID: "zz-air-0101", Name: "市监测站", Kind: ingest.KindAir, County: "Hetang", Interval: time.Minute}
	am, err := notify.NewAlertmanager(notify.AlertmanagerConfig{URLs: []string{srv.URL}}, notify.Options{})
	if err != nil {
		b.Fatal(err)
	}
	cfg := alert.DefaultConfig()
	cfg.Rules = "rules.yaml"
	cfg.ResendInterval = time.Hour // no re-sends during the measurement
	cfg.StateFile = filepath.Join(b.TempDir(), "alert-state.json")
	eng, err := alert.New(cfg, rules, []*station.Station{st}, alert.Options{Notifiers: []alert.Notifier{am}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	defer func() { cancel(); <-done }()

	lat := make([]time.Duration, 0, b.N)
	t0 := time.Now().Add(-time.Hour)
	r := ingest.Reading{Station: st.ID, Values: []ingest.Value{{Param: "pm10", Flag: ingest.FlagNormal}}}
	b.ResetTimer()
	for i := range b.N {
		r.Time = t0.Add(time.Duration(i) * time.Second)
		r.Values[0].V = 100
		if i%2 == 0 {
			r.Values[0].V = 200 // breach: firing; the next one resolves
		}
		start := time.Now()
		eng.Observe(st, &r)
		select {
		case at := <-received:
			lat = append(lat, at.Sub(start))
		case <-time.After(10 * time.Second):
			b.Fatalf("reading %d: no POST within 10s", i)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
	b.ReportMetric(0, "ns/op")
}
