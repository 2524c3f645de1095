package influx

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest/wal"
)

// Config is the `influxdb` section of envpipe.yaml.
type Config struct {
	URL    string `yaml:"url"`
	Org    string `yaml:"org"`
	Bucket string `yaml:"bucket"`
	// The token comes from the environment or a file, never from the YAML.
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`

	BatchMaxBytes int           `yaml:"batch_max_bytes"`
	FlushInterval time.Duration `yaml:"flush_interval"`
	Timeout       time.Duration `yaml:"timeout"`
	Gzip          *bool         `yaml:"gzip"`
	RetryMin      time.Duration `yaml:"retry_min"`
	RetryMax      time.Duration `yaml:"retry_max"`
	// DeadLetter receives batches InfluxDB refused as malformed (HTTP 400):
	// the top-level dead_letter.influx_path, not a key of this section.
	DeadLetter string `yaml:"-"`
}

// DefaultConfig is used where envpipe.yaml is silent.
func DefaultConfig() Config {
	t := true
	return Config{
		URL:      "http://127.0.0.1:8086",
		Bucket:   "env/autogen",
		TokenEnv: "ENVPIPE_INFLUX_TOKEN",
		// 4 MiB, about 20 000 points. A batch is this large only when
		// the writer is behind (flush_interval ends smaller ones), and
		// then InfluxDB's work per point falls with it: its cache and
		// WAL work is per series and field in a batch, so with many
		// stations a 1 MiB batch (one point per series) costs it a
		// third more CPU per point. 8 MiB and more cost it more again
		// with fewer stations (README, Benchmarks).
		BatchMaxBytes: 4 << 20,
		FlushInterval: time.Second,
		Timeout:       30 * time.Second,
		Gzip:          &t,
		RetryMin:      500 * time.Millisecond,
		RetryMax:      30 * time.Second,
	}
}

// Validate returns the problems of c, each naming its key.
func (c Config) Validate() []error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("influxdb.%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		bad("url", "%q must start with http:// or https://", c.URL)
	}
	if c.Bucket == "" {
		bad("bucket", "missing (InfluxDB 1.8: database/retention-policy, e.g. env/autogen)")
	}
	if c.BatchMaxBytes < 1024 || c.BatchMaxBytes > 64<<20 {
		bad("batch_max_bytes", "%d is not in 1024..67108864", c.BatchMaxBytes)
	}
	if c.Gzip == nil {
		bad("gzip", "empty: true or false")
	}
	if c.FlushInterval <= 0 {
		bad("flush_interval", "must be positive")
	}
	if c.Timeout < time.Second {
		// The client takes whole seconds; less would be 0, no timeout.
		bad("timeout", "%s is less than 1s", c.Timeout)
	}
	if c.RetryMin <= 0 || c.RetryMax < c.RetryMin {
		bad("retry_max", "retry_min must be positive and retry_max at least retry_min")
	}
	if c.TokenFile != "" {
		if _, err := os.Stat(c.TokenFile); err != nil {
			bad("token_file", "%v", err)
		}
	}
	return errs
}

// Token returns the token from the file or the environment variable. For
// InfluxDB 1.8 without auth any token is accepted; ":" is sent then.
func (c Config) Token() (string, error) {
	if c.TokenFile != "" {
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return "", fmt.Errorf("influxdb.token_file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if c.TokenEnv != "" {
		if v := os.Getenv(c.TokenEnv); v != "" {
			return v, nil
		}
	}
	return ":", nil
}

// Log is the part of the WAL the writer consumes.
type Log interface {
	Read(from wal.Position, maxBytes int) ([][]byte, wal.Position, error)
	Notify() <-chan struct{}
	Head() wal.Position
	Checkpoint() wal.Position
	Commit(wal.Position) error
}

// Metrics of the writer.
type Metrics struct {
	latency     prometheus.Histogram
	errors      *prometheus.CounterVec
	points      prometheus.Counter
	deadLetters prometheus.Counter
	corrupt     prometheus.Counter
}

// NewMetrics registers the writer's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "envpipe_influx_write_duration_seconds",
			Help:    "Latency of InfluxDB batch writes, successful or not.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envpipe_influx_write_errors_total",
			Help: "Failed InfluxDB batch writes by kind: retry (network, 5xx, 429, auth: kept and retried), rejected (400: dead-lettered), split (413: halved).",
		}, []string{"kind"}),
		points: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "envpipe_points_written_total",
			Help: "Points InfluxDB accepted.",
		}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "envpipe_influx_points_dead_lettered_total",
			Help: "Points in batches InfluxDB refused as malformed, written to the dead-letter file.",
		}),
	}
	m.corrupt = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "envpipe_wal_corrupt_segments_skipped_total",
		Help: "WAL segments whose remainder was skipped because a record failed its checksum after start-up (disk damage).",
	})
	for _, k := range []string{"retry", "rejected", "split"} {
		m.errors.WithLabelValues(k)
	}
	reg.MustRegister(m.latency, m.errors, m.points, m.deadLetters, m.corrupt)
	return m
}

// Writer drains the WAL into InfluxDB in batches and commits the WAL
// checkpoint after each accepted batch. It is the only reader of the WAL.
type Writer struct {
	cfg     Config
	log     Log
	client  influxdb2.Client
	http    http2.Service // the client's: auth, errors, Retry-After
	url     string        // the v2 write endpoint with org, bucket, precision
	metrics *Metrics
	logger  *slog.Logger

	mu        sync.Mutex
	healthy   bool
	lastError string

	// Reused for every batch: the client's WriteRecord would copy the
	// batch into a string, join it again and gzip it through a pipe with a
	// new compressor (about 1 MB of allocations per batch).
	zbuf bytes.Buffer
	gz   *gzip.Writer
}

// NewWriter builds a writer; call Run to start it.
func NewWriter(cfg Config, log Log, m *Metrics, logger *slog.Logger) (*Writer, error) {
	token, err := cfg.Token()
	if err != nil {
		return nil, err
	}
	opts := influxdb2.DefaultOptions().
		SetUseGZip(*cfg.Gzip).
		SetHTTPRequestTimeout(uint(cfg.Timeout / time.Second)).
		SetMaxRetries(0)
	client := influxdb2.NewClientWithOptions(cfg.URL, token, opts)
	u, err := url.Parse(client.HTTPService().ServerAPIURL())
	if err != nil {
		return nil, fmt.Errorf("influxdb.url: %w", err)
	}
	u = u.JoinPath("write")
	u.RawQuery = url.Values{"org": {cfg.Org}, "bucket": {cfg.Bucket}, "precision": {"ns"}}.Encode()
	w := &Writer{
		cfg: cfg, log: log, client: client,
		http: client.HTTPService(), url: u.String(),
		metrics: m, logger: logger.With("component", "influx"),
		healthy: true,
	}
	if *cfg.Gzip {
		w.gz, _ = gzip.NewWriterLevel(nil, gzip.BestSpeed)
	}
	return w, nil
}

// Healthy reports whether the last write attempt succeeded.
func (w *Writer) Healthy() (bool, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.healthy, w.lastError
}

func (w *Writer) setHealth(ok bool, msg string) {
	w.mu.Lock()
	w.healthy, w.lastError = ok, msg
	w.mu.Unlock()
}

// Run writes until ctx ends. On ctx's end it writes what is already durable
// in the WAL once more so that a clean shutdown leaves no backlog, then
// returns. A write in flight when ctx ends is let finish rather than cut
// off and sent again; that write and the drain after it must be done
// within drainTimeout of ctx's end, or what is left stays in the WAL for
// the next start.
func (w *Writer) Run(ctx context.Context, drainTimeout time.Duration) error {
	defer w.client.Close()
	wctx, stop := writeContext(ctx, drainTimeout)
	defer stop()
	pos := w.log.Checkpoint()
	var firstSeen time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		recs, next, err := w.log.Read(pos, w.cfg.BatchMaxBytes)
		if errors.Is(err, wal.ErrCorrupt) {
			// Disk damage after recovery: skip the rest of that segment
			// rather than stall every later reading behind it.
			w.metrics.corrupt.Inc()
			w.logger.Error("WAL segment damaged on disk; skipping its remainder", "err", err, "from", pos, "to", next)
			if err := w.log.Commit(next); err != nil {
				return fmt.Errorf("commit wal checkpoint: %w", err)
			}
			pos = next
			continue
		}
		if err != nil {
			return fmt.Errorf("read wal: %w", err)
		}
		size := 0
		for _, r := range recs {
			size += len(r)
		}
		// A batch is written at once when it is nearly full, or when the
		// read stopped at the end of a segment with a later one begun:
		// waiting for flush_interval would only stall a backlog. (Not
		// whenever more became durable after the read: at a steady
		// inflow that would write every group commit on its own.)
		full := size >= w.cfg.BatchMaxBytes*3/4 || (len(recs) > 0 && next.Segment != w.log.Head().Segment)
		if len(recs) > 0 && firstSeen.IsZero() {
			firstSeen = time.Now()
		}
		if len(recs) == 0 || (!full && time.Since(firstSeen) < w.cfg.FlushInterval) {
			wait := w.cfg.FlushInterval
			if !firstSeen.IsZero() {
				wait = w.cfg.FlushInterval - time.Since(firstSeen)
			}
			timer.Reset(wait)
		waiting:
			for {
				select {
				case <-ctx.Done():
					timer.Stop()
					return w.drain(wctx, pos)
				case <-w.log.Notify():
					// A partial batch waits for its flush time unless the
					// WAL now holds a full one: read again only then,
					// not at every group commit.
					if firstSeen.IsZero() || w.pendingAt(pos) >= int64(w.cfg.BatchMaxBytes*3/4) {
						break waiting
					}
				case <-timer.C:
					break waiting
				}
			}
			timer.Stop()
			continue
		}
		firstSeen = time.Time{}
		if err := w.writeRetrying(ctx, wctx, recs); err != nil {
			// Only ctx ends a retry loop.
			return w.drain(wctx, pos)
		}
		if err := w.log.Commit(next); err != nil {
			return fmt.Errorf("commit wal checkpoint: %w", err)
		}
		pos = next
	}
}

// writeContext returns the context writes are sent under: it ends timeout
// after ctx does (or when stop is called), so that a write in flight at
// shutdown can finish. stop waits for the goroutine that watches ctx.
func writeContext(ctx context.Context, timeout time.Duration) (wctx context.Context, stop func()) {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
		case <-wctx.Done():
			return
		}
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-wctx.Done():
		}
	}()
	return wctx, func() { cancel(); <-done }
}

// pendingAt is the size of the WAL's durable records after pos in pos's
// segment, record headers included (an overestimate of a batch; Read
// decides), or MaxInt64 once a later segment has begun: a partial batch
// is written when this may fill one.
func (w *Writer) pendingAt(pos wal.Position) int64 {
	h := w.log.Head()
	if h.Segment != pos.Segment {
		return math.MaxInt64
	}
	return h.Offset - pos.Offset
}

// drain writes whatever is durable after pos, retrying until ctx (Run's
// write context, which ends drainTimeout after shutdown began) ends.
func (w *Writer) drain(ctx context.Context, pos wal.Position) error {
	for {
		recs, next, err := w.log.Read(pos, w.cfg.BatchMaxBytes)
		if err != nil || len(recs) == 0 {
			return err
		}
		if err := w.writeRetrying(ctx, ctx, recs); err != nil {
			w.logger.Warn("shutdown: backlog left in the WAL, written at next start", "err", err)
			return nil
		}
		if err := w.log.Commit(next); err != nil {
			return fmt.Errorf("commit wal checkpoint: %w", err)
		}
		pos = next
	}
}

// writeRetrying writes recs until InfluxDB accepts them (or refuses them as
// malformed, which dead-letters them). Each attempt is sent under wctx;
// once ctx has ended no attempt is retried. It returns only ctx's error.
func (w *Writer) writeRetrying(ctx, wctx context.Context, recs [][]byte) error {
	backoff := w.cfg.RetryMin
	failures := 0
	for {
		err := w.writeSplitting(wctx, recs)
		if err == nil {
			if failures > 0 {
				w.logger.Info("InfluxDB writes resumed", "failed_attempts", failures)
			}
			w.setHealth(true, "")
			return nil
		}
		w.setHealth(false, err.Error())
		if ctx.Err() != nil {
			return ctx.Err() // shutting down: the caller drains or keeps the batch
		}
		failures++
		w.metrics.errors.WithLabelValues("retry").Inc()
		// Log the first failure and then every tenth: an outage must not
		// flood the log.
		if failures == 1 || failures%10 == 0 {
			w.logger.Error("InfluxDB write failed; keeping the batch in the WAL and retrying",
				"err", err, "attempt", failures, "retry_in", backoff)
		}
		delay := backoff
		var he *http2.Error
		if errors.As(err, &he) && he.RetryAfter > 0 {
			delay = time.Duration(he.RetryAfter) * time.Second
		}
		// Jitter keeps replicas from retrying in lockstep.
		delay += time.Duration(rand.Int64N(int64(delay)/4 + 1))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, w.cfg.RetryMax)
	}
}

// post sends one batch of line protocol, the WAL's records as they are,
// with the client's HTTP service. Uncompressed, the records go out without
// being joined: a copy of up to batch_max_bytes saved per batch, and a
// buffer of that size less to keep.
func (w *Writer) post(ctx context.Context, recs [][]byte, size int) error {
	var rewind func() io.Reader // also for the transport's resend on a stale connection
	length := int64(size)
	if w.gz != nil {
		w.zbuf.Reset()
		w.gz.Reset(&w.zbuf)
		for _, r := range recs {
			if _, err := w.gz.Write(r); err != nil {
				return fmt.Errorf("gzip batch: %w", err)
			}
		}
		if err := w.gz.Close(); err != nil {
			return fmt.Errorf("gzip batch: %w", err)
		}
		z := w.zbuf.Bytes()
		rewind = func() io.Reader { return bytes.NewReader(z) }
		length = int64(len(z))
	} else {
		rewind = func() io.Reader { return &recordsReader{recs: recs} }
	}
	perr := w.http.DoPostRequest(ctx, w.url, rewind(), func(req *http.Request) {
		// Known length: no chunked encoding.
		req.ContentLength = length
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(rewind()), nil }
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		if w.gz != nil {
			req.Header.Set("Content-Encoding", "gzip")
		}
	}, func(resp *http.Response) error {
		return resp.Body.Close()
	})
	if perr != nil {
		return perr
	}
	return nil
}

// recordsReader reads recs one after another. Unlike net.Buffers it leaves
// recs as they are, so that a resend (GetBody) reads them again without a
// copy of the slice: 24 bytes a record, about a megabyte for a batch of
// 4 MiB of single readings, which a backlog would leave allocated.
type recordsReader struct {
	recs   [][]byte
	i, off int
}

func (r *recordsReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && r.i < len(r.recs) {
		c := copy(p[n:], r.recs[r.i][r.off:])
		n, r.off = n+c, r.off+c
		if r.off == len(r.recs[r.i]) {
			r.i, r.off = r.i+1, 0
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// writeSplitting writes recs. A 413 halves the batch; so does a 400, down
// to single records, of which only those InfluxDB still refuses are
// dead-lettered: InfluxDB 2 refuses a whole batch for one malformed line,
// and 1.8 writes the rest of it but says only which line it refused. Other
// errors are returned for retrying.
func (w *Writer) writeSplitting(ctx context.Context, recs [][]byte) error {
	points, size := 0, 0
	for _, r := range recs {
		points += bytes.Count(r, []byte{'\n'})
		size += len(r)
	}
	start := time.Now()
	err := w.post(ctx, recs, size)
	w.metrics.latency.Observe(time.Since(start).Seconds())
	if err == nil {
		w.metrics.points.Add(float64(points))
		return nil
	}
	var he *http2.Error
	if errors.As(err, &he) {
		switch {
		case (he.StatusCode == http.StatusRequestEntityTooLarge || he.StatusCode == http.StatusBadRequest) && len(recs) > 1:
			kind := "split"
			if he.StatusCode == http.StatusBadRequest {
				kind = "rejected"
			}
			w.metrics.errors.WithLabelValues(kind).Inc()
			half := len(recs) / 2
			if err := w.writeSplitting(ctx, recs[:half]); err != nil {
				return err
			}
			return w.writeSplitting(ctx, recs[half:])
		case he.StatusCode == http.StatusBadRequest:
			w.metrics.errors.WithLabelValues("rejected").Inc()
			if err := w.deadLetter(recs, he.Error()); err != nil {
				return err // retried: InfluxDB refuses it, but nothing is dropped unrecorded
			}
			w.metrics.deadLetters.Add(float64(points))
			w.logger.Error("InfluxDB refused a record as malformed; dead-lettered", "points", points, "err", he.Error(),
				"file", w.cfg.DeadLetter)
			return nil
		}
	}
	return fmt.Errorf("write batch of %d points: %w", points, err)
}

// deadLetter appends recs to the dead-letter file with reason. An error
// keeps the batch in the WAL, to be tried again.
func (w *Writer) deadLetter(recs [][]byte, reason string) error {
	if w.cfg.DeadLetter == "" {
		return nil
	}
	f, err := os.OpenFile(w.cfg.DeadLetter, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("dead-letter refused points: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s %s\n", time.Now().UTC().Format(time.RFC3339), strings.ReplaceAll(reason, "\n", " "))
	for _, r := range recs {
		b.Write(r)
	}
	_, err = f.Write(b.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("dead-letter refused points: %w", err)
	}
	return nil
}
