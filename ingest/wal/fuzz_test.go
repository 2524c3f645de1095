package wal

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// The helpers below restate the record format independently of the
// package's own encoder and scanner, so that the fuzz target checks recovery
// against the specification rather than against itself.

func refEncode(ts int64, payload []byte) []byte {
	b := make([]byte, 16+len(payload))
	binary.LittleEndian.PutUint32(b[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(b[8:], uint64(ts))
	copy(b[16:], payload)
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[8:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// refParse returns the payloads of the longest valid record prefix of seg
// and that prefix's length.
func refParse(seg []byte) ([][]byte, int) {
	tab := crc32.MakeTable(crc32.Castagnoli)
	var recs [][]byte
	off := 0
	for len(seg)-off >= 16 {
		n := int(binary.LittleEndian.Uint32(seg[off:]))
		if n == 0 || n > 16<<20 || n > len(seg)-off-16 {
			break
		}
		if crc32.Checksum(seg[off+8:off+16+n], tab) != binary.LittleEndian.Uint32(seg[off+4:]) {
			break
		}
		recs = append(recs, seg[off+16:off+16+n])
		off += 16 + n
	}
	return recs, off
}

// fuzzSegment builds k valid records followed by garbage.
func fuzzSegment(producer, k int, garbage []byte) ([]byte, [][]byte) {
	var seg []byte
	var recs [][]byte
	for i := range k {
		p := payload(producer, i, 13+(i*37)%300)
		recs = append(recs, p)
		seg = append(seg, refEncode(int64(1000+i), p)...)
	}
	return append(seg, garbage...), recs
}

// FuzzRecover writes valid records followed by arbitrary bytes as a segment
// (optionally followed by an intact second segment), opens the WAL and checks
// that recovery keeps exactly the valid prefix and never yields a record
// whose checksum fails.
func FuzzRecover(f *testing.F) {
	f.Fuzz(func(t *testing.T, nValid uint8, garbage []byte, second bool) {
		dir := t.TempDir()
		seg1, valid := fuzzSegment(1, int(nValid%8), garbage)
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), seg1, 0o600); err != nil {
			t.Fatal(err)
		}
		want, prefix := refParse(seg1)
		if len(want) < len(valid) {
			t.Fatalf("reference parser lost valid records: %d < %d", len(want), len(valid))
		}
		var seg2Recs [][]byte
		if second {
			var seg2 []byte
			seg2, seg2Recs = fuzzSegment(2, 3, nil)
			if err := os.WriteFile(filepath.Join(dir, segmentName(2)), seg2, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		want = append(want[:len(want):len(want)], seg2Recs...)

		// fsync adds nothing to what is being fuzzed and would make each
		// execution cost milliseconds.
		noSync := func(*os.File) error { return nil }
		w, err := open(dir, Options{SegmentSize: 1 << 20}, noSync)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer w.Close()

		got, end := readAll(t, w, w.Checkpoint(), 4<<10)
		equalRecs(t, got, want)
		for i := range valid {
			if !bytes.Equal(got[i], valid[i]) {
				t.Fatalf("valid record %d damaged", i)
			}
		}
		if st := w.Stats(); st.TruncatedBytes != int64(len(seg1)-prefix) {
			t.Fatalf("TruncatedBytes = %d, want %d", st.TruncatedBytes, len(seg1)-prefix)
		}

		// The log accepts and returns new records after the repair.
		rec := []byte("after recovery")
		done := make(chan error, 1)
		if err := w.Append(context.Background(), rec, func(err error) { done <- err }); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		more, _ := readAll(t, w, end, 4<<10)
		equalRecs(t, more, [][]byte{rec})
	})
}
