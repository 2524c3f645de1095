package hj212srv

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/pipeline"
	"github.com/envpipe/envpipe/ingest/station"
)

// journalRun is one life of envpipe's HJ 212 path: a journal in dir, a
// Decoder, a real pipeline appending to a fakeLog.
type journalRun struct {
	j    *Journal
	p    *pipeline.Pipeline
	log  *fakeLog
	dead *payloadLetters
	now  time.Time
}

func startJournalRun(t *testing.T, dir string, reg *station.Registry, now time.Time) *journalRun {
	t.Helper()
	j, err := OpenJournal(dir, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	r := &journalRun{j: j, log: &fakeLog{}, dead: &payloadLetters{}, now: now}
	prom := prometheus.NewRegistry()
	dec := NewDecoder(DecoderConfig{Registry: reg, Metrics: NewMetrics(prom, reg), Logger: testLogger(), Journal: j,
		Now: func() time.Time { return r.now }})
	r.p = pipeline.New(pipeline.Config{Registry: reg, Validation: station.DefaultValidation(), Log: r.log,
		DeadLetters: r.dead, Metrics: pipeline.NewMetrics(prom), Logger: testLogger(),
		Decoders: map[pipeline.Format]pipeline.Decoder{pipeline.FormatHJ212: dec, FormatJournal: dec}})
	held, err := j.Replay()
	if err != nil {
		t.Fatal(err)
	}
	for i := range held {
		if err := r.p.Handle(context.Background(), &held[i]); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// send hands one packet to the pipeline, as the MQTT source does, and
// waits for its ack.
func (r *journalRun) send(t *testing.T, payload []byte) {
	t.Helper()
	acked := make(chan struct{})
	if err := r.p.Handle(context.Background(), &pipeline.Delivery{Format: pipeline.FormatHJ212,
		Topic: "env/st-a/hj212", Station: "st-a", Payload: payload, Ack: func() { close(acked) }}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-acked:
	case <-time.After(5 * time.Second):
		t.Fatal("packet not acked within 5 s")
	}
}

// lines returns the line protocol appended to the WAL.
func (r *journalRun) lines() string {
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	var b strings.Builder
	for _, rec := range r.log.recs {
		b.Write(rec)
	}
	return b.String()
}

// hourPacket is packet pno of 3 of an hourly upload of MN-A: each packet
// carries one pollutant.
func hourPacket(t *testing.T, msg, pno int) []byte {
	t.Helper()
	at := hj212.FormatDataTime(time.Now().Add(-time.Duration(2+msg)*time.Hour).Truncate(time.Hour), nil)
	code := [...]string{"a34004", "a34002", "a21026"}[pno-1]
	seg := fmt.Sprintf("QN=20260301080000%d%02d;ST=22;CN=2061;PW=pw;MN=MN-A;Flag=7;PNUM=3;PNO=%d;CP=&&DataTime=%s;%s-Avg=%d&&",
		msg, pno, pno, at, code, 10*pno+msg)
	return []byte(withLenCRC(seg) + "\r\n")
}

// The packets of a split message acked before a restart complete it after
// the restart: the journal gives them back, the reading carries all three
// pollutants, and nothing is dead-lettered.
func TestSplitPacketsAckedBeforeARestartCompleteAfterIt(t *testing.T) {
	dir := t.TempDir()
	reg := newRegistry(t, airStation("st-a", "MN-A", "pw"))
	now := time.Now()

	first := startJournalRun(t, dir, reg, now)
	first.send(t, hourPacket(t, 0, 1))
	first.send(t, hourPacket(t, 0, 2))
	if got := first.lines(); got != "" {
		t.Fatalf("readings before the message was whole: %q", got)
	}
	if err := first.j.Close(); err != nil { // the process ends here
		t.Fatal(err)
	}

	second := startJournalRun(t, dir, reg, now.Add(time.Minute))
	second.send(t, hourPacket(t, 0, 2)) // a resend across the restart changes nothing
	second.send(t, hourPacket(t, 0, 3))
	got := second.lines()
	for _, want := range []string{"pm25=10", "pm10=20", "so2=30"} {
		if !strings.Contains(got, want) {
			t.Errorf("the completed reading lacks %s: %q", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 1 {
		t.Errorf("%d lines written, want 1: %q", n, got)
	}
	if len(second.dead.recs) != 0 {
		t.Errorf("dead letters %+v", second.dead.recs)
	}
	second.j.Close()
}

// Once the messages are done with (completed, and past the time their
// resends are recognised), the journal lets their packets go: a later start
// replays nothing and writes nothing.
func TestJournalLetsDonePacketsGo(t *testing.T) {
	dir := t.TempDir()
	reg := newRegistry(t, airStation("st-a", "MN-A", "pw"))
	now := time.Now()

	r := startJournalRun(t, dir, reg, now)
	for pno := 1; pno <= 3; pno++ {
		r.send(t, hourPacket(t, 0, pno))
	}
	r.send(t, hourPacket(t, 1, 1)) // the next message begins
	if err := r.j.Close(); err != nil {
		t.Fatal(err)
	}

	// Within MaxAge the completed message is kept, to recognise its resends.
	r = startJournalRun(t, dir, reg, now.Add(time.Minute))
	r.send(t, hourPacket(t, 0, 3))
	r.send(t, hourPacket(t, 1, 2))
	r.send(t, hourPacket(t, 1, 3))
	got := r.lines()
	if strings.Count(got, "pm25=11") != 1 || strings.Count(got, "so2=31") != 1 {
		t.Fatalf("message 1 not completed once across the restart: %q", got)
	}
	if len(r.dead.recs) != 0 {
		t.Fatalf("dead letters %+v", r.dead.recs)
	}
	// Past MaxAge nothing is held or remembered: the next frame trims.
	r.now = r.now.Add(hj212.DefaultMaxAge + time.Minute)
	r.send(t, rtFrame(t, 1, "pw"))
	waitFor(t, 5*time.Second, "the journal trimmed", func() bool { return r.j.log.Stats().UnwrittenBytes == 0 })
	r.j.Close()

	r = startJournalRun(t, dir, reg, now.Add(hj212.DefaultMaxAge+2*time.Minute))
	if got := r.lines(); got != "" {
		t.Errorf("a start after everything was done wrote %q", got)
	}
	r.j.Close()
}

// sendAs is send for another station.
func (r *journalRun) sendAs(t *testing.T, st string, payload []byte) {
	t.Helper()
	acked := make(chan struct{})
	if err := r.p.Handle(context.Background(), &pipeline.Delivery{Format: pipeline.FormatHJ212,
		Topic: "env/" + st + "/hj212", Station: st, Payload: payload, Ack: func() { close(acked) }}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-acked:
	case <-time.After(5 * time.Second):
		t.Fatal("packet not acked within 5 s")
	}
}

// A message that expired on a frame that journals nothing, while an older
// completed message kept its packets in the journal, is dead-lettered once,
// not again after a restart: the journal records the expiry.
func TestAnExpiryIsNotDeadLetteredAgainAfterARestart(t *testing.T) {
	dir := t.TempDir()
	reg := newRegistry(t, airStation("st-a", "MN-A", "pw"), airStation("st-b", "MN-B", "pw"))
	t0 := time.Now()
	r := startJournalRun(t, dir, reg, t0)
	r.sendAs(t, "st-b", splitPacket(t, "MN-B", "2061", 1, 2, 1))
	r.now = t0.Add(time.Minute)
	r.sendAs(t, "st-a", splitPacket(t, "MN-A", "2061", 1, 3, 5)) // never completed
	r.now = t0.Add(2 * time.Minute)
	r.sendAs(t, "st-b", splitPacket(t, "MN-B", "2061", 2, 2, 1)) // B whole, remembered
	r.now = t0.Add(11*time.Minute + 30*time.Second)
	r.sendAs(t, "st-a", rtFrame(t, 1, "pw")) // A expires here
	if n := len(r.dead.recs); n != 1 {
		t.Fatalf("%d dead letters, want A's packet", n)
	}
	r.j.Close()

	r = startJournalRun(t, dir, reg, t0.Add(11*time.Minute+40*time.Second))
	r.sendAs(t, "st-a", rtFrame(t, 2, "pw"))
	if n := len(r.dead.recs); n != 0 {
		t.Errorf("after the restart: %d dead letters %+v, want none", n, r.dead.recs)
	}
}

// A packet refused when it is replayed (its station left the registry) is
// dead-lettered as it came: the frame, under its topic.
func TestAPacketRefusedAtReplayIsDeadLetteredAsItCame(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	r := startJournalRun(t, dir, newRegistry(t, airStation("st-a", "MN-A", "pw")), now)
	r.send(t, hourPacket(t, 0, 1))
	r.j.Close()

	r = startJournalRun(t, dir, newRegistry(t, airStation("st-b", "MN-B", "pw")), now.Add(time.Minute))
	if len(r.dead.recs) != 1 {
		t.Fatalf("%d dead letters %+v, want the replayed packet", len(r.dead.recs), r.dead.recs)
	}
	if got := r.dead.recs[0].Topic; got != "env/st-a/hj212" {
		t.Errorf("dead letter topic %q, want the packet's", got)
	}
	if got := r.dead.payloads[0]; got != string(hourPacket(t, 0, 1)) {
		t.Errorf("dead letter payload %q, want the frame as it came", got)
	}
}
