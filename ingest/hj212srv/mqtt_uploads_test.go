package hj212srv

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/pipeline"
	"github.com/envpipe/envpipe/ingest/station"
)

// Over MQTT as over TCP, a valid upload that carries no readings (status,
// running time, restart time, the 2025 heartbeat) is received and acked,
// not refused; a factor envpipe knows but has no parameter for is counted
// under its own reason and not dead-lettered; an unknown code still is.
func TestMQTTFramesWithoutReadingsAreReceivedNotRefused(t *testing.T) {
	at := hj212.FormatDataTime(time.Now().Add(-time.Hour).Truncate(time.Minute), nil)
	tests := []struct {
		name     string
		cn, cp   string
		accepted float64
		rejected map[ingest.Reason]float64
		dead     map[string]int
	}{
		{name: "2021 equipment status", cn: "2021", cp: "DataTime=" + at + ";SB1-RS=1"},
		{name: "2041 running time", cn: "2041", cp: "DataTime=" + at + ";SB1-RT=24"},
		{name: "2081 restart time", cn: "2081", cp: "DataTime=" + at + ";RestartTime=" + at},
		{name: "9015 heartbeat (HJ 212-2025)", cn: "9015", cp: ""},
		{name: "9014 sent to envpipe is still not data", cn: "9014", cp: "",
			rejected: map[ingest.Reason]float64{ingest.ReasonHJ212NotData: 1}, dead: map[string]int{"hj212_not_data": 1}},
		{name: "NOx and phenol: known, unsupported", cn: "2011", cp: "DataTime=" + at + ";a34004-Rtd=38;a21002-Rtd=20;w23002-Rtd=0.1",
			accepted: 1, rejected: map[ingest.Reason]float64{ingest.ReasonHJ212Unsupported: 2}},
		{name: "an unknown code", cn: "2011", cp: "DataTime=" + at + ";a34004-Rtd=38;x99999-Rtd=1",
			accepted: 1, rejected: map[ingest.Reason]float64{ingest.ReasonHJ212Factor: 1}, dead: map[string]int{"hj212_unknown_factor": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(t, airStation("st-a", "MN-A", "pw"))
			prom := prometheus.NewRegistry()
			dead := &deadLetters{}
			p := pipeline.New(pipeline.Config{Registry: reg, Validation: station.DefaultValidation(), Log: &fakeLog{},
				DeadLetters: dead, Metrics: pipeline.NewMetrics(prom), Logger: testLogger(),
				Decoders: map[pipeline.Format]pipeline.Decoder{pipeline.FormatHJ212: NewDecoder(DecoderConfig{
					Registry: reg, Metrics: NewMetrics(prom, reg), Logger: testLogger()})}})
			acked := 0
			if err := p.Handle(context.Background(), &pipeline.Delivery{Format: pipeline.FormatHJ212, Topic: "env/st-a/hj212",
				Station: "st-a", Payload: frame(t, qn(1), tt.cn, "MN-A", "pw", 5, tt.cp), Ack: func() { acked++ }}); err != nil {
				t.Fatal(err)
			}
			if acked != 1 {
				t.Errorf("acked %d times, want 1", acked)
			}
			if n := metricValue(t, prom, "envpipe_messages_received_total", "format", "hj212"); n != 1 {
				t.Errorf("received %v, want 1", n)
			}
			if n := metricValue(t, prom, "envpipe_readings_accepted_total", "kind", "air"); n != tt.accepted {
				t.Errorf("accepted %v, want %v", n, tt.accepted)
			}
			for _, r := range ingest.Reasons {
				if n := metricValue(t, prom, "envpipe_readings_rejected_total", "reason", string(r)); n != tt.rejected[r] {
					t.Errorf("rejected{%s} = %v, want %v", r, n, tt.rejected[r])
				}
			}
			if got := dead.reasons(); len(got) != len(tt.dead) || !sameCounts(got, tt.dead) {
				t.Errorf("dead letters %v, want %v", got, tt.dead)
			}
		})
	}
}

func sameCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}
