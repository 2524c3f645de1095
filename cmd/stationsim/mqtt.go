package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/envpipe/envpipe/ingest/station"
)

// mqttOptions are the publisher's settings.
type mqttOptions struct {
	Broker          string
	Username        string
	Password        string
	PerStationAuth  bool   // one connection per station, username = station id
	StationPassword string // with PerStationAuth; {station} is replaced by the id
	ClientID        string // client id prefix
	Conns           int    // connections when not PerStationAuth
	Window          int    // unacknowledged publishes per connection
}

const (
	connectTimeout   = 10 * time.Second
	connectParallel  = 16                     // connections opened at once
	writeTimeout     = time.Second            // how long one Publish may block on a stuck socket
	disconnectQuiet  = 250                    // ms Disconnect waits for the DISCONNECT to go out
	errorLogInterval = 10 * time.Second       // repeated publish errors: one log line per interval
	signalDrain      = 300 * time.Millisecond // acks still awaited after SIGINT/SIGTERM
)

// publisher sends messages at QoS 1 over one or more paho connections, each
// with a window of at most Window unacknowledged publishes: Send blocks
// while the window is full, and a waiter per connection collects the
// PUBACKs in publish order. paho reconnects on its own; publishes made while
// it does are stored and sent once the connection is back.
type publisher struct {
	log    *slog.Logger
	conns  []*conn
	connOf []int // station index → connection index

	acked, failed, unconfirmed atomic.Int64

	abort chan struct{} // closed to stop waiting for acks
	wg    sync.WaitGroup
}

// conn is one MQTT connection and its in-flight window.
type conn struct {
	name    string
	client  mqtt.Client
	slots   chan struct{}   // one per unacknowledged publish
	pending chan mqtt.Token // publish order, for the waiter

	lastLog    time.Time // waiter goroutine only
	suppressed int
}

// connect opens the connections for stations: one per station with
// PerStationAuth, otherwise Conns shared ones (station i uses connection
// i mod Conns, so one station's messages keep their order). Any connection
// that cannot be opened fails the whole call.
func connect(ctx context.Context, o mqttOptions, stations []*station.Station, log *slog.Logger) (*publisher, error) {
	p := &publisher{log: log, abort: make(chan struct{}), connOf: make([]int, len(stations))}
	n := o.Conns
	if o.PerStationAuth {
		n = len(stations)
	}
	n = max(1, min(n, len(stations)))
	for k := range n {
		c := &conn{
			slots:   make(chan struct{}, o.Window),
			pending: make(chan mqtt.Token, o.Window),
		}
		opts := mqtt.NewClientOptions().AddBroker(o.Broker).
			SetCleanSession(true).
			SetAutoReconnect(true).
			SetMaxReconnectInterval(10 * time.Second).
			SetConnectTimeout(connectTimeout).
			SetKeepAlive(30 * time.Second).
			SetWriteTimeout(writeTimeout).
			SetOrderMatters(false)
		if o.PerStationAuth {
			id := stations[k].ID
			c.name = id
			opts.SetClientID(o.ClientID + "-" + id).
				SetUsername(id).
				SetPassword(strings.ReplaceAll(o.StationPassword, "{station}", id))
		} else {
			c.name = fmt.Sprintf("conn-%d", k)
			opts.SetClientID(fmt.Sprintf("%s-%d", o.ClientID, k)).
				SetUsername(o.Username).SetPassword(o.Password)
		}
		clog := log.With("conn", c.name)
		opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			clog.Warn("connection lost; reconnecting", "err", err)
		})
		opts.SetReconnectingHandler(func(mqtt.Client, *mqtt.ClientOptions) {
			clog.Debug("reconnecting")
		})
		var connected atomic.Bool
		opts.SetOnConnectHandler(func(mqtt.Client) {
			if connected.Swap(true) { // the first connect is logged by connect itself
				clog.Info("reconnected")
			}
		})
		c.client = mqtt.NewClient(opts)
		p.conns = append(p.conns, c)
	}
	for i := range stations {
		p.connOf[i] = i % n
	}

	// Open them, a few at a time.
	errs := make([]error, n)
	sem := make(chan struct{}, connectParallel)
	var wg sync.WaitGroup
	for k, c := range p.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[k] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			tok := c.client.Connect()
			select {
			case <-tok.Done():
				errs[k] = tok.Error()
			case <-ctx.Done():
				errs[k] = ctx.Err()
			case <-time.After(connectTimeout + time.Second):
				errs[k] = errors.New("timed out")
			}
		}()
	}
	wg.Wait()
	var failed []error
	for k, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", p.conns[k].name, err))
		}
	}
	if len(failed) > 0 {
		p.disconnectAll()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if len(failed) > 5 {
			failed = append(failed[:5], fmt.Errorf("and %d more", len(failed)-5))
		}
		return nil, fmt.Errorf("connect to %s: %w", o.Broker, errors.Join(failed...))
	}
	log.Info("connected", "broker", o.Broker, "connections", n, "per_station_auth", o.PerStationAuth)

	for _, c := range p.conns {
		p.wg.Add(1)
		go p.await(c)
	}
	return p, nil
}

// Send publishes payload at QoS 1 on the connection of station i once its
// window has room.
func (p *publisher) Send(ctx context.Context, i int, topic string, payload []byte) error {
	c := p.conns[p.connOf[i]]
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.pending <- c.client.Publish(topic, 1, false, payload) // never blocks: len(pending) <= len(slots)
	return nil
}

// await collects c's acknowledgements in publish order until pending is
// closed and drained, or abort is closed.
func (p *publisher) await(c *conn) {
	defer p.wg.Done()
	for tok := range c.pending {
		select {
		case <-tok.Done():
			if err := tok.Error(); err != nil {
				p.failed.Add(1)
				p.logError(c, err)
			} else {
				p.acked.Add(1)
			}
			<-c.slots
		case <-p.abort:
			p.unconfirmed.Add(1 + int64(len(c.pending)))
			return
		}
	}
}

// logError logs a publish error, at most one line per connection every
// errorLogInterval, with the count of those left out.
func (p *publisher) logError(c *conn, err error) {
	now := time.Now()
	if now.Sub(c.lastLog) < errorLogInterval {
		c.suppressed++
		return
	}
	p.log.Warn("publish failed", "conn", c.name, "err", err, "suppressed", c.suppressed)
	c.lastLog, c.suppressed = now, 0
}

// close stops accepting messages, waits up to drain for the outstanding
// acknowledgements (only signalDrain once ctx is done: an interrupted run
// must end within a second), then disconnects every connection at once.
// Send must not be called any more.
func (p *publisher) close(ctx context.Context, drain time.Duration) {
	for _, c := range p.conns {
		close(c.pending)
	}
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	interrupt := ctx.Done()
	if ctx.Err() != nil {
		drain, interrupt = min(drain, signalDrain), nil
	}
	t := time.NewTimer(drain)
	select {
	case <-done:
	case <-t.C:
	case <-interrupt:
	}
	t.Stop()
	close(p.abort)
	<-done
	p.disconnectAll()
}

// disconnectAll disconnects every connection concurrently.
func (p *publisher) disconnectAll() {
	var wg sync.WaitGroup
	for _, c := range p.conns {
		wg.Go(func() { c.client.Disconnect(disconnectQuiet) })
	}
	wg.Wait()
}
