package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// sent is one message a fakeSender received.
type sent struct {
	wall    time.Duration // after the simulator's wall0
	topic   string
	station string
	times   []time.Time // the readings' times, in payload order
}

// fakeSender records messages, optionally taking delay for each.
type fakeSender struct {
	t     *testing.T
	wall0 time.Time
	delay time.Duration
	mu    sync.Mutex
	msgs  []sent
}

func (f *fakeSender) Send(ctx context.Context, i int, topic string, payload []byte) error {
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var objs []json.RawMessage
	if payload[0] == '[' {
		if err := json.Unmarshal(payload, &objs); err != nil {
			f.t.Errorf("payload %s: %v", payload, err)
		}
	} else {
		objs = []json.RawMessage{payload}
	}
	m := sent{wall: time.Since(f.wall0), topic: topic}
	for _, o := range objs {
		id, at, _, _ := decodeObject(f.t, o)
		if m.station != "" && id != m.station {
			f.t.Errorf("one message holds stations %s and %s", m.station, id)
		}
		m.station = id
		m.times = append(m.times, at)
	}
	f.mu.Lock()
	f.msgs = append(f.msgs, m)
	f.mu.Unlock()
	return nil
}

func (f *fakeSender) byStation() map[string][]sent {
	out := map[string][]sent{}
	for _, m := range f.msgs {
		out[m.station] = append(out[m.station], m)
	}
	return out
}

// testNetwork is two 1-minute air stations and a 4-hour water section.
func testNetwork(t *testing.T) *station.Registry {
	t.Helper()
	reg, errs := station.New([]*station.Station{
		{ID: "a1", Kind: ingest.KindAir, County: "Hetang", Lat: 27.86, Lon: 113.16, Interval: time.Minute},
		{ID: "a2", Kind: ingest.KindAir, County: "Lusong", Lat: 27.82, Lon: 113.15, Interval: time.Minute},
		{ID: "w1", Kind: ingest.KindWater, County: "Lukou", Lat: 27.45, Lon: 113.17, Interval: 4 * time.Hour,
			River: "湘江", Waterbody: "river", TargetClass: "II"},
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return reg
}

var simStart = time.Date(2026, 11, 28, 8, 0, 0, 0, cst)

// simulate runs a simulator in the current synctest bubble.
func simulate(t *testing.T, ctx context.Context, reg *station.Registry, silent []string, speed float64, opts simOptions, out *fakeSender) (*simulator, stopReason) {
	t.Helper()
	sc, err := newScenario(reg, silent, nil, nil, simStart)
	if err != nil {
		t.Fatal(err)
	}
	wall0 := time.Now()
	out.t, out.wall0 = t, wall0
	if opts.Topic == "" {
		opts.Topic = "env/{station}/data"
	}
	sim := newSimulator(reg.All(), Model{Seed: 1}, sc, simClock{wall0: wall0, start: simStart, speed: speed}, opts, slog.New(slog.DiscardHandler))
	return sim, sim.run(ctx, out)
}

func TestStationsPublishOnTheSpedUpClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &fakeSender{}
		wall0 := time.Now()
		_, reason := simulate(t, t.Context(), testNetwork(t), nil, 60, simOptions{Deadline: wall0.Add(5 * time.Second)}, out)
		if reason != stopDuration || time.Since(wall0) != 5*time.Second {
			t.Errorf("stopped (%s) after %v, want duration reached after 5s", reason, time.Since(wall0))
		}
		got := out.byStation()
		for _, id := range []string{"a1", "a2"} {
			if len(got[id]) != 5 {
				t.Fatalf("%s: %d messages in 5 s at speed 60, want 5 (one per simulated minute)", id, len(got[id]))
			}
			for k, m := range got[id] {
				wantAt := simStart.Add(time.Duration(k) * time.Minute)
				if m.wall != time.Duration(k)*time.Second || !m.times[0].Equal(wantAt) || m.topic != "env/"+id+"/data" {
					t.Errorf("%s message %d: at wall +%v, stamped %s on %s; want +%ds, %s", id, k, m.wall, m.times[0], m.topic, k, wantAt)
				}
			}
		}
		// The 4-hour section reports its 08:00 reading at once; 12:00 is
		// 4 wall minutes away.
		if w := got["w1"]; len(w) != 1 || w[0].wall != 0 || !w[0].times[0].Equal(simStart) {
			t.Errorf("w1: %+v, want one reading stamped 08:00 at once", w)
		}
	})
}

func TestFirstReadingIsAlignedToTheInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &fakeSender{}
		sc, _ := newScenario(testNetwork(t), nil, nil, nil, simStart)
		start := simStart.Add(2*time.Hour + 17*time.Second) // 10:00:17
		wall0 := time.Now()
		out.t, out.wall0 = t, wall0
		sim := newSimulator(testNetwork(t).All(), Model{Seed: 1}, sc, simClock{wall0: wall0, start: start, speed: 1},
			simOptions{Topic: "env/{station}/data", Deadline: wall0.Add(time.Minute)}, slog.New(slog.DiscardHandler))
		sim.run(t.Context(), out)
		got := out.byStation()
		// 10:00:00 at once, 10:01:00 43 s later.
		if a := got["a1"]; len(a) != 2 || !a[0].times[0].Equal(simStart.Add(2*time.Hour)) || a[1].wall != 43*time.Second {
			t.Errorf("a1: %+v", a)
		}
		if w := got["w1"]; len(w) != 1 || !w[0].times[0].Equal(simStart) {
			t.Errorf("w1: %+v, want the 08:00 reading", w)
		}
	})
}

func TestSilentStationsNeverPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := sampleNetwork(t)
		out := &fakeSender{}
		silent := []string{"zz-air-0901", "zz-wat-xj01"}
		wall0 := time.Now()
		// 1 s = 1 simulated hour, every station hourly: two simulated days.
		simulate(t, t.Context(), reg, silent, 3600, simOptions{Interval: time.Hour, Deadline: wall0.Add(48 * time.Second)}, out)
		got := out.byStation()
		for _, st := range reg.All() {
			n := len(got[st.ID])
			switch {
			case st.ID == silent[0] || st.ID == silent[1]:
				if n != 0 {
					t.Errorf("silent %s published %d messages", st.ID, n)
				}
			case n != 48:
				t.Errorf("%s published %d messages in two simulated days, want 48", st.ID, n)
			}
		}
	})
}

func TestCountStopsAfterThatManyMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &fakeSender{}
		sim, reason := simulate(t, t.Context(), testNetwork(t), nil, 1e6, simOptions{Count: 7}, out)
		if reason != stopCount || len(out.msgs) != 7 || sim.messages.Load() != 7 {
			t.Errorf("stopped (%s) after %d messages, want count reached after 7", reason, len(out.msgs))
		}
	})
}

func TestBatchesHoldConsecutiveReadingsOfOneStation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, _ := station.New([]*station.Station{{ID: "a1", Kind: ingest.KindAir, County: "Hetang", Interval: time.Minute}})
		out := &fakeSender{}
		wall0 := time.Now()
		sim, _ := simulate(t, t.Context(), reg, nil, 60, simOptions{Batch: 3, Deadline: wall0.Add(10 * time.Second)}, out)
		// 10 readings: three full batches, and the partial one flushed at the end.
		var sizes []int
		next := simStart
		for _, m := range out.msgs {
			sizes = append(sizes, len(m.times))
			for _, at := range m.times {
				if !at.Equal(next) {
					t.Errorf("reading stamped %s, want %s", at, next)
				}
				next = next.Add(time.Minute)
			}
		}
		if len(sizes) != 4 || sizes[0] != 3 || sizes[1] != 3 || sizes[2] != 3 || sizes[3] != 1 || sim.readings.Load() != 10 {
			t.Errorf("batch sizes %v (%d readings), want [3 3 3 1]", sizes, sim.readings.Load())
		}
		if out.msgs[0].wall != 2*time.Second {
			t.Errorf("first batch sent at +%v, want +2s (when its third reading is due)", out.msgs[0].wall)
		}
	})
}

func TestIntervalOverridesEveryStation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &fakeSender{}
		wall0 := time.Now()
		simulate(t, t.Context(), testNetwork(t), nil, 600, simOptions{Interval: 10 * time.Minute, Deadline: wall0.Add(3 * time.Second)}, out)
		for id, ms := range out.byStation() {
			if len(ms) != 3 {
				t.Errorf("%s: %d messages, want 3 (one per 10 simulated minutes, each a wall second)", id, len(ms))
			}
		}
	})
}

func TestASlowBrokerDelaysButKeepsEveryTimestamp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, _ := station.New([]*station.Station{{ID: "a1", Kind: ingest.KindAir, County: "Hetang", Interval: time.Minute}})
		out := &fakeSender{delay: 3 * time.Second}
		simulate(t, t.Context(), reg, nil, 60, simOptions{Count: 5}, out)
		for k, m := range out.msgs {
			if want := simStart.Add(time.Duration(k) * time.Minute); !m.times[0].Equal(want) {
				t.Errorf("message %d stamped %s, want %s", k, m.times[0], want)
			}
		}
		if len(out.msgs) != 5 {
			t.Errorf("%d messages, want 5", len(out.msgs))
		}
	})
}

func TestAnInterruptStopsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(2500*time.Millisecond, cancel)
		out := &fakeSender{}
		wall0 := time.Now()
		_, reason := simulate(t, ctx, testNetwork(t), nil, 60, simOptions{}, out)
		if reason != stopSignal || time.Since(wall0) != 2500*time.Millisecond {
			t.Errorf("stopped (%s) after %v, want interrupted after 2.5s", reason, time.Since(wall0))
		}
		if n := len(out.byStation()["a1"]); n != 3 {
			t.Errorf("a1: %d messages before the interrupt, want 3", n)
		}
	})
}

func TestTheDeadlineHoldsWhenTheBrokerIsSlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, _ := station.New([]*station.Station{{ID: "a1", Kind: ingest.KindAir, County: "Hetang", Interval: time.Minute}})
		out := &fakeSender{delay: 3 * time.Second}
		wall0 := time.Now()
		_, reason := simulate(t, t.Context(), reg, nil, 60, simOptions{Deadline: wall0.Add(5 * time.Second)}, out)
		if reason != stopDuration || time.Since(wall0) != 5*time.Second || len(out.msgs) != 1 {
			t.Errorf("stopped (%s) after %v with %d messages, want duration reached after 5s with 1", reason, time.Since(wall0), len(out.msgs))
		}
	})
}
