package main

import (
	"testing"
	"time"
)

func TestSpeedUpMapsSimulatedMinutesToWallSeconds(t *testing.T) {
	wall0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	start := time.Date(2026, 11, 28, 8, 0, 0, 0, cst)
	c := simClock{wall0: wall0, start: start, speed: 60}
	for k := range 100 {
		sim := start.Add(time.Duration(k) * time.Minute)
		wall := wall0.Add(time.Duration(k) * time.Second)
		if got := c.Wall(sim); !got.Equal(wall) {
			t.Errorf("Wall(start + %d min) = %s, want wall0 + %ds", k, got, k)
		}
		if got := c.Sim(wall); !got.Equal(sim) {
			t.Errorf("Sim(wall0 + %ds) = %s, want start + %d min", k, got, k)
		}
	}
	// Before the start (a station's first, aligned reading) is in the past.
	if got := c.Wall(start.Add(-30 * time.Second)); !got.Equal(wall0.Add(-500 * time.Millisecond)) {
		t.Errorf("Wall(start - 30s) = %s", got)
	}
}

func TestSpeedUpArithmetic(t *testing.T) {
	wall0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	start := time.Date(2026, 11, 28, 8, 0, 0, 0, cst)
	for _, tc := range []struct {
		speed    float64
		wall     time.Duration // after wall0
		simAfter time.Duration // after start
	}{
		{1, time.Minute, time.Minute},
		{60, 10 * time.Second, 10 * time.Minute},
		{3600, time.Second, time.Hour},
		{0.5, 2 * time.Minute, time.Minute},
		{14400, 3 * time.Second, 12 * time.Hour}, // a 4-hour section every wall second
	} {
		c := simClock{wall0: wall0, start: start, speed: tc.speed}
		if got := c.Sim(wall0.Add(tc.wall)).Sub(start); got != tc.simAfter {
			t.Errorf("speed %v: %v of wall time = %v simulated, want %v", tc.speed, tc.wall, got, tc.simAfter)
		}
		if got := c.Wall(start.Add(tc.simAfter)).Sub(wall0); got != tc.wall {
			t.Errorf("speed %v: %v simulated at wall %v, want %v", tc.speed, tc.simAfter, got, tc.wall)
		}
	}
	// A huge speed must not overflow.
	c := simClock{wall0: wall0, start: start, speed: 1e12}
	if got := c.Sim(wall0.Add(time.Hour)); got.Before(start) {
		t.Errorf("speed 1e12: Sim overflowed to %s", got)
	}
}

// A live clock started a day ago at 60x catches up with the wall clock
// after 24h/59 and then runs at its pace, never ahead of it.
func TestLiveClockGoesOnInRealTimeOnceCaughtUp(t *testing.T) {
	wall0 := time.Date(2026, 11, 29, 8, 0, 0, 0, cst)
	start := wall0.Add(-24 * time.Hour)
	live := simClock{wall0: wall0, start: start, speed: 60, live: true}
	caught := wall0.Add(24 * time.Hour / 59)
	for _, tc := range []struct {
		wall, sim time.Time
	}{
		{wall0, start},
		{wall0.Add(10 * time.Minute), start.Add(10 * time.Hour)},
		{caught, caught},
		{caught.Add(time.Hour), caught.Add(time.Hour)},
		{wall0.Add(48 * time.Hour), wall0.Add(48 * time.Hour)},
	} {
		if got := live.Sim(tc.wall); got.Sub(tc.sim).Abs() > time.Millisecond {
			t.Errorf("Sim(%s) = %s, want %s", tc.wall, got, tc.sim)
		}
		if got := live.Wall(tc.sim); got.Sub(tc.wall).Abs() > time.Millisecond {
			t.Errorf("Wall(%s) = %s, want %s", tc.sim, got, tc.wall)
		}
		if got := live.Sim(tc.wall); got.After(tc.wall.Add(time.Millisecond)) {
			t.Errorf("Sim(%s) = %s is ahead of the wall clock", tc.wall, got)
		}
	}
	// Without -live, or at speed 1, or started in the future, nothing changes.
	for _, c := range []simClock{
		{wall0: wall0, start: start, speed: 60},
		{wall0: wall0, start: start, speed: 1, live: true},
		{wall0: wall0, start: wall0.Add(time.Hour), speed: 60, live: true},
	} {
		w := wall0.Add(48 * time.Hour)
		want := c.start.Add(scale(w.Sub(wall0), c.speed))
		if got := c.Sim(w); !got.Equal(want) {
			t.Errorf("%+v: Sim = %s, want %s", c, got, want)
		}
	}
}

func TestAlignDownUsesLocalTime(t *testing.T) {
	for _, tc := range []struct {
		in       time.Time
		interval time.Duration
		want     time.Time
	}{
		{time.Date(2026, 11, 28, 9, 0, 17, 300, cst), time.Minute, time.Date(2026, 11, 28, 9, 0, 0, 0, cst)},
		{time.Date(2026, 11, 28, 9, 0, 0, 0, cst), time.Minute, time.Date(2026, 11, 28, 9, 0, 0, 0, cst)},
		{time.Date(2026, 11, 28, 10, 30, 0, 0, cst), 4 * time.Hour, time.Date(2026, 11, 28, 8, 0, 0, 0, cst)},
		{time.Date(2026, 11, 28, 2, 30, 0, 0, time.UTC), 4 * time.Hour, time.Date(2026, 11, 28, 8, 0, 0, 0, cst)}, // 10:30 local
		{time.Date(2026, 11, 28, 23, 59, 0, 0, cst), 24 * time.Hour, time.Date(2026, 11, 28, 0, 0, 0, 0, cst)},
		{time.Date(2026, 11, 28, 0, 10, 0, 0, cst), 24 * time.Hour, time.Date(2026, 11, 28, 0, 0, 0, 0, cst)},
	} {
		if got := alignDown(tc.in, tc.interval); !got.Equal(tc.want) {
			t.Errorf("alignDown(%s, %v) = %s, want %s", tc.in, tc.interval, got, tc.want)
		}
	}
}
