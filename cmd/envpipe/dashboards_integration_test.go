package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/internal/testenv"
)

// TestDashboardQueriesAgainstASimulatedDay is the end-to-end check of the
// Grafana dashboards in deploy/grafana/dashboards:
//
//   - a simulated network (three air stations with 1-minute readings, three
//     water sections sampled every 4 hours, flagged values of every
//     parameter) sends a little more than a whole day through Mosquitto and
//     envpipe (derivation on) into influxd, so that air, air_hourly,
//     air_daily, aqi (hour and day), water, water_quality and compliance all
//     exist; alert transitions go to `alerts` (a known set written
//     directly, beside the alert engine's once it is wired);
//   - every InfluxQL query of every dashboard (panel targets, annotations,
//     variables) is interpolated the way Grafana does it — $timeFilter from
//     the dashboard's time range, $__interval from the range and the panel's
//     or data source's min interval, template variables with their values
//     queried from influxd, multi-value "All" as (a|b|c) regex-escaped — for
//     the default selection, each option of the single-value variables and a
//     single value of each multi-value one, and run against influxd: each
//     must succeed and return at least one non-null value;
//   - every Prometheus expression of the dashboards and of
//     deploy/prometheus/envpipe-rules.yml may name only metrics the live
//     envpipe's /metrics exposes (alerting is on, so its metrics are live).
func TestDashboardQueriesAgainstASimulatedDay(t *testing.T) {
	testenv.Integration(t)
	root := testenv.RepoRoot(t)
	uids, dsMinInterval := gfDatasourceUIDs(t, filepath.Join(root, "deploy", "grafana", "provisioning", "datasources"))
	dashboards := gfLoadDashboards(t, filepath.Join(root, "deploy", "grafana", "dashboards"))

	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	influxd := testenv.InfluxDB(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stations.yaml"), []byte(dashStations), 0o644); err != nil {
		t.Fatal(err)
	}
	// The alert engine, once wired, reads rules.yaml beside the config.
	if b, err := os.ReadFile(filepath.Join(root, "configs", "rules.yaml")); err == nil {
		if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := testenv.FreePort(t)
	// Alerting on, with the shipped rules, so that its metrics are live
	// and its transitions land in the alerts measurement.
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer am.Close()
	cfg := writeConfig(t, dir, broker.URL(), influxd.URL(), port,
		"alert: {rules: rules.yaml, state_file: alert-state.json}\nnotify: {alertmanager: {urls: ["+am.URL+"]}}\n")
	d := startDaemon(t, dir, cfg, port)

	now := time.Now()
	sim := dashSimulate(now)
	t.Logf("simulated %s to %s (CST): %d air readings, %d water samples, %d messages",
		sim.start.In(cstDash).Format(time.DateTime), sim.end.In(cstDash).Format(time.DateTime), sim.airReadings, sim.waterSamples, len(sim.msgs))
	pub := publisher(t, broker.URL(), "dashboards-pub")
	publishAll(t, pub, sim.msgs)
	// One refused message, so that the rejects series exist as they do in
	// production.
	publishAll(t, pub, [][2]string{{"env/nope-01/data", `{"station":"nope-01","time":"` + now.Format(time.RFC3339) + `","values":{"pm25":1}}`}})

	dashWait(t, influxd, `SELECT count("pm25") FROM "air"`, sim.airValidPM25, 90*time.Second)
	dashWait(t, influxd, `SELECT count("class") FROM "water_quality"`, sim.waterSamples, 60*time.Second)
	dashWait(t, influxd, `SELECT count("aqi") FROM "aqi" WHERE "period" = 'hour'`, 3*20, 60*time.Second)
	dashWait(t, influxd, `SELECT count("aqi") FROM "aqi" WHERE "period" = 'day'`, 3, 60*time.Second)
	dashWait(t, influxd, `SELECT count("pm25_24h") FROM "air_daily"`, 3, 60*time.Second)
	dashWait(t, influxd, `SELECT count("pm25_ytd") FROM "compliance" WHERE "scope" = 'station'`, 3, 60*time.Second)
	dashWait(t, influxd, `SELECT count("sections_meeting_share") FROM "compliance" WHERE "scope" = 'network'`, 1, 60*time.Second)

	// Alert transitions: the engine's, when it is wired (their schema must
	// be the one the annotations read), and a known set at every station,
	// so that each station's annotation query has rows whatever fired.
	if dashCount(t, influxd, `SELECT count("value") FROM "alerts"`) == 0 {
		t.Log("no `alerts` points from envpipe: nothing fired in the simulated day")
	} else {
		dashCheckAlertSchema(t, influxd)
	}
	if err := influxd.Write(dashAlertLines(sim.end)); err != nil {
		t.Fatal(err)
	}

	for _, db := range dashboards {
		t.Run("InfluxQL/"+db.file, func(t *testing.T) {
			dashCheckInfluxQueries(t, influxd, db, uids, dsMinInterval, now, sim.start)
		})
	}

	t.Run("PrometheusMetricNames", func(t *testing.T) {
		body, code := d.get("/metrics")
		if code != 200 {
			t.Fatalf("GET /metrics: %d", code)
		}
		dashCheckPromNames(t, root, promExposedNames(body), dashboards, uids)
	})
}

var cstDash = time.FixedZone("CST", 8*3600)

// TestDashSimulationFlagsEveryParameterAtAnyHour: whatever the time of day
// the dashboard test runs, its simulated day must give every station a
// flagged value of each of its parameters, which the per-parameter panels
// query (the water sections once lacked some of theirs in runs between
// 01:00 and 21:00 CST).
func TestDashSimulationFlagsEveryParameterAtAnyHour(t *testing.T) {
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, cstDash)
	for m := 0; m < 24*60; m += 20 {
		now := day.Add(time.Duration(m) * time.Minute)
		flagged := map[string]map[string]bool{}
		for _, msg := range dashSimulate(now).msgs {
			var rds []dashReading
			if err := json.Unmarshal([]byte(msg[1]), &rds); err != nil {
				t.Fatal(err)
			}
			for _, rd := range rds {
				for p := range rd.Flags {
					if flagged[rd.Station] == nil {
						flagged[rd.Station] = map[string]bool{}
					}
					flagged[rd.Station][p] = true
				}
			}
		}
		for _, group := range []struct {
			stations, params []string
		}{{dashAirStations, dashAirParams}, {dashWaterStations, dashWaterParams}} {
			for _, st := range group.stations {
				for _, p := range group.params {
					if !flagged[st][p] {
						t.Fatalf("run at %s CST: %s has no flagged %s", now.Format("15:04"), st, p)
					}
				}
			}
		}
	}
}

