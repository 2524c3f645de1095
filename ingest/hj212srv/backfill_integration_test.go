package hj212srv

import (
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/hj212srv/fieldunit"
	"github.com/envpipe/envpipe/internal/testenv"
)

// Done-when (3) of issue 6: a TCP station goes silent for 30 minutes while
// still measuring, reconnects, and afterwards InfluxDB has its missing
// minute and hourly data, asked for by envpipe, each point once.
//
// The station's clock is simulated: it measures a minute per loop turn, so
// the 30 minutes of silence take no wall time. envpipe finds the gap from
// DataTime alone.
func TestASilentTCPStationIsAskedForItsMissingMinuteAndHourlyData(t *testing.T) {
	testenv.Integration(t)
	reg := newRegistry(t, airStation("zz-air-tcp", "88888880000009", "123456"))
	cfg := DefaultConfig()
	cfg.Backfill.Timeout = 30 * time.Second
	st := startStack(t, reg, cfg)

	u := fieldunit.New("88888880000009", "123456", "22")
	t0 := time.Now().Truncate(time.Hour).Add(-3 * time.Hour)
	var minutes []fieldunit.Record
	// measure is minute m of the station: stored in its history, and the
	// hour's mean once the hour is complete.
	measure := func(m int) fieldunit.Record {
		at := t0.Add(time.Duration(m) * time.Minute)
		r := fieldunit.Record{Time: at, Values: []ingest.Value{
			{Param: "pm25", V: 20 + float64(m%37), Flag: ingest.FlagNormal},
			{Param: "co", V: 0.5 + float64(m%5)/10, Flag: ingest.FlagNormal},
		}}
		u.Store(hj212.CNMinute, r)
		minutes = append(minutes, r)
		if m%60 == 59 {
			hour := at.Truncate(time.Hour)
			u.Store(hj212.CNHourly, fieldunit.Mean(hour, minutes[len(minutes)-60:]))
		}
		return r
	}
	var acks atomic.Int64
	connect := func() *fieldunit.Session {
		s, err := fieldunit.Dial(t.Context(), st.addr, u)
		if err != nil {
			t.Fatal(err)
		}
		go s.Serve(t.Context(), func(f *hj212.Frame) {
			if f.CN == hj212.CNDataResponse {
				acks.Add(1)
			}
		})
		return s
	}

	// 40 minutes online, uploading each minute's data.
	s1 := connect()
	for m := 0; m < 40; m++ {
		if err := s1.Upload(hj212.CNMinute, measure(m)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "40 data responses", func() bool { return acks.Load() == 40 })
	s1.Close()

	// 30 minutes silent, still measuring (hour 0 completes meanwhile: its
	// 2061 upload is due and not sent).
	for m := 40; m < 70; m++ {
		measure(m)
	}

	// Back: minutes 70..75 as usual.
	s2 := connect()
	defer s2.Close()
	for m := 70; m < 76; m++ {
		if err := s2.Upload(hj212.CNMinute, measure(m)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "the 2051 and 2061 requests answered", func() bool { _, a := s2.Requests(); return a == 2 })
	if got, _ := s2.Requests(); got != 2 {
		t.Errorf("the station got %d history requests, want 2", got)
	}
	// Every upload answered: 40 + 6 own, 32 minutes (39..70) and 1 hour
	// sent back.
	waitFor(t, 10*time.Second, "every data response", func() bool { return acks.Load() == 40+6+32+1 })

	st.waitCount(t, "air_minute", "pm25", 76, 30*time.Second)
	st.waitCount(t, "air_hour", "pm25", 1, 10*time.Second)
	st.waitCount(t, "air_minute", "co", 76, 10*time.Second)
	var wantMinuteSum float64
	for _, r := range minutes {
		wantMinuteSum += r.Values[0].V
	}
	if got := st.sum(t, "air_minute", "pm25"); math.Abs(got-wantMinuteSum) > 1e-6 {
		t.Errorf("sum of minute pm25 = %v, want %v", got, wantMinuteSum)
	}
	wantHour := fieldunit.Mean(t0, minutes[:60]).Values[0].V
	if got := st.sum(t, "air_hour", "pm25"); math.Abs(got-wantHour) > 1e-6 {
		t.Errorf("hourly pm25 = %v, want %v", got, wantHour)
	}
	for cn, want := range map[string]float64{"2051": 1, "2061": 1} {
		if got := st.metric(t, "envpipe_hj212_backfill_requests_total", "cn", cn); got != want {
			t.Errorf("requests{cn=%s} = %v, want %v", cn, got, want)
		}
	}
	if got := st.metric(t, "envpipe_hj212_backfill_results_total", "result", bfAnswered); got != 2 {
		t.Errorf("answered requests %v, want 2", got)
	}
	if got := st.metric(t, "envpipe_hj212_backfill_gaps_total"); got != 1 {
		t.Errorf("gaps %v, want 1", got)
	}
}
