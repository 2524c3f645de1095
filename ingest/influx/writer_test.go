package influx

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/envpipe/envpipe/ingest/wal"
)

// fakeInflux answers /api/v2/write with the status the test chooses and
// records every accepted line.
type fakeInflux struct {
	mu       sync.Mutex
	statuses []int // consumed one per request; then 204
	// refuse, if set, is answered 400 for any request holding it, with
	// nothing written (as InfluxDB 2 does for a malformed line).
	refuse   string
	lines    []string
	requests int
	// hold, if set, is called as each request arrives (n counts from 1)
	// and may block to keep the write in flight.
	hold func(n int)
}

func (f *fakeInflux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/write" || q.Get("bucket") == "" || q.Get("precision") != "ns" {
		w.WriteHeader(404) // not the v2 write API as InfluxDB serves it
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			w.WriteHeader(400)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	f.mu.Lock()
	f.requests++
	n, hold := f.requests, f.hold
	f.mu.Unlock()
	if hold != nil {
		hold(n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	status := 204
	if len(f.statuses) > 0 {
		status, f.statuses = f.statuses[0], f.statuses[1:]
	}
	if f.refuse != "" && strings.Contains(string(b), f.refuse) {
		status = 400
	}
	if status == 413 && strings.Count(string(b), "\n") <= 2 {
		status = 204 // small enough now
	}
	if status != 204 {
		if status == 429 {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `{"code":"invalid","message":"test says no"}`)
		return
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f.lines = append(f.lines, l)
	}
	w.WriteHeader(204)
}

func (f *fakeInflux) accepted() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

func newTestWriter(t *testing.T, url string, log Log) (*Writer, *Metrics) {
	cfg := DefaultConfig()
	cfg.URL = url
	cfg.FlushInterval = 20 * time.Millisecond
	cfg.RetryMin, cfg.RetryMax = 10*time.Millisecond, 50*time.Millisecond
	cfg.DeadLetter = filepath.Join(t.TempDir(), "dead.lp")
	m := NewMetrics(prometheus.NewRegistry())
	w, err := NewWriter(cfg, log, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return w, m
}

// newRig starts a fake InfluxDB answering with statuses and opens a WAL
// with opts; both are closed when the test ends.
func newRig(t *testing.T, statuses []int, opts wal.Options) (*fakeInflux, *httptest.Server, *wal.WAL) {
	fake := &fakeInflux{statuses: statuses}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	l, err := wal.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return fake, srv, l
}

func appendLines(t *testing.T, l *wal.WAL, lines ...string) {
	var wg sync.WaitGroup
	for _, s := range lines {
		wg.Add(1)
		if err := l.Append(context.Background(), []byte(s+"\n"), func(error) { wg.Done() }); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

func TestWriterRetriesSplitsAndDeadLetters(t *testing.T) {
	all := []string{"air,station=a pm25=1 1", "air,station=a pm25=2 2", "air,station=b pm25=3 3", "air,station=b pm25=4 4"}
	cases := []struct {
		name      string
		statuses  []int
		refuse    string
		wantLines []string
		wantDead  int // points in the dead-letter file
		errKind   string
	}{
		{"server errors are retried until accepted", []int{500, 503, 500}, "", all, 0, "retry"},
		{"429 waits for Retry-After and retries", []int{429}, "", all, 0, "retry"},
		{"413 halves the batch", []int{413}, "", all, 0, "split"},
		{"400 halves the batch and dead-letters only the refused record", nil, "pm25=3 3", []string{all[0], all[1], all[3]}, 1, "rejected"},
		{"400 for a single record dead-letters it", nil, "pm25=", nil, 4, "rejected"},
	}
	for _, gz := range []bool{true, false} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/gzip=%v", c.name, gz), func(t *testing.T) {
				fake, srv, l := newRig(t, c.statuses, wal.Options{})
				fake.refuse = c.refuse
				w, m := newTestWriter(t, srv.URL, l)
				if !gz {
					w.gz = nil
				}
				appendLines(t, l, all...)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- w.Run(ctx, time.Second) }()
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) && l.Checkpoint() != l.Head() {
					time.Sleep(10 * time.Millisecond)
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if got := fake.accepted(); !slices.Equal(got, c.wantLines) {
					t.Errorf("InfluxDB accepted %q, want %q", got, c.wantLines)
				}
				if l.Checkpoint() != l.Head() {
					t.Errorf("checkpoint %v not at head %v", l.Checkpoint(), l.Head())
				}
				if got := testutil.ToFloat64(m.errors.WithLabelValues(c.errKind)); got < 1 {
					t.Errorf("errors{kind=%s} = %v", c.errKind, got)
				}
				dead, _ := os.ReadFile(w.cfg.DeadLetter)
				if strings.Count(string(dead), "pm25=") != c.wantDead {
					t.Errorf("dead letters: %q, want %d points", dead, c.wantDead)
				}
				if got := testutil.ToFloat64(m.deadLetters); got != float64(c.wantDead) {
					t.Errorf("envpipe_influx_points_dead_lettered_total = %v, want %d", got, c.wantDead)
				}
				if ok, _ := w.Healthy(); !ok {
					t.Error("writer not healthy after recovering")
				}
			})
		}
	}
}

// runUntilRequests runs w until the fake has had n requests (or 10 s),
// then stops it.
func runUntilRequests(w *Writer, fake *fakeInflux, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, 50*time.Millisecond) }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		fake.mu.Lock()
		got := fake.requests
		fake.mu.Unlock()
		if got >= n {
			break
		}
	}
	cancel()
	<-done
}

