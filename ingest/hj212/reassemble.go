package hj212

import (
	"container/list"
	"fmt"
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
	MaxAge     time.Duration // time from a message's first packet to its last; 0 means DefaultMaxAge
	MaxBytes   int           // data-segment bytes of held packets; 0 means DefaultMaxBytes
}

// Reassembler joins the packets of split messages (PNUM > 1) into one frame.
//
// Packets belong together when they share MN, ST, CN and PNUM. Not QN: in
// the standard's own examples (HJ 212-2017 Appendix C, standards.md §4.3)
// every packet has its own QN. Not DataTime: nothing obliges a packet to
// carry one, and a history upload may put different hours in one message. A device sends the
// packets of one message in a row, so a packet number that arrives a second
// time with different data means a new message has started; the old one is
// dropped as incomplete. The same packet arriving again unchanged (a
// retransmission) simply replaces its copy.
//
// It is safe for concurrent use: one Reassembler can serve every
// connection. Time is passed in, so tests need no clock.
type Reassembler struct {
	cfg ReassemblerConfig

	mu      sync.Mutex
	pending map[splitKey]*partial
	order   *list.List // *partial, oldest first
	bytes   int
}

type splitKey struct {
	mn, st, cn string
	pnum       int
}

type partial struct {
	key   splitKey
	first time.Time
	parts []*Frame // in arrival order; at most one per PNO
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
	return &Reassembler{cfg: cfg, pending: make(map[splitKey]*partial), order: list.New()}
}

// Add takes one frame. A frame that is not split comes straight back. A
// packet of a split message is held until every packet 1..PNUM is in; the
// call that completes it returns the joined frame: the first packet's header
// with the D bit, PNUM and PNO cleared, and the packets' CP items in PNO
// order (Readings merges the DataTime groups they repeat).
//
// Add also returns the messages it gave up on to stay within bounds or
// because they grew older than MaxAge (call Expire on a timer as well, so
// that a station that falls silent does not hold memory). It fails, holding
// nothing, for a packet larger than MaxBytes or with an impossible PNO.
func (r *Reassembler) Add(f *Frame, now time.Time) (*Frame, []Dropped, error) {
	if f.PNUM <= 1 {
		return f, nil, nil
	}
	if f.PNO < 1 || f.PNO > f.PNUM {
		return nil, nil, frameErr(ErrSyntax, "PNO", fmt.Sprintf("packet %d of %d", f.PNO, f.PNUM))
	}
	size := f.segmentSize()
	if size > r.cfg.MaxBytes {
		return nil, nil, fmt.Errorf("%w: packet of %d bytes exceeds the reassembly bound of %d", ErrTooLong, size, r.cfg.MaxBytes)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	dropped := r.expireLocked(now)
	key := splitKey{f.MN, f.ST, f.CN, f.PNUM}
	p := r.pending[key]
	if p != nil {
		if i := slices.IndexFunc(p.parts, func(q *Frame) bool { return q.PNO == f.PNO }); i >= 0 {
			if p.parts[i].CP.String() == f.CP.String() {
				r.bytes += size - p.parts[i].segmentSize()
				p.size += size - p.parts[i].segmentSize()
				p.parts[i] = f
				return nil, dropped, nil
			}
			dropped = append(dropped, r.removeLocked(p, ReasonSplitIncomplete))
			p = nil
		}
	}
	if p == nil {
		for len(r.pending) >= r.cfg.MaxPending {
			dropped = append(dropped, r.removeLocked(r.order.Front().Value.(*partial), ReasonSplitEvicted))
		}
		p = &partial{key: key, first: now}
		p.elem = r.order.PushBack(p)
		r.pending[key] = p
	}
	for r.bytes+size > r.cfg.MaxBytes {
		oldest := r.order.Front().Value.(*partial)
		if oldest == p {
			if p.elem.Next() == nil {
				// p alone is too big: drop what it holds and start over.
				dropped = append(dropped, r.removeLocked(p, ReasonSplitEvicted))
				p = &partial{key: key, first: now}
				p.elem = r.order.PushBack(p)
				r.pending[key] = p
				continue
			}
			oldest = p.elem.Next().Value.(*partial)
		}
		dropped = append(dropped, r.removeLocked(oldest, ReasonSplitEvicted))
	}
	p.parts = append(p.parts, f)
	p.size += size
	r.bytes += size
	if len(p.parts) < f.PNUM {
		return nil, dropped, nil
	}
	r.removeLocked(p, "")
	return join(p.parts), dropped, nil
}

// Expire drops the messages whose first packet arrived more than MaxAge
// before now.
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
