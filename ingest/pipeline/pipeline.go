// Package pipeline is envpipe's data path, in one place:
//
//	Delivery ─▶ decode ─▶ validate ─▶ encode ─▶ WAL.Append ─(durable)─▶ ack
//	                         │                     refused ─▶ dead letter + metric ─▶ ack
//	                         └─▶ observers (derivation, alert rules)
//
// The ack rule: a message is acknowledged to its transport only after every
// reading kept from it is fsynced in the WAL, or after it was refused
// outright; acks are released in arrival order. The InfluxDB writer drains
// the WAL separately (package influx), so acks never wait for InfluxDB.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/deadletter"
	"github.com/envpipe/envpipe/ingest/decode"
	"github.com/envpipe/envpipe/ingest/influx"
	"github.com/envpipe/envpipe/ingest/station"
)

// Format is the payload format of a delivery.
type Format string

const (
	FormatJSON  Format = "json"
	FormatHJ212 Format = "hj212"
)

// Delivery is one message handed over by a transport.
type Delivery struct {
	Format Format
	// Topic (or peer address) is recorded in dead letters.
	Topic string
	// Station is the station the transport vouches for (the topic's station
	// level); "" when the transport does not name one.
	Station string
	Payload []byte
	// Ack is called exactly once, from any goroutine, when the message may be
	// acknowledged: after its readings are durable, or it was refused.
	Ack func()
}

// Log is the part of the WAL the pipeline appends to.
type Log interface {
	// Append copies rec and calls done once it is durable, in append order.
	Append(ctx context.Context, rec []byte, done func(error)) error
}

// DeadLetters records refused input.
type DeadLetters interface {
	Write(r deadletter.Record, payload []byte) error
}

// Observer sees every accepted reading (after validation, before its WAL
// record is durable), in arrival order, on the pipeline goroutine. r is only
// valid during the call.
type Observer interface {
	Observe(st *station.Station, r *ingest.Reading)
}

// Config is what the pipeline needs.
type Config struct {
	Registry    *station.Registry
	Validation  station.ValidationConfig
	Log         Log
	DeadLetters DeadLetters
	Observers   []Observer
	Metrics     *Metrics
	Logger      *slog.Logger
	Now         func() time.Time
	// Decoders for formats other than JSON (HJ 212), by format.
	Decoders map[Format]Decoder
}

// Decoder turns a delivery's payload into readings and rejections. The
// result is valid until the next call.
type Decoder interface {
	Decode(d *Delivery) *decode.Result
}

// Pipeline processes deliveries on one goroutine (Run).
type Pipeline struct {
	cfg       Config
	json      decode.Decoder
	validator *station.Validator
	enc       *influx.Encoder
	acks      ackQueue
	logger    *slog.Logger
	m         *Metrics

	// appendMu keeps "push to the ack queue, then append to the WAL" atomic
	// between Handle and Emit, which the ack queue's matching relies on.
	appendMu sync.Mutex
	buf      []byte
	rejects  []ingest.Reject
	lastSeen []atomic.Int64 // Unix ns, by station.Station.Index (Metrics.lastReading)
	fatalMu  sync.Mutex
	fatal    error
	hasFatal atomic.Bool // fatal is set: Run checks it for every delivery
	walDone  func(error)
	accepted [2]prometheus.Counter
	received [2]prometheus.Counter // JSON, HJ 212
}

// New builds a pipeline.
func New(cfg Config) *Pipeline {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Pipeline{
		cfg:       cfg,
		validator: station.NewValidator(cfg.Registry, cfg.Validation, cfg.Now),
		enc:       influx.NewEncoder(),
		logger:    cfg.Logger.With("component", "pipeline"),
		m:         cfg.Metrics,
		lastSeen:  cfg.Metrics.lastReading.attach(cfg.Registry.All()),
	}
	p.json.MaxReadings = cfg.Validation.MaxReadings
	p.walDone = p.onDurable
	p.accepted[0] = p.m.accepted.WithLabelValues(string(ingest.KindAir))
	p.accepted[1] = p.m.accepted.WithLabelValues(string(ingest.KindWater))
	p.received[0] = p.m.received.WithLabelValues(string(FormatJSON))
	p.received[1] = p.m.received.WithLabelValues(string(FormatHJ212))
	return p
}

