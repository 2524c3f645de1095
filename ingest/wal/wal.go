package wal

import (
	"cmp"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSegmentSize is used when Options.SegmentSize is not positive.
const DefaultSegmentSize = 64 << 20

// ErrClosed is returned by every operation on a closed WAL.
var ErrClosed = errors.New("wal: closed")

// ErrCorrupt is returned (wrapped) by Read when a durable record fails its
// checksum, i.e. the file was damaged after it was recovered or written.
var ErrCorrupt = errors.New("wal: corrupt record")

// Options configures a WAL. The zero value is usable.
type Options struct {
	// SegmentSize is the size at which the active segment is closed and the
	// next record goes to a new one. Default DefaultSegmentSize.
	SegmentSize int64
	// MaxSize bounds the unwritten bytes (checkpoint to head, including
	// records not yet fsynced); Append blocks while it would exceed it.
	// 0 means unlimited.
	MaxSize int64
	// CommitInterval is the least time between the starts of two group
	// commits; records appended meanwhile join the next group. It bounds
	// the fsync rate, whose CPU cost on some filesystems exceeds the rest
	// of a record's handling, at the price of up to that much
	// acknowledgement latency. 0 starts a commit as soon as the previous
	// one ends.
	CommitInterval time.Duration
	// Logger receives recovery and I/O failure reports; nil discards them.
	Logger *slog.Logger
	// Now stamps records with their append time; default time.Now.
	Now func() time.Time
}

// Position addresses a byte in the log: a segment id and an offset in it.
// Positions returned by Read always sit on record boundaries. The zero value
// is the start of the log.
type Position struct {
	Segment uint64
	Offset  int64
}

func (p Position) String() string { return fmt.Sprintf("%d:%d", p.Segment, p.Offset) }

func (p Position) compare(q Position) int {
	if c := cmp.Compare(p.Segment, q.Segment); c != 0 {
		return c
	}
	return cmp.Compare(p.Offset, q.Offset)
}

// Stats is a snapshot for metrics.
type Stats struct {
	// UnwrittenBytes counts record bytes (headers included) from the
	// checkpoint to the head, including records not yet fsynced.
	UnwrittenBytes int64
	// Segments is the number of live segment files.
	Segments int
	// OldestUnwritten is the append time of the first record after the
	// checkpoint; zero if there is none.
	OldestUnwritten time.Time
	// Blocked reports whether an Append is waiting for MaxSize.
	Blocked bool
	// TruncatedBytes counts bytes dropped by recovery since Open.
	TruncatedBytes int64
	// Records counts records appended since Open.
	Records uint64
	// Fsyncs counts fsyncs of segment data since Open: one per group commit,
	// plus one per segment boundary a group crosses. Records/Fsyncs is the
	// group-commit batching factor.
	Fsyncs uint64
}

// segment is the in-memory state of one live segment file.
type segment struct {
	id   uint64
	base int64 // logical offset of the segment's first byte since Open
	size int64 // durable (fsynced) bytes; guarded by WAL.mu
}

// group is a batch of encoded records that is written with one write and
// made durable with one fsync.
type group struct {
	buf     []byte
	dones   []func(error)
	firstTS int64 // append time of the first record, for Stats
}

// maxRetainedGroup bounds the buffer a group keeps between uses so that one
// burst does not pin its peak memory for the life of the process.
const maxRetainedGroup = 16 << 20

// WAL is a write-ahead log in one directory. See the package documentation
// for the format and guarantees.
type WAL struct {
	dir  string
	opts Options
	log  *slog.Logger
	now  func() time.Time
	crc  *crc32.Table
	sync func(*os.File) error // (*os.File).Sync; replaceable in tests

	dirf *os.File // for directory fsyncs
	lock *os.File

	kick    chan struct{} // pending group became non-empty
	notify  chan struct{}
	closing chan struct{} // closed by Close
	stopped chan struct{} // closed when the committer exits

	closeOnce sync.Once
	closeErr  error

	// mu guards the fields below. It is never held across file I/O on the
	// Append path so that a slow disk cannot stall producers beyond the
	// group being written.
	mu          sync.Mutex
	closed      bool
	cur         *group // records being accumulated
	spare       *group // empty group ready to become cur; nil while writing
	writing     *group // group the committer is writing, nil otherwise
	inflight    int64  // bytes of writing not yet durable
	segs        []*segment
	durableEnd  int64 // logical offset just after the last durable record
	cp          Position
	cpLogical   int64
	oldest      int64 // append time of the first durable record after cp
	oldestKnown bool  // false: no durable record after cp
	space       chan struct{}
	blocked     int
	truncated   int64
	records     uint64
	fsyncs      uint64

	// Owned by the committer goroutine.
	active     *segment
	activeSize int64 // mirrors active.size without taking mu
	wf         *os.File
	mustRotate bool // the active segment may hold a torn write
	failing    bool // the last group failed; for logging transitions only

	// damaged is 1 + the id of a segment in which Read found a damaged
	// record (0: none). If that is the active segment the committer moves
	// to a new one: records appended behind the damage would be cut off
	// with it when the next Open truncates the segment there.
	damaged atomic.Uint64

	// cmu serialises the consumer (Read, Commit) and guards its fields.
	cmu  sync.Mutex
	rf   *os.File // read handle, cached across Read calls
	rfID uint64
	rbuf readBuf // the batch in hand
}

// Open opens or creates the WAL in dir, recovering it as described in the
// package documentation, and starts its committer goroutine.
func Open(dir string, opts Options) (*WAL, error) {
	return open(dir, opts, (*os.File).Sync)
}

func open(dir string, opts Options, syncFn func(*os.File) error) (w *WAL, err error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.MaxSize < 0 {
		opts.MaxSize = 0
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w = &WAL{
		dir:     dir,
		opts:    opts,
		log:     opts.Logger,
		now:     opts.Now,
		crc:     crc32.MakeTable(crc32.Castagnoli),
		sync:    syncFn,
		kick:    make(chan struct{}, 1),
		notify:  make(chan struct{}, 1),
		closing: make(chan struct{}),
		stopped: make(chan struct{}),
		space:   make(chan struct{}),
		cur:     &group{},
		spare:   &group{},
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("wal: create directory %s: %w", dir, err)
	}
	if w.lock, err = lockDir(dir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			w.closeFiles()
		}
	}()
	if w.dirf, err = os.Open(dir); err != nil {
		return nil, fmt.Errorf("wal: open directory %s: %w", dir, err)
	}
	if err := w.recover(); err != nil {
		return nil, err
	}
	go w.run()
	return w, nil
}

// recover loads the checkpoint, deletes consumed segments, validates the
// rest and prepares the active segment.
func (w *WAL) recover() error {
	cp, err := readCheckpoint(w.crc, w.dir)
	if err != nil {
		if !errors.Is(err, errBadCheckpoint) {
			return err
		}
		// Starting over from the first segment redelivers records, which
		// downstream tolerates; trusting a damaged position could skip data.
		w.log.Warn("wal: ignoring corrupt checkpoint, reading from the first segment", "dir", w.dir, "err", err)
		cp = Position{}
	}
	if err := os.Remove(filepath.Join(w.dir, checkpointTmp)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("wal: remove stale %s: %w", checkpointTmp, err)
	}

	ids, err := w.listSegments()
	if err != nil {
		return err
	}
	live := ids[:0]
	for _, id := range ids {
		if id < cp.Segment {
			if err := os.Remove(w.segmentPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("wal: delete consumed segment %s: %w", w.segmentPath(id), err)
			}
			continue
		}
		live = append(live, id)
	}

	var base int64
	for i, id := range live {
		seg := &segment{id: id, base: base}
		f, size, dropped, err := w.recoverSegment(id, func(off, ts int64) {
			if !w.oldestKnown && (id > cp.Segment || off >= cp.Offset) {
				w.oldest, w.oldestKnown = ts, true
			}
		})
		if err != nil {
			return err
		}
		seg.size = size
		w.truncated += dropped
		w.segs = append(w.segs, seg)
		base += size
		if i == len(live)-1 && size < w.opts.SegmentSize {
			// Keep appending to the last segment rather than leaving a
			// small file behind at every restart.
			w.wf, w.active, w.activeSize = f, seg, size
			continue
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("wal: close segment %s: %w", w.segmentPath(id), err)
		}
	}

	if len(w.segs) > 0 && w.segs[0].id == cp.Segment && cp.Offset > w.segs[0].size {
		// Recovery cut the checkpoint's segment short of the checkpoint; the
		// records it pointed between are gone, so resume at the end.
		w.log.Warn("wal: checkpoint beyond recovered segment end, clamping",
			"checkpoint", cp.String(), "segment_size", w.segs[0].size)
		cp.Offset = w.segs[0].size
	}
	w.cp = cp
	if w.active == nil {
		next := cp.Segment + 1
		if n := len(w.segs); n > 0 {
			next = max(next, w.segs[n-1].id+1)
		}
		if err := w.createSegment(next); err != nil {
			return err
		}
	}
	w.durableEnd = base
	if first := w.segs[0]; len(w.segs) > 1 && first.id == cp.Segment && cp.Offset >= first.size {
		// The checkpoint sits at the very end of a segment that was still
		// active when it was committed; now that a later segment exists it
		// is wholly consumed.
		if err := os.Remove(w.segmentPath(first.id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("wal: delete consumed segment %s: %w", w.segmentPath(first.id), err)
		}
		w.segs = w.segs[1:]
	}
	if w.cpLogical, err = w.logicalLocked(cp); err != nil {
		return err
	}
	return nil
}

func (w *WAL) segmentPath(id uint64) string {
	return filepath.Join(w.dir, segmentName(id))
}

func (w *WAL) listSegments() ([]uint64, error) {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return nil, fmt.Errorf("wal: list %s: %w", w.dir, err)
	}
	var ids []uint64
	for _, e := range entries {
		if id, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// createSegment creates segment id, makes its directory entry durable and
// makes it the active segment. Called at Open and by the committer.
func (w *WAL) createSegment(id uint64) error {
	path := w.segmentPath(id)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return fmt.Errorf("wal: create segment %s: %w", path, err)
	}
	// Without the directory fsync a crash could lose the file together with
	// records already acknowledged from it.
	if err := w.sync(w.dirf); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("wal: fsync directory %s after creating %s: %w", w.dir, segmentName(id), err)
	}
	var base int64
	if w.active != nil {
		base = w.active.base + w.activeSize
	} else if n := len(w.segs); n > 0 {
		base = w.segs[n-1].base + w.segs[n-1].size
	}
	seg := &segment{id: id, base: base}
	w.mu.Lock()
	w.segs = append(w.segs, seg)
	w.mu.Unlock()
	if w.wf != nil {
		if err := w.wf.Close(); err != nil {
			w.log.Warn("wal: close segment", "segment", w.segmentPath(w.active.id), "err", err)
		}
	}
	w.wf, w.active, w.activeSize, w.mustRotate = f, seg, 0, false
	return nil
}

// logicalLocked maps pos to its logical offset. Positions before the first
// live segment map to its start. w.mu must be held (or the WAL not yet
// running).
func (w *WAL) logicalLocked(pos Position) (int64, error) {
	i, off, err := w.findLocked(pos)
	if err != nil {
		return 0, err
	}
	return w.segs[i].base + off, nil
}

// findLocked returns the index of the segment holding pos and the offset in
// it, without normalising a position at the end of a segment.
func (w *WAL) findLocked(pos Position) (int, int64, error) {
	if pos.Segment < w.segs[0].id {
		return 0, 0, nil
	}
	i, ok := slices.BinarySearchFunc(w.segs, pos.Segment, func(s *segment, id uint64) int {
		return cmp.Compare(s.id, id)
	})
	if !ok {
		return 0, 0, fmt.Errorf("wal: position %v: no such segment", pos)
	}
	if pos.Offset < 0 || pos.Offset > w.segs[i].size {
		return 0, 0, fmt.Errorf("wal: position %v: outside durable data of segment (size %d)", pos, w.segs[i].size)
	}
	return i, pos.Offset, nil
}

// locateLocked is findLocked moved past the end of sealed segments, so that
// the result addresses the next durable record if there is one.
func (w *WAL) locateLocked(pos Position) (int, int64, error) {
	i, off, err := w.findLocked(pos)
	if err != nil {
		return 0, 0, err
	}
	for off == w.segs[i].size && i < len(w.segs)-1 {
		i, off = i+1, 0
	}
	return i, off, nil
}

// Notify returns a channel that receives a value (dropped if one is already
// pending) whenever new records have become durable.
func (w *WAL) Notify() <-chan struct{} { return w.notify }

// Checkpoint returns the committed position.
func (w *WAL) Checkpoint() Position {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cp
}

// Head returns the position just after the last durable record.
func (w *WAL) Head() Position {
	w.mu.Lock()
	defer w.mu.Unlock()
	last := w.segs[len(w.segs)-1]
	return Position{Segment: last.id, Offset: last.size}
}

// Dir returns the directory the WAL lives in.
func (w *WAL) Dir() string { return w.dir }

// Stats returns a snapshot of the WAL's gauges and counters.
func (w *WAL) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := Stats{
		UnwrittenBytes: w.unwrittenLocked(),
		Segments:       len(w.segs),
		Blocked:        w.blocked > 0,
		TruncatedBytes: w.truncated,
		Records:        w.records,
		Fsyncs:         w.fsyncs,
	}
	switch {
	case w.oldestKnown:
		s.OldestUnwritten = time.Unix(0, w.oldest)
	case w.writing != nil && w.inflight > 0:
		s.OldestUnwritten = time.Unix(0, w.writing.firstTS)
	case len(w.cur.dones) > 0:
		s.OldestUnwritten = time.Unix(0, w.cur.firstTS)
	}
	return s
}