const dashStations = `stations:
  - {id: dash-air-01, name: 市监测站, kind: air, county: Hetang, lat: 27.8640, lon: 113.1650, interval: 1m}
  - {id: dash-air-02, name: 白关工业园, kind: air, county: Hetang, lat: 27.7880, lon: 113.1700, interval: 1m}
  - {id: dash-air-03, name: 醴陵市环保局, kind: air, county: Liling, lat: 27.6460, lon: 113.4970, interval: 1m}
  - {id: dash-wat-01, name: 枫溪, kind: water, county: Lusong, river: 湘江, section: 枫溪 断面, waterbody: river, target_class: II, lat: 27.81, lon: 113.138, interval: 4h}
  - {id: dash-wat-02, name: 醴陵渌水, kind: water, county: Liling, river: 渌水, section: 醴陵, waterbody: river, target_class: III, lat: 27.65, lon: 113.48, interval: 4h}
  - {id: dash-wat-03, name: 黄丰桥水库, kind: water, county: You, river: 黄丰桥水库, section: 取水口, waterbody: lake, target_class: II, lat: 27.09, lon: 113.5, interval: 4h}
`

var (
	dashAirStations   = []string{"dash-air-01", "dash-air-02", "dash-air-03"}
	dashWaterStations = []string{"dash-wat-01", "dash-wat-02", "dash-wat-03"}
	dashAirParams     = []string{"pm25", "pm10", "so2", "no2", "o3", "co"}
	dashWaterParams   = []string{"do", "codmn", "cod", "bod5", "nh3n", "tp", "tn", "ph", "water_temp", "conductivity", "turbidity", "chla"}
)

type dashSimResult struct {
	start, end   time.Time
	msgs         [][2]string
	airReadings  int
	airValidPM25 int
	waterSamples int
}

type dashReading struct {
	Station string             `json:"station"`
	Time    string             `json:"time"`
	Values  map[string]float64 `json:"values"`
	Flags   map[string]string  `json:"flags,omitempty"`
}

