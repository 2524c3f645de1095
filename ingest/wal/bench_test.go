package wal

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend measures one producer appending 200-byte records until all
// of them are durable, with a consumer committing every 10ms as the InfluxDB
// writer would, so disk use and MaxSize stay bounded. ns/op is therefore the
// sustained cost per durable record, not just the cost of the copy.
func BenchmarkAppend(b *testing.B) {
	w, err := Open(b.TempDir(), Options{MaxSize: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()

	rec := bytes.Repeat([]byte{'x'}, 200)
	var completed, failed atomic.Int64
	all := make(chan struct{})
	n := int64(b.N)
	// One callback shared by all records, so the benchmark measures the
	// WAL's allocations rather than the caller's closures.
	done := func(err error) {
		if err != nil {
			failed.Add(1)
		}
		if completed.Add(1) == n {
			close(all)
		}
	}

	stop := make(chan struct{})
	consumerDone := make(chan struct{})
	go func() {
		defer close(consumerDone)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if err := w.Commit(w.Head()); err != nil {
					b.Error(err)
					return
				}
			}
		}
	}()

	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	b.ResetTimer()
	ctx := context.Background()
	for range b.N {
		if err := w.Append(ctx, rec, done); err != nil {
			b.Fatal(err)
		}
	}
	<-all
	b.StopTimer()
	close(stop)
	<-consumerDone

	if failed.Load() > 0 {
		b.Fatalf("%d records failed", failed.Load())
	}
	st := w.Stats()
	b.ReportMetric(float64(st.Records)/float64(st.Fsyncs), "records/fsync")
}

// BenchmarkRead measures reading durable 200-byte records in 64 KiB batches;
// one op is one record.
func BenchmarkRead(b *testing.B) {
	w, err := Open(b.TempDir(), Options{SegmentSize: 4 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	appendWait(b, w, makeRecs(50_000, 200))

	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	pos := Position{}
	for n := 0; n < b.N; {
		recs, next, err := w.Read(pos, 64<<10)
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) == 0 {
			pos = Position{} // wrap around to the first record
			continue
		}
		n += len(recs)
		pos = next
	}
}
