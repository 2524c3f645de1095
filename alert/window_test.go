package alert

import (
	"math"
	"testing"
	"time"
)

func TestBucketWidthKeepsWindowsPreciseAndSmall(t *testing.T) {
	tests := []struct {
		windows []time.Duration
		want    time.Duration
	}{
		{[]time.Duration{24 * time.Hour}, 30 * time.Minute},                // 48 buckets
		{[]time.Duration{8 * time.Hour}, 10 * time.Minute},                 // 48
		{[]time.Duration{time.Hour}, time.Minute},                          // 60
		{[]time.Duration{time.Hour, 24 * time.Hour}, 5 * time.Minute},      // 12 and 288
		{[]time.Duration{time.Hour, 8 * time.Hour}, 5 * time.Minute},       // 12 and 96
		{[]time.Duration{8 * time.Hour, 24 * time.Hour}, 30 * time.Minute}, // 16 and 48
		{[]time.Duration{7 * 24 * time.Hour}, time.Hour},                   // 168
	}
	for _, tt := range tests {
		if got := time.Duration(bucketWidth(tt.windows)) * time.Second; got != tt.want {
			t.Errorf("bucketWidth(%v) = %v, want %v", tt.windows, got, tt.want)
		}
	}
}

func TestRollingMeanSlidesInEventTime(t *testing.T) {
	s := newSeries([]time.Duration{time.Hour}, false)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	// 60 one-minute values 0..59: mean 29.5, full coverage.
	for i := range 60 {
		s.add(t0.Add(time.Duration(i)*time.Minute), float64(i))
	}
	m, cov, ok := s.mean(time.Hour, time.Minute)
	if !ok || m != 29.5 || cov != 1 {
		t.Fatalf("mean = %v, %v, %v; want 29.5, 1", m, cov, ok)
	}
	// The next minute pushes the first value (0) out.
	s.add(t0.Add(60*time.Minute), 60)
	if m, _, _ := s.mean(time.Hour, time.Minute); m != 30.5 {
		t.Errorf("after sliding one minute: mean %v, want 30.5", m)
	}
	// A late value within the window counts; one older than the window
	// does not.
	if !s.add(t0.Add(30*time.Minute+30*time.Second), 1000) {
		t.Error("a late value inside the window was refused")
	}
	if s.add(t0.Add(-time.Minute), 1e6) {
		t.Error("a value older than the window was accepted")
	}
	if m, _, _ := s.mean(time.Hour, time.Minute); math.Abs(m-(30.5*60+1000)/61) > 1e-9 {
		t.Errorf("mean with the late value %v", m)
	}
	// A jump beyond the window leaves only the new value.
	s.add(t0.Add(5*time.Hour), 7)
	if m, cov, _ := s.mean(time.Hour, time.Minute); m != 7 || math.Abs(cov-1.0/60) > 1e-9 {
		t.Errorf("after a 4 h gap: mean %v coverage %v, want 7 and 1/60", m, cov)
	}
}

func TestCoverageCountsEachValueForTheStationInterval(t *testing.T) {
	s := newSeries([]time.Duration{24 * time.Hour}, false)
	t0 := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	for i := range 108 { // 18 h of 10-minute values
		s.add(t0.Add(time.Duration(i)*10*time.Minute), 50)
	}
	if _, cov, _ := s.mean(24*time.Hour, 10*time.Minute); cov != 0.75 {
		t.Errorf("coverage %v, want 0.75", cov)
	}
}

func TestYearToDateIsTheMeanOfDailyMeansOfTheYear(t *testing.T) {
	s := newSeries(nil, true)
	cst := time.FixedZone("CST", 8*3600)
	day := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, cst) }
	// Day 1: 10 and 30 (mean 20); day 2: 40 (mean 40); day 3 so far: 60.
	s.add(day(1, 1, 0), 10)
	s.add(day(1, 1, 23), 30)
	s.add(day(1, 2, 0), 40)
	s.add(day(1, 3, 12), 60)
	if v, n, _ := s.ytd.value(); v != 40 || n != 3 {
		t.Errorf("ytd %v over %d days, want 40 over 3", v, n)
	}
	// A value for a closed day is refused.
	if s.ytd.add(day(1, 1, 12), 1000) {
		t.Error("a value for a closed day was accepted")
	}
	// New Year (CST midnight, 16:00 UTC the day before) starts over.
	s.add(time.Date(2027, 1, 1, 0, 30, 0, 0, cst), 5)
	if v, n, _ := s.ytd.value(); v != 5 || n != 1 {
		t.Errorf("ytd after New Year %v over %d days, want 5 over 1", v, n)
	}
}
