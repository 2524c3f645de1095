package mqtt

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest/pipeline"
	"github.com/envpipe/envpipe/internal/testenv"
)

// TestAcksReachTheBrokerOnTheMessagesConnection runs the source against a
// real Mosquitto whose in-flight window is 20 messages, so that nothing
// past the first 20 arrives unless envpipe's own PUBACKs reach the broker.
// Then, over a reconnect of the persistent session: what was acked is
// never redelivered, and what was not acked is, in full.
func TestAcksReachTheBrokerOnTheMessagesConnection(t *testing.T) {
	testenv.Integration(t)
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"tcp", false}, {"tls", true}} {
		t.Run(tc.name, func(t *testing.T) {
			b := testenv.Mosquitto(t, testenv.MosquittoOptions{TLS: tc.tls, Extra: []string{"max_inflight_messages 20"}})
			cfg := DefaultConfig()
			cfg.Broker, cfg.ClientID, cfg.HJ212Topic = b.URL(), "acks-"+tc.name, ""
			if tc.tls {
				cfg.Broker, cfg.TLS.CAFile = b.TLSURL(), b.CAFile
			}
			pub := publisher(t, b.URL())

			// 1. 500 messages, each acked as it arrives.
			s := startSource(t, cfg, true)
			publishN(t, pub, 0, 500)
			s.waitFor(t, 500)
			s.stop(t)

			// 2. Reconnect: nothing is redelivered. Then 50 new messages,
			// none acked: the broker stops at its window of 20.
			s = startSource(t, cfg, false)
			time.Sleep(time.Second)
			if n := s.got.Load(); n != 0 {
				t.Fatalf("%d acked messages were redelivered after the reconnect", n)
			}
			publishN(t, pub, 500, 50)
			s.waitFor(t, 20)
			time.Sleep(500 * time.Millisecond)
			if n := s.got.Load(); n != 20 {
				t.Fatalf("%d unacked messages delivered, want the in-flight window of 20", n)
			}
			s.stop(t)

			// 3. Reconnect, acking: exactly the 50 unacked ones arrive,
			// the first 20 again.
			s = startSource(t, cfg, true)
			s.waitFor(t, 50)
			time.Sleep(500 * time.Millisecond)
			if n := s.got.Load(); n != 50 {
				t.Fatalf("%d messages after the second reconnect, want the 50 never acked", n)
			}
			if first := s.first.Load(); first != nil && *first != "env/s-0500/data" {
				t.Errorf("first redelivered message on %s, want env/s-0500/data", *first)
			}
			s.stop(t)
		})
	}
}

type runningSource struct {
	*Source
	got   atomic.Int64
	first atomic.Pointer[string]
	stop  func(t *testing.T)
}

func startSource(t *testing.T, cfg Config, ack bool) *runningSource {
	t.Helper()
	out := make(chan pipeline.Delivery, 64)
	src, err := New(cfg, out, NewMetrics(prometheus.NewRegistry()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	rs := &runningSource{Source: src}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- src.Run(ctx) }()
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for {
			select {
			case d := <-out:
				if rs.got.Add(1) == 1 {
					rs.first.Store(&d.Topic)
				}
				if ack {
					d.Ack()
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !src.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the source did not connect and subscribe within 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if src.conn.Load() == nil {
		t.Fatal("the source did not dial the broker itself: the PUBACKs under test would not be used")
	}
	rs.stop = func(t *testing.T) {
		t.Helper()
		// Let the last acks leave before the DISCONNECT, as the daemon's
		// shutdown does by draining the pipeline first.
		time.Sleep(200 * time.Millisecond)
		cancel()
		if err := <-ran; err != nil {
			t.Fatal(err)
		}
		<-consumed
	}
	return rs
}

func (rs *runningSource) waitFor(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for rs.got.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages arrived within 20 s", rs.got.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func publisher(t *testing.T, url string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("acks-publisher"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publishN(t *testing.T, c paho.Client, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		tok := c.Publish(fmt.Sprintf("env/s-%04d/data", i), 1, false, []byte(`{}`))
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
}
