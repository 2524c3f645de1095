package wal

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
)

// scanBufSize caps the read buffer used to validate a segment at Open; small
// segments get a buffer their own size so that opening many tiny logs (tests,
// fuzzing) stays cheap.
const scanBufSize = 1 << 20

// scanSegment validates the records of f from offset 0 and returns the length
// of its valid prefix. Scanning stops at the first incomplete record, at an
// impossible length, or at a CRC mismatch; what follows is the torn or
// corrupt tail. visit is called for each valid record with its offset and
// append time. Only I/O errors other than a short read are returned.
func scanSegment(f *os.File, size int64, tab *crc32.Table, visit func(off, ts int64)) (int64, error) {
	bufSize := int64(scanBufSize)
	if size < bufSize {
		bufSize = max(size, 16)
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), int(bufSize))
	var (
		rec []byte
		off int64
	)
	hdr := make([]byte, headerSize)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return off, nil
			}
			return off, err
		}
		n := recordLen(hdr)
		// Checking against the bytes left before allocating keeps a garbage
		// length from costing a 16 MiB buffer.
		if !validLen(n) || n > size-off-headerSize {
			return off, nil
		}
		rec = slices.Grow(rec[:0], headerSize+int(n))[:headerSize+int(n)]
		copy(rec, hdr)
		if _, err := io.ReadFull(r, rec[headerSize:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return off, nil
			}
			return off, err
		}
		if !recordOK(tab, rec) {
			return off, nil
		}
		if visit != nil {
			visit(off, recordTime(rec))
		}
		off += headerSize + n
	}
}

// recoverSegment opens segment id, truncates a torn or corrupt tail and
// returns the open file (read-write) with its valid size and the number of
// bytes dropped.
func (w *WAL) recoverSegment(id uint64, visit func(off, ts int64)) (*os.File, int64, int64, error) {
	path := w.segmentPath(id)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("wal: open segment %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, 0, fmt.Errorf("wal: stat segment %s: %w", path, err)
	}
	size := fi.Size()
	valid, err := scanSegment(f, size, w.crc, visit)
	if err != nil {
		f.Close()
		return nil, 0, 0, fmt.Errorf("wal: scan segment %s: %w", path, err)
	}
	if valid == size {
		return f, size, 0, nil
	}
	// Truncate rather than merely ignore the tail: new records are appended
	// to the last segment, and a later scan must not stop at the old tail
	// and drop them.
	if err := f.Truncate(valid); err != nil {
		f.Close()
		return nil, 0, 0, fmt.Errorf("wal: truncate segment %s to %d: %w", path, valid, err)
	}
	if err := w.sync(f); err != nil {
		f.Close()
		return nil, 0, 0, fmt.Errorf("wal: fsync segment %s: %w", path, err)
	}
	dropped := size - valid
	w.log.Warn("wal: truncated corrupt or torn segment tail",
		"segment", path, "offset", valid, "dropped_bytes", dropped)
	return f, valid, dropped, nil
}
