package pipeline

import "sync"

// ackQueue releases acks in arrival order. A message refused outright is
// ready at once; a message with readings becomes ready when the WAL reports
// its record durable. The WAL reports in append order, so the n-th durable
// report belongs to the n-th WAL-backed entry. A message may also wait on a
// gate: a copy kept elsewhere (decode.Result.Keep) that must be durable too.
type ackQueue struct {
	mu      sync.Mutex
	entries []ackEntry // FIFO; head at index head
	head    int
	durable int  // WAL completions not yet matched to an entry
	failed  bool // a WAL record was lost: nothing is acked any more
}

type ackEntry struct {
	ack    func()
	viaWAL bool
	gate   *ackGate // nil: none
}

// ackGate holds an entry until opened. Guarded by ackQueue.mu.
type ackGate struct{ open bool }

// push adds a message's ack. It must be called in arrival order.
func (q *ackQueue) push(ack func(), viaWAL bool) { q.pushGated(ack, viaWAL, nil) }

// pushGated is push for a message that also waits for g (nil: none).
func (q *ackQueue) pushGated(ack func(), viaWAL bool, g *ackGate) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.entries = append(q.entries, ackEntry{ack: ack, viaWAL: viaWAL, gate: g})
	q.release()
}

// open opens g, whether or not its entry was pushed yet.
func (q *ackQueue) open(g *ackGate) {
	q.mu.Lock()
	defer q.mu.Unlock()
	g.open = true
	q.release()
}

// walDone records that the oldest outstanding WAL record is durable.
func (q *ackQueue) walDone() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.durable++
	q.release()
}

// fail stops all further acks: a WAL record failed, so the count of
// durability reports no longer lines up with the entries.
func (q *ackQueue) fail() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.failed = true
}

// pending is the number of messages not yet acked.
func (q *ackQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries) - q.head
}

// release acks from the head while the head is ready. Called with mu held,
// so acks are never sent out of order even from two goroutines.
func (q *ackQueue) release() {
	for !q.failed && q.head < len(q.entries) {
		e := &q.entries[q.head]
		if e.gate != nil && !e.gate.open {
			break
		}
		if e.viaWAL {
			if q.durable == 0 {
				break
			}
			q.durable--
		}
		if e.ack != nil {
			e.ack()
		}
		*e = ackEntry{}
		q.head++
	}
	// Compact once the consumed prefix dominates, keeping pushes O(1) amortised.
	if q.head > 0 && q.head*2 >= len(q.entries) {
		n := copy(q.entries, q.entries[q.head:])
		q.entries = q.entries[:n]
		q.head = 0
	}
}
