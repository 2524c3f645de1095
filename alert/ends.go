package alert

import (
	"sync"
	"time"
)

// endsKept bounds how long an end is owed: longer than a failing
// notification is tried (maxTries, about half an hour).
const endsKept = time.Hour

// sentEnd is an end (a resolved notification) and when it was handed out.
type sentEnd struct {
	n  Notification
	at time.Time
}

// endsBook keeps the ends handed to the workers until every worker is done
// with them: delivered, given up, or superseded by a newer notification
// of the alert. What a stop or a crash kept from a receiver is still owed
// then; the engine saves it in the state file and sends it again at the
// next start, since no re-send carries an end. Its mutex is taken with a
// worker's or the engine's held, never the other way round.
type endsBook struct {
	mu   sync.Mutex
	list []owedEnd
}

type owedEnd struct {
	sentEnd
	owed int // workers not done with it
}

// add records ends handed out at, to workers workers.
func (b *endsBook) add(ends []sentEnd, workers int) {
	if workers == 0 || len(ends) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, x := range ends {
		b.list = append(b.list, owedEnd{sentEnd: x, owed: workers})
	}
	b.pruneLocked(ends[len(ends)-1].at)
}

// pruneLocked forgets ends older than endsKept at now, and the oldest
// beyond maxQueued.
func (b *endsBook) pruneLocked(now time.Time) {
	old := 0
	for old < len(b.list) && now.Sub(b.list[old].at) > endsKept {
		old++
	}
	old = max(old, len(b.list)-maxQueued)
	if old > 0 {
		b.list = append(b.list[:0], b.list[old:]...)
	}
}

// done records that a worker is done with the ends among ns.
func (b *endsBook) done(ns ...Notification) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.list) == 0 {
		return // nearly always: ends are owed only until they are delivered
	}
	for i := range ns {
		n := &ns[i]
		if n.Status != StatusResolved {
			continue
		}
		fp := n.Fingerprint()
		for k := range b.list {
			x := &b.list[k]
			if x.owed > 0 && x.n.StartsAt.Equal(n.StartsAt) && x.n.Fingerprint() == fp {
				x.owed--
				break
			}
		}
	}
	k := 0
	for _, x := range b.list {
		if x.owed > 0 {
			b.list[k] = x
			k++
		}
	}
	clear(b.list[k:])
	b.list = b.list[:k]
}

// owed returns the ends still owed, followed by those in next (about to be
// handed out at now).
func (b *endsBook) owed(next []Notification, now time.Time) []sentEnd {
	b.mu.Lock()
	b.pruneLocked(now)
	out := make([]sentEnd, 0, len(b.list))
	for _, x := range b.list {
		out = append(out, x.sentEnd)
	}
	b.mu.Unlock()
	for _, n := range next {
		if n.Status == StatusResolved {
			out = append(out, sentEnd{n: n, at: now})
		}
	}
	return out
}
