package hj212srv

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/decode"
	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/pipeline"
	"github.com/envpipe/envpipe/ingest/station"
)

// DecoderConfig is what a Decoder needs.
type DecoderConfig struct {
	Registry *station.Registry
	// MaxFrameBytes bounds a frame; 0 means hj212.DefaultMaxLen. Use the
	// hj212 section's max_frame_bytes, as the Listener does.
	MaxFrameBytes int
	// Reassembler bounds the split messages held; zero fields take the
	// codec's defaults.
	Reassembler hj212.ReassemblerConfig
	Metrics     *Metrics
	Logger      *slog.Logger
	// Now is the clock of split-message expiry; nil means time.Now.
	Now func() time.Time
	// Journal keeps the packets of split messages across restarts; nil
	// keeps them in memory only.
	Journal *Journal
}

// Decoder is the pipeline.Decoder for pipeline.FormatHJ212: one frame per
// delivery, from MQTT (Station = the topic's station) or from the Listener
// (Station = ""). Like every pipeline.Decoder it runs on the pipeline's
// goroutine and its result is valid until the next call.
type Decoder struct {
	chk        checker
	reasm      *hj212.Reassembler
	m          *Metrics
	log        *slog.Logger
	now        func() time.Time
	lastExpire time.Time
	res        decode.Result

	journal *Journal
	lastSeq uint64            // the seq of the last split packet decoded
	keepRec []byte            // the journal record of the packet in hand
	keepFn  func(func(error)) // d.keep, bound once
}

// expireEvery is how often Decode lets the reassembler drop split messages
// that grew too old.
const expireEvery = 10 * time.Second

// NewDecoder builds a Decoder.
func NewDecoder(cfg DecoderConfig) *Decoder {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = hj212.DefaultMaxLen
	}
	d := &Decoder{
		chk:     checker{reg: cfg.Registry, maxLen: cfg.MaxFrameBytes},
		reasm:   hj212.NewReassembler(cfg.Reassembler),
		m:       cfg.Metrics,
		log:     orDiscard(cfg.Logger).With("component", "hj212"),
		now:     cfg.Now,
		journal: cfg.Journal,
	}
	d.keepFn = d.keep
	return d
}

// keep journals the packet in hand (decode.Result.Keep).
func (d *Decoder) keep(done func(error)) { d.journal.append(d.keepRec, done) }

var _ pipeline.Decoder = (*Decoder)(nil)

// Decode turns one frame into readings, or says why not. A packet of a split
// message yields nothing until the packet that completes it.
func (d *Decoder) Decode(del *pipeline.Delivery) *decode.Result {
	d.res.Readings = d.res.Readings[:0]
	d.res.Rejects = d.res.Rejects[:0]
	clear(d.res.Dropped) // drop the references to the last call's payloads
	d.res.Dropped = d.res.Dropped[:0]
	d.res.Keep, d.res.Acked = nil, nil
	now := d.now()
	replayed := del.Format == FormatJournal
	var rec journalRecord
	if d.journal != nil {
		// A packet from the journal is taken at the time it first came,
		// with its seq, after the expiries journaled before it. The
		// messages it completes are written again; what it (or they)
		// drop was dead-lettered when it first happened. Expiries
		// journaled after the last packet go before the first live frame.
		var expiries []journalRecord
		var ok bool
		if replayed {
			if expiries, rec, ok = d.journal.replayed(); !ok {
				return d.refuse(ingest.Reject{Reason: ingest.ReasonHJ212Frame, Detail: "a journal delivery the journal did not replay"})
			}
			now = rec.at
		} else if len(d.journal.replay) > 0 {
			expiries, d.journal.replay = d.journal.replay, nil
		}
		for _, x := range expiries {
			d.reasm.Expire(x.at)
			d.lastSeq = max(d.lastSeq, x.seq)
		}
	}
	if now.Sub(d.lastExpire) >= expireEvery {
		d.lastExpire = now
		ds := d.reasm.Expire(now)
		d.dropped(ds, replayed)
		if len(ds) > 0 && !replayed {
			d.journalExpiry(now)
		}
		d.releaseJournal()
	}

	v := d.chk.check(del.Payload, del.Station)
	if !v.ok() {
		return d.refuse(v.reject)
	}
	f, st := v.frame, v.station
	if f.SwappedCRC && !replayed {
		d.m.swappedCRC.WithLabelValues(st.ID).Inc()
	}
	if !isData(f.CN) && isUpload(f.CN) {
		// Status, running time, restart time, heartbeat: received and
		// acked, not stored, as the Listener answers them over TCP.
		d.log.Debug("frame not ingested", "cn", f.CN, "station", st.ID)
		return &d.res
	}
	if !isData(f.CN) {
		return d.refuse(ingest.Reject{Reason: ingest.ReasonHJ212NotData, Station: st.ID,
			Detail: fmt.Sprintf("CN=%s carries no data: only 2011, 2051, 2061 and 2031 are ingested", f.CN)})
	}
	if f.IsSplit() {
		seq := rec.seq
		if !replayed && d.journal != nil {
			seq = d.journal.next()
		}
		d.lastSeq = max(d.lastSeq, seq)
		o, err := d.reasm.AddSeq(f, now, seq)
		d.dropped(o.Dropped, replayed)
		if len(o.Dropped) > 0 && !o.Kept && !replayed {
			d.journalExpiry(now) // dropped on a resend, which is not journaled
		}
		if err != nil {
			return d.refuse(ingest.Reject{Reason: ingest.ReasonHJ212Frame, Station: st.ID, Detail: err.Error()})
		}
		if o.Kept && !replayed && d.journal != nil {
			d.keepRec = appendJournalRecord(d.keepRec[:0], journalRecord{kind: recPacket, at: now, seq: seq, first: o.First,
				station: del.Station, topic: del.Topic, frame: del.Payload})
			d.res.Keep = d.keepFn
		}
		d.releaseJournal()
		if o.Whole == nil {
			return &d.res // held until the message is complete
		}
		f = o.Whole
	}
	b, err := f.Readings(st.ID, st.HJ212Units, nil)
	if err != nil {
		reason := ingest.ReasonHJ212Frame
		if errors.Is(err, hj212.ErrDataTime) {
			reason = ingest.ReasonBadTime
		}
		return d.refuse(ingest.Reject{Reason: reason, Station: st.ID, Detail: err.Error()})
	}
	for _, p := range b.Problems {
		d.res.Rejects = append(d.res.Rejects, ingest.Reject{Reason: problemReason(p.Reason), Station: st.ID, Param: p.Key,
			Detail: fmt.Sprintf("%s at %s: %s", p.Reason, hj212.FormatDataTime(p.Time, nil), p.Detail)})
	}
	for _, n := range b.Notes {
		// Kept as not N (standards.md §4.7): counted, not refused, since
		// such a station sends the flag in every frame.
		d.m.unknownFlags.WithLabelValues(st.ID).Inc()
		d.log.Debug("value kept with a flag outside HJ 212-2017 Table 8", "station", st.ID, "factor", n.Key, "detail", n.Detail)
	}
	per := period(b.Period)
	for _, r := range b.Readings {
		r.Period = per
		d.res.Readings = append(d.res.Readings, r)
	}
	return &d.res
}

