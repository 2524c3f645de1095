package pipeline

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/envpipe/envpipe/ingest/station"
)

type nopLog struct{}

func (nopLog) Append(_ context.Context, _ []byte, done func(error)) error { done(nil); return nil }

// handleAndGather hands p the JSON payloads on topic and gathers promReg.
func handleAndGather(t *testing.T, p *Pipeline, promReg *prometheus.Registry, topic string, payloads ...string) []*dto.MetricFamily {
	t.Helper()
	for _, payload := range payloads {
		d := Delivery{Format: FormatJSON, Topic: topic, Payload: []byte(payload), Ack: func() {}}
		if err := p.Handle(context.Background(), &d); err != nil {
			t.Fatal(err)
		}
	}
	mfs, err := promReg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// metricsPipe is a pipeline of three stations whose metrics go to promReg.
func metricsPipe(t *testing.T, promReg *prometheus.Registry) *Pipeline {
	cfg := station.DefaultValidation()
	cfg.MaxAge = 100 * 365 * 24 * time.Hour
	return New(Config{Registry: benchRegistry(t, 3), Validation: cfg, Log: nopLog{},
		Metrics: NewMetrics(promReg), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func TestLastReadingIsTheNewestPerStation(t *testing.T) {
	promReg := prometheus.NewRegistry()
	p := metricsPipe(t, promReg)
	mfs := handleAndGather(t, p, promReg, "env/x/data",
		`{"station":"zz-air-0001","time":"2026-11-28T09:00:00Z","values":{"pm25":42.4}}`,
		`{"station":"zz-air-0002","time":"2026-11-28T09:00:05.5Z","values":{"pm25":42.4}}`,
		`{"station":"zz-air-0001","time":"2026-11-28T08:59:00Z","values":{"pm25":42.4}}`, // late: not newer
		`{"station":"zz-air-0002","time":"2026-11-28T09:01:00Z","values":{"pm25":-5}}`,   // refused: not a reading
	)
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "envpipe_station_last_reading_timestamp_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"zz-air-0001": float64(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC).Unix()),
		"zz-air-0002": float64(time.Date(2026, 11, 28, 9, 0, 5, 0, time.UTC).Unix()) + 0.5,
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v (none for the station without readings)", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
}

// envpipe_messages_refused_total counts messages, whatever the number of
// values refused in each.
func TestRefusedMessagesAreCountedOnce(t *testing.T) {
	promReg := prometheus.NewRegistry()
	p := metricsPipe(t, promReg)
	mfs := handleAndGather(t, p, promReg, "env/zz-air-0001/data",
		`{"station":"zz-air-0001","time":"2026-11-28T09:00:00Z","values":{"pm25":42.4}}`,
		`{"station":"zz-air-0001","time":"2026-11-28T09:00:01Z","values":{"pm25":-1,"pm10":-1,"so2":-1}}`,
		`{"station":"zz-air-0001","time":"2026-11-28T09:00:02Z","values":{"pm25":1,"pm10":-1}}`,
		`not json`,
	)
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == "json" {
				got[mf.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	if got["envpipe_messages_received_total"] != 4 || got["envpipe_messages_refused_total"] != 3 {
		t.Errorf("received %v, refused %v; want 4 and 3", got["envpipe_messages_received_total"], got["envpipe_messages_refused_total"])
	}
}