// Run handles deliveries from in until in is closed or ctx ends, or the WAL
// fails (the returned error). Deliveries still queued in `in` when ctx ends
// are left unacked: the broker redelivers them.
func (p *Pipeline) Run(ctx context.Context, in <-chan Delivery) error {
	done := ctx.Done()
	// One Delivery for the whole run, each receive overwriting it: Handle
	// passes its address on (to a Decoder interface), so one declared in
	// the loop would be a heap allocation per message. Nothing keeps the
	// address beyond Handle.
	var d Delivery
	for {
		if err := p.failed(); err != nil {
			return err
		}
		var ok bool
		// Non-blocking receives first: under load a delivery is nearly
		// always waiting, and they cost less than a two-way select (the
		// check of done takes no lock while ctx is live).
		select {
		case <-done:
			return nil
		default:
		}
		select {
		case d, ok = <-in:
		default:
			select {
			case <-done:
				return nil
			case d, ok = <-in:
			}
		}
		if !ok {
			return nil
		}
		if err := p.Handle(ctx, &d); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
	}
}

// PendingAcks is the number of messages received and not yet acked.
func (p *Pipeline) PendingAcks() int { return p.acks.pending() }

// Handle processes one delivery. It returns an error only when the WAL
// cannot take the readings (closed, failed, or ctx ended while it was full).
func (p *Pipeline) Handle(ctx context.Context, d *Delivery) error {
	switch d.Format {
	case FormatJSON:
		p.received[0].Inc()
	case FormatHJ212:
		p.received[1].Inc()
	default:
		p.m.received.WithLabelValues(string(d.Format)).Inc()
	}
	p.rejects = p.rejects[:0]
	p.buf = p.buf[:0]

	var res *decode.Result
	switch {
	case len(d.Payload) > p.cfg.Validation.MaxPayloadBytes:
		p.rejects = append(p.rejects, ingest.Reject{Reason: ingest.ReasonPayloadTooLarge,
			Detail: fmt.Sprintf("%d bytes, at most %d", len(d.Payload), p.cfg.Validation.MaxPayloadBytes)})
	case d.Format == FormatJSON:
		res = p.json.JSON(d.Payload)
	default:
		dec, ok := p.cfg.Decoders[d.Format]
		if !ok {
			p.rejects = append(p.rejects, ingest.Reject{Reason: ingest.ReasonBadTopic,
				Detail: fmt.Sprintf("no decoder for topic %q (format %q)", d.Topic, d.Format)})
			break
		}
		res = dec.Decode(d)
	}

	refused := false
	if res != nil {
		for _, x := range res.Dropped {
			p.m.rejected.WithLabelValues(string(x.Reject.Reason)).Inc()
			p.deadLetter(x.Reject, "", x.Payload)
			refused = true
		}
		p.rejects = append(p.rejects, res.Rejects...)
		for i := range res.Readings {
			r := &res.Readings[i]
			var st *station.Station
			st, p.rejects = p.validator.Check(r, d.Station, p.rejects)
			if st == nil {
				continue
			}
			p.buf = p.enc.Append(p.buf, st, r)
			p.noteAccepted(st, r)
			for _, o := range p.cfg.Observers {
				o.Observe(st, r)
			}
		}
	}
	if len(p.rejects) > 0 && p.refuse(d) || refused {
		p.m.refused.WithLabelValues(string(d.Format)).Inc()
	}
	ack, gate := d.Ack, p.keep(res)
	if res != nil && res.Acked != nil {
		ack = chainAck(ack, res.Acked)
	}
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if len(p.buf) == 0 {
		p.acks.pushGated(ack, false, gate)
		return nil
	}
	// The ack joins the queue only once its record is in the WAL: an entry
	// for a record that was never appended would be released by the next
	// record's durability. (Its done may run before the push; the queue
	// counts it and matches it then.)
	if err := p.cfg.Log.Append(ctx, p.buf, p.walDone); err != nil {
		return fmt.Errorf("append to wal: %w", err)
	}
	p.acks.pushGated(ack, true, gate)
	return nil
}

