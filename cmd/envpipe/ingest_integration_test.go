package main

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/envpipe/envpipe/internal/testenv"
)

// TestTenThousandReadingsFromAHundredStationsLandExactly is the walking
// skeleton end to end: stations → Mosquitto → envpipe → WAL → influxd.
func TestTenThousandReadingsFromAHundredStationsLandExactly(t *testing.T) {
	testenv.Integration(t)
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	influxd := testenv.InfluxDB(t)
	dir := t.TempDir()
	testStations(t, dir, 100)
	port := testenv.FreePort(t)
	cfg := writeConfig(t, dir, broker.URL(), influxd.URL(), port, "derive: {enabled: false}\n")
	d := startDaemon(t, dir, cfg, port)

	const stations, perStation = 100, 100
	base := time.Date(2026, 11, 28, 1, 0, 0, 123_000_000, time.UTC)
	value := func(s, i int) float64 { return float64(s) + float64(i)/100 }
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		var msgs [][2]string
		for s := c; s < stations; s += 4 {
			for i := 0; i < perStation; i++ {
				ts := base.Add(time.Duration(i) * time.Minute)
				msgs = append(msgs, [2]string{fmt.Sprintf("env/st-%03d/data", s),
					fmt.Sprintf(`{"station":"st-%03d","time":"%s","values":{"pm25":%g,"pm10":%g,"co":0.8}}`,
						s, ts.In(time.FixedZone("CST", 8*3600)).Format(time.RFC3339Nano), value(s, i), 2*value(s, i))})
			}
		}
		pub := publisher(t, broker.URL(), fmt.Sprintf("pub-%d", c))
		wg.Add(1)
		go func() {
			defer wg.Done()
			publishAll(t, pub, msgs)
		}()
	}
	wg.Wait()

	waitCount(t, influxd, "air", "pm25", stations*perStation, 60*time.Second)
	if n := influxd.Count("air", "pm10"); n != stations*perStation {
		t.Errorf("count(pm10) = %d", n)
	}

	// Exact tags, fields and timestamps for one station.
	series, err := influxd.Query(`SELECT pm25, pm10, co, county FROM air WHERE station = 'st-042' ORDER BY time`)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || len(series[0].Values) != perStation {
		t.Fatalf("st-042: got %+v", series)
	}
	for i, row := range series[0].Values {
		wantTime := base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339Nano)
		if row[0] != wantTime {
			t.Fatalf("row %d time %v, want %s", i, row[0], wantTime)
		}
		if pm25 := row[1].(float64); math.Abs(pm25-value(42, i)) > 1e-9 {
			t.Fatalf("row %d pm25 %v, want %v", i, pm25, value(42, i))
		}
		if pm10 := row[2].(float64); math.Abs(pm10-2*value(42, i)) > 1e-9 {
			t.Fatalf("row %d pm10 %v", i, pm10)
		}
		if row[3].(float64) != 0.8 || row[4] != "C6" {
			t.Fatalf("row %d co/county %v %v", i, row[3], row[4])
		}
	}
	tags, err := influxd.Query(`SHOW TAG VALUES FROM air WITH KEY = "station"`)
	if err != nil || len(tags) != 1 || len(tags[0].Values) != stations {
		t.Fatalf("station tags: %v %+v", err, tags)
	}
	if got := d.metric(`envpipe_readings_accepted_total{kind="air"}`); got != stations*perStation {
		t.Errorf("readings accepted metric = %v", got)
	}
	if got := d.metric(`envpipe_points_written_total`); got != stations*perStation {
		t.Errorf("points written metric = %v", got)
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}
}
