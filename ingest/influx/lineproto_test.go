package influx

import (
	"math"
	"math/rand/v2"
	"strconv"
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

// TestAppendFloatIsStrconvByteForByte: the fast path must write exactly
// what strconv's shortest 'g' format writes, inside its range and at its
// edges; outside it strconv does the work.
func TestAppendFloatIsStrconvByteForByte(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 42.4, 65.2, 0.8, 96.2, 0.1, 0.2, 0.1 + 0.2,
		1e-4, 0.00011, 9.9e-5, -1e-4, 0.000001, 1e-7, 999999.999999, 1e6, 1e6 - 1, 1234567.5,
		123456.123456, 123456.1234567, 0.123456, 0.1234567, 5e-324, math.MaxFloat64,
		math.Inf(1), math.Inf(-1), math.NaN(), 40000, 3.14159265358979, 7.25, -273.15}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		// Decimals as instruments send them, and arbitrary doubles.
		d := float64(r.Int64N(2e12)-1e12) / math.Pow10(r.IntN(8))
		vals = append(vals, d, math.Float64frombits(r.Uint64()), r.Float64()*1e6)
	}
	for _, v := range vals {
		if got, want := string(AppendFloat(nil, v)), strconv.FormatFloat(v, 'g', -1, 64); got != want {
			t.Fatalf("AppendFloat(%v) = %q, want %q", v, got, want)
		}
	}
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{42.4, 0.8, 1e-4, 999999.999999, 0.1 + 0.2, -0.5} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		if got, want := string(AppendFloat(nil, v)), strconv.FormatFloat(v, 'g', -1, 64); got != want {
			t.Fatalf("AppendFloat(%v) = %q, want %q", v, got, want)
		}
	})
}

func BenchmarkAppendFloat(b *testing.B) {
	vals := []float64{42.4, 65.2, 8.4, 35.2, 0.8, 96.2}
	var buf []byte
	for _, tc := range []struct {
		name string
		f    func([]byte, float64) []byte
	}{
		{"fast", AppendFloat},
		{"strconv", func(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'g', -1, 64) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				buf = buf[:0]
				for _, v := range vals {
					buf = tc.f(buf, v)
				}
			}
		})
	}
}
