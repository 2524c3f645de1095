package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAppendRead appends from one or several producers while a consumer
// follows with Read/Notify/Commit, across many rotations, and checks that the
// log order, the done order and the payloads all agree.
func TestAppendRead(t *testing.T) {
	tests := []struct {
		name        string
		producers   int
		perProducer int
		recSize     int
		segmentSize int64
		maxBytes    int
	}{
		{"one producer", 1, 3000, 200, 8 << 10, 4 << 10},
		{"four producers", 4, 750, 150, 8 << 10, 4 << 10},
		{"record larger than segment", 1, 60, 300, 64, 1},
		{"big reads", 2, 1000, 100, 32 << 10, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := openT(t, t.TempDir(), Options{SegmentSize: tt.segmentSize})
			total := tt.producers * tt.perProducer

			type id struct{ producer, seq int }
			var (
				mu        sync.Mutex
				doneOrder []id
				calls     = make(map[id]int)
				doneErrs  []error
				wg        sync.WaitGroup
			)
			wg.Add(total)

			consumerDone := make(chan error, 1)
			var read []id
			var segsSeen = make(map[uint64]bool)
			go func() {
				consumerDone <- func() error {
					pos := w.Checkpoint()
					committed := pos
					for len(read) < total {
						recs, next, err := w.Read(pos, tt.maxBytes)
						if err != nil {
							return err
						}
						if len(recs) == 0 {
							select {
							case <-w.Notify():
							case <-time.After(testTimeout):
								return fmt.Errorf("no records after %d", len(read))
							}
							continue
						}
						for _, r := range recs {
							var p, s int
							if _, err := fmt.Sscanf(string(r[:13]), "p%02d-s%07d|", &p, &s); err != nil {
								return fmt.Errorf("bad record %q: %v", r, err)
							}
							if want := payload(p, s, tt.recSize); !bytes.Equal(r, want) {
								return fmt.Errorf("record p%d s%d corrupted", p, s)
							}
							read = append(read, id{p, s})
						}
						segsSeen[pos.Segment] = true
						pos = next
						// Commit once per segment: each commit costs two
						// fsyncs, and this is enough to exercise deletion.
						if pos.Segment != committed.Segment {
							if err := w.Commit(pos); err != nil {
								return err
							}
							committed = pos
						}
					}
					return nil
				}()
			}()

			var pwg sync.WaitGroup
			for p := range tt.producers {
				pwg.Add(1)
				go func() {
					defer pwg.Done()
					for s := range tt.perProducer {
						k := id{p, s}
						// Append and the callback's bookkeeping must be
						// atomic with respect to each other only through
						// the WAL itself, so no lock is held here.
						err := w.Append(context.Background(), payload(p, s, tt.recSize), func(err error) {
							mu.Lock()
							doneOrder = append(doneOrder, k)
							calls[k]++
							if err != nil {
								doneErrs = append(doneErrs, err)
							}
							mu.Unlock()
							wg.Done()
						})
						if err != nil {
							t.Errorf("Append: %v", err)
							wg.Done()
						}
					}
				}()
			}
			pwg.Wait()
			waitGroup(t, &wg)
			select {
			case err := <-consumerDone:
				if err != nil {
					t.Fatalf("consumer: %v", err)
				}
			case <-time.After(testTimeout):
				t.Fatal("consumer did not finish")
			}

			mu.Lock()
			defer mu.Unlock()
			if len(doneErrs) > 0 {
				t.Fatalf("done errors: %v", doneErrs[0])
			}
			for k, n := range calls {
				if n != 1 {
					t.Fatalf("done for %v called %d times", k, n)
				}
			}
			if len(calls) != total {
				t.Fatalf("done called for %d records, want %d", len(calls), total)
			}
			// Done order is append order is log order.
			if len(read) != len(doneOrder) {
				t.Fatalf("read %d records, %d done calls", len(read), len(doneOrder))
			}
			next := make([]int, tt.producers)
			for i := range read {
				if read[i] != doneOrder[i] {
					t.Fatalf("record %d: read %v, done order %v", i, read[i], doneOrder[i])
				}
				if read[i].seq != next[read[i].producer] {
					t.Fatalf("record %d: producer %d seq %d, want %d", i, read[i].producer, read[i].seq, next[read[i].producer])
				}
				next[read[i].producer]++
			}
			if len(segsSeen) < 3 {
				t.Fatalf("records came from %d segments, want several rotations", len(segsSeen))
			}
			st := w.Stats()
			if st.Records != uint64(total) {
				t.Errorf("Stats.Records = %d, want %d", st.Records, total)
			}
			if st.Fsyncs == 0 || st.Fsyncs > uint64(total)+uint64(len(segsSeen)) {
				t.Errorf("Stats.Fsyncs = %d for %d records", st.Fsyncs, total)
			}
			// Everything but the segments after the last commit is gone.
			if files := segmentFiles(t, w.Dir()); len(files) != st.Segments || st.Segments > 3 {
				t.Errorf("%d segment files, Stats.Segments %d", len(files), st.Segments)
			}
		})
	}
}

