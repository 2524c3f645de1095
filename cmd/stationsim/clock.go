package main

import (
	"context"
	"math"
	"time"
)

// simClock maps wall time to simulated time: simulated time starts at start
// when the wall clock reads wall0 and advances speed times as fast, so with
// speed 60 a station reporting every simulated minute publishes every wall
// second. With live set, a clock started in the past and running faster
// than the wall's goes on at the wall's pace once it has caught up with it:
// a replay of the past that continues as a live network (a receiver
// refuses readings from the future).
type simClock struct {
	wall0 time.Time
	start time.Time
	speed float64
	live  bool
}

// caughtUp returns the wall time at which a live clock reaches the wall
// clock, and false if it never does (not live, not behind, not faster).
func (c simClock) caughtUp() (time.Time, bool) {
	behind := c.wall0.Sub(c.start)
	if !c.live || c.speed <= 1 || behind <= 0 {
		return time.Time{}, false
	}
	return c.wall0.Add(scale(behind, 1/(c.speed-1))), true
}

// Sim returns the simulated time at wall time w.
func (c simClock) Sim(w time.Time) time.Time {
	if at, ok := c.caughtUp(); ok && !w.Before(at) {
		return w
	}
	return c.start.Add(scale(w.Sub(c.wall0), c.speed))
}

// Wall returns the wall time at which simulated time s is reached.
func (c simClock) Wall(s time.Time) time.Time {
	if at, ok := c.caughtUp(); ok && !s.Before(at) {
		return s
	}
	return c.wall0.Add(scale(s.Sub(c.start), 1/c.speed))
}

// scale multiplies d by f, saturating instead of overflowing.
func scale(d time.Duration, f float64) time.Duration {
	v := math.Round(float64(d) * f)
	switch {
	case v >= math.MaxInt64:
		return math.MaxInt64
	case v <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(v)
}

// alignDown returns the latest multiple of interval at or before t, counted
// in local (+08:00) time from midnight, so 1-minute stations report on the
// minute and 4-hour sections at 00:00, 04:00, 08:00, ... local time.
func alignDown(t time.Time, interval time.Duration) time.Time {
	_, off := t.In(cst).Zone()
	local := t.UnixNano() + int64(off)*int64(time.Second)
	iv := int64(interval)
	r := local % iv
	if r < 0 {
		r += iv
	}
	return time.Unix(0, t.UnixNano()-r).In(cst)
}

// wallSleeper waits for wall-clock instants with one reusable timer.
type wallSleeper struct{ timer *time.Timer }

func newWallSleeper() *wallSleeper {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &wallSleeper{timer: t}
}

// until waits for wall time w; false when ctx ends first.
func (s *wallSleeper) until(ctx context.Context, w time.Time) bool {
	d := time.Until(w)
	if d <= 0 {
		return ctx.Err() == nil
	}
	s.timer.Reset(d)
	select {
	case <-ctx.Done():
		return false
	case <-s.timer.C:
		return true
	}
}

func (s *wallSleeper) stop() { s.timer.Stop() }