// dashSimulate makes the readings from the start of the CST day before
// now−1h to now−1h: at least one whole CST day, which the deriver closes
// (daily means, daily AQI, compliance) because later readings follow it.
func dashSimulate(now time.Time) dashSimResult {
	end := now.Add(-time.Hour).Truncate(time.Minute)
	ec := end.In(cstDash)
	start := time.Date(ec.Year(), ec.Month(), ec.Day(), 0, 0, 0, 0, cstDash).AddDate(0, 0, -1)
	r := dashSimResult{start: start, end: end}
	r1 := func(v float64) float64 { return math.Round(v*10) / 10 }
	for s, st := range dashAirStations {
		var hour []dashReading
		flush := func() {
			if len(hour) > 0 {
				b, _ := json.Marshal(hour)
				r.msgs = append(r.msgs, [2]string{"env/" + st + "/data", string(b)})
				hour = nil
			}
		}
		for ts := start; !ts.After(end); ts = ts.Add(time.Minute) {
			c := ts.In(cstDash)
			h, m := float64(c.Hour()), c.Minute()
			fs := float64(s)
			// dash-air-02 has an episode in the afternoon: AQI levels 1 to 4.
			pm25 := r1(18 + 9*fs + 1.2*h + 0.1*float64(m%7) + fs*40*math.Max(0, 1-math.Abs(h-15)/4))
			vals := map[string]float64{
				"pm25": pm25, "pm10": r1(1.6*pm25 + 4), "so2": float64(6 + s + m%3), "no2": r1(20 + h + 3*fs),
				"co":   math.Round((0.5+0.05*fs+0.01*float64(int(h)%10))*100) / 100,
				"o3":   r1(40 + 8*math.Max(0, 10-math.Abs(h-15)) + 10*fs),
				"temp": r1(12 + h/3), "rh": 70, "pressure": 1012, "wind_speed": 1.5, "wind_dir": 90,
			}
			rd := dashReading{Station: st, Time: ts.Format(time.RFC3339), Values: vals}
			// One flagged minute an hour, each parameter in turn: <p>_flagged.
			if m == 30 {
				rd.Flags = map[string]string{dashAirParams[(c.Hour()+s)%len(dashAirParams)]: "M"}
			}
			if rd.Flags["pm25"] == "" {
				r.airValidPM25++
			}
			r.airReadings++
			if len(hour) > 0 && c.Minute() == 0 {
				flush()
			}
			hour = append(hour, rd)
		}
		flush()
	}
	for w, st := range dashWaterStations {
		for k, ts := 0, start; !ts.After(end); k, ts = k+1, ts.Add(4*time.Hour) {
			fk := float64(k)
			vals := map[string]float64{
				"do": r1(7 - 0.4*float64(k%6)), "codmn": r1(3 + 0.4*float64(k%5)), "cod": float64(12 + k%6),
				"bod5": r1(2.4 + 0.3*float64(k%4)), "nh3n": math.Round((0.3+0.06*fk+0.1*float64(w))*100) / 100,
				"tp": math.Round((0.04+0.01*float64(k%6))*1000) / 1000, "tn": 0.8, "ph": 7.3, "water_temp": 15,
				"conductivity": 320, "turbidity": 12, "chla": 4,
			}
			// Two flagged parameters a sample, in turn: the day has at
			// least 7 samples (k = 0…6), so each of the 12 parameters
			// has flagged values at every section whatever the hour.
			rd := dashReading{Station: st, Time: ts.Format(time.RFC3339), Values: vals,
				Flags: map[string]string{
					dashWaterParams[(2*k+4*w)%len(dashWaterParams)]:   "D",
					dashWaterParams[(2*k+1+4*w)%len(dashWaterParams)]: "D"}}
			b, _ := json.Marshal([]dashReading{rd})
			r.msgs = append(r.msgs, [2]string{"env/" + st + "/data", string(b)})
			r.waterSamples++
		}
	}
	return r
}