// TestRestart checks that a reopened WAL resumes at the committed position.
func TestRestart(t *testing.T) {
	tests := []struct {
		name     string
		commitAt int // records consumed before Commit
	}{
		{"nothing committed", 0},
		{"mid log", 40},
		{"segment boundary", 17},
		{"everything", 100},
	}
	const n, recSize = 100, 100 // 116 bytes a record
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clock := &fakeClock{}
			opts := Options{SegmentSize: 17 * (headerSize + recSize), Now: clock.Now}
			w := openT(t, dir, opts)
			recs := makeRecs(n, recSize)
			appendWait(t, w, recs)

			pos := w.Checkpoint()
			for range tt.commitAt {
				got, next, err := w.Read(pos, 1)
				if err != nil || len(got) != 1 {
					t.Fatalf("Read(%v) = %d records, %v", pos, len(got), err)
				}
				pos = next
			}
			if err := w.Commit(pos); err != nil {
				t.Fatalf("Commit(%v): %v", pos, err)
			}
			filesBefore := len(segmentFiles(t, dir))
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if pos.Segment > 0 {
				if _, err := os.Stat(filepath.Join(dir, segmentName(1))); tt.commitAt >= 17 && !errors.Is(err, os.ErrNotExist) {
					t.Errorf("committed segment 1 still exists: %v", err)
				}
			}

			w = openT(t, dir, opts)
			if cp := w.Checkpoint(); cp != pos {
				t.Fatalf("Checkpoint() = %v, want %v", cp, pos)
			}
			got, _ := readAll(t, w, w.Checkpoint(), 1<<20)
			equalRecs(t, got, recs[tt.commitAt:])

			st := w.Stats()
			if want := int64((n - tt.commitAt) * (headerSize + recSize)); st.UnwrittenBytes != want {
				t.Errorf("UnwrittenBytes = %d, want %d", st.UnwrittenBytes, want)
			}
			if files := len(segmentFiles(t, dir)); files != st.Segments || files > filesBefore+1 {
				t.Errorf("%d segment files (%d before reopen), Stats.Segments %d", files, filesBefore, st.Segments)
			}
			var wantOldest time.Time
			if tt.commitAt < n {
				wantOldest = fakeTime(int64(tt.commitAt) + 1)
			}
			if !st.OldestUnwritten.Equal(wantOldest) {
				t.Errorf("OldestUnwritten = %v, want %v", st.OldestUnwritten, wantOldest)
			}
			if st.TruncatedBytes != 0 {
				t.Errorf("TruncatedBytes = %d after a clean close", st.TruncatedBytes)
			}

			// Appends continue after the old records.
			more := make([][]byte, 5)
			for i := range more {
				more[i] = payload(1, i, recSize)
			}
			appendWait(t, w, more)
			got, _ = readAll(t, w, w.Checkpoint(), 1<<20)
			equalRecs(t, got, append(recs[tt.commitAt:len(recs):len(recs)], more...))
		})
	}
}