func (d *Decoder) refuse(rj ingest.Reject) *decode.Result {
	d.res.Rejects = append(d.res.Rejects, rj)
	return &d.res
}

// journalExpiry journals that messages expired at now on a delivery that
// journals nothing, so that a replay drops them as they were dropped now.
// Lost in a crash, it costs a second dead letter, so it waits for no fsync.
func (d *Decoder) journalExpiry(now time.Time) {
	if d.journal == nil {
		return
	}
	seq := d.journal.next()
	d.lastSeq = seq
	d.journal.append(appendJournalRecord(nil, journalRecord{kind: recExpire, at: now, seq: seq, first: seq}), nil)
}

// releaseJournal lets the journal drop the packets the reassembler no
// longer needs once this delivery is acked: then the readings of every
// message completed so far are durable in the WAL.
func (d *Decoder) releaseJournal() {
	if d.journal == nil {
		return
	}
	target, ok := d.reasm.OldestSeq()
	if !ok {
		// Not the journal's last seq: while it is replayed, the records
		// after this one are still to come.
		target = d.lastSeq + 1
	}
	d.res.Acked = d.journal.release(target)
}

// dropped counts the split messages the reassembler gave up on and hands
// their packets to the pipeline to dead-letter (re-encoded, which gives the
// bytes received up to the terminator) under the reason they were dropped
// for: each was acknowledged when it came, as devices expect, so the dead
// letter is the only copy left to replay. Replaying the journal drops again
// what was dropped before the restart: that was dead-lettered then.
func (d *Decoder) dropped(ds []hj212.Dropped, replayed bool) {
	if replayed {
		return
	}
	for _, x := range ds {
		d.m.splitDropped.WithLabelValues(x.Reason).Inc()
		if len(x.Parts) == 0 {
			continue
		}
		p := x.Parts[0]
		d.log.Warn("split HJ 212 message dropped; its packets are dead-lettered", "reason", x.Reason, "mn", p.MN, "cn", p.CN,
			"packets", len(x.Parts), "of", p.PNUM)
		var stID string
		if st, ok := d.chk.reg.LookupMN(p.MN); ok {
			stID = st.ID
		}
		for _, f := range x.Parts {
			b, err := f.Encode()
			if err != nil {
				// A parsed frame re-encodes; should one not, keep its text.
				b = []byte(fmt.Sprintf("QN=%s;ST=%s;CN=%s;MN=%s;PNUM=%d;PNO=%d;CP=&&%s&&", f.QN, f.ST, f.CN, f.MN, f.PNUM, f.PNO, f.CP.String()))
			}
			d.res.Dropped = append(d.res.Dropped, decode.Dropped{Payload: b, Reject: ingest.Reject{
				Reason: ingest.Reason(x.Reason), Station: stID,
				Detail: fmt.Sprintf("packet %d of %d (QN=%s, CN=%s) of a split message given up on; %d of %d packets had arrived",
					f.PNO, f.PNUM, f.QN, f.CN, len(x.Parts), f.PNUM)}})
		}
	}
}
