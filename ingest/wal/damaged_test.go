package wal

import (
	"errors"
	"os"
	"testing"
)

// A record damaged in the active segment: the consumer skips to the
// segment's end (as influx.Writer does). Records appended after that must
// go to a new segment: in the damaged one the next Open would truncate
// them away with the damage, although they were acknowledged.
func TestRecordsAfterADamagedActiveSegmentSurviveReopen(t *testing.T) {
	const recSize = 100
	dir := t.TempDir()
	w := openT(t, dir, Options{})
	appendWait(t, w, makeRecs(3, recSize))
	seg := segmentFiles(t, dir)[0]
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	data[1*(headerSize+recSize)+headerSize+5] ^= 1 // second record
	if err := os.WriteFile(seg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, next, err := w.Read(Position{}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(next); err != nil {
		t.Fatal(err)
	}
	_, skip, err := w.Read(next, 1<<20)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("want ErrCorrupt, got %v", err)
	}
	if err := w.Commit(skip); err != nil {
		t.Fatal(err)
	}
	later := [][]byte{payload(7, 0, recSize), payload(7, 1, recSize)}
	appendWait(t, w, later) // acked: durable
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = openT(t, dir, Options{})
	got, _ := readAll(t, w, w.Checkpoint(), 1<<20)
	if len(got) != len(later) {
		t.Fatalf("after reopen: %d of the %d records acknowledged after the skip survive", len(got), len(later))
	}
}
