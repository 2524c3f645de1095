package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert/aqi"
	"github.com/envpipe/envpipe/alert/waterclass"
	"github.com/envpipe/envpipe/internal/testenv"
)

// TestDerivedPointsOfTwoDaysAcrossTheEditionChange publishes two simulated
// days, 2026-02-28 and 2026-03-01 (CST), of 1-minute readings from three
// air stations and 4-hourly samples from one water section through
// Mosquitto and envpipe into influxd, and checks the derived aqi (hourly
// and daily) and water_quality points against values computed here,
// independently of package derive: hourly means of the N-flagged values
// with GB 3095's ≥ 45 minutes rule, moving and daily means with their own
// rules, rounding for HJ 633-2026, then package aqi (whose tables are
// verified against the reference vectors) and package waterclass. The
// first day is judged by HJ 633-2012, the second by HJ 633-2026.
//
// The readings include a 16-minute gap (an invalid hour: 44 minutes), an
// hour with exactly 45 minutes, flagged (M, C) values, and five silent hours
// that leave a 2026 day with its O3 sub-index only (complete=false).
func TestDerivedPointsOfTwoDaysAcrossTheEditionChange(t *testing.T) {
	testenv.Integration(t)
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	influxd := testenv.InfluxDB(t)
	dir := t.TempDir()
	stations := `stations:
  - {id: zz-air-01, name: A1, kind: air, county: Hetang, lat: 27.8, lon: 113.1, interval: 1m}
  - {id: zz-air-02, name: A2, kind: air, county: Lusong, lat: 27.8, lon: 113.1, interval: 1m}
  - {id: zz-air-03, name: A3, kind: air, county: Liling, lat: 27.6, lon: 113.5, interval: 1m}
  - {id: zz-wat-01, name: 枫溪, kind: water, county: Lusong, river: 湘江, section: 枫溪 断面, waterbody: river, target_class: II, lat: 27.8, lon: 113.1, interval: 4h}
`
	if err := os.WriteFile(filepath.Join(dir, "stations.yaml"), []byte(stations), 0o644); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	cfg := writeConfig(t, dir, broker.URL(), influxd.URL(), port, "derive: {edition: auto, lateness: 2h}\n")
	d := startDaemon(t, dir, cfg, port)

	air, water := deriveTestReadings()
	var msgs [][2]string
	for _, st := range []string{"zz-air-01", "zz-air-02", "zz-air-03"} {
		rs := air[st]
		for i := 0; i < len(rs); {
			j := i
			for j < len(rs) && rs[j].t.Truncate(time.Hour).Equal(rs[i].t.Truncate(time.Hour)) {
				j++
			}
			msgs = append(msgs, [2]string{"env/" + st + "/data", payload(rs[i:j])})
			i = j
		}
	}
	for _, r := range water {
		msgs = append(msgs, [2]string{"env/zz-wat-01/data", payload([]simReading{r})})
	}
	publishAll(t, publisher(t, broker.URL(), "derive-pub"), msgs)

	// Expected points, computed here.
	wantHours, wantDays := expectedAQI(t, air)
	wantWater := expectedWater(t, water)
	nAir := 0
	for _, rs := range air {
		nAir += len(rs)
	}
	waitCount(t, influxd, "air", "pm25", nAir-countFlagged(air, "pm25"), 60*time.Second)
	waitQuery(t, influxd, `SELECT count("aqi") FROM aqi WHERE period = 'hour'`, len(wantHours), 60*time.Second)
	waitQuery(t, influxd, `SELECT count("aqi") FROM aqi WHERE period = 'day'`, len(wantDays), 30*time.Second)
	waitQuery(t, influxd, `SELECT count("class") FROM water_quality`, len(wantWater), 30*time.Second)

	checkAQI(t, influxd, "hour", wantHours)
	checkAQI(t, influxd, "day", wantDays)
	checkWater(t, influxd, wantWater)
	checkHourlyMeans(t, influxd)
	checkCompliance(t, influxd, wantDays)

	if err := d.Stop(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}
}

var cstZone = time.FixedZone("CST", 8*3600)

