package hj212srv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envpipe/envpipe/ingest/pipeline"
	"github.com/envpipe/envpipe/ingest/station"
)

// Listener accepts HJ 212 stations over TCP and hands their frames to the
// pipeline (see the package documentation).
//
// Lifecycle: Listen (optional: binds early so that a bad address fails at
// start-up), Run until its context ends, and Quiesce before that to stop
// reading while the answers to frames already handed over still go out:
//
//	l.Quiesce()   // with the MQTT source's Quiesce
//	...           // stop the pipeline, close the WAL: the last acks fire
//	cancel()      // Run flushes the answers queued, closes every connection, returns
type Listener struct {
	cfg Config
	chk checker
	out chan<- pipeline.Delivery
	m   *Metrics
	log *slog.Logger
	bf  *backfill // nil when backfill is disabled

	quiesce     chan struct{}
	quiesced    atomic.Bool
	quiesceOnce sync.Once

	mu    sync.Mutex
	ln    net.Listener
	conns map[*conn]struct{}
	wg    sync.WaitGroup // connection goroutines
}

// NewListener builds a listener that sends deliveries to out, the channel
// the MQTT source feeds. cfg.Listen must not be empty; zero limits take
// their defaults.
func NewListener(cfg Config, reg *station.Registry, out chan<- pipeline.Delivery, m *Metrics, logger *slog.Logger) *Listener {
	cfg = cfg.withDefaults()
	logger = orDiscard(logger).With("component", "hj212-tcp")
	l := &Listener{
		cfg:     cfg,
		chk:     checker{reg: reg, maxLen: cfg.MaxFrameBytes},
		out:     out,
		m:       m,
		log:     logger,
		quiesce: make(chan struct{}),
		conns:   map[*conn]struct{}{},
	}
	if cfg.Backfill.Enabled {
		l.bf = newBackfill(cfg.Backfill, m, logger)
	}
	return l
}

// Listen binds the configured address, if Run has not done it yet.
func (l *Listener) Listen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		return nil
	}
	if l.cfg.Listen == "" {
		return errors.New("hj212.listen: empty: the listener is disabled")
	}
	ln, err := net.Listen("tcp", l.cfg.Listen)
	if err != nil {
		return fmt.Errorf("hj212 listen: %w", err)
	}
	l.ln = ln
	return nil
}

// Addr is the bound address (nil before Listen).
func (l *Listener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

// Connections is the number of open connections.
func (l *Listener) Connections() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Quiesce stops accepting connections and reading frames. Frames read and
// not yet handed to the pipeline are dropped unanswered (the station sends
// them again); answers to frames already handed over go out as their acks
// come, until Run's context ends.
func (l *Listener) Quiesce() {
	l.quiesceOnce.Do(func() {
		l.quiesced.Store(true)
		close(l.quiesce)
		l.mu.Lock()
		if l.ln != nil {
			l.ln.Close()
		}
		for c := range l.conns {
			c.stopReading()
		}
		l.mu.Unlock()
	})
}

// Run accepts connections until ctx ends, then flushes the answers already
// queued (each write bounded by write_timeout), closes every connection and
// returns once every connection goroutine has ended. Acks the pipeline
// calls after that are dropped: the station did not get its answer and
// sends the frame again, which is harmless (points are idempotent).
func (l *Listener) Run(ctx context.Context) error {
	if err := l.Listen(); err != nil {
		return err
	}
	l.mu.Lock()
	ln := l.ln
	l.mu.Unlock()
	l.log.Info("listening for HJ 212 stations", "addr", ln.Addr().String())
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	l.accept(ctx, ln)

	<-ctx.Done()
	l.mu.Lock()
	conns := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.close(closeShutdown)
	}
	l.wg.Wait()
	if l.bf != nil {
		l.bf.stop()
	}
	return nil
}

// accept runs the accept loop until the listener is closed (by ctx or
// Quiesce). Other accept errors (out of file descriptors, ...) are waited
// out, as net/http does.
func (l *Listener) accept(ctx context.Context, ln net.Listener) {
	backoff := 5 * time.Millisecond
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || l.quiesced.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			l.log.Warn("accept failed; retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		l.mu.Lock()
		if len(l.conns) >= l.cfg.MaxConnections || l.quiesced.Load() {
			l.mu.Unlock()
			l.m.accepted.WithLabelValues("refused").Inc()
			l.log.Warn("connection refused: max_connections reached", "remote", nc.RemoteAddr().String(), "max_connections", l.cfg.MaxConnections)
			nc.Close()
			continue
		}
		c := newConn(l, nc)
		l.conns[c] = struct{}{}
		l.wg.Add(2)
		l.mu.Unlock()
		l.m.accepted.WithLabelValues("accepted").Inc()
		l.m.connections.Inc()
		l.log.Debug("station connected", "remote", c.remote)
		go c.readLoop(ctx)
		go c.writeLoop()
	}
}

// forget removes a closed connection.
func (l *Listener) forget(c *conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.m.connections.Dec()
	if l.bf != nil {
		l.bf.connClosed(c)
	}
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