// dashAlertLines are alert transitions in the schema of the alert engine
// (alert/lineproto.go): a warning that fired and resolved, and a critical
// alert firing, at every station.
func dashAlertLines(end time.Time) string {
	type st struct{ id, county, param, warn, crit string }
	stations := []st{
		{"dash-air-01", "Hetang", "pm25", "PM25Mean24hAbovePlanTarget", "PM25Mean24hAboveGB3095"},
		{"dash-air-02", "Hetang", "pm10", "PM10Mean24hAbovePlanTarget", "PM10Mean24hAboveGB3095"},
		{"dash-air-03", "Liling", "o3", "O3Mean8hAboveGB3095", "O3Mean1hAboveGB3095"},
		{"dash-wat-01", "Lusong", "nh3n", "WaterSectionBelowTargetClass", "WaterSectionBelowTargetClass"},
		{"dash-wat-02", "Liling", "tp", "WaterSectionBelowTargetClass", "WaterSectionBelowTargetClass"},
		{"dash-wat-03", "You", "tp", "DrinkingSourceBelowTargetClass", "DrinkingSourceBelowTargetClass"},
	}
	var b strings.Builder
	line := func(name, county, param, severity, state, station, text string, value, limit float64, at time.Time) {
		fmt.Fprintf(&b, "alerts,alertname=%s,county=%s,param=%s,severity=%s,state=%s,station=%s value=%g,limit=%g,threshold=%g,text=%q,backfill=false %d\n",
			name, county, param, severity, state, station, value, limit, 0.9*limit, text, at.UnixNano())
	}
	for i, s := range stations {
		at := end.Add(-time.Duration(8-i) * time.Hour)
		line(s.warn, s.county, s.param, "warning", "firing", s.id, s.param+" 接近限值 approaching the limit", 42, 45, at)
		line(s.warn, s.county, s.param, "warning", "resolved", s.id, s.param+" 恢复 resolved", 30, 45, at.Add(2*time.Hour))
		line(s.crit, s.county, s.param, "critical", "firing", s.id, s.param+" 超过限值 above the limit", 80, 75, at.Add(3*time.Hour))
	}
	return b.String()
}

// dashCheckAlertSchema checks that envpipe's alert points have the fields
// and tags the dashboards' annotations select.
func dashCheckAlertSchema(t *testing.T, in *testenv.Influx) {
	t.Helper()
	have := map[string]bool{}
	for _, q := range []string{`SHOW FIELD KEYS FROM "alerts"`, `SHOW TAG KEYS FROM "alerts"`} {
		series, err := in.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range series {
			for _, c := range []string{"fieldKey", "tagKey"} {
				for _, k := range s.Column(c) {
					if ks, ok := k.(string); ok {
						have[ks] = true
					}
				}
			}
		}
	}
	for _, k := range []string{"text", "value", "alertname", "station", "severity", "state"} {
		if !have[k] {
			t.Errorf("envpipe's alerts points have no %q (the dashboards' annotations select it); keys: %v", k, have)
		}
	}
}

func dashCount(t *testing.T, in *testenv.Influx, q string) int {
	t.Helper()
	series, err := in.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range series {
		for _, row := range s.Values {
			for _, v := range row[1:] {
				if f, ok := v.(float64); ok {
					n += int(f)
				}
			}
		}
	}
	return n
}

