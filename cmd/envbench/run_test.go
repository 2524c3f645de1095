package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

func TestRSSGrowthIsMeasuredAfterTheWarmUp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []float64
		want    float64
		ok      bool
	}{
		{"flat", []float64{40, 50, 50, 51, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50}, 0.02, true},
		{"growing", []float64{30, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90}, 2, true},
		{"warm-up spike ignored", []float64{90, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50}, 0, true},
		{"too few", []float64{50}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := rssGrowth(tc.samples)
			if ok != tc.ok || math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("rssGrowth = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestDirectRefusesRateAndPriming(t *testing.T) {
	for _, args := range [][]string{
		{"-direct", "-1"},
		{"-direct", "4096", "-rate", "100"},
		{"-direct", "4096", "-primed"},
	} {
		var stderr strings.Builder
		if code := mainArgs(args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "-direct") {
			t.Errorf("%v: exit %d, %q", args, code, stderr.String())
		}
	}
}

func TestDeadlineAddsThePublishingTimeAtAFixedRate(t *testing.T) {
	for _, c := range []struct {
		c    config
		want time.Duration
	}{
		{config{timeout: time.Minute, n: 1000}, time.Minute},
		{config{timeout: time.Minute, n: 12000000, rate: 10000}, 21 * time.Minute},
	} {
		if got := c.c.deadline(); got != c.want {
			t.Errorf("deadline(%+v) = %v, want %v", c.c, got, c.want)
		}
	}
}

func TestStepSetsTheEventTimeOfEachReading(t *testing.T) {
	base := time.Date(2026, 11, 28, 9, 10, 0, 0, time.UTC)
	c := config{base: base, step: 100 * time.Microsecond}
	if got, want := c.at(10000), base.Add(time.Second); !got.Equal(want) {
		t.Errorf("reading 10 000 at %v, want %v (one second of event time per 10 000 readings)", got, want)
	}
	var out strings.Builder
	(&result{N: 6000000, Stations: 10000, Conns: 4, Rate: 10000, StepSeconds: c.step.Seconds()}).print(&out)
	if want := "readings 100µs apart in event time (1 × the clock's pace)"; !strings.Contains(out.String(), want) {
		t.Errorf("the result does not say %q:\n%s", want, out.String())
	}
	var stderr strings.Builder
	if code := mainArgs([]string{"-step", "0"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "-step") {
		t.Errorf("-step 0: exit %d, %q", code, stderr.String())
	}
}

func TestPayloadCarriesTheReadingValues(t *testing.T) {
	at := time.Date(2026, 11, 28, 9, 0, 0, 123456789, time.UTC)
	for i := range 5400 { // every pm25 and pm10 value
		want := fmt.Sprintf(`{"station":"zz-air-0001","time":"2026-11-28T09:00:00.123456789Z","values":{"pm25":%d.4,"pm10":%d.2,"so2":8.4,"no2":35.2,"co":0.8,"o3":96.2}}`,
			20+i%60, 40+i%90)
		if got := payload("zz-air-0001", at, i); got != want {
			t.Fatalf("payload %d = %s, want %s", i, got, want)
		}
	}
}
