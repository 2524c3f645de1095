package wal

import (
	"errors"
	"fmt"
	"os"
	"slices"
)

// Read returns durable records starting at from, without blocking: up to
// maxBytes of payload in total, but at least one record if any is
// available. next is the position just after the last returned record, or
// from itself when nothing is available. A from before the first live
// segment reads from the first live record. The returned slices (the outer
// one included) are reused and only valid until the next Read or Close.
//
// Records come from one segment per call; the next call continues in the
// following segment. If the record at from fails its checksum, Read returns
// an error wrapping ErrCorrupt and, as next, the end of that segment's
// durable data: the caller may resume there, losing the rest of the segment.
func (w *WAL) Read(from Position, maxBytes int) ([][]byte, Position, error) {
	w.cmu.Lock()
	defer w.cmu.Unlock()

	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, from, ErrClosed
	}
	i, off, err := w.locateLocked(from)
	var id uint64
	var size int64
	if err == nil {
		id, size = w.segs[i].id, w.segs[i].size
	}
	w.mu.Unlock()
	if err != nil {
		return nil, from, fmt.Errorf("wal: read: %w", err)
	}
	if off == size {
		return nil, from, nil
	}

	f, err := w.readHandle(id)
	if err != nil {
		return nil, from, err
	}
	avail := size - off
	chunk := min(avail, max(int64(maxBytes)+int64(maxBytes)/4+headerSize, minReadChunk))
	buf, err := w.readAt(f, id, off, int(chunk))
	if err != nil {
		return nil, from, err
	}

	recs := w.rbuf.index()
	var p, total int64
	for p+headerSize <= int64(len(buf)) {
		n := recordLen(buf[p:])
		end := p + headerSize + n
		if !validLen(n) || end > avail {
			if len(recs) == 0 {
				return nil, Position{id, size}, w.corrupt(id, off+p, "invalid length")
			}
			break
		}
		if len(recs) > 0 && total+n > int64(maxBytes) {
			break
		}
		if end > int64(len(buf)) {
			if len(recs) > 0 {
				break
			}
			// The first record is larger than the chunk: fetch it whole.
			if buf, err = w.readAt(f, id, off, int(end)); err != nil {
				return nil, from, err
			}
		}
		if !recordOK(w.crc, buf[p:end]) {
			if len(recs) == 0 {
				return nil, Position{id, size}, w.corrupt(id, off+p, "checksum mismatch")
			}
			break
		}
		recs = append(recs, buf[p+headerSize:end])
		total += n
		p = end
	}
	w.rbuf.setIndex(recs)
	return recs, Position{id, off + p}, nil
}

func (w *WAL) corrupt(id uint64, off int64, why string) error {
	w.damaged.Store(id + 1)
	return fmt.Errorf("wal: read segment %s at offset %d: %s: %w", w.segmentPath(id), off, why, ErrCorrupt)
}

// readHandle returns a read-only handle on segment id, reusing the previous
// one while the consumer stays in the same segment.
func (w *WAL) readHandle(id uint64) (*os.File, error) {
	if w.rf != nil && w.rfID == id {
		return w.rf, nil
	}
	w.closeReadHandle()
	f, err := os.Open(w.segmentPath(id))
	if err != nil {
		return nil, fmt.Errorf("wal: open segment %s: %w", w.segmentPath(id), err)
	}
	w.rf, w.rfID = f, id
	return f, nil
}

func (w *WAL) closeReadHandle() {
	if w.rf == nil {
		return
	}
	if err := w.rf.Close(); err != nil {
		w.log.Warn("wal: close segment", "segment", w.segmentPath(w.rfID), "err", err)
	}
	w.rf = nil
}

// readAt fills the read buffer (readBuf) with n bytes at off.
func (w *WAL) readAt(f *os.File, id uint64, off int64, n int) ([]byte, error) {
	buf := w.rbuf.get(n)
	if _, err := f.ReadAt(buf, off); err != nil {
		// Durable bytes are below the known size, so even io.EOF means the
		// file changed under us.
		return nil, fmt.Errorf("wal: read segment %s at offset %d: %w", w.segmentPath(id), off, err)
	}
	return buf, nil
}

// Commit durably records pos (a position returned by Read, or the
// checkpoint itself) as written downstream, deletes the segments wholly
// before it and wakes Appends blocked on MaxSize. pos must not be before the
// current checkpoint nor beyond the durable head.
func (w *WAL) Commit(pos Position) error {
	w.cmu.Lock()
	defer w.cmu.Unlock()

	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	if pos.compare(w.cp) < 0 {
		cp := w.cp
		w.mu.Unlock()
		return fmt.Errorf("wal: commit %v: before checkpoint %v", pos, cp)
	}
	if pos == w.cp {
		w.mu.Unlock()
		return nil
	}
	logical, err := w.logicalLocked(pos)
	w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("wal: commit: %w", err)
	}

	// The checkpoint must be durable before anything it covers is deleted.
	if err := writeCheckpoint(w.crc, w.dir, w.dirf, w.sync, pos); err != nil {
		return err
	}

	// Find the append time of the record at pos for Stats. The committer
	// may make records durable meanwhile; if pos was the head, retry so
	// that a record appearing there is not missed.
	var dead []*segment
	for {
		w.mu.Lock()
		end := w.durableEnd
		w.mu.Unlock()
		var ts int64
		has := logical < end
		if has {
			if ts, err = w.timeAt(pos); err != nil {
				w.log.Warn("wal: read record time for stats", "pos", pos.String(), "err", err)
			}
		}
		w.mu.Lock()
		if !has && w.durableEnd != end {
			w.mu.Unlock()
			continue
		}
		w.cp, w.cpLogical = pos, logical
		w.oldest, w.oldestKnown = ts, has
		// The active (last) segment is never deleted.
		k := 0
		for k < len(w.segs)-1 {
			s := w.segs[k]
			if s.id > pos.Segment || (s.id == pos.Segment && pos.Offset < s.size) {
				break
			}
			k++
		}
		dead = slices.Clone(w.segs[:k])
		w.segs = slices.Delete(w.segs, 0, k)
		w.wakeBlockedLocked()
		w.mu.Unlock()
		break
	}

	for _, s := range dead {
		if w.rf != nil && w.rfID == s.id {
			w.closeReadHandle()
		}
		// The checkpoint is committed, so a failed delete is no error of
		// Commit's (its caller would stop): the segment, before the
		// checkpoint, is deleted again at the next Open.
		if err := os.Remove(w.segmentPath(s.id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			w.log.Warn("wal: delete written segment; it is deleted again at the next start",
				"segment", w.segmentPath(s.id), "err", err)
		}
	}
	return nil
}

// timeAt reads the append time of the durable record at pos.
func (w *WAL) timeAt(pos Position) (int64, error) {
	w.mu.Lock()
	i, off, err := w.locateLocked(pos)
	var id uint64
	if err == nil {
		id = w.segs[i].id
	}
	w.mu.Unlock()
	if err != nil {
		return 0, err
	}
	f, err := w.readHandle(id)
	if err != nil {
		return 0, err
	}
	var hdr [headerSize]byte
	if _, err := f.ReadAt(hdr[:], off); err != nil {
		return 0, fmt.Errorf("wal: read segment %s at offset %d: %w", w.segmentPath(id), off, err)
	}
	return recordTime(hdr[:]), nil
}
