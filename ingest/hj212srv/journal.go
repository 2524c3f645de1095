package hj212srv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envpipe/envpipe/ingest/pipeline"
	"github.com/envpipe/envpipe/ingest/wal"
)

// FormatJournal is the format of the deliveries Journal.Replay returns:
// the frames as they first came (their topic too, for dead letters), which
// the Decoder takes at the time they first came, without journaling them
// again. Register the Decoder for it as well as for pipeline.FormatHJ212.
const FormatJournal pipeline.Format = "hj212-journal"

// Journal keeps the packets of split HJ 212 messages on disk, so that a
// packet acknowledged while its message was incomplete (devices wait for
// each packet's 9014) survives a restart. The Decoder appends every packet
// its Reassembler keeps, and the packet's ack waits for that record to be
// fsynced as it waits for the WAL. Records stay until the Reassembler no
// longer needs them (hj212.Reassembler.OldestSeq) and the message that
// released them is acked, so that everything its readings depend on is
// durable in the WAL. At start, Replay hands the remaining packets back to
// the pipeline, which rebuilds the Reassembler's state exactly and writes
// again the readings of messages completed since (points are idempotent in
// InfluxDB).
//
// It is a wal.WAL of its own, in a directory of its own (the WAL's
// "hj212-split" subdirectory), with small segments: split messages are
// rare and short-lived, so it holds little.
type Journal struct {
	log    *wal.WAL
	logger *slog.Logger

	seq    uint64          // the last seq given out; the pipeline goroutine's
	replay []journalRecord // what Replay handed out, for the Decoder, in order
	target atomic.Uint64   // records below this seq may go
	kick   chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// JournalDir is where run keeps the journal: beside the WAL's segments.
const JournalDir = "hj212-split"

const (
	journalVersion = 1
	// version, kind, arrival, seq, first, station and topic lengths
	journalHeader  = 1 + 1 + 8 + 8 + 8 + 2 + 2
	journalSegment = 1 << 20
)

// Kinds of journal records.
const (
	recPacket = 'P' // a packet the Reassembler kept
	// recExpire: the Reassembler dropped expired messages at this time, on
	// a delivery that journals nothing; replaying it drops them again, as
	// they were dropped (and dead-lettered) the first time.
	recExpire = 'E'
)

// OpenJournal opens (or creates) the journal in dir.
func OpenJournal(dir string, logger *slog.Logger) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("hj212 journal: %w", err)
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return nil, fmt.Errorf("hj212 journal: %w", err)
	}
	logger = orDiscard(logger).With("component", "hj212-journal")
	log, err := wal.Open(dir, wal.Options{SegmentSize: journalSegment, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("hj212 journal: %w", err)
	}
	j := &Journal{log: log, logger: logger, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	j.wg.Add(1)
	go j.run()
	return j, nil
}

// syncDir makes a directory's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// journalRecord is one journal record.
type journalRecord struct {
	kind       byte
	at         time.Time
	seq, first uint64
	station    string // the station the transport vouched for ("" over TCP)
	topic      string // the delivery's topic (or peer), for dead letters
	frame      []byte
}

func appendJournalRecord(b []byte, r journalRecord) []byte {
	station, topic := r.station[:min(len(r.station), 1<<16-1)], r.topic[:min(len(r.topic), 1<<16-1)]
	b = append(b, journalVersion, r.kind)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.at.UnixNano()))
	b = binary.LittleEndian.AppendUint64(b, r.seq)
	b = binary.LittleEndian.AppendUint64(b, r.first)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(station)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(topic)))
	b = append(b, station...)
	b = append(b, topic...)
	return append(b, r.frame...)
}

func parseJournalRecord(b []byte) (journalRecord, error) {
	if len(b) < journalHeader || b[0] != journalVersion || (b[1] != recPacket && b[1] != recExpire) {
		return journalRecord{}, fmt.Errorf("hj212 journal: a record of %d bytes that is not one of this version's", len(b))
	}
	r := journalRecord{
		kind:  b[1],
		at:    time.Unix(0, int64(binary.LittleEndian.Uint64(b[2:]))),
		seq:   binary.LittleEndian.Uint64(b[10:]),
		first: binary.LittleEndian.Uint64(b[18:]),
	}
	ns, nt := int(binary.LittleEndian.Uint16(b[26:])), int(binary.LittleEndian.Uint16(b[28:]))
	if len(b) < journalHeader+ns+nt {
		return journalRecord{}, fmt.Errorf("hj212 journal: record of %d bytes, shorter than its header says", len(b))
	}
	r.station = string(b[journalHeader : journalHeader+ns])
	r.topic = string(b[journalHeader+ns : journalHeader+ns+nt])
	r.frame = b[journalHeader+ns+nt:]
	return r, nil
}

