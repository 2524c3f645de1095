package alert

import (
	"fmt"
	"math"
	"time"
)

// State is where one alert stands.
type State int

// The states. An alert is born inactive, becomes pending when its value
// crosses the threshold, firing when it has stayed beyond it for the rule's
// `for`, and resolved when it falls back past the hysteresis band. A
// resolved alert behaves like an inactive one: the next crossing makes it
// pending again (a new episode, with new times).
const (
	StateInactive State = iota
	StatePending
	StateFiring
	StateResolved
)

var stateNames = [...]string{"inactive", "pending", "firing", "resolved"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// ParseState is the inverse of State.String.
func ParseState(s string) (State, error) {
	for i, n := range stateNames {
		if n == s {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("alert: unknown state %q", s)
}

// Direction says on which side of a threshold a value is bad.
type Direction int

const (
	// Above: values above the threshold are bad (concentrations).
	Above Direction = iota
	// Below: values below the threshold are bad (dissolved oxygen).
	Below
)

func (d Direction) String() string {
	if d == Below {
		return "below"
	}
	return "above"
}

// Cond is where a value stands relative to a Level.
type Cond int

const (
	// CondClear: back past the resolve point; a firing alert resolves.
	CondClear Cond = iota
	// CondHold: inside the hysteresis band, between the resolve point and
	// the threshold; a firing alert keeps firing, a pending one is dropped.
	CondHold
	// CondBreach: beyond the threshold.
	CondBreach
)

func (c Cond) String() string {
	switch c {
	case CondClear:
		return "clear"
	case CondHold:
		return "hold"
	case CondBreach:
		return "breach"
	}
	return fmt.Sprintf("Cond(%d)", int(c))
}

// Level is one threshold of a rule: the limit itself (critical) or the
// approach level (warning).
type Level struct {
	Threshold float64
	Direction Direction
	// Hysteresis is a fraction of the threshold: a firing alert resolves
	// only when the value is back to Threshold×(1−Hysteresis) or below
	// (Above), or Threshold×(1+Hysteresis) or above (Below).
	Hysteresis float64
}

// Cond classifies v. The threshold itself is not a breach: a limit is the
// highest (for Below, the lowest) compliant value, as in GB 3095 and
// GB 3838.
func (l Level) Cond(v float64) Cond { return l.condAt(v, l.resolvePoint()) }

// resolvePoint is where a firing alert resolves: the threshold less
// (Above) or plus (Below) the hysteresis band.
func (l Level) resolvePoint() float64 {
	if l.Direction == Below {
		return tidy(l.Threshold * (1 + l.Hysteresis))
	}
	return tidy(l.Threshold * (1 - l.Hysteresis))
}

// condAt is Cond with the resolve point given.
func (l Level) condAt(v, resolve float64) Cond {
	if l.Direction == Below {
		switch {
		case v < l.Threshold:
			return CondBreach
		case v < resolve:
			return CondHold
		}
		return CondClear
	}
	switch {
	case v > l.Threshold:
		return CondBreach
	case v > resolve:
		return CondHold
	}
	return CondClear
}

// tidy rounds away floating-point noise (6 × 1.05 = 6.300000000000001), so
// that a value written as the resolve point is on it.
func tidy(x float64) float64 { return math.Round(x*1e9) / 1e9 }

// Episode is the part of an alert the state machine changes: its state and
// the times of the current episode's transitions (zero when not reached).
type Episode struct {
	State State
	// ActiveAt is when the current episode began (the first breach), in
	// the time the rule is evaluated in (event time, or wall time for
	// stale rules).
	ActiveAt time.Time
	// FiredAt is when the alert started firing: Alertmanager's startsAt.
	FiredAt time.Time
	// ResolvedAt is when it resolved: Alertmanager's endsAt.
	ResolvedAt time.Time
	// EvalAt is the time of the latest input; inputs older than it are
	// ignored, so that late data cannot move the machine backwards.
	EvalAt time.Time
	// Value is the latest input value.
	Value float64
}

// Step is the state machine: the episode after input c (of value v) at
// time at, for a rule that must breach for `hold` before firing. It is a
// pure function. A zero hold fires on the first breach, without a pending
// stage. Inputs older than s.EvalAt leave s unchanged.
func Step(s Episode, c Cond, v float64, at time.Time, hold time.Duration) Episode {
	if !s.EvalAt.IsZero() && at.Before(s.EvalAt) {
		return s
	}
	s.EvalAt, s.Value = at, v
	switch s.State {
	case StateInactive, StateResolved:
		if c != CondBreach {
			return s
		}
		s.ActiveAt, s.FiredAt, s.ResolvedAt = at, time.Time{}, time.Time{}
		s.State = StatePending
		if hold <= 0 {
			s.State, s.FiredAt = StateFiring, at
		}
	case StatePending:
		switch {
		case c != CondBreach:
			s.State, s.ActiveAt = StateInactive, time.Time{}
		case at.Sub(s.ActiveAt) >= hold:
			s.State, s.FiredAt = StateFiring, at
		}
	case StateFiring:
		if c == CondClear {
			s.State, s.ResolvedAt = StateResolved, at
		}
	}
	return s
}
