package alert

import (
	"testing"
	"time"
)

func TestLevelCond(t *testing.T) {
	above := Level{Threshold: 70, Direction: Above, Hysteresis: 0.05} // resolve point 66.5
	below := Level{Threshold: 6, Direction: Below, Hysteresis: 0.05}  // resolve point 6.3
	tests := []struct {
		name string
		l    Level
		v    float64
		want Cond
	}{
		{"above: a value on the limit complies", above, 70, CondHold},
		{"above: just over the limit breaches", above, 70.01, CondBreach},
		{"above: inside the band holds", above, 66.6, CondHold},
		{"above: on the resolve point clears", above, 66.5, CondClear},
		{"above: well below clears", above, 10, CondClear},
		{"below: a value on the limit complies", below, 6, CondHold},
		{"below: just under the limit breaches", below, 5.99, CondBreach},
		{"below: inside the band holds", below, 6.2, CondHold},
		{"below: on the resolve point clears", below, 6.3, CondClear},
		{"no hysteresis: the threshold itself clears", Level{Threshold: 1}, 1, CondClear},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.l.Cond(tt.v); got != tt.want {
				t.Errorf("Cond(%v) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

func TestStateStrings(t *testing.T) {
	for s, want := range map[State]string{StateInactive: "inactive", StatePending: "pending", StateFiring: "firing", StateResolved: "resolved"} {
		if s.String() != want {
			t.Errorf("%d: %q", s, s.String())
		}
		if p, err := ParseState(want); err != nil || p != s {
			t.Errorf("ParseState(%q) = %v, %v", want, p, err)
		}
	}
	if State(9).String() != "State(9)" {
		t.Error(State(9).String())
	}
}

// step is one input of a state machine walk, minutes after t0.
type step struct {
	min   int
	c     Cond
	state State
}

func TestStepWalksThroughTime(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name  string
		hold  time.Duration
		steps []step
		// the times of the final episode, in minutes (-1: zero)
		active, fired, resolved int
	}{
		{"for 0 fires on the first breach and resolves when clear", 0, []step{
			{0, CondClear, StateInactive}, {1, CondBreach, StateFiring}, {2, CondHold, StateFiring},
			{3, CondBreach, StateFiring}, {4, CondClear, StateResolved},
		}, 1, 1, 4},
		{"for 10m goes through pending and fires 10 minutes after the first breach", 10 * time.Minute, []step{
			{0, CondBreach, StatePending}, {5, CondBreach, StatePending}, {9, CondBreach, StatePending},
			{10, CondBreach, StateFiring}, {20, CondClear, StateResolved},
		}, 0, 10, 20},
		{"a pending alert that falls into the band is dropped, and starts over", 10 * time.Minute, []step{
			{0, CondBreach, StatePending}, {5, CondHold, StateInactive}, {6, CondBreach, StatePending},
			{15, CondBreach, StatePending}, {16, CondBreach, StateFiring},
		}, 6, 16, -1},
		{"a firing alert wavering inside the hysteresis band keeps firing", 0, []step{
			{0, CondBreach, StateFiring}, {1, CondHold, StateFiring}, {2, CondBreach, StateFiring},
			{3, CondHold, StateFiring}, {4, CondHold, StateFiring},
		}, 0, 0, -1},
		{"a resolved alert starts a new episode on the next breach", 0, []step{
			{0, CondBreach, StateFiring}, {1, CondClear, StateResolved}, {2, CondClear, StateResolved},
			{3, CondBreach, StateFiring},
		}, 3, 3, -1},
		{"clear and hold inputs leave an inactive alert inactive", time.Minute, []step{
			{0, CondClear, StateInactive}, {1, CondHold, StateInactive},
		}, -1, -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Episode
			for _, s := range tt.steps {
				e = Step(e, s.c, float64(s.min), at(s.min), tt.hold)
				if e.State != s.state {
					t.Fatalf("minute %d, %v: state %v, want %v", s.min, s.c, e.State, s.state)
				}
			}
			check := func(name string, got time.Time, m int) {
				want := time.Time{}
				if m >= 0 {
					want = at(m)
				}
				if !got.Equal(want) {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			check("ActiveAt", e.ActiveAt, tt.active)
			check("FiredAt", e.FiredAt, tt.fired)
			check("ResolvedAt", e.ResolvedAt, tt.resolved)
		})
	}
}

func TestStepIgnoresInputsOlderThanTheLatest(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	e := Step(Episode{}, CondBreach, 80, t0.Add(time.Hour), 0)
	late := Step(e, CondClear, 10, t0, 0)
	if late != e {
		t.Errorf("a late clear changed the episode: %+v", late)
	}
}