// Replay reads the records the journal still holds and returns the
// packets as deliveries (FormatJournal, their frames and topics, no Ack) to
// hand to the pipeline, in order, before any transport delivers; the
// Decoder takes their arrival times and seqs from the journal, in the same
// order (next). The records of messages begun before the first record kept
// are left out: those messages were done with. Call it once, before the
// journal is used.
func (j *Journal) Replay() ([]pipeline.Delivery, error) {
	var out []pipeline.Delivery
	pos := j.log.Checkpoint()
	var from uint64
	haveFrom := false
	for {
		recs, next, err := j.log.Read(pos, 1<<20)
		if errors.Is(err, wal.ErrCorrupt) {
			j.logger.Warn("damaged record in the journal of split HJ 212 packets; the rest of its segment is skipped", "err", err)
			pos = next
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("hj212 journal: replay: %w", err)
		}
		if len(recs) == 0 {
			break
		}
		pos = next
		for _, b := range recs {
			r, err := parseJournalRecord(b)
			if err != nil {
				j.logger.Warn("journal record skipped", "err", err)
				continue
			}
			j.seq = max(j.seq, r.seq)
			if !haveFrom {
				from, haveFrom = r.seq, true
			}
			if r.first < from {
				continue
			}
			r.frame = slices.Clone(r.frame) // Read's buffer is reused
			j.replay = append(j.replay, r)
			if r.kind == recPacket {
				out = append(out, pipeline.Delivery{Format: FormatJournal, Topic: r.topic, Station: r.station, Payload: r.frame})
			}
		}
	}
	if len(out) > 0 {
		j.logger.Info("split HJ 212 packets replayed from the journal", "packets", len(out))
	}
	return out, nil
}

// replayed returns the expiries journaled before the next replayed packet,
// and that packet's record: the Decoder calls it for each FormatJournal
// delivery, which come in the order Replay returned them.
func (j *Journal) replayed() (expiries []journalRecord, packet journalRecord, ok bool) {
	for i, r := range j.replay {
		if r.kind == recPacket {
			expiries, packet = j.replay[:i], r
			j.replay = j.replay[i+1:]
			return expiries, packet, true
		}
	}
	return nil, journalRecord{}, false
}

// next gives out the seq of a new packet.
func (j *Journal) next() uint64 {
	j.seq++
	return j.seq
}

// append journals rec; done (nil: none) reports its durability.
func (j *Journal) append(rec []byte, done func(error)) {
	if err := j.log.Append(context.Background(), rec, done); err != nil && done != nil {
		done(err)
	}
}

// release lets records below seq go, once called: the Decoder hands it to
// the pipeline as the Acked of the message that made them unneeded.
func (j *Journal) release(seq uint64) func() {
	return func() {
		for {
			cur := j.target.Load()
			if seq <= cur || j.target.CompareAndSwap(cur, seq) {
				break
			}
		}
		select {
		case j.kick <- struct{}{}:
		default:
		}
	}
}

// run trims the journal when released, off the ack path.
func (j *Journal) run() {
	defer j.wg.Done()
	for {
		select {
		case <-j.stop:
			return
		case <-j.kick:
		}
		if err := j.trim(j.target.Load()); err != nil && !errors.Is(err, wal.ErrClosed) {
			j.logger.Warn("journal of split HJ 212 packets not trimmed", "err", err)
		}
	}
}

// trim moves the checkpoint to the first durable record whose seq is not
// below target, deleting the segments wholly before it.
func (j *Journal) trim(target uint64) error {
	start := j.log.Checkpoint()
	pos := start
	for {
		recs, next, err := j.log.Read(pos, 1)
		if errors.Is(err, wal.ErrCorrupt) {
			pos = next
			continue
		}
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			break
		}
		if r, err := parseJournalRecord(recs[0]); err == nil && r.seq >= target {
			break
		}
		pos = next
	}
	if pos == start {
		return nil
	}
	return j.log.Commit(pos)
}

// Close stops trimming, trims what the last acks released, and closes
// the journal after its last records are fsynced (their acks may then
// go). Idempotent.
func (j *Journal) Close() error {
	var err error
	j.once.Do(func() {
		close(j.stop)
		j.wg.Wait()
		if terr := j.trim(j.target.Load()); terr != nil && !errors.Is(terr, wal.ErrClosed) {
			j.logger.Warn("journal of split HJ 212 packets not trimmed", "err", terr)
		}
		err = j.log.Close()
	})
	return err
}