// simReading is one simulated reading: values and the flags that are not N.
type simReading struct {
	station string
	t       time.Time
	vals    map[string]float64
	flags   map[string]string
}

func payload(rs []simReading) string {
	type js struct {
		Station string             `json:"station"`
		Time    string             `json:"time"`
		Values  map[string]float64 `json:"values"`
		Flags   map[string]string  `json:"flags,omitempty"`
	}
	out := make([]js, len(rs))
	for i, r := range rs {
		out[i] = js{r.station, r.t.Format(time.RFC3339), r.vals, r.flags}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// round1 keeps a simulated value to one decimal, as a station sends it.
func round1(v float64) float64 { return math.Round(v*10) / 10 }

// deriveTestReadings simulates 2026-02-28 00:00 to 2026-03-01 23:59 CST.
func deriveTestReadings() (map[string][]simReading, []simReading) {
	start := time.Date(2026, 2, 28, 0, 0, 0, 0, cstZone)
	air := map[string][]simReading{}
	for s, st := range []string{"zz-air-01", "zz-air-02", "zz-air-03"} {
		for m := 0; m < 2*24*60; m++ {
			ts := start.Add(time.Duration(m) * time.Minute)
			h, min, day := ts.Hour(), ts.Minute(), ts.Day()
			switch {
			case s == 0 && ts.Day() == 28 && h == 10 && min >= 44: // 16-minute gap: 44 minutes, invalid
				continue
			case s == 0 && day == 1 && h == 3 && min >= 45: // 15-minute gap: 45 minutes, valid
				continue
			case s == 2 && day == 1 && h < 5: // silent for five hours: 19 h, no 24 h means; O3 8 h has 14 windows
				continue
			}
			fs := float64(s)
			pm25 := round1(28 + 14*fs + 1.7*float64((h+5)%24) + 0.1*float64(min%7) + 6*float64(day%2))
			o3dist := math.Abs(float64(h) - 15)
			vals := map[string]float64{
				"pm25": pm25,
				"pm10": round1(1.6*pm25 + 4),
				"so2":  float64(6 + s + min%3),
				"no2":  float64(22 + h + 3*s),
				"co":   math.Round((0.6+0.05*fs+0.01*float64(h%10))*100) / 100,
				"o3":   round1(40 + 9*math.Max(0, 12-o3dist) + 25*fs + 0.3*float64(min%4)),
			}
			r := simReading{station: st, t: ts, vals: vals}
			if s == 1 && day == 28 && h == 14 && min <= 20 { // 21 minutes in maintenance: pm25 invalid
				r.flags = map[string]string{"pm25": "M"}
				r.vals["pm25"] = 999
			}
			if s == 1 && day == 1 && h == 9 && min <= 10 { // 11 minutes calibrating: o3 still valid
				r.flags = map[string]string{"o3": "C"}
				r.vals["o3"] = 1500
			}
			air[st] = append(air[st], r)
		}
	}
	var water []simReading
	for k := 0; k < 12; k++ {
		ts := start.Add(time.Duration(4*k) * time.Hour)
		r := simReading{station: "zz-wat-01", t: ts, vals: map[string]float64{
			"do": 6.5 - 0.2*float64(k%4), "codmn": 3.5, "nh3n": round2(0.3 + 0.12*float64(k)),
			"tp": round2(0.08 + 0.01*float64(k)), "water_temp": 12, "ph": 7.2,
		}}
		if k == 5 { // a faulty TP analyser: its value must not decide
			r.flags = map[string]string{"tp": "D"}
			r.vals["tp"] = 3
		}
		water = append(water, r)
	}
	return air, water
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func countFlagged(air map[string][]simReading, param string) int {
	n := 0
	for _, rs := range air {
		for _, r := range rs {
			if r.flags[param] != "" {
				n++
			}
		}
	}
	return n
}

// Independent computation of the expected points.

type hourKey struct {
	station string
	hour    time.Time
}

// hourMean is one station-hour-parameter: the exact mean of its N values
// and how many minutes they cover (1-minute data: one minute each).
type hourMean struct {
	mean    *big.Rat
	minutes int
}

func (h hourMean) valid() bool { return h.mean != nil && h.minutes >= 45 }

func ratOf(v float64) *big.Rat {
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(v, 'g', -1, 64))
	return r
}

func ratMean(rs []*big.Rat) *big.Rat {
	sum := new(big.Rat)
	for _, r := range rs {
		sum.Add(sum, r)
	}
	return sum.Quo(sum, new(big.Rat).SetInt64(int64(len(rs))))
}

// halfEven rounds per GB/T 8170 (exactly half goes to the even neighbour).
func halfEven(r *big.Rat, decimals int) *big.Rat {
	scale := new(big.Rat).SetFloat64(math.Pow10(decimals))
	x := new(big.Rat).Mul(r, scale)
	fl := new(big.Int).Quo(x.Num(), x.Denom()) // values are ≥ 0: truncation is the floor
	frac := new(big.Rat).Sub(x, new(big.Rat).SetInt(fl))
	if c := frac.Cmp(big.NewRat(1, 2)); c > 0 || (c == 0 && fl.Bit(0) == 1) {
		fl.Add(fl, big.NewInt(1))
	}
	return new(big.Rat).Quo(new(big.Rat).SetInt(fl), scale)
}

func input(in aqi.Inputs, ind aqi.Indicator, r *big.Rat, ed aqi.Edition) {
	if r == nil {
		return
	}
	if ed == aqi.Edition2026 {
		if ind.Pollutant() == "co" {
			r = halfEven(r, 1)
		} else {
			r = halfEven(r, 0)
		}
	}
	f, _ := r.Float64()
	in[ind] = f
}

type wantAQI struct {
	station, edition string
	at               time.Time
	res              aqi.Result
	complete         bool
	daily            map[aqi.Indicator]float64 // day: the unrounded daily means
}

func expectedAQI(t *testing.T, air map[string][]simReading) (hours, days []wantAQI) {
	t.Helper()
	means := map[hourKey]map[string]hourMean{}
	for st, rs := range air {
		vals := map[hourKey]map[string][]*big.Rat{}
		for _, r := range rs {
			k := hourKey{st, r.t.Truncate(time.Hour)}
			if vals[k] == nil {
				vals[k] = map[string][]*big.Rat{}
			}
			for p, v := range r.vals {
				if r.flags[p] == "" {
					vals[k][p] = append(vals[k][p], ratOf(v))
				}
			}
		}
		for k, pv := range vals {
			means[k] = map[string]hourMean{}
			for p, rs := range pv {
				means[k][p] = hourMean{ratMean(rs), len(rs)}
			}
		}
	}
	valid := func(st string, h time.Time, p string) *big.Rat {
		if m, ok := means[hourKey{st, h}][p]; ok && m.valid() {
			return m.mean
		}
		return nil
	}
	// moving returns the mean of the valid hourly means of p over the n
	// hours ending with h, if at least need of them are valid.
	moving := func(st string, h time.Time, p string, n, need int) *big.Rat {
		var rs []*big.Rat
		for k := 0; k < n; k++ {
			if m := valid(st, h.Add(-time.Duration(k)*time.Hour), p); m != nil {
				rs = append(rs, m)
			}
		}
		if len(rs) < need {
			return nil
		}
		return ratMean(rs)
	}
	complete := func(res aqi.Result, in aqi.Inputs) bool {
		for _, ind := range aqi.Scored(res.Edition, res.Report) {
			if _, ok := in[ind]; !ok {
				return false
			}
		}
		return true
	}
	edition2026 := time.Date(2026, 3, 1, 0, 0, 0, 0, cstZone)
	for k := range means {
		ed := aqi.Edition2012
		if !k.hour.Before(edition2026) {
			ed = aqi.Edition2026
		}
		in := aqi.Inputs{}
		input(in, aqi.SO2Mean1h, valid(k.station, k.hour, "so2"), ed)
		input(in, aqi.NO2Mean1h, valid(k.station, k.hour, "no2"), ed)
		input(in, aqi.COMean1h, valid(k.station, k.hour, "co"), ed)
		input(in, aqi.O3Mean1h, valid(k.station, k.hour, "o3"), ed)
		if ed == aqi.Edition2012 {
			input(in, aqi.O3Mean8h, moving(k.station, k.hour, "o3", 8, 6), ed)
			input(in, aqi.PM10Mean24h, moving(k.station, k.hour, "pm10", 24, 20), ed)
			input(in, aqi.PM25Mean24h, moving(k.station, k.hour, "pm25", 24, 20), ed)
			input(in, aqi.SO2Mean24h, moving(k.station, k.hour, "so2", 24, 20), ed)
		} else {
			input(in, aqi.PM10Mean1h, valid(k.station, k.hour, "pm10"), ed)
			input(in, aqi.PM25Mean1h, valid(k.station, k.hour, "pm25"), ed)
		}
		res, err := aqi.Hourly(ed, in)
		if err != nil {
			t.Fatal(err)
		}
		if res.OK() {
			hours = append(hours, wantAQI{k.station, ed.String(), k.hour, res, complete(res, in), nil})
		}
	}
	for st := range air {
		for _, day := range []time.Time{time.Date(2026, 2, 28, 0, 0, 0, 0, cstZone), edition2026} {
			ed := aqi.Edition2012
			if day.Equal(edition2026) {
				ed = aqi.Edition2026
			}
			hour := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
			daily := map[aqi.Indicator]*big.Rat{}
			for _, p := range []string{"so2", "no2", "co", "pm10", "pm25"} {
				if m := moving(st, hour(23), p, 24, 20); m != nil {
					daily[aqi.Indicator(p+"_24h")] = m
				}
			}
			var max1h, max8h *big.Rat
			n1h, n8h := 0, 0
			for h := 0; h < 24; h++ {
				if m := valid(st, hour(h), "o3"); m != nil {
					n1h++
					if max1h == nil || m.Cmp(max1h) > 0 {
						max1h = m
					}
				}
				if h >= 7 { // 8-hour windows within the day: hours h−7 … h
					if m := moving(st, hour(h), "o3", 8, 6); m != nil {
						n8h++
						if max8h == nil || m.Cmp(max8h) > 0 {
							max8h = m
						}
					}
				}
			}
			if n1h >= 20 {
				daily[aqi.O3Mean1h] = max1h
			}
			if n8h >= 14 {
				daily[aqi.O3Mean8h] = max8h
			}
			in := aqi.Inputs{}
			plain := map[aqi.Indicator]float64{}
			for ind, r := range daily {
				input(in, ind, r, ed)
				plain[ind], _ = r.Float64()
			}
			res, err := aqi.Daily(ed, in)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK() {
				days = append(days, wantAQI{st, ed.String(), day, res, complete(res, in), plain})
			}
		}
	}
	// Sanity of the scenario itself: both editions, incomplete days and
	// hours, more than one primary pollutant, and an AQI above 100.
	var eds, primaries []string
	incompleteDays, over100 := 0, 0
	for _, w := range append(append([]wantAQI(nil), hours...), days...) {
		eds = append(eds, w.edition)
		primaries = append(primaries, strings.Join(w.res.Primary, "+"))
		if w.res.AQI > 100 {
			over100++
		}
	}
	for _, w := range days {
		if !w.complete {
			incompleteDays++
		}
	}
	slices.Sort(primaries)
	if !slices.Contains(eds, "2012") || !slices.Contains(eds, "2026") || incompleteDays == 0 || over100 == 0 ||
		len(slices.Compact(primaries)) < 3 {
		t.Fatalf("scenario too tame: editions %v, incomplete days %d, AQI>100 %d, primaries %v",
			slices.Compact(eds), incompleteDays, over100, slices.Compact(primaries))
	}
	return hours, days
}

type wantWaterQuality struct {
	at  time.Time
	res waterclass.Result
}

func expectedWater(t *testing.T, water []simReading) []wantWaterQuality {
	t.Helper()
	var out []wantWaterQuality
	for _, r := range water {
		sample := map[string]float64{}
		for p, v := range r.vals {
			if r.flags[p] == "" {
				sample[p] = v
			}
		}
		res, err := waterclass.Assess(sample, waterclass.Options{Waterbody: waterclass.River, Target: waterclass.ClassII})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, wantWaterQuality{r.t, res})
	}
	classes := map[waterclass.Class]bool{}
	for _, w := range out {
		classes[w.res.Class] = true
	}
	if len(classes) < 3 {
		t.Fatalf("water scenario too tame: classes %v", classes)
	}
	return out
}

// Queries.

// rows runs q and returns its rows as column → value maps.
func rows(t *testing.T, in *testenv.Influx, q string) []map[string]any {
	t.Helper()
	series, err := in.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, s := range series {
		for _, row := range s.Values {
			m := map[string]any{}
			for k, v := range s.Tags {
				m[k] = v
			}
			for i, c := range s.Columns {
				if i < len(row) {
					m[c] = row[i]
				}
			}
			out = append(out, m)
		}
	}
	return out
}

func waitQuery(t *testing.T, in *testenv.Influx, q string, want int, timeout time.Duration) {
	t.Helper()
	got := -1
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		rs := rows(t, in, q)
		got = 0
		if len(rs) == 1 {
			got = int(rs[0]["count"].(float64))
		}
		if got >= want {
			break
		}
	}
	if got != want {
		t.Fatalf("%s: %d, want %d", q, got, want)
	}
}

