package wal

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Append copies rec into the pending group and returns; it does not wait for
// the disk. done (which may be nil) is called exactly once on the committer
// goroutine: with nil once the record is written and fsynced, or with the
// error that prevented it. done calls happen in append order. done must not
// block for long (it delays every later record) and must not call Close.
//
// With Options.MaxSize set, Append blocks while the record would take the
// unwritten bytes past MaxSize, until Commit frees space (returning nil), ctx
// ends (returning ctx.Err()) or the WAL is closed (returning ErrClosed).
// rec must be 1 to MaxRecordSize bytes; it may be reused once Append returns.
// When Append returns an error the record was not appended and done is never
// called.
func (w *WAL) Append(ctx context.Context, rec []byte, done func(error)) error {
	if len(rec) == 0 || len(rec) > MaxRecordSize {
		return fmt.Errorf("wal: append: record of %d bytes, want 1 to %d", len(rec), MaxRecordSize)
	}
	size := int64(headerSize + len(rec))

	w.mu.Lock()
	for {
		if w.closed {
			w.mu.Unlock()
			return ErrClosed
		}
		if w.opts.MaxSize <= 0 {
			break
		}
		// Admit a record into an empty log even if it alone exceeds MaxSize;
		// otherwise it could never be appended.
		if u := w.unwrittenLocked(); u == 0 || u+size <= w.opts.MaxSize {
			break
		}
		space := w.space
		w.blocked++
		w.mu.Unlock()
		var err error
		select {
		case <-space:
		case <-ctx.Done():
			err = ctx.Err()
		case <-w.closing:
			err = ErrClosed
		}
		w.mu.Lock()
		w.blocked--
		if err != nil {
			w.mu.Unlock()
			return err
		}
	}

	g := w.cur
	ts := w.now().UnixNano()
	n := len(g.buf)
	g.buf = slices.Grow(g.buf, int(size))[:n+int(size)]
	putRecord(w.crc, g.buf[n:], ts, rec)
	g.dones = append(g.dones, done)
	if len(g.dones) == 1 {
		g.firstTS = ts
		// The committer may be idle: wake it. Later records of the same
		// group need no wake-up; the committer takes the whole group.
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	w.records++
	w.mu.Unlock()
	return nil
}

// run is the committer goroutine: it repeatedly takes the whole pending group
// and makes it durable, so that every record appended during one fsync shares
// the next one.
func (w *WAL) run() {
	defer close(w.stopped)
	var lastStart time.Time
	pause := time.NewTimer(time.Hour)
	pause.Stop()
	for {
		select {
		case <-w.kick:
		case <-w.closing:
		}
		for {
			if d := w.opts.CommitInterval - time.Since(lastStart); d > 0 {
				pause.Reset(d)
				select {
				case <-pause.C:
				case <-w.closing:
					pause.Stop()
				}
			}
			w.mu.Lock()
			g := w.cur
			if len(g.dones) == 0 {
				closed := w.closed
				w.mu.Unlock()
				if closed {
					// closed is set before Appends are refused, so an
					// empty group here means nothing more can arrive.
					return
				}
				break
			}
			lastStart = time.Now()
			w.cur, w.spare = w.spare, nil
			w.writing = g
			w.inflight = int64(len(g.buf))
			w.mu.Unlock()

			w.commitGroup(g)

			clear(g.dones) // drop the callbacks' references for the GC
			if cap(g.buf) > maxRetainedGroup {
				g.buf, g.dones = nil, nil
			} else {
				g.buf, g.dones = g.buf[:0], g.dones[:0]
			}
			w.mu.Lock()
			w.writing = nil
			w.inflight = 0
			w.spare = g
			w.mu.Unlock()
		}
	}
}

// commitGroup writes g to the active segment, rotating where the segment is
// full, and reports each record's outcome to its done callback.
func (w *WAL) commitGroup(g *group) {
	buf := g.buf
	off, done := 0, 0 // bytes and records of g handled so far
	var err error
	for off < len(buf) {
		if w.mustRotate || w.activeSize >= w.opts.SegmentSize || w.damaged.Load() == w.active.id+1 {
			if err = w.createSegment(w.active.id + 1); err != nil {
				break
			}
		}
		// Take whole records up to the segment's remaining room, but at
		// least one so that a record larger than SegmentSize still fits.
		room := w.opts.SegmentSize - w.activeSize
		end, n := off, 0
		for end < len(buf) {
			l := headerSize + int(recordLen(buf[end:]))
			if n > 0 && int64(end+l-off) > room {
				break
			}
			end += l
			n++
		}
		if err = w.writeDurable(buf[off:end]); err != nil {
			break
		}
		if w.failing {
			w.failing = false
			w.log.Info("wal: writes succeed again")
		}
		w.mu.Lock()
		w.active.size = w.activeSize
		w.durableEnd += int64(end - off)
		w.inflight -= int64(end - off)
		w.fsyncs++
		if !w.oldestKnown {
			w.oldest, w.oldestKnown = recordTime(buf[off:]), true
		}
		w.mu.Unlock()
		select {
		case w.notify <- struct{}{}:
		default:
		}
		for _, fn := range g.dones[done : done+n] {
			if fn != nil {
				fn(nil)
			}
		}
		off, done = end, done+n
	}
	if err == nil {
		return
	}
	// Log the first failure of a run only: a full disk fails every group.
	if !w.failing {
		w.failing = true
		w.log.Error("wal: records not persisted", "records", len(g.dones)-done, "err", err)
	}
	w.mu.Lock()
	w.inflight = 0 // the failed bytes no longer count against MaxSize
	w.wakeBlockedLocked()
	w.mu.Unlock()
	for _, fn := range g.dones[done:] {
		if fn != nil {
			fn(err)
		}
	}
}

// writeDurable appends p to the active segment with one write and fsyncs it.
// On failure the segment is cut back to its durable size (best effort) and
// sealed: if the cut fails, torn bytes remain, and no acknowledged record may
// follow them in the same segment or recovery would drop it; and after a
// failed fsync the state of the file's other dirty pages is unknown. An
// empty segment that was cut back cleanly is reused instead, so that a disk
// that stays full does not leave one empty file per failed group.
func (w *WAL) writeDurable(p []byte) error {
	path := w.segmentPath(w.active.id)
	_, err := w.wf.WriteAt(p, w.activeSize)
	if err != nil {
		err = fmt.Errorf("wal: write segment %s: %w", path, err)
	} else if err = w.sync(w.wf); err != nil {
		err = fmt.Errorf("wal: fsync segment %s: %w", path, err)
	}
	if err != nil {
		terr := w.wf.Truncate(w.activeSize)
		if terr != nil {
			w.log.Warn("wal: truncate after failed write", "segment", path, "err", terr)
		}
		w.mustRotate = terr != nil || w.activeSize > 0
		return err
	}
	w.activeSize += int64(len(p))
	return nil
}
