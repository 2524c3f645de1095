package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/internal/testenv"
)

// TestDeriverIsWarmedFromInfluxDBAtStart: hourly means and daily values
// written before a restart are read back with InfluxQL at start-up.
func TestDeriverIsWarmedFromInfluxDBAtStart(t *testing.T) {
	testenv.Integration(t)
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	influxd := testenv.InfluxDB(t)
	cst := time.FixedZone("CST", 8*3600)
	now := time.Now().In(cst)
	hour := now.Truncate(time.Hour).Add(-3 * time.Hour)
	var lp strings.Builder
	for h := 0; h < 3; h++ {
		fmt.Fprintf(&lp, "air_hourly,county=C1,station=st-001 pm25=%d,pm10=70,pm25_minutes=60i %d\n", 40+h, hour.Add(time.Duration(h)*time.Hour).UnixNano())
	}
	yearDay := time.Date(now.Year(), 1, 2, 0, 0, 0, 0, cst)
	if yearDay.Before(now.AddDate(0, 0, -2)) {
		fmt.Fprintf(&lp, "air_daily,county=C1,station=st-001 pm25_24h=33,pm10_24h=55 %d\n", yearDay.UnixNano())
	}
	// Readings of the hour in progress, before the restart: four of
	// st-001 (one of them flagged, which is no reading for derive) and
	// one of an HJ 212 station's minute data.
	open := now.Truncate(time.Hour)
	step := now.Sub(open) / 5
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&lp, "air,county=C1,station=st-001 pm25=%d,pm10=60 %d\n", 30+i, open.Add(time.Duration(i)*step).UnixNano())
	}
	fmt.Fprintf(&lp, "air,county=C1,station=st-001 pm25_flagged=99,pm25_flag=\"M\" %d\n", open.Add(3*step).UnixNano())
	fmt.Fprintf(&lp, "air_minute,county=C0,station=st-000 pm25=12 %d\n", open.UnixNano())
	if err := influxd.Write(lp.String()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	testStations(t, dir, 3)
	port := testenv.FreePort(t)
	d := startDaemon(t, dir, writeConfig(t, dir, broker.URL(), influxd.URL(), port, ""), port)
	if !strings.Contains(d.logs.String(), `msg="derive: warmed from InfluxDB" hours=3`) {
		t.Fatalf("no warm-up of the 3 hours in the log:\n%s", tail(d.logs.String(), 2000))
	}
	if !strings.Contains(d.logs.String(), `msg="derive: open hour warmed from InfluxDB" readings=4`) {
		t.Fatalf("no warm-up of the open hour's 4 readings in the log:\n%s", tail(d.logs.String(), 2000))
	}
}
