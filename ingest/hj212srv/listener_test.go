package hj212srv

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/hj212"
)

// qn returns a distinct QN for frame i.
func qn(i int) string { return fmt.Sprintf("20260301080000%03d", i) }

// rtFrame is a real-time upload of station MN-A at now - 10m + i s asking
// for an answer.
func rtFrame(t *testing.T, i int, pw string) []byte {
	at := time.Now().Add(-10 * time.Minute).Truncate(time.Second).Add(time.Duration(i) * time.Second)
	return frame(t, qn(i), "2011", "MN-A", pw, 5, dataCP(at, float64(i)))
}

func TestListenerAnswers9014OnlyOnceTheReadingsAreDurable(t *testing.T) {
	r := newRig(t, testConfig(), newRegistry(t, airStation("st-a", "MN-A", "pw")), true)
	c := dial(t, r.addr)
	c.send(rtFrame(t, 1, "pw"))
	waitFor(t, 5*time.Second, "the WAL append", func() bool { return r.log.count() == 1 })
	c.none(200 * time.Millisecond)
	r.log.release()
	c.expect(hj212.CNDataResponse, qn(1), 0)
	if n := r.metric(t, "envpipe_hj212_responses_total", "cn", "9014"); n != 1 {
		t.Errorf("responses_total{cn=9014} = %v, want 1", n)
	}
}

func TestListenerAnswersInFrameOrderWhateverTheVerdict(t *testing.T) {
	r := newRig(t, testConfig(), newRegistry(t, airStation("st-a", "MN-A", "pw")), true)
	c := dial(t, r.addr)
	// The refusals are ready at once; they must still wait for the good
	// frame before them.
	c.send(rtFrame(t, 1, "pw"), badCRC(rtFrame(t, 2, "pw")), rtFrame(t, 3, "wrong"), rtFrame(t, 4, "pw"))
	waitFor(t, 5*time.Second, "two WAL appends", func() bool { return r.log.count() == 2 })
	c.none(200 * time.Millisecond)
	r.log.release()
	c.expect(hj212.CNDataResponse, qn(1), 0)
	c.expect(hj212.CNRequestResponse, qn(2), hj212.QnRtnCRC)
	c.expect(hj212.CNRequestResponse, qn(3), hj212.QnRtnPW)
	c.expect(hj212.CNDataResponse, qn(4), 0)
}