// dashWait waits until the count query returns at least want.
func dashWait(t *testing.T, in *testenv.Influx, q string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	got := 0
	for time.Now().Before(deadline) {
		if got = dashCount(t, in, q); got >= want {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s = %d after %v, want at least %d", q, got, timeout, want)
}

// dashScenario is one selection of the variables.
type dashScenario struct {
	name string
	set  map[string][]string // variable → selected values (nil: default)
}

func dashCheckInfluxQueries(t *testing.T, in *testenv.Influx, db gfDashboard, uids map[string]string,
	dsMinInterval map[string]time.Duration, now, dataStart time.Time) {
	queries := db.queries(t, uids)
	var influxQs []gfQuery
	for _, q := range queries {
		if q.dsType == "influxdb" && q.kind != "variable" {
			influxQs = append(influxQs, q)
		}
	}
	if len(influxQs) == 0 {
		t.Logf("%s has no InfluxQL queries (Prometheus only)", db.file)
		return
	}
	loc, err := gfLocation(db.str("timezone"))
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := db.m["time"].(map[string]any)
	fromS, _ := tm["from"].(string)
	toS, _ := tm["to"].(string)
	from, err := gfTime(fromS, now, loc, false)
	if err != nil {
		t.Fatal(err)
	}
	to, err := gfTime(toS, now, loc, true)
	if err != nil {
		t.Fatal(err)
	}
	if lim := dataStart.Add(-time.Hour); from.After(lim) {
		t.Logf("time range %s..%s starts after the simulated data: using from = %s", fromS, toS, lim.Format(time.RFC3339))
		from = lim
	}

	// Scenarios: the saved selection; each option of each single-value
	// variable; one value of each multi-value variable.
	base := gfVarsOf(db)
	scenarios := []dashScenario{{name: "default"}}
	for _, v := range base {
		switch {
		case v.typ == "custom" && !v.multi && !v.includeAll:
			for _, o := range v.options {
				scenarios = append(scenarios, dashScenario{name: v.name + "=" + o, set: map[string][]string{v.name: {o}}})
			}
		case v.typ == "query" && v.multi:
			scenarios = append(scenarios, dashScenario{name: v.name + "=first", set: map[string][]string{v.name: {"$first"}}})
		}
	}

	builtinsFor := func(minIv time.Duration) map[string]string {
		iv := gfInterval(to.Sub(from), 1000, minIv)
		rng := to.Sub(from)
		return map[string]string{
			"timeFilter":      fmt.Sprintf("time >= %dms and time <= %dms", from.UnixMilli(), to.UnixMilli()),
			"__timeFilter":    fmt.Sprintf("time >= %dms and time <= %dms", from.UnixMilli(), to.UnixMilli()),
			"__interval":      gfIntervalText(iv),
			"interval":        gfIntervalText(iv),
			"__interval_ms":   strconv.FormatInt(iv.Milliseconds(), 10),
			"__range":         fmt.Sprintf("%ds", int64(rng.Seconds())),
			"__range_s":       strconv.FormatInt(int64(rng.Seconds()), 10),
			"__range_ms":      strconv.FormatInt(rng.Milliseconds(), 10),
			"__from":          strconv.FormatInt(from.UnixMilli(), 10),
			"__to":            strconv.FormatInt(to.UnixMilli(), 10),
			"__rate_interval": gfIntervalText(4 * time.Minute),
		}
	}
	dsMin := dsMinInterval["influxdb"]

	ran := map[string]bool{}
	nRun := 0
	for _, sc := range scenarios {
		vars := dashResolveVars(t, in, db, base, sc, builtinsFor(dsMin))
		if vars == nil {
			continue
		}
		for _, q := range influxQs {
			minIv := dsMin
			if q.interval != "" {
				if d, err := gfParseInterval(q.interval); err != nil {
					t.Errorf("%s: interval: %v", q.where, err)
				} else if d > minIv {
					minIv = d
				}
			}
			text := gfInterpolate(q.text, vars, builtinsFor(minIv), "")
			if ran[text] {
				continue
			}
			ran[text] = true
			nRun++
			if l := gfLeftover(text); len(l) > 0 {
				t.Errorf("%s [%s]: undefined variables %q in\n  %s", q.where, sc.name, l, text)
				continue
			}
			series, err := in.Query(text)
			if err != nil {
				t.Errorf("%s [%s]: %v", q.where, sc.name, err)
				continue
			}
			if !dashHasValue(series) {
				t.Errorf("%s [%s]: no rows (no non-null value) for\n  %s", q.where, sc.name, text)
				continue
			}
			if q.panel != nil && q.panel["type"] == "geomap" {
				dashCheckGeomap(t, in, q, series)
			}
		}
	}
	t.Logf("%s: %d distinct InfluxQL queries over %d scenarios, range %s..%s", db.file, nRun, len(scenarios),
		from.Format(time.RFC3339), to.Format(time.RFC3339))
}

// dashResolveVars queries the values of the query variables in order (each
// with the ones before it interpolated, as Grafana chains them) and applies
// the scenario's selection. It returns nil when the scenario does not apply.
func dashResolveVars(t *testing.T, in *testenv.Influx, db gfDashboard, base []*gfVar, sc dashScenario, builtins map[string]string) []*gfVar {
	t.Helper()
	vars := make([]*gfVar, len(base))
	for i, v := range base {
		c := *v
		c.options = slices.Clone(v.options)
		c.selected = slices.Clone(v.selected)
		vars[i] = &c
	}
	for _, v := range vars {
		if v.typ == "query" {
			q := gfInterpolate(v.query, vars, builtins, "regex")
			if l := gfLeftover(q); len(l) > 0 {
				t.Errorf("%s variable %s: undefined variables %q in %s", db.file, v.name, l, q)
				return nil
			}
			series, err := in.Query(q)
			if err != nil {
				t.Errorf("%s variable %s [%s]: %v", db.file, v.name, sc.name, err)
				return nil
			}
			seen := map[string]bool{}
			v.options = nil
			for _, s := range series {
				for _, x := range s.Column("value") {
					if str, ok := x.(string); ok && !seen[str] {
						seen[str] = true
						v.options = append(v.options, str)
					}
				}
			}
			sort.Strings(v.options)
			if len(v.options) == 0 {
				t.Errorf("%s variable %s [%s]: no values from %s", db.file, v.name, sc.name, q)
				return nil
			}
			// A saved selection no longer offered falls back to All (or the
			// first value), as Grafana does.
			if v.selected != nil && !slices.ContainsFunc(v.selected, func(s string) bool { return slices.Contains(v.options, s) }) {
				v.selected = nil
				if !v.includeAll {
					v.selected = []string{v.options[0]}
				}
			}
		}
		if sel, ok := sc.set[v.name]; ok {
			if len(sel) == 1 && sel[0] == "$first" {
				sel = []string{v.options[0]}
			}
			v.selected = sel
		}
	}
	return vars
}

// dashHasValue reports whether any row has a non-null value besides time.
func dashHasValue(series []testenv.Series) bool {
	for _, s := range series {
		for _, row := range s.Values {
			for i, v := range row {
				if i < len(s.Columns) && s.Columns[i] == "time" {
					continue
				}
				if v != nil && v != "" {
					return true
				}
			}
		}
	}
	return false
}

var dashGeomapNoted = map[string]bool{}

// dashCheckGeomap checks that the geomap's location fields have values.
// Until envpipe writes the stations' coordinates on the aqi points (lat,
// lon), that is reported instead of failed.
func dashCheckGeomap(t *testing.T, in *testenv.Influx, q gfQuery, series []testenv.Series) {
	opts, _ := q.panel["options"].(map[string]any)
	for _, l := range gfList(opts, "layers") {
		lm, _ := l.(map[string]any)
		loc, _ := lm["location"].(map[string]any)
		if loc["mode"] != "coords" {
			t.Errorf("%s: layer %v: location mode %v; envpipe's dashboards use coords (lat/lon fields)", q.where, lm["name"], loc["mode"])
			continue
		}
		for _, f := range []string{fmt.Sprint(loc["latitude"]), fmt.Sprint(loc["longitude"])} {
			has := false
			for _, s := range series {
				for _, v := range s.Column(f) {
					if _, ok := v.(float64); ok {
						has = true
					}
				}
			}
			if has {
				continue
			}
			keys, err := in.Query(`SHOW FIELD KEYS FROM "aqi"`)
			if err != nil {
				t.Fatal(err)
			}
			exists := false
			for _, s := range keys {
				for _, k := range s.Column("fieldKey") {
					if k == f {
						exists = true
					}
				}
			}
			if exists {
				t.Errorf("%s: location field %q is null in every row", q.where, f)
			} else {
				t.Errorf("%s: the aqi points carry no %q field: the geomap would show no stations", q.where, f)
			}
		}
	}
}

// promBuiltin are series Prometheus makes itself.
func promBuiltin(name string) bool {
	return name == "up" || name == "ALERTS" || name == "ALERTS_FOR_STATE" || strings.HasPrefix(name, "scrape_")
}

func dashCheckPromNames(t *testing.T, root string, exposed map[string]bool, dashboards []gfDashboard, uids map[string]string) {
	exprs := map[string]string{}
	builtins := map[string]string{"__rate_interval": "1m", "__interval": "1m", "interval": "1m", "__range": "1h",
		"__interval_ms": "60000", "__range_s": "3600", "__range_ms": "3600000"}
	for _, db := range dashboards {
		vars := gfVarsOf(db)
		for _, v := range vars {
			if v.typ == "query" && len(v.options) == 0 {
				v.options = []string{"x"}
			}
		}
		for _, q := range db.queries(t, uids) {
			if q.dsType == "prometheus" {
				exprs[q.where] = gfInterpolate(q.text, vars, builtins, "")
			}
		}
	}
	for where, e := range promRuleExprs(t, filepath.Join(root, "deploy", "prometheus", "envpipe-rules.yml")) {
		exprs[where] = e
	}
	used := map[string]bool{}
	for where, e := range exprs {
		names, err := promMetricNames(e)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if len(names) == 0 && !strings.Contains(e, "vector(") {
			t.Errorf("%s: no metric name found in %q", where, e)
		}
		for _, n := range names {
			used[n] = true
			switch {
			case exposed[n] || promBuiltin(n):
			default:
				t.Errorf("%s: metric %s is not exposed by envpipe's /metrics", where, n)
			}
		}
	}
	var list []string
	for n := range used {
		list = append(list, n)
	}
	sort.Strings(list)
	t.Logf("%d expressions use %d metrics: %s", len(exprs), len(list), strings.Join(list, " "))
}