func rowTime(t *testing.T, row map[string]any) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, row["time"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func asInt(v any) (int, bool) {
	f, ok := v.(float64)
	return int(f), ok && f == math.Trunc(f)
}

func checkAQI(t *testing.T, in *testenv.Influx, period string, want []wantAQI) {
	t.Helper()
	got := map[string]map[string]any{}
	for _, row := range rows(t, in, `SELECT * FROM aqi WHERE period = '`+period+`'`) {
		got[fmt.Sprintf("%s %d", row["station"], rowTime(t, row).Unix())] = row
	}
	if len(got) != len(want) {
		t.Errorf("%d aqi %s points, want %d", len(got), period, len(want))
	}
	bad := 0
	for _, w := range want {
		row, ok := got[fmt.Sprintf("%s %d", w.station, w.at.Unix())]
		if !ok {
			t.Errorf("no aqi %s point for %s at %v", period, w.station, w.at)
			continue
		}
		var diffs []string
		check := func(name string, have, want any) {
			if !reflect.DeepEqual(have, want) {
				diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", name, have, want))
			}
		}
		a, _ := asInt(row["aqi"])
		l, _ := asInt(row["level"])
		check("aqi", a, w.res.AQI)
		check("level", l, int(w.res.Level))
		check("primary", row["primary"], strings.Join(w.res.Primary, "+"))
		check("edition", row["edition"], w.edition)
		check("complete", row["complete"], w.complete)
		for _, ind := range aqi.Indicators() {
			v, has := w.res.IAQI[ind]
			raw := row["iaqi_"+string(ind)]
			if !has {
				check("iaqi_"+string(ind), raw, nil)
				continue
			}
			n, _ := asInt(raw)
			check("iaqi_"+string(ind), n, v)
		}
		if len(diffs) > 0 {
			bad++
			if bad <= 10 {
				t.Errorf("aqi %s %s %v: %s", period, w.station, w.at, strings.Join(diffs, "; "))
			}
		}
	}
	if bad > 10 {
		t.Errorf("… %d aqi %s points differ in all", bad, period)
	}
}

func checkWater(t *testing.T, in *testenv.Influx, want []wantWaterQuality) {
	t.Helper()
	got := map[int64]map[string]any{}
	for _, row := range rows(t, in, `SELECT * FROM water_quality`) {
		got[rowTime(t, row).Unix()] = row
		if row["station"] != "zz-wat-01" || row["river"] != "湘江" || row["section"] != "枫溪 断面" || row["county"] != "Lusong" {
			t.Errorf("water_quality tags %v", row)
		}
	}
	for _, w := range want {
		row, ok := got[w.at.Unix()]
		if !ok {
			t.Errorf("no water_quality at %v", w.at)
			continue
		}
		class, _ := asInt(row["class"])
		target, _ := asInt(row["target_class"])
		if class != int(w.res.Class) || target != 2 || row["meets_target"] != w.res.MeetsTarget ||
			row["worst"] != strings.Join(w.res.Worst, "+") {
			t.Errorf("water_quality %v: class %v target %v meets %v worst %v, want %d %v %q",
				w.at, row["class"], row["target_class"], row["meets_target"], row["worst"],
				w.res.Class, w.res.MeetsTarget, strings.Join(w.res.Worst, "+"))
		}
		for _, it := range w.res.Items {
			if c, _ := asInt(row[it.Item+"_class"]); c != int(it.Class) {
				t.Errorf("water_quality %v: %s_class %v, want %d", w.at, it.Item, row[it.Item+"_class"], it.Class)
			}
		}
		if _, ok := w.res.Item("tp"); !ok && row["tp_class"] != nil {
			t.Errorf("water_quality %v: flagged tp classified: %v", w.at, row["tp_class"])
		}
	}
}

// checkHourlyMeans spot-checks the validity edges in air_hourly.
func checkHourlyMeans(t *testing.T, in *testenv.Influx) {
	t.Helper()
	for _, tc := range []struct {
		station string
		hour    time.Time
		param   string
		minutes int
		valid   bool
	}{
		{"zz-air-01", time.Date(2026, 2, 28, 10, 0, 0, 0, cstZone), "pm25", 44, false},
		{"zz-air-01", time.Date(2026, 3, 1, 3, 0, 0, 0, cstZone), "pm25", 45, true},
		{"zz-air-02", time.Date(2026, 2, 28, 14, 0, 0, 0, cstZone), "pm25", 39, false},
		{"zz-air-02", time.Date(2026, 2, 28, 14, 0, 0, 0, cstZone), "pm10", 60, true},
		{"zz-air-02", time.Date(2026, 3, 1, 9, 0, 0, 0, cstZone), "o3", 49, true},
	} {
		q := fmt.Sprintf(`SELECT %q, "%s_minutes" FROM air_hourly WHERE station = '%s' AND time = %d`,
			tc.param, tc.param, tc.station, tc.hour.UnixNano())
		rs := rows(t, in, q)
		if len(rs) != 1 {
			t.Errorf("%s: %d rows", q, len(rs))
			continue
		}
		if m, _ := asInt(rs[0][tc.param+"_minutes"]); m != tc.minutes || (rs[0][tc.param] != nil) != tc.valid {
			t.Errorf("air_hourly %s %v %s: %v, want %d minutes, valid %v", tc.station, tc.hour, tc.param, rs[0], tc.minutes, tc.valid)
		}
	}
}

// checkCompliance checks the station figures of the second day: the year
// to date is these two days.
func checkCompliance(t *testing.T, in *testenv.Influx, days []wantAQI) {
	t.Helper()
	day2 := time.Date(2026, 3, 1, 0, 0, 0, 0, cstZone)
	for _, st := range []string{"zz-air-01", "zz-air-02", "zz-air-03"} {
		var pm25 []float64
		valid, good := 0, 0
		for _, w := range days {
			if w.station != st {
				continue
			}
			if v, ok := w.daily[aqi.PM25Mean24h]; ok {
				pm25 = append(pm25, v)
			}
			if w.complete {
				valid++
				if w.res.AQI <= 100 {
					good++
				}
			}
		}
		rs := rows(t, in, fmt.Sprintf(`SELECT * FROM compliance WHERE scope = 'station' AND station = '%s' AND time = %d`, st, day2.UnixNano()))
		if len(rs) != 1 {
			t.Errorf("compliance %s: %d rows", st, len(rs))
			continue
		}
		row := rs[0]
		v, _ := asInt(row["valid_days"])
		g, _ := asInt(row["good_days"])
		n, _ := asInt(row["pm25_days"])
		if v != valid || g != good || n != len(pm25) || row["pm25_target"] != 45.0 || row["pm10_target"] != 70.0 || row["good_days_target"] != 0.83 {
			t.Errorf("compliance %s: %v, want valid %d good %d pm25_days %d", st, row, valid, good, len(pm25))
		}
		if len(pm25) > 0 {
			sum := 0.0
			for _, x := range pm25 {
				sum += x
			}
			if got, _ := row["pm25_ytd"].(float64); math.Abs(got-sum/float64(len(pm25))) > 1e-9 {
				t.Errorf("compliance %s: pm25_ytd %v, want %v", st, got, sum/float64(len(pm25)))
			}
		}
	}
}