// TestReopenAtSegmentEnd commits the whole log while its active segment is
// exactly full: the reopened WAL starts a new segment and deletes the old one.
func TestReopenAtSegmentEnd(t *testing.T) {
	const recSize = 50
	dir := t.TempDir()
	opts := Options{SegmentSize: 2 * (headerSize + recSize)}
	w := openT(t, dir, opts)
	appendWait(t, w, makeRecs(4, recSize))
	head := w.Head()
	if err := w.Commit(head); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w = openT(t, dir, opts)
	if cp := w.Checkpoint(); cp != head {
		t.Fatalf("Checkpoint() = %v, want %v", cp, head)
	}
	files := segmentFiles(t, dir)
	if len(files) != 1 || filepath.Base(files[0]) != segmentName(head.Segment+1) {
		t.Fatalf("segments after reopen: %v, want only %s", files, segmentName(head.Segment+1))
	}
	if got, _ := readAll(t, w, w.Checkpoint(), 1<<20); len(got) != 0 {
		t.Fatalf("read %d records from a fully committed log", len(got))
	}
	more := makeRecs(3, recSize)
	appendWait(t, w, more)
	got, _ := readAll(t, w, w.Checkpoint(), 1<<20)
	equalRecs(t, got, more)
	if st := w.Stats(); st.UnwrittenBytes != 3*(headerSize+recSize) || st.Segments != 2 {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestTornTail damages segments after a clean close and checks recovery.
func TestTornTail(t *testing.T) {
	const n, recSize = 40, 100
	const recLen = headerSize + recSize
	type damage struct {
		segment int // index into the sorted segment files; -1 = last
		mutate  func(t *testing.T, path string, size int64)
	}
	truncateTo := func(keep func(size int64) int64) func(*testing.T, string, int64) {
		return func(t *testing.T, path string, size int64) {
			if err := os.Truncate(path, keep(size)); err != nil {
				t.Fatal(err)
			}
		}
	}
	patch := func(at func(size int64) int64, b ...byte) func(*testing.T, string, int64) {
		return func(t *testing.T, path string, size int64) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(b, at(size)); err != nil {
				t.Fatal(err)
			}
		}
	}
	flip := func(at func(size int64) int64) func(*testing.T, string, int64) {
		return func(t *testing.T, path string, size int64) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data[at(size)] ^= 0x40
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name        string
		damage      []damage
		lost        []int // indexes of records that must be gone
		wantDropped int64
	}{
		{"truncated mid-payload", []damage{{-1, truncateTo(func(s int64) int64 { return s - 50 })}}, []int{39}, recLen - 50},
		{"truncated mid-header", []damage{{-1, truncateTo(func(s int64) int64 { return s - recLen + 10 })}}, []int{39}, 10},
		{"flipped payload byte", []damage{{-1, flip(func(s int64) int64 { return s - 10 })}}, []int{39}, recLen},
		{"flipped timestamp byte", []damage{{-1, flip(func(s int64) int64 { return s - recLen + 9 })}}, []int{39}, recLen},
		{"huge length", []damage{{-1, patch(func(s int64) int64 { return s - recLen }, 0xff, 0xff, 0xff, 0x7f)}}, []int{39}, recLen},
		{"zero length", []damage{{-1, patch(func(s int64) int64 { return s - recLen }, 0, 0, 0, 0)}}, []int{39}, recLen},
		{"zero-filled tail", []damage{{-1, patch(func(s int64) int64 { return s }, make([]byte, 4096)...)}}, nil, 4096},
		{"torn tail and flipped byte", []damage{
			{-1, truncateTo(func(s int64) int64 { return s - 50 })},
			{-1, flip(func(s int64) int64 { return s - recLen - 20 })},
		}, []int{38, 39}, 2*recLen - 50},
		{"middle segment", []damage{{0, flip(func(s int64) int64 { return s - 1 })}}, []int{9}, recLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{SegmentSize: 10 * recLen}
			w := openT(t, dir, opts)
			recs := makeRecs(n, recSize)
			appendWait(t, w, recs)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			files := segmentFiles(t, dir)
			for _, d := range tt.damage {
				path := files[len(files)-1]
				if d.segment >= 0 {
					path = files[d.segment]
				}
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				d.mutate(t, path, fi.Size())
			}

			logger, logs := newTestLogger()
			opts.Logger = logger
			w = openT(t, dir, opts)
			var want [][]byte
			for i, r := range recs {
				lost := false
				for _, l := range tt.lost {
					lost = lost || l == i
				}
				if !lost {
					want = append(want, r)
				}
			}
			got, _ := readAll(t, w, w.Checkpoint(), 1<<20)
			equalRecs(t, got, want)
			if st := w.Stats(); st.TruncatedBytes != tt.wantDropped {
				t.Errorf("TruncatedBytes = %d, want %d", st.TruncatedBytes, tt.wantDropped)
			}
			if c := strings.Count(logs.String(), "truncated corrupt or torn segment tail"); c != 1 {
				t.Errorf("logged %d truncations, want 1:\n%s", c, logs)
			}

			more := [][]byte{payload(7, 1, 50), payload(7, 2, 60)}
			appendWait(t, w, more)
			got, _ = readAll(t, w, w.Checkpoint(), 1<<20)
			equalRecs(t, got, append(want, more...))

			// The repair is durable: a second open drops nothing more.
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			w = openT(t, dir, opts)
			if st := w.Stats(); st.TruncatedBytes != 0 {
				t.Errorf("second reopen truncated %d bytes", st.TruncatedBytes)
			}
			got, _ = readAll(t, w, w.Checkpoint(), 1<<20)
			equalRecs(t, got, append(want, more...))
		})
	}
}