// keep has the decoder's copy of the payload made durable (res.Keep) and
// returns the gate its ack waits on; nil when there is none.
func (p *Pipeline) keep(res *decode.Result) *ackGate {
	if res == nil || res.Keep == nil {
		return nil
	}
	g := &ackGate{}
	res.Keep(func(err error) {
		if err != nil {
			p.fail(fmt.Errorf("keep a copy of the payload: %w", err))
			return
		}
		p.acks.open(g)
	})
	return g
}

func chainAck(ack, then func()) func() {
	return func() {
		if ack != nil {
			ack()
		}
		then()
	}
}

// Emit appends derived line protocol (hourly means, AQI, alerts) to the WAL,
// so that it reaches InfluxDB by the same durable path as the readings. It
// is safe to call from any goroutine, including from an Observer.
func (p *Pipeline) Emit(ctx context.Context, lineProtocol []byte) error {
	if len(lineProtocol) == 0 {
		return nil
	}
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if err := p.cfg.Log.Append(ctx, lineProtocol, p.walDone); err != nil {
		return fmt.Errorf("append derived points to wal: %w", err)
	}
	p.acks.push(nil, true)
	return nil
}

func (p *Pipeline) noteAccepted(st *station.Station, r *ingest.Reading) {
	if st.Kind == ingest.KindAir {
		p.accepted[0].Inc()
	} else {
		p.accepted[1].Inc()
	}
	// The validator returns the registry's stations, so st.Index is its
	// slot. Only this goroutine stores.
	if t, ls := r.Time.UnixNano(), &p.lastSeen[st.Index]; t > ls.Load() {
		ls.Store(t)
	}
}

// maxDeadLettersPerMessage keeps one huge bad array from writing thousands
// of copies of itself.
const maxDeadLettersPerMessage = 8

// refuse counts and dead-letters p.rejects, the refusals of d; it reports
// whether any was the operator's to act on (dead-lettered).
func (p *Pipeline) refuse(d *Delivery) bool {
	n, refused := 0, false
	for _, rj := range p.rejects {
		p.m.rejected.WithLabelValues(string(rj.Reason)).Inc()
		if !rj.Reason.DeadLettered() {
			continue // counted only: not the operator's to act on
		}
		refused = true
		if n >= maxDeadLettersPerMessage {
			continue
		}
		n++
		p.deadLetter(rj, d.Topic, d.Payload)
	}
	first := p.rejects[0]
	p.logger.Debug("input refused", "topic", d.Topic, "reason", first.Reason, "detail", first.Detail, "count", len(p.rejects))
	return refused
}

// deadLetter records one refusal with the payload it concerns.
func (p *Pipeline) deadLetter(rj ingest.Reject, topic string, payload []byte) {
	if p.cfg.DeadLetters == nil {
		return
	}
	rec := deadletter.Record{Time: p.cfg.Now().UTC(), Reason: string(rj.Reason), Topic: topic,
		Station: rj.Station, Param: rj.Param, Detail: rj.Detail}
	if err := p.cfg.DeadLetters.Write(rec, payload); err != nil {
		p.logger.Error("dead letter not written", "err", err)
		return
	}
	p.m.deadLetters.Inc()
}

// onDurable is the WAL's done callback for every appended record.
func (p *Pipeline) onDurable(err error) {
	if err != nil {
		p.fail(fmt.Errorf("wal write failed: %w", err))
		return
	}
	p.acks.walDone()
}

// fail stops the pipeline after a record that was to be durable was lost.
// The message stays unacked, and so does every later one: the queue matches
// durability reports to messages by count, so after a lost record the next
// report would ack the wrong message. The broker redelivers them all after
// the restart this error causes.
func (p *Pipeline) fail(err error) {
	p.acks.fail()
	p.fatalMu.Lock()
	if p.fatal == nil {
		p.fatal = err
		p.hasFatal.Store(true)
	}
	p.fatalMu.Unlock()
}

func (p *Pipeline) failed() error {
	if !p.hasFatal.Load() {
		return nil
	}
	p.fatalMu.Lock()
	defer p.fatalMu.Unlock()
	return p.fatal
}
