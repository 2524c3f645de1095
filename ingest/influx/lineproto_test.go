package influx

import (
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

func TestEncoderWritesTheSchema(t *testing.T) {
	air := &station.Station{ID: "zz-air-0101", Kind: ingest.KindAir, County: "He tang,=x"}
	water := &station.Station{ID: "zz-wat-xj02", Kind: ingest.KindWater, County: "Lusong", River: "湘江", Section: "枫溪 断面"}
	ts := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		st   *station.Station
		r    ingest.Reading
		want string
	}{
		{"air with escaped tag and a flagged value", air, ingest.Reading{Station: air.ID, Time: ts,
			Values: []ingest.Value{{Param: "pm25", V: 38.2, Flag: 'N'}, {Param: "pm10", V: 61, Flag: 'M'}}},
			`air,county=He\ tang\,\=x,station=zz-air-0101 pm25=38.2,pm10_flagged=61,pm10_flag="M" 1795827600000000000` + "\n"},
		{"water carries river and section", water, ingest.Reading{Station: water.ID, Time: ts,
			Values: []ingest.Value{{Param: "nh3n", V: 0.46, Flag: 'N'}}},
			`water,county=Lusong,river=湘江,section=枫溪\ 断面,station=zz-wat-xj02 nh3n=0.46 1795827600000000000` + "\n"},
		{"period data go to their own measurement", air, ingest.Reading{Station: air.ID, Time: ts, Period: ingest.PeriodHour,
			Values: []ingest.Value{{Param: "so2", V: 1e-7, Flag: 'N'}}},
			`air_hour,county=He\ tang\,\=x,station=zz-air-0101 so2=1e-07 1795827600000000000` + "\n"},
	}
	// One encoder for every case, twice over: its prefixes are cached, and
	// both stations here have Index 0 (they are not from a registry).
	e := NewEncoder()
	for round := range 2 {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got := string(e.Append(nil, c.st, &c.r))
				if got != c.want {
					t.Errorf("round %d: got  %s\nwant %s", round, got, c.want)
				}
			})
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	st := &station.Station{ID: "zz-air-0042", Kind: ingest.KindAir, County: "Bench"}
	r := ingest.Reading{Station: st.ID, Time: time.Now(), Values: []ingest.Value{
		{Param: "pm25", V: 42.4, Flag: 'N'}, {Param: "pm10", V: 65.2, Flag: 'N'}, {Param: "so2", V: 8.4, Flag: 'N'},
		{Param: "no2", V: 35.2, Flag: 'N'}, {Param: "co", V: 0.8, Flag: 'N'}, {Param: "o3", V: 96.2, Flag: 'N'}}}
	e := NewEncoder()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = e.Append(buf[:0], st, &r)
	}
}
