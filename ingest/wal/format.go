package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	// MaxRecordSize is the largest payload Append accepts. Recovery treats a
	// larger length field as corruption, which bounds what a damaged header
	// can make it read.
	MaxRecordSize = 16 << 20

	// headerSize is the fixed record header: length, CRC, timestamp.
	headerSize = 16

	segmentSuffix  = ".seg"
	segmentNameLen = 20 + len(segmentSuffix)
	checkpointName = "checkpoint"
	checkpointTmp  = "checkpoint.tmp"
	lockName       = "lock"

	checkpointMagic = "WCP1"
	checkpointSize  = 24

	filePerm = 0o640
	dirPerm  = 0o750
)

// errBadCheckpoint marks a checkpoint file that exists but cannot be trusted.
var errBadCheckpoint = errors.New("wal: bad checkpoint")

func segmentName(id uint64) string {
	return fmt.Sprintf("%020d%s", id, segmentSuffix)
}

// parseSegmentName reports the id of a segment file name; other files in the
// directory are ignored rather than treated as errors, so an operator's stray
// file does not stop the daemon.
func parseSegmentName(name string) (uint64, bool) {
	if len(name) != segmentNameLen || !strings.HasSuffix(name, segmentSuffix) {
		return 0, false
	}
	digits := name[:20]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return id, true
}

// putRecord encodes one record into dst, which must be exactly
// headerSize+len(payload) bytes long. The timestamp and payload are adjacent,
// so the CRC is a single pass over dst[8:].
func putRecord(tab *crc32.Table, dst []byte, ts int64, payload []byte) {
	binary.LittleEndian.PutUint32(dst[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint64(dst[8:16], uint64(ts))
	copy(dst[headerSize:], payload)
	binary.LittleEndian.PutUint32(dst[4:8], crc32.Checksum(dst[8:], tab))
}

// recordLen returns the payload length from a header; b must hold at least a
// header.
func recordLen(b []byte) int64 {
	return int64(binary.LittleEndian.Uint32(b[0:4]))
}

// recordTime returns the append time from a header.
func recordTime(b []byte) int64 {
	return int64(binary.LittleEndian.Uint64(b[8:16]))
}

// validLen reports whether a header's length field is possible at all.
func validLen(n int64) bool {
	return n >= 1 && n <= MaxRecordSize
}

// recordOK checks the CRC of a complete record (header and payload).
func recordOK(tab *crc32.Table, rec []byte) bool {
	return crc32.Checksum(rec[8:], tab) == binary.LittleEndian.Uint32(rec[4:8])
}

func encodeCheckpoint(tab *crc32.Table, pos Position) []byte {
	b := make([]byte, checkpointSize)
	copy(b[0:4], checkpointMagic)
	binary.LittleEndian.PutUint64(b[4:12], pos.Segment)
	binary.LittleEndian.PutUint64(b[12:20], uint64(pos.Offset))
	binary.LittleEndian.PutUint32(b[20:24], crc32.Checksum(b[:20], tab))
	return b
}

func decodeCheckpoint(tab *crc32.Table, b []byte) (Position, error) {
	if len(b) != checkpointSize {
		return Position{}, fmt.Errorf("%w: size %d, want %d", errBadCheckpoint, len(b), checkpointSize)
	}
	if string(b[0:4]) != checkpointMagic {
		return Position{}, fmt.Errorf("%w: bad magic %q", errBadCheckpoint, b[0:4])
	}
	if crc32.Checksum(b[:20], tab) != binary.LittleEndian.Uint32(b[20:24]) {
		return Position{}, fmt.Errorf("%w: checksum mismatch", errBadCheckpoint)
	}
	pos := Position{
		Segment: binary.LittleEndian.Uint64(b[4:12]),
		Offset:  int64(binary.LittleEndian.Uint64(b[12:20])),
	}
	if pos.Offset < 0 {
		return Position{}, fmt.Errorf("%w: negative offset %d", errBadCheckpoint, pos.Offset)
	}
	return pos, nil
}

// readCheckpoint loads the committed position. A missing file is the normal
// state of a new log and yields the zero Position; an unreadable or corrupt
// one yields an error wrapping errBadCheckpoint, which Open downgrades to a
// warning.
func readCheckpoint(tab *crc32.Table, dir string) (Position, error) {
	b, err := os.ReadFile(filepath.Join(dir, checkpointName))
	if errors.Is(err, os.ErrNotExist) {
		return Position{}, nil
	}
	if err != nil {
		return Position{}, fmt.Errorf("wal: read checkpoint: %w", err)
	}
	return decodeCheckpoint(tab, b)
}

// writeCheckpoint replaces the checkpoint atomically and durably: a crash
// leaves either the old or the new file, never a torn one.
func writeCheckpoint(tab *crc32.Table, dir string, dirf *os.File, sync func(*os.File) error, pos Position) error {
	tmp := filepath.Join(dir, checkpointTmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return fmt.Errorf("wal: create checkpoint: %w", err)
	}
	if _, err := f.Write(encodeCheckpoint(tab, pos)); err != nil {
		f.Close()
		return fmt.Errorf("wal: write checkpoint: %w", err)
	}
	if err := sync(f); err != nil {
		f.Close()
		return fmt.Errorf("wal: fsync checkpoint: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("wal: close checkpoint: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, checkpointName)); err != nil {
		return fmt.Errorf("wal: rename checkpoint: %w", err)
	}
	if err := sync(dirf); err != nil {
		return fmt.Errorf("wal: fsync directory %s: %w", dir, err)
	}
	return nil
}
