package hj212srv

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest/deadletter"
	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/pipeline"
	"github.com/envpipe/envpipe/ingest/station"
)

// payloadLetters keeps dead letters with their payloads.
type payloadLetters struct {
	mu       sync.Mutex
	recs     []deadletter.Record
	payloads []string
}

func (d *payloadLetters) Write(r deadletter.Record, payload []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recs = append(d.recs, r)
	d.payloads = append(d.payloads, string(payload))
	return nil
}

// splitPacket is packet pno of pnum of an hourly upload of mn, as sent.
func splitPacket(t *testing.T, mn, cn string, pno, pnum int, v int) []byte {
	t.Helper()
	at := hj212.FormatDataTime(time.Now().Add(-2*time.Hour).Truncate(time.Hour), nil)
	seg := fmt.Sprintf("QN=2026030108000%02d%02d;ST=22;CN=%s;PW=pw;MN=%s;Flag=7;PNUM=%d;PNO=%d;CP=&&DataTime=%s;a34004-Avg=%d&&",
		v, pno, cn, mn, pnum, pno, at, v)
	return []byte(withLenCRC(seg) + "\r\n")
}

// The packets of a split message given up on were acknowledged one by one;
// they are dead-lettered, each under the reason it was dropped for, so that
// an operator can find and replay them.
func TestSplitMessagesGivenUpOnAreDeadLettered(t *testing.T) {
	type delivery struct {
		payload []byte
		after   time.Duration // clock advance before it
	}
	tests := []struct {
		name     string
		maxPend  int
		send     func(t *testing.T) []delivery
		reason   string
		wantDead func(t *testing.T) [][]byte // the packets dead-lettered, in order
	}{
		{
			name: "incomplete: a new message starts before the last packet",
			send: func(t *testing.T) []delivery {
				return []delivery{{splitPacket(t, "MN-A", "2061", 1, 3, 1), 0}, {splitPacket(t, "MN-A", "2061", 2, 3, 1), 0},
					{splitPacket(t, "MN-A", "2061", 1, 3, 2), 0}}
			},
			reason: hj212.ReasonSplitIncomplete,
			wantDead: func(t *testing.T) [][]byte {
				return [][]byte{splitPacket(t, "MN-A", "2061", 1, 3, 1), splitPacket(t, "MN-A", "2061", 2, 3, 1)}
			},
		},
		{
			name: "expired: the rest never came",
			send: func(t *testing.T) []delivery {
				return []delivery{{splitPacket(t, "MN-A", "2061", 1, 2, 1), 0},
					{rtFrame(t, 1, "pw"), hj212.DefaultMaxAge + time.Minute}}
			},
			reason: hj212.ReasonSplitExpired,
			wantDead: func(t *testing.T) [][]byte {
				return [][]byte{splitPacket(t, "MN-A", "2061", 1, 2, 1)}
			},
		},
		{
			name:    "evicted: too many messages held",
			maxPend: 1,
			send: func(t *testing.T) []delivery {
				return []delivery{{splitPacket(t, "MN-A", "2061", 2, 2, 1), 0}, {splitPacket(t, "MN-A", "2051", 1, 2, 3), 0}}
			},
			reason: hj212.ReasonSplitEvicted,
			wantDead: func(t *testing.T) [][]byte {
				return [][]byte{splitPacket(t, "MN-A", "2061", 2, 2, 1)}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(t, airStation("st-a", "MN-A", "pw"))
			prom := prometheus.NewRegistry()
			now := time.Now()
			dec := NewDecoder(DecoderConfig{Registry: reg, Metrics: NewMetrics(prom, reg), Logger: testLogger(),
				Reassembler: hj212.ReassemblerConfig{MaxPending: tt.maxPend}, Now: func() time.Time { return now }})
			dead := &payloadLetters{}
			p := pipeline.New(pipeline.Config{Registry: reg, Validation: station.DefaultValidation(), Log: &fakeLog{},
				DeadLetters: dead, Metrics: pipeline.NewMetrics(prom), Logger: testLogger(),
				Decoders: map[pipeline.Format]pipeline.Decoder{pipeline.FormatHJ212: dec}})
			for _, d := range tt.send(t) {
				now = now.Add(d.after)
				if err := p.Handle(context.Background(), &pipeline.Delivery{Format: pipeline.FormatHJ212,
					Topic: "env/st-a/hj212", Station: "st-a", Payload: d.payload, Ack: func() {}}); err != nil {
					t.Fatal(err)
				}
			}
			want := tt.wantDead(t)
			if len(dead.recs) != len(want) {
				t.Fatalf("%d dead letters %+v, want %d", len(dead.recs), dead.recs, len(want))
			}
			for i, w := range want {
				if r := dead.recs[i]; r.Reason != tt.reason || r.Station != "st-a" {
					t.Errorf("dead letter %d: reason %q station %q, want %q st-a", i, r.Reason, r.Station, tt.reason)
				}
				if dead.payloads[i] != string(w) {
					t.Errorf("dead letter %d payload\n%q\nwant\n%q", i, dead.payloads[i], w)
				}
			}
			if n := metricValue(t, prom, "envpipe_readings_rejected_total", "reason", tt.reason); n != float64(len(want)) {
				t.Errorf("rejected_total{reason=%s} = %v, want %d", tt.reason, n, len(want))
			}
			if n := metricValue(t, prom, "envpipe_messages_refused_total", "format", "hj212"); n != 1 {
				t.Errorf("messages_refused_total{format=hj212} = %v, want 1 (the message the drop came with)", n)
			}
		})
	}
}
