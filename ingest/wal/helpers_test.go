package wal

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMain fails the run if any committer goroutine or Append outlives the
// tests: Close must stop everything.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := checkNoLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func checkNoLeaks() error {
	buf := make([]byte, 1<<20)
	var stacks string
	for range 100 {
		stacks = string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "wal.(*WAL).run") && !strings.Contains(stacks, "wal.(*WAL).Append") {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("leaked WAL goroutines:\n%s", stacks)
}

// testTimeout bounds every wait in the tests so that a bug fails rather than
// hangs the run.
const testTimeout = 10 * time.Second

func openT(t testing.TB, dir string, opts Options) *WAL {
	t.Helper()
	w, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// payload returns a deterministic record of exactly size bytes (at least the
// length of its label) that identifies its producer and sequence number.
func payload(producer, seq, size int) []byte {
	label := fmt.Sprintf("p%02d-s%07d|", producer, seq)
	b := make([]byte, max(size, len(label)))
	copy(b, label)
	for i := len(label); i < len(b); i++ {
		b[i] = byte('a' + (seq+i)%26)
	}
	return b
}

// appendWait appends recs from one goroutine and waits until every done
// callback has fired, failing the test on any error.
func appendWait(t testing.TB, w *WAL, recs [][]byte) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		errs atomic.Int64
	)
	wg.Add(len(recs))
	for _, r := range recs {
		err := w.Append(context.Background(), r, func(err error) {
			if err != nil {
				errs.Add(1)
			}
			wg.Done()
		})
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	waitGroup(t, &wg)
	if n := errs.Load(); n > 0 {
		t.Fatalf("%d done callbacks reported errors", n)
	}
}

func waitGroup(t testing.TB, wg *sync.WaitGroup) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for done callbacks")
	}
}

func makeRecs(n, size int) [][]byte {
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = payload(0, i, size)
	}
	return recs
}

// readAll reads every durable record from from on, copying them out of the
// WAL's reused buffer, and returns them with the final position.
func readAll(t testing.TB, w *WAL, from Position, maxBytes int) ([][]byte, Position) {
	t.Helper()
	var got [][]byte
	pos := from
	for {
		recs, next, err := w.Read(pos, maxBytes)
		if err != nil {
			t.Fatalf("Read(%v): %v", pos, err)
		}
		if len(recs) == 0 {
			if next != pos {
				t.Fatalf("Read(%v) returned no records but next %v", pos, next)
			}
			return got, pos
		}
		for _, r := range recs {
			got = append(got, bytes.Clone(r))
		}
		pos = next
	}
}

func equalRecs(t testing.TB, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d = %.40q, want %.40q", i, got[i], want[i])
		}
	}
}

func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// fakeClock hands out strictly increasing times one second apart, so each
// record's append time identifies it.
type fakeClock struct{ n atomic.Int64 }

func (c *fakeClock) Now() time.Time { return fakeTime(c.n.Add(1)) }

// fakeTime is the time fakeClock returns on its n-th call (from 1).
func fakeTime(n int64) time.Time { return time.Unix(1_700_000_000+n, 0) }

// logBuffer is a concurrency-safe sink for a test logger.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestLogger() (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// held reports how many bytes the read buffer may keep resident.
func (b *readBuf) held() int { return b.touched + cap(b.heap) }
