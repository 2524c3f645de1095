package alert

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest/station"
)

// savedEndsIn reads the ends the state file says are still owed.
func savedEndsIn(t *testing.T, path string) []savedEnd {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s savedAlerts
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s.Ends
}

func countStatus(ns []Notification, st Status) int {
	n := 0
	for _, x := range ns {
		if x.Status == st {
			n++
		}
	}
	return n
}

// An end that a receiver did not get before a stop is in the state file
// and goes at the next start; once every receiver has it, it is not, and
// a later start sends nothing again.
func TestEndsOwedToAReceiverSurviveARestart(t *testing.T) {
	const rules = "rules:\n  - {name: PM10High, param: pm10, aggregate: instant, limit: 150}\n"
	st := airStation("s", time.Minute)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	cfg := testConfig(t.TempDir())
	te := newTestEngine(t, rules, []*station.Station{st}, cfg, t0)
	te.Observe(st, reading(st.ID, t0, val("pm10", 400)))
	te.Flush()
	te.rec.waitFor(t, 1)
	te.chat.waitFor(t, 1)

	te.chat.mu.Lock()
	te.chat.fail = errors.New("503 Service Unavailable") // retried in 30 s: after the stop
	te.chat.mu.Unlock()
	te.Observe(st, reading(st.ID, t0.Add(time.Minute), val("pm10", 20)))
	te.Flush()
	te.rec.waitFor(t, 2)
	te.chat.waitFor(t, 2)
	time.Sleep(50 * time.Millisecond)
	te.Flush()
	if ends := savedEndsIn(t, cfg.StateFile); len(ends) != 1 || ends[0].Labels["alertname"] != "PM10High" {
		t.Fatalf("state file owes %+v, want the end the chat receiver did not get", ends)
	}
	te.disp.stop(time.Second)

	te.chat.mu.Lock()
	te.chat.fail = nil
	te.chat.mu.Unlock()
	te.start(t)
	te.sendRestoredEnds()
	calls := te.chat.waitFor(t, 3)
	if got := countStatus(calls, StatusResolved); got != 2 {
		t.Fatalf("chat got %d ends (one failed try, one after the restart), want 2", got)
	}
	time.Sleep(50 * time.Millisecond)
	te.Flush()
	if ends := savedEndsIn(t, cfg.StateFile); len(ends) != 0 {
		t.Fatalf("state file still owes %+v after every receiver got it", ends)
	}
	te.disp.stop(time.Second)

	before := len(te.rec.all())
	te.start(t)
	te.sendRestoredEnds()
	time.Sleep(100 * time.Millisecond)
	if got := len(te.rec.all()) - before; got != 0 {
		t.Errorf("a start after every end was delivered sent %d notifications", got)
	}
}