// A refused record that cannot be dead-lettered stays in the WAL.
func TestWriterKeepsWhatItCannotDeadLetter(t *testing.T) {
	fake, srv, l := newRig(t, nil, wal.Options{})
	fake.refuse = "pm25="
	w, _ := newTestWriter(t, srv.URL, l)
	w.cfg.DeadLetter = filepath.Join(t.TempDir(), "missing", "dead.lp")
	appendLines(t, l, "air,station=a pm25=1 1")
	// Until the writer says so: stopping it once the fake has seen the
	// second request may cancel that request before its 400 is handled.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, 50*time.Millisecond) }()
	var ok bool
	var msg string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ok, msg = w.Healthy(); !ok && strings.Contains(msg, "dead-letter") {
			break
		}
	}
	cancel()
	<-done
	if ok || !strings.Contains(msg, "dead-letter") {
		t.Errorf("health %v %q, want unhealthy naming the dead-letter file", ok, msg)
	}
	if l.Checkpoint() == l.Head() {
		t.Error("the refused record left the WAL without reaching the dead-letter file")
	}
}

func TestWriterKeepsTheBacklogWhileInfluxIsDown(t *testing.T) {
	_, srv, l := newRig(t, slices.Repeat([]int{503}, 1000), wal.Options{})
	w, _ := newTestWriter(t, srv.URL, l)
	fake := srv.Config.Handler.(*fakeInflux)
	appendLines(t, l, "air,station=a pm25=1 1")
	runUntilRequests(w, fake, 2) // refused twice: the writer retried
	if ok, msg := w.Healthy(); ok || msg == "" {
		t.Errorf("healthy while every write fails: %v %q", ok, msg)
	}
	if l.Checkpoint() == l.Head() {
		t.Error("checkpoint advanced although nothing was written")
	}
}

// A read stops at the end of a segment. With more durable after it, the
// writer is behind: it must write at once, not wait for flush_interval
// with a partial batch.
func TestWriterDoesNotWaitAtTheEndOfASegment(t *testing.T) {
	fake, srv, l := newRig(t, nil, wal.Options{SegmentSize: 256})
	w, _ := newTestWriter(t, srv.URL, l)
	w.cfg.FlushInterval = time.Hour
	var lines []string
	for i := range 20 {
		lines = append(lines, fmt.Sprintf("air,station=s%02d pm25=%d %d", i, i, i+1))
	}
	appendLines(t, l, lines...) // about 40 bytes each: several segments
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, time.Second) }()
	// All but the last segment are written without waiting; the last
	// (the head) waits for its hour.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && len(fake.accepted()) < len(lines)-10 {
		time.Sleep(10 * time.Millisecond)
	}
	got := len(fake.accepted())
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got < len(lines)-10 || got == len(lines) {
		t.Errorf("%d of %d lines written before flush_interval; want all but the head segment's", got, len(lines))
	}
	// A write in flight when Run's context ends is let finish, not sent
	// again by the drain: each line once.
	if accepted := fake.accepted(); !slices.Equal(accepted, lines) {
		t.Errorf("after shutdown %d lines written, want the %d appended:\n%q", len(accepted), len(lines), accepted)
	}
}

// A write in flight when shutdown begins is let finish (within the drain
// timeout) instead of being cut off and sent again by the drain; one that
// outlasts the timeout is abandoned and its batch stays in the WAL.
func TestWriterLetsTheWriteInFlightFinishAtShutdown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hold    time.Duration // how long InfluxDB keeps the first write after shutdown began
		written bool
	}{
		{"finishes within the timeout", 100 * time.Millisecond, true},
		{"outlasts the timeout", 1500 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, srv, l := newRig(t, nil, wal.Options{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			arrived := make(chan struct{})
			fake.hold = func(n int) {
				if n == 1 {
					close(arrived)
					<-ctx.Done()
					time.Sleep(tc.hold)
				}
			}
			w, _ := newTestWriter(t, srv.URL, l)
			lines := []string{"air,station=a pm25=1 1", "air,station=b pm25=2 2"}
			appendLines(t, l, lines...)
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx, 500*time.Millisecond) }()
			<-arrived
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after shutdown")
			}
			fake.mu.Lock()
			requests := fake.requests
			fake.mu.Unlock()
			if requests != 1 {
				t.Errorf("%d write requests, want 1: the batch is not sent again", requests)
			}
			if written := l.Checkpoint() == l.Head(); written != tc.written {
				t.Errorf("batch committed in the WAL: %v, want %v", written, tc.written)
			}
			if tc.written && !slices.Equal(fake.accepted(), lines) {
				t.Errorf("accepted %q, want %q", fake.accepted(), lines)
			}
		})
	}
}

// TestRecordsReader: the body reader yields the records back to back, by
// any read size, and leaves them intact for a resend.
func TestRecordsReader(t *testing.T) {
	for _, tc := range []struct {
		name string
		recs [][]byte
	}{
		{"none", nil},
		{"one", [][]byte{[]byte("air,station=A pm25=40 1\n")}},
		{"several", [][]byte{[]byte("a 1\n"), []byte("bb 2\nbb 3\n"), []byte("c"), []byte(strings.Repeat("d", 70000))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := slices.Concat(tc.recs...)
			orig := slices.Clone(tc.recs)
			for range 2 { // the second pass is a resend
				if err := iotest.TestReader(&recordsReader{recs: tc.recs}, want); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.EqualFunc(tc.recs, orig, func(a, b []byte) bool { return &a[0] == &b[0] && len(a) == len(b) }) {
				t.Fatal("reading changed the records")
			}
		})
	}
}
