package hj212srv

import (
	"fmt"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/hj212srv/fieldunit"
)

func backfillConfig() Config {
	cfg := testConfig()
	cfg.Backfill = BackfillConfig{Enabled: true, MinGap: 5 * time.Minute, MaxSpan: 24 * time.Hour, Timeout: 10 * time.Second}
	return cfg
}

// minuteFrame is station MN-A's minute data at t, asking for an answer.
func minuteFrame(t *testing.T, i int, at time.Time) []byte {
	return frame(t, qn(i), hj212.CNMinute, "MN-A", "pw", 5,
		fmt.Sprintf("DataTime=%s;a34004-Avg=%d,a34004-Flag=N", hj212.FormatDataTime(at, nil), 10+i%50))
}

// request reads frames, skipping data responses, until envpipe's next
// history request, and checks its CN and span.
func (c *client) request(cn string, begin, end time.Time) *hj212.Frame {
	c.t.Helper()
	for {
		f := c.next(5 * time.Second)
		if f.CN == hj212.CNDataResponse {
			continue
		}
		b, _ := f.CP.Get("BeginTime")
		e, _ := f.CP.Get("EndTime")
		if f.CN != cn || f.ST != "22" || f.MN != "MN-A" || f.PW != "pw" || !f.WantsAck() ||
			b != hj212.FormatDataTime(begin, nil) || e != hj212.FormatDataTime(end, nil) {
			c.t.Fatalf("got CN=%s ST=%s MN=%s Flag=%d BeginTime=%s EndTime=%s; want a %s request for %s..%s",
				f.CN, f.ST, f.MN, f.Flag, b, e, cn, hj212.FormatDataTime(begin, nil), hj212.FormatDataTime(end, nil))
		}
		return f
	}
}

// quiet asserts that envpipe sends nothing but data responses for d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for time.Until(deadline) > 0 {
		_ = c.nc.SetReadDeadline(deadline)
		raw, err := c.fr.Next()
		if err != nil {
			c.fr = hj212.NewFramer(c.nc, 0)
			return
		}
		if f, err := hj212.Parse(raw, hj212.ParseOptions{}); err != nil || f.CN != hj212.CNDataResponse {
			c.t.Fatalf("envpipe sent %q, want nothing but 9014", raw)
		}
	}
}

func answerFrame(t *testing.T, req *hj212.Frame, cn, key, val string) []byte {
	return frame(t, req.QN, cn, "MN-A", "pw", 4, key+"="+val)
}

