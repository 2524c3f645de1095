package alert

import (
	"testing"
	"time"
	"unsafe"

	"github.com/envpipe/envpipe/internal/resident"
)

// TestRingIsResidentFromTheFirstValue: a series' ring is in memory from
// its first value on, not page by page as the day's buckets are written,
// so that resident memory reaches its level at a station's first reading
// instead of creeping for a day (envbench's steady runs saw a step of
// about 3 MiB at the first 5-minute boundary, 1 000 stations).
func TestRingIsResidentFromTheFirstValue(t *testing.T) {
	windows := []time.Duration{24 * time.Hour, 8 * time.Hour, time.Hour} // 5-minute buckets: 288 of them
	t0 := time.Date(2026, 11, 29, 9, 1, 0, 0, time.UTC)
	// Thousands of rings, as many stations make: most of them come from
	// memory Go has just taken from the OS, which it does not write.
	ss := make([]*series, 4000)
	for i := range ss {
		ss[i] = newSeries(windows, false)
		ss[i].add(t0, 42, 1)
	}
	missing, pages := 0, 0
	for _, s := range ss {
		if len(s.ring) != 288 {
			t.Fatalf("ring of %d buckets, want 288", len(s.ring))
		}
		in, total, err := resident.Pages(unsafe.Pointer(&s.ring[0]), uintptr(len(s.ring))*unsafe.Sizeof(bucket{}))
		if err != nil {
			t.Fatal(err)
		}
		pages += total
		missing += total - in
	}
	if missing > 0 {
		t.Fatalf("%d of the rings' %d pages are not resident after the first value", missing, pages)
	}
}