// TestCorruptCheckpoint checks that an untrustworthy checkpoint makes the
// WAL start from its first segment and delete nothing.
func TestCorruptCheckpoint(t *testing.T) {
	tests := []struct {
		name   string
		mutate func([]byte) []byte
	}{
		{"garbage", func([]byte) []byte { return []byte("not a checkpoint at all!") }},
		{"empty", func([]byte) []byte { return nil }},
		{"truncated", func(b []byte) []byte { return b[:10] }},
		{"flipped offset bit", func(b []byte) []byte { b[12] ^= 1; return b }},
		{"flipped checksum bit", func(b []byte) []byte { b[23] ^= 1; return b }},
		{"extra byte", func(b []byte) []byte { return append(b, 0) }},
	}
	const recSize = 100
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{SegmentSize: 10 * (headerSize + recSize)}
			w := openT(t, dir, opts)
			recs := makeRecs(60, recSize)
			appendWait(t, w, recs)
			// Commit after record 35: segments 1..3 (records 0..29) go.
			pos := w.Checkpoint()
			for range 35 {
				_, next, err := w.Read(pos, 1)
				if err != nil {
					t.Fatal(err)
				}
				pos = next
			}
			if err := w.Commit(pos); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			cpPath := filepath.Join(dir, checkpointName)
			b, err := os.ReadFile(cpPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cpPath, tt.mutate(b), 0o600); err != nil {
				t.Fatal(err)
			}
			filesBefore := segmentFiles(t, dir)

			logger, logs := newTestLogger()
			opts.Logger = logger
			w = openT(t, dir, opts)
			if cp := w.Checkpoint(); cp != (Position{}) {
				t.Errorf("Checkpoint() = %v, want zero", cp)
			}
			got, _ := readAll(t, w, w.Checkpoint(), 1<<20)
			equalRecs(t, got, recs[30:])
			for _, f := range filesBefore {
				if _, err := os.Stat(f); err != nil {
					t.Errorf("segment deleted at open: %v", err)
				}
			}
			if !strings.Contains(logs.String(), "ignoring corrupt checkpoint") {
				t.Errorf("corrupt checkpoint not logged:\n%s", logs)
			}
		})
	}
}

