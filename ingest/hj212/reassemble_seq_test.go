package hj212

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// journalEntry is what a caller of AddSeq journals of a kept packet.
type journalEntry struct {
	f     *Frame
	at    time.Time
	seq   uint64
	first uint64
}

// TestReassemblerReplayFromItsJournal is the contract a journal relies on:
// cut a random packet stream anywhere, rebuild a Reassembler from the kept
// packets from the oldest one still needed (OldestSeq, or none when nothing
// is held) on, skipping those of messages that began before it, and the
// rebuilt one goes on exactly as the original: the same messages complete
// and the same packets are dropped, for the same reasons.
func TestReassemblerReplayFromItsJournal(t *testing.T) {
	cfgs := []ReassemblerConfig{{}, {MaxPending: 2}, {MaxBytes: 700}, {MaxAge: 3 * time.Second}}
	for round := range 300 {
		cfg := cfgs[round%len(cfgs)]
		rng := rand.New(rand.NewPCG(uint64(round), 7))
		stream := randomStream(t, rng, 60)
		cut := rng.IntN(len(stream) + 1)

		live := NewReassembler(cfg)
		var journal []journalEntry
		var target uint64 // what a journal could drop below at the cut
		for i, f := range stream[:cut] {
			seq := uint64(i + 1)
			at := t0.Add(time.Duration(i) * 400 * time.Millisecond)
			o, err := live.AddSeq(f, at, seq)
			if err != nil {
				t.Fatal(err)
			}
			if o.Kept {
				journal = append(journal, journalEntry{f, at, seq, o.First})
			}
			if s, ok := live.OldestSeq(); ok {
				target = s
			} else {
				target = seq + 1
			}
		}

		rebuilt := NewReassembler(cfg)
		var from uint64
		for _, e := range journal {
			if e.seq < target {
				continue
			}
			if from == 0 {
				from = e.seq
			}
			if e.first < from {
				continue // its message began before the journal's start: done with
			}
			if _, err := rebuilt.AddSeq(e.f, e.at, e.seq); err != nil {
				t.Fatal(err)
			}
		}
		if live.Pending() != rebuilt.Pending() {
			t.Fatalf("round %d, cut %d: pending %d live, %d rebuilt", round, cut, live.Pending(), rebuilt.Pending())
		}
		for i, f := range stream[cut:] {
			seq := uint64(cut + i + 1)
			at := t0.Add(time.Duration(cut+i) * 400 * time.Millisecond)
			a, _ := live.AddSeq(f, at, seq)
			b, _ := rebuilt.AddSeq(f, at, seq)
			if cpOf(a.Whole) != cpOf(b.Whole) || droppedSummary(a.Dropped) != droppedSummary(b.Dropped) {
				t.Fatalf("round %d, cut %d, packet %d: live %s %s, rebuilt %s %s", round, cut, cut+i,
					cpOf(a.Whole), droppedSummary(a.Dropped), cpOf(b.Whole), droppedSummary(b.Dropped))
			}
		}
	}
}

// randomStream is n packets of 3-packet messages from three devices, each
// sending its packets in order, sometimes twice (a lost 9014) and
// sometimes not at all (a lost packet).
func randomStream(t *testing.T, rng *rand.Rand, n int) []*Frame {
	var out []*Frame
	next := map[string]int{}
	msg := map[string]int{}
	for len(out) < n {
		mn := []string{"A", "B", "C"}[rng.IntN(3)]
		pno := next[mn] + 1
		f := packet(t, mn, pno, 3, fmt.Sprintf("DataTime=2026030108%02d00;v=%d", msg[mn]%60, pno))
		f.QN = fmt.Sprintf("%s-%d-%d", mn, msg[mn], pno)
		switch r := rng.IntN(10); {
		case r == 0: // lost
		case r == 1: // sent twice
			out = append(out, f, f)
		default:
			out = append(out, f)
		}
		if pno == 3 {
			next[mn] = 0
			msg[mn]++
		} else {
			next[mn] = pno
		}
	}
	return out
}

func TestReassemblerOldestSeq(t *testing.T) {
	r := NewReassembler(ReassemblerConfig{})
	if _, ok := r.OldestSeq(); ok {
		t.Fatal("empty reassembler has an oldest seq")
	}
	a1, a2 := packet(t, "A", 1, 2, "x=1"), packet(t, "A", 2, 2, "x=2")
	b1 := packet(t, "B", 1, 2, "y=1")
	steps := []struct {
		f           *Frame
		seq         uint64
		kept        bool
		first       uint64
		oldest      uint64
		oldestFound bool
	}{
		{a1, 10, true, 10, 10, true},
		{b1, 11, true, 11, 10, true},
		{a1, 12, false, 0, 10, true}, // resend
		{a2, 13, true, 10, 10, true}, // completes A, remembered for its resends
		{a2, 14, false, 0, 10, true}, // resend of a completed packet
	}
	for i, s := range steps {
		o, err := r.AddSeq(s.f, t0, s.seq)
		if err != nil {
			t.Fatal(err)
		}
		oldest, ok := r.OldestSeq()
		if o.Kept != s.kept || o.First != s.first || oldest != s.oldest || ok != s.oldestFound {
			t.Errorf("step %d: kept %v first %d oldest %d,%v; want %v %d %d,%v", i, o.Kept, o.First, oldest, ok,
				s.kept, s.first, s.oldest, s.oldestFound)
		}
	}
	r.Expire(t0.Add(DefaultMaxAge + time.Second)) // B dropped, A forgotten
	if oldest, ok := r.OldestSeq(); ok {
		t.Errorf("after MaxAge: oldest %d", oldest)
	}
}