// wakeBlockedLocked lets every Append waiting for MaxSize re-check it, by
// closing the channel they wait on and installing a fresh one.
func (w *WAL) wakeBlockedLocked() {
	if w.blocked > 0 {
		close(w.space)
		w.space = make(chan struct{})
	}
}

func (w *WAL) unwrittenLocked() int64 {
	return w.durableEnd + w.inflight + int64(len(w.cur.buf)) - w.cpLogical
}

// Close flushes pending records (their done callbacks run), stops the
// committer and closes all files. Blocked Appends return ErrClosed. Close is
// idempotent; later calls return the first call's result. It must not be
// called from a done callback.
func (w *WAL) Close() error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.closing)
		<-w.stopped
		w.cmu.Lock()
		defer w.cmu.Unlock()
		w.closeErr = w.closeFiles()
	})
	return w.closeErr
}

func (w *WAL) closeFiles() error {
	var errs []error
	closeFile := func(f *os.File, what string) {
		if f == nil {
			return
		}
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("wal: close %s: %w", what, err))
		}
	}
	closeFile(w.rf, "read handle")
	closeFile(w.wf, "active segment")
	closeFile(w.dirf, "directory")
	closeFile(w.lock, "lock file") // last: releases the directory
	w.rf, w.wf, w.dirf, w.lock = nil, nil, nil, nil
	if err := w.rbuf.free(); err != nil {
		errs = append(errs, fmt.Errorf("wal: unmap read buffer: %w", err))
	}
	return errors.Join(errs...)
}
