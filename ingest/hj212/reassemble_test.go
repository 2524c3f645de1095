package hj212

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, CST)

// packet builds one packet of a split 2051 upload, modelled on the
// standard's C.47-C.50 examples: each packet has its own QN and DataTime.
func packet(t testing.TB, mn string, pno, pnum int, cp string) *Frame {
	t.Helper()
	seg := fmt.Sprintf("QN=2026030108%02d00000;ST=22;CN=2051;PW=123456;MN=%s;Flag=7;PNUM=%d;PNO=%d;CP=&&%s&&", pno, mn, pnum, pno, cp)
	return mustParse(t, build(seg), ParseOptions{})
}

func cpOf(f *Frame) string {
	if f == nil {
		return "<nil>"
	}
	return f.CP.String()
}

func droppedSummary(d []Dropped) string {
	var parts []string
	for _, x := range d {
		var pnos []string
		for _, p := range x.Parts {
			pnos = append(pnos, fmt.Sprintf("%s#%d", p.MN, p.PNO))
		}
		parts = append(parts, x.Reason+"("+strings.Join(pnos, ",")+")")
	}
	return strings.Join(parts, " ")
}

func TestReassemblerNotSplit(t *testing.T) {
	r := NewReassembler(ReassemblerConfig{})
	f := mustParse(t, frameByName(t, "TV2"), ParseOptions{})
	got, dropped, err := r.Add(f, t0)
	if got != f || dropped != nil || err != nil || r.Pending() != 0 {
		t.Errorf("got %p (want %p), %v, %v", got, f, dropped, err)
	}
}