// TestBackpressure checks MaxSize blocking and each way out of it.
func TestBackpressure(t *testing.T) {
	const recSize = 200 // 216 bytes a record: four fit in 1000
	tests := []struct {
		name    string
		release func(t *testing.T, w *WAL, cancel context.CancelFunc)
		wantErr error
	}{
		{"commit frees space", func(t *testing.T, w *WAL, _ context.CancelFunc) {
			_, next, err := w.Read(w.Checkpoint(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(next); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"context canceled", func(_ *testing.T, _ *WAL, cancel context.CancelFunc) { cancel() }, context.Canceled},
		{"close", func(t *testing.T, w *WAL, _ context.CancelFunc) {
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := openT(t, t.TempDir(), Options{MaxSize: 1000})
			appendWait(t, w, makeRecs(4, recSize))
			if st := w.Stats(); st.Blocked || st.UnwrittenBytes != 4*(headerSize+recSize) {
				t.Fatalf("Stats = %+v before the blocking append", st)
			}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			doneCalled := make(chan error, 1)
			result := make(chan error, 1)
			go func() {
				result <- w.Append(ctx, payload(0, 4, recSize), func(err error) { doneCalled <- err })
			}()
			eventually(t, "Append to block", func() bool { return w.Stats().Blocked })
			select {
			case err := <-result:
				t.Fatalf("Append returned %v while over MaxSize", err)
			case <-time.After(20 * time.Millisecond):
			}

			tt.release(t, w, cancel)
			select {
			case err := <-result:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Append = %v, want %v", err, tt.wantErr)
				}
			case <-time.After(testTimeout):
				t.Fatal("Append still blocked")
			}
			if tt.wantErr == nil {
				if err := <-doneCalled; err != nil {
					t.Fatalf("done(%v)", err)
				}
			}
			if w.Stats().Blocked {
				t.Error("Stats().Blocked after release")
			}
			select {
			case err := <-doneCalled:
				t.Fatalf("done(%v) called for a record that was not appended", err)
			default:
			}
		})
	}

	t.Run("deadline", func(t *testing.T) {
		w := openT(t, t.TempDir(), Options{MaxSize: 1000})
		appendWait(t, w, makeRecs(4, recSize))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		if err := w.Append(ctx, payload(0, 4, recSize), nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Append = %v, want deadline exceeded", err)
		}
	})

	t.Run("oversized record into empty log", func(t *testing.T) {
		w := openT(t, t.TempDir(), Options{MaxSize: 100})
		appendWait(t, w, makeRecs(1, recSize))
		if st := w.Stats(); st.UnwrittenBytes != headerSize+recSize {
			t.Fatalf("UnwrittenBytes = %d", st.UnwrittenBytes)
		}
	})
}

// TestClose checks that Close flushes pending records and that the WAL
// refuses work afterwards.
func TestClose(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, dir, Options{SegmentSize: 16 << 10})
	const n = 2000
	var ok, failed atomic.Int64
	recs := makeRecs(n, 120)
	for _, r := range recs {
		err := w.Append(context.Background(), r, func(err error) {
			if err != nil {
				failed.Add(1)
			} else {
				ok.Add(1)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if ok.Load() != n || failed.Load() != 0 {
		t.Fatalf("after Close: %d done(nil), %d done(err), want %d and 0", ok.Load(), failed.Load(), n)
	}

	if err := w.Append(context.Background(), []byte("x"), func(error) { t.Error("done called after Close") }); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
	if _, _, err := w.Read(Position{}, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close = %v, want ErrClosed", err)
	}
	if err := w.Commit(Position{Segment: 1, Offset: 1}); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close = %v, want ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	_ = w.Stats() // still safe

	w = openT(t, dir, Options{SegmentSize: 16 << 10})
	got, _ := readAll(t, w, Position{}, 64<<10)
	equalRecs(t, got, recs)
}

func TestAppendInvalid(t *testing.T) {
	w := openT(t, t.TempDir(), Options{})
	for _, rec := range [][]byte{nil, {}, make([]byte, MaxRecordSize+1)} {
		if err := w.Append(context.Background(), rec, func(error) { t.Error("done called") }); err == nil {
			t.Errorf("Append(%d bytes) succeeded", len(rec))
		}
	}
	// The largest record is accepted and read back whole.
	big := bytes.Repeat([]byte{'z'}, MaxRecordSize)
	appendWait(t, w, [][]byte{big})
	got, _ := readAll(t, w, Position{}, 1)
	equalRecs(t, got, [][]byte{big})
}

// TestReadLimits checks maxBytes handling and the slow path for records
// larger than one read chunk.
func TestReadLimits(t *testing.T) {
	w := openT(t, t.TempDir(), Options{})
	recs := [][]byte{
		payload(0, 0, 100), payload(0, 1, 100), payload(0, 2, 100),
		payload(0, 3, 3*minReadChunk), payload(0, 4, 100),
	}
	appendWait(t, w, recs)
	tests := []struct {
		name     string
		skip     int // records to skip first
		maxBytes int
		want     int
	}{
		{"zero returns one", 0, 0, 1},
		{"one byte returns one", 0, 1, 1},
		{"exact fit", 0, 200, 2},
		{"one short", 0, 299, 2},
		{"stops before big", 0, 1000, 3},
		{"big alone", 3, 1, 1},
		{"everything", 0, 1 << 30, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pos := Position{}
			for range tt.skip {
				_, next, err := w.Read(pos, 1)
				if err != nil {
					t.Fatal(err)
				}
				pos = next
			}
			got, _, err := w.Read(pos, tt.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			equalRecs(t, got, recs[tt.skip:tt.skip+tt.want])
		})
	}
	t.Run("at head", func(t *testing.T) {
		head := w.Head()
		got, next, err := w.Read(head, 100)
		if err != nil || len(got) != 0 || next != head {
			t.Fatalf("Read(head) = %d records, %v, %v", len(got), next, err)
		}
	})
	t.Run("beyond head", func(t *testing.T) {
		head := w.Head()
		if _, _, err := w.Read(Position{head.Segment, head.Offset + 1}, 100); err == nil {
			t.Fatal("Read beyond head succeeded")
		}
		if _, _, err := w.Read(Position{head.Segment + 1, 0}, 100); err == nil {
			t.Fatal("Read of a future segment succeeded")
		}
	})
}

// TestReadBufferShrinksAfterABacklog: the buffer and the record index that
// a backlog's large reads grew are let go at the end of the first window
// of trimEvery reads that needed little, and not while a window still
// holds a large read.
func TestReadBufferShrinksAfterABacklog(t *testing.T) {
	w := openT(t, t.TempDir(), Options{})
	const big = 1 << 20
	appendWait(t, w, makeRecs(4096, big/1024)) // 4 MiB: the backlog
	got, pos := readAll(t, w, Position{}, big)
	if len(got) != 4096 {
		t.Fatalf("read %d records of the backlog, want 4096", len(got))
	}
	peak, peakRecs := w.rbuf.held(), cap(w.rbuf.recs)
	if peak < big {
		t.Fatalf("after the backlog's reads the buffer holds %d bytes, want ≥ %d", peak, big)
	}
	if err := w.Commit(pos); err != nil {
		t.Fatal(err)
	}
	// The steady inflow after it: each read finds a little more.
	reads := 0
	for w.rbuf.held() == peak {
		if reads == 2*trimEvery {
			t.Fatalf("the buffer was kept through %d small reads", reads)
		}
		appendWait(t, w, [][]byte{payload(1, reads, 1000)})
		recs, next, err := w.Read(pos, big)
		if err != nil || len(recs) != 1 {
			t.Fatalf("Read = %d records, %v; want 1", len(recs), err)
		}
		pos = next
		reads++
	}
	if reads < trimEvery-1 {
		// The backlog took at least one read of the first window.
		t.Fatalf("the buffer was let go after %d small reads, before a window of them", reads)
	}
	if c := w.rbuf.held(); c > pageAlign(minReadChunk+trimSlack) {
		t.Fatalf("after %d small reads the buffer still holds %d bytes", reads, c)
	}
	if c := cap(w.rbuf.recs); c >= peakRecs {
		t.Fatalf("after %d small reads the record index still holds %d entries (%d at the peak)", reads, c, peakRecs)
	}
}

// TestReadCorrupt damages a durable record behind the WAL's back: Read must
// refuse it and offer the next segment.
func TestReadCorrupt(t *testing.T) {
	const recSize = 100
	dir := t.TempDir()
	w := openT(t, dir, Options{SegmentSize: 5 * (headerSize + recSize)})
	recs := makeRecs(12, recSize)
	appendWait(t, w, recs)
	first := segmentFiles(t, dir)[0]
	data, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	data[2*(headerSize+recSize)+headerSize+5] ^= 1 // third record's payload
	if err := os.WriteFile(first, data, 0o600); err != nil {
		t.Fatal(err)
	}

	got, next, err := w.Read(Position{}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	equalRecs(t, cloneRecs(got), recs[:2])
	_, skip, err := w.Read(next, 1<<20)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Read of corrupt record = %v, want ErrCorrupt", err)
	}
	rest, _ := readAll(t, w, skip, 1<<20)
	equalRecs(t, rest, recs[5:])
}

func cloneRecs(recs [][]byte) [][]byte {
	out := make([][]byte, len(recs))
	for i, r := range recs {
		out[i] = bytes.Clone(r)
	}
	return out
}

func TestCommitErrors(t *testing.T) {
	w := openT(t, t.TempDir(), Options{})
	appendWait(t, w, makeRecs(3, 10))
	_, next, err := w.Read(Position{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(next); err != nil {
		t.Fatal(err)
	}
	head := w.Head()
	for _, pos := range []Position{
		{head.Segment, head.Offset + 1},
		{head.Segment + 1, 0},
		{next.Segment, next.Offset - 1},
	} {
		if err := w.Commit(pos); err == nil {
			t.Errorf("Commit(%v) succeeded", pos)
		}
	}
	if err := w.Commit(next); err != nil {
		t.Errorf("repeated Commit = %v", err)
	}
	if err := w.Commit(head); err != nil {
		t.Errorf("Commit(head) = %v", err)
	}
	if st := w.Stats(); st.UnwrittenBytes != 0 || !st.OldestUnwritten.IsZero() {
		t.Errorf("after committing everything: %+v", st)
	}
}

// TestOldestUnwritten follows Stats.OldestUnwritten through appends and
// commits.
func TestOldestUnwritten(t *testing.T) {
	clock := &fakeClock{}
	w := openT(t, t.TempDir(), Options{Now: clock.Now})
	if got := w.Stats().OldestUnwritten; !got.IsZero() {
		t.Fatalf("empty log: OldestUnwritten = %v", got)
	}
	appendWait(t, w, makeRecs(3, 10))
	if got := w.Stats().OldestUnwritten; !got.Equal(fakeTime(1)) {
		t.Fatalf("OldestUnwritten = %v, want %v", got, fakeTime(1))
	}
	_, next, err := w.Read(Position{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(next); err != nil {
		t.Fatal(err)
	}
	if got := w.Stats().OldestUnwritten; !got.Equal(fakeTime(2)) {
		t.Fatalf("after commit: OldestUnwritten = %v, want %v", got, fakeTime(2))
	}
	if err := w.Commit(w.Head()); err != nil {
		t.Fatal(err)
	}
	if got := w.Stats().OldestUnwritten; !got.IsZero() {
		t.Fatalf("all committed: OldestUnwritten = %v", got)
	}
	appendWait(t, w, makeRecs(1, 10))
	if got := w.Stats().OldestUnwritten; !got.Equal(fakeTime(4)) {
		t.Fatalf("new record: OldestUnwritten = %v, want %v", got, fakeTime(4))
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, dir, Options{})
	if w2, err := Open(dir, Options{}); err == nil {
		w2.Close()
		t.Fatal("second Open of the same directory succeeded")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	openT(t, dir, Options{}) // the lock was released
}

// TestWriteFailure injects fsync failures: the affected records fail, the
// WAL moves to a new segment and carries on.
func TestWriteFailure(t *testing.T) {
	dir := t.TempDir()
	var failing atomic.Bool
	injected := errors.New("injected fsync failure")
	syncFn := func(f *os.File) error {
		if failing.Load() && strings.HasSuffix(f.Name(), segmentSuffix) {
			return injected
		}
		return f.Sync()
	}
	logger, logs := newTestLogger()
	w, err := open(dir, Options{Logger: logger}, syncFn)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	good1 := makeRecs(10, 50)
	appendWait(t, w, good1)
	headBefore := w.Head()

	// Three failing groups: the first seals segment 1, the second fails in
	// a fresh segment, the third must reuse that empty segment.
	failing.Store(true)
	for round := range 3 {
		var wg sync.WaitGroup
		var errs []error
		var mu sync.Mutex
		wg.Add(5)
		for i := range 5 {
			err := w.Append(context.Background(), payload(9, 5*round+i, 50), func(err error) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				wg.Done()
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		waitGroup(t, &wg)
		for i, err := range errs {
			if !errors.Is(err, injected) {
				t.Fatalf("round %d: done %d = %v, want the injected error", round, i, err)
			}
		}
	}
	if st := w.Stats(); st.UnwrittenBytes != 10*(headerSize+50) {
		t.Errorf("UnwrittenBytes = %d counts failed records", st.UnwrittenBytes)
	}

	failing.Store(false)
	good2 := make([][]byte, 5)
	for i := range good2 {
		good2[i] = payload(2, i, 50)
	}
	appendWait(t, w, good2)
	if head := w.Head(); head.Segment != headBefore.Segment+1 {
		t.Errorf("head %v after failure, want a new segment after %v", head, headBefore)
	}
	if got := strings.Count(logs.String(), "records not persisted"); got != 1 {
		t.Errorf("failure logged %d times, want once per failure run:\n%s", got, logs)
	}
	if !strings.Contains(logs.String(), "writes succeed again") {
		t.Errorf("recovery not logged:\n%s", logs)
	}
	if files := segmentFiles(t, dir); len(files) != 2 {
		t.Errorf("segments %v, want the sealed one and one new one", files)
	}
	want := append(good1[:10:10], good2...)
	got, _ := readAll(t, w, Position{}, 1<<20)
	equalRecs(t, got, want)

	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = openT(t, dir, Options{})
	got, _ = readAll(t, w, Position{}, 1<<20)
	equalRecs(t, got, want)
}

func TestSegmentNames(t *testing.T) {
	tests := []struct {
		name string
		id   uint64
		ok   bool
	}{
		{segmentName(0), 0, true},
		{segmentName(42), 42, true},
		{segmentName(1<<64 - 1), 1<<64 - 1, true},
		{"00000000000000000042.tmp", 0, false},
		{"0000000000000000004x.seg", 0, false},
		{"42.seg", 0, false},
		{"99999999999999999999.seg", 0, false}, // overflows uint64
		{checkpointName, 0, false},
	}
	for _, tt := range tests {
		id, ok := parseSegmentName(tt.name)
		if id != tt.id || ok != tt.ok {
			t.Errorf("parseSegmentName(%q) = %d, %v, want %d, %v", tt.name, id, ok, tt.id, tt.ok)
		}
	}
}

// TestGroupCommit checks that a steady producer shares fsyncs: with a disk
// whose fsync takes 2ms, every record appended meanwhile must join the next
// group.
func TestGroupCommit(t *testing.T) {
	slowSync := func(f *os.File) error {
		time.Sleep(2 * time.Millisecond)
		return nil
	}
	w, err := open(t.TempDir(), Options{}, slowSync)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const n = 20000
	appendWait(t, w, makeRecs(n, 200))
	st := w.Stats()
	perFsync := float64(st.Records) / float64(st.Fsyncs)
	t.Logf("%d records, %d fsyncs: %.0f records/fsync", st.Records, st.Fsyncs, perFsync)
	if perFsync < 100 {
		t.Fatalf("%.1f records per fsync, want group commit to batch far more", perFsync)
	}
}

func TestCommitIntervalBoundsTheFsyncRate(t *testing.T) {
	for _, tc := range []struct {
		interval  time.Duration
		maxFsyncs uint64 // over the run below
	}{
		{0, 0},                     // unbounded: only reported
		{50 * time.Millisecond, 8}, // 300 ms of appends: at most 300/50 + 2
	} {
		t.Run(tc.interval.String(), func(t *testing.T) {
			w := openT(t, t.TempDir(), Options{CommitInterval: tc.interval})
			var done atomic.Int64
			n := 0
			for start := time.Now(); time.Since(start) < 300*time.Millisecond; n++ {
				if err := w.Append(context.Background(), []byte("reading"), func(err error) {
					if err == nil {
						done.Add(1)
					}
				}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Microsecond)
			}
			deadline := time.Now().Add(5 * time.Second)
			for done.Load() < int64(n) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if got := done.Load(); got != int64(n) {
				t.Fatalf("%d of %d appends made durable", got, n)
			}
			f := w.Stats().Fsyncs
			t.Logf("%d records, %d fsyncs", n, f)
			if tc.maxFsyncs > 0 && f > tc.maxFsyncs {
				t.Errorf("%d fsyncs with a %s commit interval, want at most %d", f, tc.interval, tc.maxFsyncs)
			}
		})
	}
}
