package hj212

import (
	"container/list"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

// Defaults for ReassemblerConfig's zero fields.
const (
	DefaultMaxPending = 256
	DefaultMaxAge     = 10 * time.Minute
	DefaultMaxBytes   = 4 << 20
)

// ReassemblerConfig bounds what a Reassembler holds.
type ReassemblerConfig struct {
	MaxPending int           // split messages held at once; 0 means DefaultMaxPending
	MaxAge     time.Duration // time from a message's first packet to its last, and how long a completed one is remembered; 0 means DefaultMaxAge
	MaxBytes   int           // data-segment bytes of held packets; 0 means DefaultMaxBytes
}

// Reassembler joins the packets of split messages (PNUM > 1) into one frame.
//
// Packets belong together when they share MN, ST, CN and PNUM. Not QN: in
// the standard's own examples (HJ 212-2017 Appendix C, standards.md §4.3)
// every packet has its own QN. Not DataTime: nothing obliges a packet to
// carry one, and a history upload may put different hours in one message.
//
// A device sends the packets of one message in a row, 1..PNUM, and sends a
// packet again when its 9014 does not come back. So:
//   - a retransmission is ignored: a packet with the CP of the one held
//     under its PNO, or with the QN and CP of that packet of the last
//     message completed under its key (remembered for MaxAge);
//   - any other packet whose PNO is at or below the highest PNO held starts
//     a new message, and the one held is dropped as incomplete.
//
// Without the memory of completed messages, a resent last packet would
// start a message that the next message's first packet completes, and
// every later message would be joined with its neighbour's packets.
//
// It is safe for concurrent use: one Reassembler can serve every
// connection. Time is passed in, so tests need no clock.
type Reassembler struct {
	cfg ReassemblerConfig

	mu      sync.Mutex
	pending map[splitKey]*partial
	order   *list.List // *partial, oldest first
	bytes   int

	// The last message completed under each key, to recognise its resends.
	seed     maphash.Seed
	done     map[splitKey]*completed
	doneList *list.List // *completed, oldest first
	doneSums int        // packet sums held in done, bounded like the packets held
}

// completed is what is remembered of a joined message: a sum of each
// packet's QN and CP, by PNO-1. Sums, not copies, so that remembering costs
// 8 bytes a packet.
type completed struct {
	key  splitKey
	at   time.Time
	seq  uint64 // the seq of its first packet (AddSeq)
	sums []uint64
	elem *list.Element
}

type splitKey struct {
	mn, st, cn string
	pnum       int
}

type partial struct {
	key   splitKey
	first time.Time
	seq   uint64   // the caller's seq of the packet that started it (AddSeq)
	parts []*Frame // in arrival order; at most one per PNO
	maxNO int      // highest PNO in parts
	size  int
	elem  *list.Element
}

// Dropped is a split message given up on, with the packets that had arrived
// (in PNO order) so that the caller can dead-letter them.
type Dropped struct {
	Reason string // ReasonSplitExpired, ReasonSplitEvicted or ReasonSplitIncomplete
	Parts  []*Frame
}

// NewReassembler returns a Reassembler with cfg's bounds.
func NewReassembler(cfg ReassemblerConfig) *Reassembler {
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	return &Reassembler{cfg: cfg, pending: make(map[splitKey]*partial), order: list.New(),
		seed: maphash.MakeSeed(), done: make(map[splitKey]*completed), doneList: list.New()}
}

// Add takes one frame. A frame that is not split comes straight back. A
// packet of a split message is held until every packet 1..PNUM is in; the
// call that completes it returns the joined frame: the first packet's header
// with the D bit, PNUM and PNO cleared, and the packets' CP items in PNO
// order (Readings merges the DataTime groups they repeat). A resent packet
// returns nothing, whether its message is held or already joined.
//
// Add also returns the messages it gave up on to stay within bounds or
// because they grew older than MaxAge (call Expire on a timer as well, so
// that a station that falls silent does not hold memory). It fails, holding
// nothing, for a packet larger than MaxBytes or with an impossible PNO.
func (r *Reassembler) Add(f *Frame, now time.Time) (*Frame, []Dropped, error) {
	o, err := r.AddSeq(f, now, 0)
	return o.Whole, o.Dropped, err
}

// Outcome is what AddSeq did with a packet.
type Outcome struct {
	// Whole is the joined message when the packet completed it; for a frame
	// that is not split, the frame itself.
	Whole *Frame
	// Dropped are the messages given up on (see Add).
	Dropped []Dropped
	// Kept reports that the packet joined a message (held, or completing
	// it); false for a resend, which changes nothing, and for a frame that
	// is not split.
	Kept bool
	// First is the seq of the packet that started the message the packet
	// joined, when Kept.
	First uint64
}

// AddSeq is Add for a caller that keeps a journal of the packets it hands
// in, to rebuild the Reassembler after a restart: seq numbers the packets,
// increasing with arrival. The Outcome says whether the packet changed what
// is held (a journal needs only those) and which message it joined, and
// OldestSeq says from which packet on the journal is still needed. Replaying
// the journal's packets, with their seqs and arrival times, into a new
// Reassembler with the same bounds makes the same decisions again.
func (r *Reassembler) AddSeq(f *Frame, now time.Time, seq uint64) (Outcome, error) {
	if f.PNUM <= 1 {
		return Outcome{Whole: f}, nil
	}
	if f.PNO < 1 || f.PNO > f.PNUM {
		return Outcome{}, frameErr(ErrSyntax, "PNO", fmt.Sprintf("packet %d of %d", f.PNO, f.PNUM))
	}
	size := f.segmentSize()
	if size > r.cfg.MaxBytes {
		return Outcome{}, fmt.Errorf("%w: packet of %d bytes exceeds the reassembly bound of %d", ErrTooLong, size, r.cfg.MaxBytes)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	dropped := r.expireLocked(now)
	key := splitKey{f.MN, f.ST, f.CN, f.PNUM}
	p := r.pending[key]
	if p != nil {
		// Within a message the CP alone decides: a device that gives a
		// resend a new QN still sends the same data.
		if i := slices.IndexFunc(p.parts, func(q *Frame) bool { return q.PNO == f.PNO }); i >= 0 &&
			p.parts[i].CP.String() == f.CP.String() {
			return Outcome{Dropped: dropped}, nil
		}
	}
	// Across messages the QN must match too: the next message may repeat a
	// packet's values (a stuck sensor), never its QN.
	if c := r.done[key]; c != nil && c.sums[f.PNO-1] == r.sum(f) {
		return Outcome{Dropped: dropped}, nil
	}
	if p != nil && f.PNO <= p.maxNO {
		dropped = append(dropped, r.removeLocked(p, ReasonSplitIncomplete))
		p = nil
	}
	if p == nil {
		for len(r.pending) >= r.cfg.MaxPending {
			dropped = append(dropped, r.removeLocked(r.order.Front().Value.(*partial), ReasonSplitEvicted))
		}
		p = r.startLocked(key, now, seq)
	}
	for r.bytes+size > r.cfg.MaxBytes {
		oldest := r.order.Front().Value.(*partial)
		if oldest == p {
			if p.elem.Next() == nil {
				// p alone is too big: drop what it holds and start over.
				dropped = append(dropped, r.removeLocked(p, ReasonSplitEvicted))
				p = r.startLocked(key, now, seq)
				continue
			}
			oldest = p.elem.Next().Value.(*partial)
		}
		dropped = append(dropped, r.removeLocked(oldest, ReasonSplitEvicted))
	}
	p.parts = append(p.parts, f)
	p.maxNO = max(p.maxNO, f.PNO)
	p.size += size
	r.bytes += size
	o := Outcome{Dropped: dropped, Kept: true, First: p.seq}
	if len(p.parts) < f.PNUM {
		return o, nil
	}
	r.removeLocked(p, "")
	r.rememberLocked(key, p.parts, now, p.seq)
	o.Whole = join(p.parts)
	return o, nil
}

// startLocked begins holding a new message under key.
func (r *Reassembler) startLocked(key splitKey, now time.Time, seq uint64) *partial {
	p := &partial{key: key, first: now, seq: seq}
	p.elem = r.order.PushBack(p)
	r.pending[key] = p
	return p
}

// OldestSeq returns the lowest seq (AddSeq) a journal still needs: that of
// the first packet of the oldest message held or remembered as completed
// (to recognise its resends). Replaying the journal from there rebuilds
// both. False when nothing is held or remembered.
func (r *Reassembler) OldestSeq() (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var oldest uint64
	found := false
	if e := r.order.Front(); e != nil {
		oldest, found = e.Value.(*partial).seq, true
	}
	// Completed messages are listed in the order they completed, not
	// begun; there are at most MaxPending of them.
	for e := r.doneList.Front(); e != nil; e = e.Next() {
		if c := e.Value.(*completed); !found || c.seq < oldest {
			oldest, found = c.seq, true
		}
	}
	return oldest, found
}

// sum identifies a packet's content for recognising its resends.
func (r *Reassembler) sum(f *Frame) uint64 {
	var h maphash.Hash
	h.SetSeed(r.seed)
	h.WriteString(f.QN)
	h.WriteByte(0) // so that QN and CP cannot run into each other
	h.Write(f.CP.appendTo(nil))
	return h.Sum64()
}

// rememberLocked records a completed message (parts sorted by PNO), in place
// of the previous one under its key. At most MaxPending messages, and no more
// sums than MaxBytes/64 (the fewest bytes a held packet counts for), are
// kept: the oldest are forgotten first.
func (r *Reassembler) rememberLocked(key splitKey, parts []*Frame, now time.Time, seq uint64) {
	if old := r.done[key]; old != nil {
		r.forgetLocked(old)
	}
	c := &completed{key: key, at: now, seq: seq, sums: make([]uint64, len(parts))}
	for i, f := range parts {
		c.sums[i] = r.sum(f)
	}
	c.elem = r.doneList.PushBack(c)
	r.done[key] = c
	r.doneSums += len(c.sums)
	for len(r.done) > r.cfg.MaxPending || r.doneSums > r.cfg.MaxBytes/64 {
		r.forgetLocked(r.doneList.Front().Value.(*completed))
	}
}

func (r *Reassembler) forgetLocked(c *completed) {
	r.doneList.Remove(c.elem)
	delete(r.done, c.key)
	r.doneSums -= len(c.sums)
}

// Expire drops the messages whose first packet arrived more than MaxAge
// before now, and forgets the completed ones older than that.
func (r *Reassembler) Expire(now time.Time) []Dropped {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.expireLocked(now)
}

// Pending returns how many split messages are waiting for packets.
func (r *Reassembler) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

func (r *Reassembler) expireLocked(now time.Time) []Dropped {
	var dropped []Dropped
	for e := r.order.Front(); e != nil; e = r.order.Front() {
		p := e.Value.(*partial)
		if now.Sub(p.first) <= r.cfg.MaxAge {
			break
		}
		dropped = append(dropped, r.removeLocked(p, ReasonSplitExpired))
	}
	for e := r.doneList.Front(); e != nil; e = r.doneList.Front() {
		c := e.Value.(*completed)
		if now.Sub(c.at) <= r.cfg.MaxAge {
			break
		}
		r.forgetLocked(c)
	}
	return dropped
}

func (r *Reassembler) removeLocked(p *partial, reason string) Dropped {
	r.order.Remove(p.elem)
	delete(r.pending, p.key)
	r.bytes -= p.size
	slices.SortFunc(p.parts, func(a, b *Frame) int { return a.PNO - b.PNO })
	return Dropped{Reason: reason, Parts: p.parts}
}

// join builds the logical frame from a complete, PNO-sorted set of packets.
func join(parts []*Frame) *Frame {
	first := parts[0]
	out := &Frame{
		QN: first.QN, ST: first.ST, CN: first.CN, PW: first.PW, MN: first.MN,
		Flag: first.Flag &^ FlagSplit, HasFlag: first.HasFlag,
	}
	n := 0
	for _, p := range parts {
		n += len(p.CP)
	}
	out.CP = make(CP, 0, n)
	for _, p := range parts {
		out.CP = append(out.CP, p.CP...)
		out.SwappedCRC = out.SwappedCRC || p.SwappedCRC
	}
	return out
}

// segmentSize approximates the bytes a frame's data segment takes: what a
// held packet costs in memory.
func (f *Frame) segmentSize() int {
	n := len(f.QN) + len(f.ST) + len(f.CN) + len(f.PW) + len(f.MN) + 64
	return n + f.cpLenHint()
}