func TestReassemblerJoins(t *testing.T) {
	const dt = "DataTime=20260301081000;"
	p1 := packet(t, "A", 1, 2, dt+"a34004-Avg=10,a34004-Flag=N")
	p2 := packet(t, "A", 2, 2, dt+"a34002-Avg=20,a34002-Flag=N")
	r := NewReassembler(ReassemblerConfig{})
	done, dropped, err := r.Add(p1, t0)
	if done != nil || dropped != nil || err != nil || r.Pending() != 1 {
		t.Fatalf("first packet: %v %v %v", done, dropped, err)
	}
	done, dropped, err = r.Add(p2, t0.Add(time.Second))
	if done == nil || dropped != nil || err != nil || r.Pending() != 0 {
		t.Fatalf("second packet: %v %v %v", done, dropped, err)
	}
	// The first packet's header, no longer split; the CP in PNO order.
	want := "QN=20260301080100000;ST=22;CN=2051;PW=123456;MN=A;Flag=5;CP=&&" + dt + "a34004-Avg=10,a34004-Flag=N;" + dt + "a34002-Avg=20,a34002-Flag=N&&"
	if got := string(mustEncode(t, done)); got != build(want) {
		t.Errorf("joined\n%s\nwant\n%s", got, build(want))
	}
	b, err := done.Readings("st", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkBatch(t, b, PeriodMinute, []string{"st 2026-03-01T08:10:00+08:00 pm25=10/N pm10=20/N"}, nil)
}

// step is one packet given to a Reassembler and what Add must return.
type step struct {
	p       *Frame
	at      time.Duration // since t0
	done    string        // joined CP, "" for none
	dropped string        // droppedSummary of what Add gave up on
}

func runSteps(t *testing.T, cfg ReassemblerConfig, steps []step) {
	t.Helper()
	r := NewReassembler(cfg)
	for i, s := range steps {
		done, dropped, err := r.Add(s.p, t0.Add(s.at))
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := cpOf(done); done != nil && got != s.done || done == nil && s.done != "" {
			t.Errorf("step %d (%s#%d): done %q, want %q", i, s.p.MN, s.p.PNO, got, s.done)
		}
		if got := droppedSummary(dropped); got != s.dropped {
			t.Errorf("step %d (%s#%d): dropped %q, want %q", i, s.p.MN, s.p.PNO, got, s.dropped)
		}
	}
}

func TestReassemblerSequences(t *testing.T) {
	a1, a2, a3 := packet(t, "A", 1, 3, "x=1"), packet(t, "A", 2, 3, "x=2"), packet(t, "A", 3, 3, "x=3")
	a1b := packet(t, "A", 1, 3, "x=1b")
	b1, b2 := packet(t, "B", 1, 2, "y=1"), packet(t, "B", 2, 2, "y=2")
	c1 := packet(t, "C", 1, 2, "z=1")
	big := packet(t, "D", 1, 2, "w="+strings.Repeat("9", 300))
	tests := []struct {
		name  string
		cfg   ReassemblerConfig
		steps []step
	}{
		{"interleaved stations", ReassemblerConfig{}, []step{
			{p: a1}, {p: b1}, {p: a2}, {p: b2, done: "y=1;y=2"}, {p: a3, done: "x=1;x=2;x=3"},
		}},
		{"retransmitted packet is not a new message", ReassemblerConfig{}, []step{
			{p: a1}, {p: a2}, {p: a1}, {p: a3, done: "x=1;x=2;x=3"},
		}},
		{"new message before the old completed", ReassemblerConfig{}, []step{
			{p: a1}, {p: a2}, {p: a1b, dropped: ReasonSplitIncomplete + "(A#1,A#2)"}, {p: a2}, {p: a3, done: "x=1b;x=2;x=3"},
		}},
		{"expired on the next Add", ReassemblerConfig{MaxAge: time.Minute}, []step{
			{p: a1}, {p: b1, at: 30 * time.Second}, {p: a2, at: 61 * time.Second, dropped: ReasonSplitExpired + "(A#1)"},
			{p: b2, at: 62 * time.Second, done: "y=1;y=2"},
		}},
		{"too many pending", ReassemblerConfig{MaxPending: 2}, []step{
			{p: a1}, {p: b1}, {p: c1, dropped: ReasonSplitEvicted + "(A#1)"}, {p: b2, done: "y=1;y=2"},
		}},
		{"too many bytes", ReassemblerConfig{MaxBytes: 450}, []step{
			{p: a1}, {p: b1}, {p: big, dropped: ReasonSplitEvicted + "(A#1) " + ReasonSplitEvicted + "(B#1)"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runSteps(t, tt.cfg, tt.steps) })
	}
}

// withQN returns a copy of f under another QN: the same data sent again as a
// new request, not as a retransmission.
func withQN(f *Frame, qn string) *Frame {
	g := *f
	g.QN = qn
	return &g
}

// TestReassemblerResendsAndRestarts: a retransmitted packet is ignored, even
// after its message completed, and a packet that cannot belong to the
// message held starts a new one, so that one lost 9014 does not pair every
// later message's packets with the wrong partner.
func TestReassemblerResendsAndRestarts(t *testing.T) {
	const pnum = 2
	a1, a2 := packet(t, "M", 1, pnum, "DataTime=20260301080000;a=1"), packet(t, "M", 2, pnum, "a=2")
	b1, b2 := packet(t, "M", 1, pnum, "DataTime=20260301080100;b=1"), packet(t, "M", 2, pnum, "b=2")
	c1, c2 := packet(t, "M", 1, pnum, "DataTime=20260301080200;c=1"), packet(t, "M", 2, pnum, "c=2")
	const (
		a = "DataTime=20260301080000;a=1;a=2"
		b = "DataTime=20260301080100;b=1;b=2"
		c = "DataTime=20260301080200;c=1;c=2"
	)
	incomplete := func(pnos string) string { return ReasonSplitIncomplete + "(" + pnos + ")" }
	tests := []struct {
		name  string
		cfg   ReassemblerConfig
		steps []step
	}{
		{"last packet resent after its message completed", ReassemblerConfig{}, []step{
			{p: a1}, {p: a2, done: a}, {p: a2}, {p: b1}, {p: b2, done: b}, {p: c1}, {p: c2, done: c},
		}},
		{"first packet resent after its message completed", ReassemblerConfig{}, []step{
			{p: a1}, {p: a2, done: a}, {p: a1}, {p: b1}, {p: b2, done: b},
		}},
		{"whole message resent", ReassemblerConfig{}, []step{
			{p: a1}, {p: a2, done: a}, {p: a1}, {p: a2}, {p: b1}, {p: b2, done: b},
		}},
		{"held packet resent under a new QN", ReassemblerConfig{}, []step{
			{p: a1}, {p: withQN(a1, "20260301080059000")}, {p: a2, done: a},
		}},
		{"same data under a new QN after completion is a new message", ReassemblerConfig{}, []step{
			{p: a1}, {p: a2, done: a}, {p: withQN(a1, "20260301090100000")}, {p: withQN(a2, "20260301090200000"), done: a},
		}},
		{"completed message forgotten after MaxAge", ReassemblerConfig{MaxAge: time.Minute}, []step{
			{p: a1}, {p: a2, at: time.Second, done: a},
			{p: a2, at: 2 * time.Minute}, // no longer known: held as a message of its own
			{p: b1, at: 2*time.Minute + time.Second, dropped: incomplete("M#2")},
			{p: b2, at: 2*time.Minute + 2*time.Second, done: b},
		}},
		{"first packet lost", ReassemblerConfig{}, []step{
			{p: a2}, {p: b1, dropped: incomplete("M#2")}, {p: b2, done: b},
		}},
		{"packets out of order", ReassemblerConfig{}, []step{
			{p: b2}, {p: b1, dropped: incomplete("M#2")}, {p: b2, done: b},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runSteps(t, tt.cfg, tt.steps) })
	}
}

func TestReassemblerExpire(t *testing.T) {
	r := NewReassembler(ReassemblerConfig{MaxAge: time.Minute})
	r.Add(packet(t, "A", 1, 2, "x=1"), t0)
	r.Add(packet(t, "B", 1, 2, "x=1"), t0.Add(40*time.Second))
	if d := r.Expire(t0.Add(time.Minute)); d != nil {
		t.Errorf("expired at exactly MaxAge: %s", droppedSummary(d))
	}
	if got := droppedSummary(r.Expire(t0.Add(61 * time.Second))); got != ReasonSplitExpired+"(A#1)" {
		t.Errorf("dropped %q", got)
	}
	if r.Pending() != 1 {
		t.Errorf("pending %d", r.Pending())
	}
}

func TestReassemblerErrors(t *testing.T) {
	r := NewReassembler(ReassemblerConfig{MaxBytes: 100})
	if _, _, err := r.Add(packet(t, "A", 1, 2, "w="+strings.Repeat("9", 100)), t0); !errors.Is(err, ErrTooLong) {
		t.Errorf("oversized packet: err %v", err)
	}
	bad := &Frame{CN: "2051", PNUM: 2, PNO: 3}
	if _, _, err := r.Add(bad, t0); !errors.Is(err, ErrSyntax) {
		t.Errorf("PNO 3 of 2: err %v", err)
	}
	if r.Pending() != 0 {
		t.Errorf("pending %d", r.Pending())
	}
}

// TestReassemblerConcurrent runs connections side by side; with -race it
// checks the locking.
func TestReassemblerConcurrent(t *testing.T) {
	r := NewReassembler(ReassemblerConfig{})
	const stations, messages = 8, 50
	var wg sync.WaitGroup
	completed := make([]int, stations)
	for s := range stations {
		mn := fmt.Sprintf("S%d", s)
		// Distinct messages: the same packets sent again would be resends.
		var ps []*Frame
		for m := range messages {
			ps = append(ps, packet(t, mn, 1, 2, fmt.Sprintf("a=%d", m)), packet(t, mn, 2, 2, fmt.Sprintf("b=%d", m)))
		}
		wg.Go(func() {
			for m := range messages {
				for _, p := range ps[2*m : 2*m+2] {
					done, dropped, err := r.Add(p, t0)
					if err != nil || dropped != nil {
						t.Errorf("%s: %v %v", mn, err, dropped)
					}
					if done != nil {
						completed[s]++
					}
				}
			}
		})
	}
	wg.Wait()
	for s, n := range completed {
		if n != messages {
			t.Errorf("station %d: %d messages completed, want %d", s, n, messages)
		}
	}
}
