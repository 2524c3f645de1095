package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest/station"
	"github.com/envpipe/envpipe/ingest/wal"
)

func benchRegistry(b testing.TB, n int) *station.Registry {
	reg, errs := station.Parse([]byte(fmt.Sprintf("ranges:\n  - {prefix: zz-air-, from: 0, to: %d, digits: 4, kind: air, county: Bench}\n", n-1)))
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	return reg
}

func benchPayloads(n int) [][]byte {
	out := make([][]byte, n)
	base := time.Date(2026, 11, 28, 9, 0, 0, 123456789, time.UTC)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{"station":"zz-air-%04d","time":"%s","values":{"pm25":42.4,"pm10":65.2,"so2":8.4,"no2":35.2,"co":0.8,"o3":96.2}}`,
			i%1000, base.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano))
	}
	return out
}

// BenchmarkHandle is the whole per-message path: decode, validate, encode,
// WAL append (group-committed fsync) and the in-order ack.
func BenchmarkHandle(b *testing.B) {
	log, err := wal.Open(b.TempDir(), wal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	cfg := station.DefaultValidation()
	cfg.MaxAge = 100 * 365 * 24 * time.Hour
	p := New(Config{Registry: benchRegistry(b, 1000), Validation: cfg, Log: log,
		Metrics: NewMetrics(prometheus.NewRegistry()), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	payloads := benchPayloads(4096)
	acked := 0
	ack := func() { acked++ }
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	var d Delivery // one for the run, as Run has
	for b.Loop() {
		d = Delivery{Format: FormatJSON, Topic: "env/x/data", Payload: payloads[i%len(payloads)], Ack: ack}
		if err := p.Handle(ctx, &d); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.StopTimer()
	log.Close()
	if acked != i {
		b.Fatalf("acked %d of %d", acked, i)
	}
}
