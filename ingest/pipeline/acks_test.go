package pipeline

import (
	"slices"
	"testing"
)

// The ack rule: acks leave in arrival order, a refused message waits for
// the WAL-backed messages before it, and a WAL completion releases exactly
// the oldest WAL-backed message.
func TestAcksLeaveInArrivalOrder(t *testing.T) {
	steps := []struct {
		name string
		do   func(q *ackQueue, ack func(int) func())
		want []int // acked so far
	}{
		{"a refused message with nothing before it is acked at once",
			func(q *ackQueue, ack func(int) func()) { q.push(ack(1), false) }, []int{1}},
		{"a message with readings waits for the WAL",
			func(q *ackQueue, ack func(int) func()) { q.push(ack(2), true) }, []int{1}},
		{"a refused message behind it waits too",
			func(q *ackQueue, ack func(int) func()) { q.push(ack(3), false) }, []int{1}},
		{"another WAL-backed message queues behind",
			func(q *ackQueue, ack func(int) func()) { q.push(ack(4), true) }, []int{1}},
		{"the first durable report releases 2 and the refused 3, not 4",
			func(q *ackQueue, _ func(int) func()) { q.walDone() }, []int{1, 2, 3}},
		{"a derived record (no ack) queues like a message",
			func(q *ackQueue, _ func(int) func()) { q.push(nil, true) }, []int{1, 2, 3}},
		{"the second report releases 4",
			func(q *ackQueue, _ func(int) func()) { q.walDone() }, []int{1, 2, 3, 4}},
		{"the third matches the derived record",
			func(q *ackQueue, ack func(int) func()) { q.walDone(); q.push(ack(5), false) }, []int{1, 2, 3, 4, 5}},
	}
	var q ackQueue
	var acked []int
	ack := func(n int) func() { return func() { acked = append(acked, n) } }
	for _, s := range steps {
		s.do(&q, ack)
		if !slices.Equal(acked, s.want) {
			t.Fatalf("%s: acked %v, want %v", s.name, acked, s.want)
		}
	}
	if q.pending() != 0 {
		t.Errorf("%d pending at the end", q.pending())
	}
}

func TestAckQueueStaysSmall(t *testing.T) {
	var q ackQueue
	n := 0
	for i := 0; i < 100000; i++ {
		q.push(func() { n++ }, true)
		q.walDone()
	}
	if n != 100000 || cap(q.entries) > 64 {
		t.Fatalf("acked %d, queue capacity %d", n, cap(q.entries))
	}
}

// A message whose decoder keeps a copy elsewhere (decode.Result.Keep) waits
// for that copy's gate as well as for the WAL, and holds the messages
// behind it.
func TestGatedAcksWaitForTheirGate(t *testing.T) {
	var q ackQueue
	var acked []int
	ack := func(n int) func() { return func() { acked = append(acked, n) } }
	g1, g2 := &ackGate{}, &ackGate{}
	q.pushGated(ack(1), false, g1) // a held packet: nothing for the WAL
	q.push(ack(2), true)
	q.walDone()
	if len(acked) != 0 {
		t.Fatalf("acked %v before the gate opened", acked)
	}
	q.open(g1)
	if !slices.Equal(acked, []int{1, 2}) {
		t.Fatalf("acked %v after the gate opened, want [1 2]", acked)
	}
	q.open(g2) // opened before its entry is pushed
	q.pushGated(ack(3), true, g2)
	if !slices.Equal(acked, []int{1, 2}) {
		t.Fatalf("acked %v before the WAL reported 3", acked)
	}
	q.walDone()
	if !slices.Equal(acked, []int{1, 2, 3}) {
		t.Fatalf("acked %v, want [1 2 3]", acked)
	}
}