func TestListenerRefusalsAreAnsweredCountedAndDeadLetteredOnce(t *testing.T) {
	r := newRig(t, testConfig(), newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
	c := dial(t, r.addr)
	at := time.Now().Add(-time.Minute)
	noAck := frame(t, qn(5), "2011", "MN-A", "wrong", 4, dataCP(at, 1)) // Flag=4: no answer wanted
	c.send(
		badCRC(rtFrame(t, 1, "pw")),
		rtFrame(t, 2, "wrong"),
		frame(t, qn(3), "2011", "MN-UNKNOWN", "pw", 5, dataCP(at, 1)),
		frame(t, qn(4), "2011", "MN-A", "pw", 5, "DataTime=bad;a34004-Rtd=1"),
		noAck,
		rtFrame(t, 6, "pw"),
	)
	c.expect(hj212.CNRequestResponse, qn(1), hj212.QnRtnCRC)
	c.expect(hj212.CNRequestResponse, qn(2), hj212.QnRtnPW)
	c.expect(hj212.CNRequestResponse, qn(3), hj212.QnRtnMN)
	c.expect(hj212.CNDataResponse, qn(4), 0) // well-formed: received, its data refused
	c.expect(hj212.CNDataResponse, qn(6), 0)

	want := map[string]int{string(ingest.ReasonHJ212CRC): 1, string(ingest.ReasonHJ212Password): 2,
		string(ingest.ReasonUnknownStation): 1, string(ingest.ReasonBadTime): 1}
	waitFor(t, 5*time.Second, "the dead letters", func() bool { return len(r.dead.reasons()) == len(want) })
	for reason, n := range want {
		if got := r.dead.reasons()[reason]; got != n {
			t.Errorf("dead letters %s: %d, want %d", reason, got, n)
		}
		if got := r.metric(t, "envpipe_readings_rejected_total", "reason", reason); got != float64(n) {
			t.Errorf("envpipe_readings_rejected_total{reason=%s} = %v, want %d", reason, got, n)
		}
	}
	if n := r.log.count(); n != 1 {
		t.Errorf("%d WAL records, want 1 (the good frame)", n)
	}
	if n := r.metric(t, "envpipe_hj212_frames_total", "result", "invalid"); n != 4 {
		t.Errorf("frames_total{invalid} = %v, want 4", n)
	}
}

func TestListenerCutsFramesWhateverTheReadBoundaries(t *testing.T) {
	r := newRig(t, testConfig(), newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
	c := dial(t, r.addr)
	var all []byte
	for i := 1; i <= 5; i++ {
		all = append(all, rtFrame(t, i, "pw")...)
	}
	all = append([]byte("line noise\r\n"), all...)
	// Byte by byte, then in odd chunks.
	for i := range all {
		c.send(all[i : i+1])
	}
	for i := 1; i <= 5; i++ {
		c.expect(hj212.CNDataResponse, qn(i), 0)
	}
	var joined []byte
	for i := 6; i <= 20; i++ {
		joined = append(joined, rtFrame(t, i, "pw")...)
	}
	for len(joined) > 0 {
		n := min(len(joined), 97)
		c.send(joined[:n])
		joined = joined[n:]
		time.Sleep(time.Millisecond)
	}
	for i := 6; i <= 20; i++ {
		c.expect(hj212.CNDataResponse, qn(i), 0)
	}
	if n := r.metric(t, "envpipe_hj212_skipped_bytes_total"); n != float64(len("line noise\r\n")) {
		t.Errorf("skipped bytes %v, want %d", n, len("line noise\r\n"))
	}
}

func TestListenerDiscardsAnOversizedFrameAndCarriesOn(t *testing.T) {
	cfg := testConfig()
	cfg.MaxFrameBytes = 256
	r := newRig(t, cfg, newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
	c := dial(t, r.addr)
	big := frame(t, qn(1), "2011", "MN-A", "pw", 5, dataCP(time.Now(), 1)+strings.Repeat(";a34002-Rtd=1", 30))
	c.send(big, rtFrame(t, 2, "pw"))
	c.expect(hj212.CNDataResponse, qn(2), 0)
	if n := r.metric(t, "envpipe_hj212_frames_total", "result", "oversized"); n != 1 {
		t.Errorf("oversized frames %v, want 1", n)
	}
}

func TestListenerAnswersOtherUploadsWithoutThePipeline(t *testing.T) {
	r := newRig(t, testConfig(), newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
	c := dial(t, r.addr)
	c.send(
		frame(t, qn(1), "2081", "MN-A", "pw", 5, "DataTime=20260301080000;RestartTime=20260301070000"),
		frame(t, qn(2), "1013", "MN-A", "pw", 5, ""),
		frame(t, qn(3), "9014", "MN-A", "pw", 4, ""),
		rtFrame(t, 4, "pw"),
	)
	c.expect(hj212.CNDataResponse, qn(1), 0)
	c.expect(hj212.CNRequestResponse, qn(2), hj212.QnRtnRejected)
	c.expect(hj212.CNDataResponse, qn(4), 0)
	if n := r.metric(t, "envpipe_messages_received_total", "format", "hj212"); n != 1 {
		t.Errorf("pipeline received %v messages, want 1", n)
	}
	if n := r.metric(t, "envpipe_hj212_frames_total", "result", "other"); n != 3 {
		t.Errorf("frames_total{other} = %v, want 3", n)
	}
}

func TestListenerStopsReadingAtMaxInflight(t *testing.T) {
	cfg := testConfig()
	cfg.MaxInflight = 4
	r := newRig(t, cfg, newRegistry(t, airStation("st-a", "MN-A", "pw")), true)
	c := dial(t, r.addr)
	for i := 1; i <= 10; i++ {
		c.send(rtFrame(t, i, "pw"))
	}
	waitFor(t, 5*time.Second, "4 appends", func() bool { return r.log.count() == 4 })
	time.Sleep(100 * time.Millisecond)
	if n := r.log.count(); n != 4 {
		t.Fatalf("%d frames taken with 4 unanswered allowed", n)
	}
	for i := 1; i <= 10; i++ {
		if i == 5 || i == 9 {
			waitFor(t, 5*time.Second, "more appends", func() bool { return r.log.count() >= min(i+3, 10) })
		}
		r.log.release()
		c.expect(hj212.CNDataResponse, qn(i), 0)
	}
}

func TestListenerClosesIdleConnections(t *testing.T) {
	cfg := testConfig()
	cfg.IdleTimeout = 300 * time.Millisecond
	r := newRig(t, cfg, newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
	c := dial(t, r.addr)
	start := time.Now()
	// Garbage does not count as activity.
	for range 5 {
		c.send([]byte("xx"))
		time.Sleep(50 * time.Millisecond)
	}
	c.closed(2 * time.Second)
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("closed after %v, before the idle timeout", d)
	}
	waitFor(t, time.Second, "the disconnect metric", func() bool {
		return r.metric(t, "envpipe_hj212_disconnects_total", "reason", closeIdle) == 1
	})
}

func TestListenerRefusesConnectionsBeyondMax(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnections = 2
	r := newRig(t, cfg, newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
	c1, c2 := dial(t, r.addr), dial(t, r.addr)
	c1.send(rtFrame(t, 1, "pw"))
	c1.expect(hj212.CNDataResponse, qn(1), 0)
	c2.send(rtFrame(t, 2, "pw"))
	c2.expect(hj212.CNDataResponse, qn(2), 0)
	c3 := dial(t, r.addr)
	c3.closed(2 * time.Second)
	if n := r.metric(t, "envpipe_hj212_connections_total", "result", "refused"); n != 1 {
		t.Errorf("refused %v, want 1", n)
	}
	if n := r.metric(t, "envpipe_hj212_connections"); n != 2 {
		t.Errorf("connections gauge %v, want 2", n)
	}
}

func TestListenerShutsDownInOrder(t *testing.T) {
	r := newRig(t, testConfig(), newRegistry(t, airStation("st-a", "MN-A", "pw")), true)
	c := dial(t, r.addr)
	c.send(rtFrame(t, 1, "pw"))
	waitFor(t, 5*time.Second, "the append", func() bool { return r.log.count() == 1 })

	// Quiesce: nothing more is read, but answers still go out.
	r.l.Quiesce()
	c.send(rtFrame(t, 2, "pw"))
	time.Sleep(100 * time.Millisecond)
	if n := r.log.count(); n != 1 {
		t.Fatalf("%d appends after Quiesce, want 1: %q", n, r.log.recs)
	}
	if _, err := net.DialTimeout("tcp", r.addr, time.Second); err == nil {
		// A connection may still be accepted by the kernel backlog; it
		// must not be served.
		t.Log("dial after Quiesce succeeded at the TCP level")
	}
	r.log.release()
	c.expect(hj212.CNDataResponse, qn(1), 0)

	// Run's end closes the connection and returns.
	r.cancel()
	select {
	case err := <-r.runErr:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	r.runErr <- nil // for the cleanup
	c.closed(2 * time.Second)
	if n := r.l.Connections(); n != 0 {
		t.Errorf("%d connections left", n)
	}
}

func TestListenerRunFailsOnABadAddress(t *testing.T) {
	cfg := testConfig()
	cfg.Listen = "256.0.0.1:1"
	l := NewListener(cfg, newRegistry(t, airStation("st-a", "MN-A", "pw")), nil, NewMetrics(prometheusRegistry(), nil), nil)
	if err := l.Run(context.Background()); err == nil {
		t.Fatal("Run succeeded on 256.0.0.1")
	}
}

func TestConfigValidateNamesEveryBadKey(t *testing.T) {
	if errs := DefaultConfig().Validate(); len(errs) != 0 {
		t.Fatalf("defaults: %v", errs)
	}
	c := Config{Listen: "nonsense", MaxFramesPerSecond: -1, Backfill: BackfillConfig{Enabled: true}}
	var got []string
	for _, e := range c.Validate() {
		got = append(got, strings.SplitN(e.Error(), ":", 2)[0])
	}
	want := []string{"hj212.listen", "hj212.max_frame_bytes", "hj212.idle_timeout", "hj212.write_timeout",
		"hj212.max_connections", "hj212.max_inflight", "hj212.max_frames_per_second",
		"hj212.backfill.min_gap", "hj212.backfill.max_span", "hj212.backfill.timeout"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("keys\n got %v\nwant %v", got, want)
	}
}

func TestLimiterAllowsABurstThenTheRate(t *testing.T) {
	l := newLimiter(10)
	now := time.Unix(0, 0)
	for i := range 10 {
		if d := l.take(now); d != 0 {
			t.Fatalf("frame %d of the burst delayed %v", i, d)
		}
	}
	if d := l.take(now); d != 100*time.Millisecond {
		t.Fatalf("11th frame delayed %v, want 100ms", d)
	}
	if d := newLimiter(0).take(now); d != 0 {
		t.Fatalf("no limit delayed %v", d)
	}
}