func TestBackfillAsksForTheGapOneRequestAtATime(t *testing.T) {
	r := newRig(t, backfillConfig(), newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
	c := dial(t, r.addr)
	t0 := time.Now().Truncate(time.Hour).Add(-2 * time.Hour)
	for m := 0; m <= 4; m++ {
		c.send(minuteFrame(t, m, t0.Add(time.Duration(m)*time.Minute)))
	}
	c.quiet(200 * time.Millisecond)
	// 36 minutes of silence, then data again.
	c.send(minuteFrame(t, 40, t0.Add(40*time.Minute)))
	req := c.request(hj212.CNMinute, t0.Add(4*time.Minute), t0.Add(40*time.Minute))
	c.send(answerFrame(t, req, hj212.CNRequestResponse, "QnRtn", "1"))
	for m := 5; m < 40; m++ {
		c.send(minuteFrame(t, 100+m, t0.Add(time.Duration(m)*time.Minute)))
	}
	c.quiet(200 * time.Millisecond) // one request in flight: no 2061 yet
	c.send(answerFrame(t, req, hj212.CNExecResult, "ExeRtn", "1"))
	req = c.request(hj212.CNHourly, t0, t0.Add(40*time.Minute))
	c.send(answerFrame(t, req, hj212.CNRequestResponse, "QnRtn", "1"), answerFrame(t, req, hj212.CNExecResult, "ExeRtn", "100"))
	c.quiet(200 * time.Millisecond)

	for name, want := range map[string]float64{
		"envpipe_hj212_backfill_gaps_total": 1,
	} {
		if got := r.metric(t, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for cn, want := range map[string]float64{"2051": 1, "2061": 1} {
		if got := r.metric(t, "envpipe_hj212_backfill_requests_total", "cn", cn); got != want {
			t.Errorf("requests{cn=%s} = %v, want %v", cn, got, want)
		}
	}
	for res, want := range map[string]float64{bfAnswered: 1, bfNoData: 1, bfTimeout: 0} {
		if got := r.metric(t, "envpipe_hj212_backfill_results_total", "result", res); got != want {
			t.Errorf("results{result=%s} = %v, want %v", res, got, want)
		}
	}
	if n := r.metric(t, "envpipe_hj212_frames_total", "result", "answer"); n != 4 {
		t.Errorf("answers %v, want 4", n)
	}
}

func TestBackfillMovesOnWhenTheStationDoesNotAnswer(t *testing.T) {
	cfg := backfillConfig()
	cfg.Backfill.Timeout = 300 * time.Millisecond
	r := newRig(t, cfg, newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
	c := dial(t, r.addr)
	t0 := time.Now().Truncate(time.Hour).Add(-3 * time.Hour)
	c.send(minuteFrame(t, 1, t0.Add(10*time.Minute)), minuteFrame(t, 2, t0.Add(90*time.Minute)))
	start := time.Now()
	c.request(hj212.CNMinute, t0.Add(10*time.Minute), t0.Add(90*time.Minute))
	c.request(hj212.CNHourly, t0, t0.Add(90*time.Minute))
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("second request after %v, before the first timed out", d)
	}
	waitFor(t, 2*time.Second, "two timeouts", func() bool {
		return r.metric(t, "envpipe_hj212_backfill_results_total", "result", bfTimeout) == 2
	})
}

func TestBackfillCapsTheSpanAtMaxSpan(t *testing.T) {
	cfg := backfillConfig()
	cfg.Backfill.MaxSpan = time.Hour
	r := newRig(t, cfg, newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
	c := dial(t, r.addr)
	t0 := time.Now().Truncate(time.Hour).Add(-5 * time.Hour)
	end := t0.Add(3*time.Hour + 30*time.Minute)
	c.send(minuteFrame(t, 1, t0), minuteFrame(t, 2, end))
	req := c.request(hj212.CNMinute, end.Add(-time.Hour), end)
	c.send(answerFrame(t, req, hj212.CNExecResult, "ExeRtn", "1"))
	c.request(hj212.CNHourly, end.Add(-time.Hour), end)
}

func TestBackfillIgnoresShortSilencesAndTheStationsCadence(t *testing.T) {
	r := newRig(t, backfillConfig(), newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
	c := dial(t, r.addr)
	t0 := time.Now().Truncate(time.Hour).Add(-5 * time.Hour)
	// Silences up to min_gap (5m, above 3 × the 1m interval) are no gap.
	c.send(minuteFrame(t, 1, t0), minuteFrame(t, 2, t0.Add(5*time.Minute)), minuteFrame(t, 3, t0.Add(7*time.Minute)))
	c.quiet(200 * time.Millisecond)
	// A wrong password never triggers a request.
	c.send(frame(t, qn(4), hj212.CNMinute, "MN-A", "bad", 5, "DataTime="+hj212.FormatDataTime(t0.Add(2*time.Hour), nil)+";a34004-Avg=1"))
	c.expect(hj212.CNRequestResponse, qn(4), hj212.QnRtnPW)
	c.quiet(200 * time.Millisecond)
	// A station that sends every 20 minutes: the first step looks like a
	// gap, the second of the same length is its cadence.
	c.send(minuteFrame(t, 5, t0.Add(27*time.Minute)))
	req := c.request(hj212.CNMinute, t0.Add(7*time.Minute), t0.Add(27*time.Minute))
	c.send(answerFrame(t, req, hj212.CNExecResult, "ExeRtn", "100"))
	req = c.request(hj212.CNHourly, t0, t0.Add(27*time.Minute))
	c.send(answerFrame(t, req, hj212.CNExecResult, "ExeRtn", "100"))
	for i := 2; i <= 4; i++ {
		c.send(minuteFrame(t, 5+i, t0.Add(time.Duration(7+20*i)*time.Minute)))
	}
	c.quiet(200 * time.Millisecond)
	if n := r.metric(t, "envpipe_hj212_backfill_gaps_total"); n != 1 {
		t.Errorf("%v gaps, want 1", n)
	}
}

func TestBackfillAsksAgainWhenTheStationComesBack(t *testing.T) {
	r := newRig(t, backfillConfig(), newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
	c := dial(t, r.addr)
	t0 := time.Now().Truncate(time.Hour).Add(-3 * time.Hour)
	c.send(minuteFrame(t, 1, t0.Add(10*time.Minute)), minuteFrame(t, 2, t0.Add(50*time.Minute)))
	c.request(hj212.CNMinute, t0.Add(10*time.Minute), t0.Add(50*time.Minute))
	c.nc.Close()
	waitFor(t, 2*time.Second, "the disconnect", func() bool {
		return r.metric(t, "envpipe_hj212_backfill_results_total", "result", bfDisconnected) == 1
	})
	c = dial(t, r.addr)
	c.send(minuteFrame(t, 3, t0.Add(51*time.Minute)))
	req := c.request(hj212.CNMinute, t0.Add(10*time.Minute), t0.Add(50*time.Minute))
	c.send(answerFrame(t, req, hj212.CNExecResult, "ExeRtn", "1"))
	c.request(hj212.CNHourly, t0, t0.Add(50*time.Minute))
}

// A field unit answers envpipe's requests from its history: the whole
// exchange with the real station side.
func TestBackfillWithAFieldUnit(t *testing.T) {
	r := newRig(t, backfillConfig(), newRegistry(t, airStation("st-a", "MN-A", "pw")), false)
	u := fieldunit.New("MN-A", "pw", "22")
	t0 := time.Now().Truncate(time.Hour).Add(-2 * time.Hour)
	rec := func(m int) fieldunit.Record {
		return fieldunit.Record{Time: t0.Add(time.Duration(m) * time.Minute), Values: []ingest.Value{{Param: "pm25", V: float64(m)}}}
	}
	for m := 0; m <= 45; m++ {
		u.Store(hj212.CNMinute, rec(m))
	}
	u.Store(hj212.CNHourly, fieldunit.Record{Time: t0, Values: []ingest.Value{{Param: "pm25", V: 30}}})
	s, err := fieldunit.Dial(t.Context(), r.addr, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acks := make(chan string, 100)
	go s.Serve(t.Context(), func(f *hj212.Frame) { acks <- f.CN })
	for _, m := range []int{0, 1, 45} {
		if err := s.Upload(hj212.CNMinute, rec(m)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "both requests answered", func() bool { _, a := s.Requests(); return a == 2 })
	// 3 uploads, 45 minutes (1..45) and 1 hour back: all acknowledged.
	waitFor(t, 5*time.Second, "49 data responses", func() bool { return len(acks) == 49 })
	if n := r.log.count(); n != 49 {
		t.Errorf("%d WAL records, want 49", n)
	}
}
