package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest/station"
)

func TestRestartKeepsFiringAlertsAndWindows(t *testing.T) {
	rules := pm10Rule + `
  - {name: StationSilent, aggregate: stale}
  - {name: EquipmentFlag, aggregate: flag, flags: [D], for: 20m}
`
	st := airStation("zz-air-0101", 10*time.Minute)
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	te := newTestEngine(t, rules, []*station.Station{st}, testConfig(t.TempDir()), t0)
	now := t0
	te.feed(st, &now, 144, 80) // warning and critical fire
	first := te.rec.waitFor(t, 2)
	te.Tick(te.clock.Now()) // stale: nothing; windows saved? not due
	before := te.Alerts()
	if len(before) != 2 {
		t.Fatalf("alerts before: %+v", before)
	}
	meanBefore, _, _ := te.stations[st.ID].series["pm10"].mean(24*time.Hour, st.Interval)

	// A crash right now: no Flush. The state file was written at the
	// transition; the windows only at the last state_interval save, so
	// save them as the periodic save would.
	te.saveWindows(te.clock.Now())
	te.disp.stop(time.Second)

	// Restart, a little later.
	te.clock.Set(te.clock.Now().Add(30 * time.Second))
	te.rec.calls, te.chat.calls = nil, nil
	te.lines.lines = nil
	te.start(t)
	after := te.Alerts()
	if len(after) != 2 {
		t.Fatalf("alerts after restart: %+v", after)
	}
	for _, a := range after {
		i := slices.IndexFunc(before, func(b Alert) bool { return b.Severity == a.Severity })
		b := before[i]
		if a.State != StateFiring || !a.FiredAt.Equal(b.FiredAt) || !a.Sent || a.Value != b.Value || a.Threshold != b.Threshold {
			t.Errorf("restored %+v\nwas %+v", a.Episode, b.Episode)
		}
	}
	if m, _, _ := te.stations[st.ID].series["pm10"].mean(24*time.Hour, st.Interval); m != meanBefore {
		t.Errorf("window mean after restart %v, was %v", m, meanBefore)
	}
	if v := testutilGauge(te.m.firing.WithLabelValues("critical")); v != 1 {
		t.Errorf("firing gauge after restart %v", v)
	}

	// The first tick re-sends both, with the same labels and startsAt.
	te.Tick(te.clock.Now())
	resent := te.rec.waitFor(t, 2)
	for _, n := range resent {
		i := slices.IndexFunc(first, func(f Notification) bool { return f.Fingerprint() == n.Fingerprint() })
		if i < 0 || !first[i].StartsAt.Equal(n.StartsAt) || n.Status != StatusFiring {
			t.Errorf("re-sent %v %v %v; first sent %v", n.Labels, n.Status, n.StartsAt, first)
		}
	}
	if got := te.chat.settle(); len(got) != 0 {
		t.Errorf("the chat robot was paged again: %s", describe(got))
	}
	// No stale alert: 29.5 minutes of silence, counted from its last
	// reading before the restart, are under its 30.
	te.Tick(te.clock.Now().Add(29 * time.Minute))
	// The episode continues and resolves.
	te.feed(st, &now, 144, 20)
	want := []string{"PM10Mean24hAbovePlanTarget/critical/pm10:resolved", "PM10Mean24hAbovePlanTarget/warning/pm10:resolved"}
	if got := te.lines.transitions(); !slices.Equal(got, want) {
		t.Errorf("transitions after restart %v, want %v", got, want)
	}
}

func TestRestartKeepsAStaleAlertFiringUntilTheStationIsHeardFrom(t *testing.T) {
	st := airStation("s", time.Minute)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	te := newTestEngine(t, "rules:\n  - {name: StationSilent, aggregate: stale}\n", []*station.Station{st}, testConfig(t.TempDir()), t0)
	te.Observe(st, reading("s", t0, val("pm10", 1)))
	te.Tick(t0.Add(4 * time.Minute))
	te.rec.waitFor(t, 1)
	te.disp.stop(time.Second)

	te.clock.Set(t0.Add(5 * time.Minute))
	te.lines.lines = nil
	te.start(t)
	te.Tick(t0.Add(5 * time.Minute))
	te.Tick(t0.Add(6 * time.Minute))
	if got := te.lines.transitions(); len(got) != 0 {
		t.Fatalf("transitions after restart %v", got)
	}
	if a := te.Alerts(); len(a) != 1 || a[0].State != StateFiring {
		t.Fatalf("alerts %+v", a)
	}
	te.clock.Set(t0.Add(7 * time.Minute))
	te.Observe(st, reading("s", t0.Add(7*time.Minute), val("pm10", 1)))
	if got := te.lines.transitions(); !slices.Equal(got, []string{"StationSilent/warning/:resolved"}) {
		t.Errorf("transitions %v", got)
	}
}

func TestStateFilesAreReplacedAtomicallyAndACorruptOneIsSurvived(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	st := airStation("s", time.Minute)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	rules := "rules:\n  - {name: PM10High, param: pm10, aggregate: instant, limit: 150}\n"
	te := newTestEngine(t, rules, []*station.Station{st}, cfg, t0)
	te.Observe(st, reading("s", t0, val("pm10", 200)))
	te.Flush()
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"alert-state.json", "alert-state.json.windows"}) {
		t.Errorf("files %v (no temporary file may stay behind)", names)
	}
	data, _ := os.ReadFile(cfg.StateFile)
	if !strings.Contains(string(data), `"state":"firing"`) || !strings.Contains(string(data), `"sent":true`) {
		t.Errorf("state file %s", data)
	}
	os.WriteFile(cfg.StateFile, []byte("{garbage"), 0o644)
	te.start(t)
	if a := te.Alerts(); len(a) != 0 {
		t.Errorf("alerts from a corrupt file: %+v", a)
	}
}

func TestSavedAlertsOfRemovedRulesAreDropped(t *testing.T) {
	dir := t.TempDir()
	st := airStation("s", time.Minute)
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	te := newTestEngine(t, "rules:\n  - {name: PM10High, param: pm10, aggregate: instant, limit: 150}\n", []*station.Station{st}, testConfig(dir), t0)
	te.Observe(st, reading("s", t0, val("pm10", 200)))
	rs, _ := ParseRules([]byte("rules:\n  - {name: Other, param: pm10, aggregate: instant, limit: 150}\n"))
	te.rules = rs
	te.start(t)
	if a := te.Alerts(); len(a) != 0 {
		t.Errorf("alerts %+v", a)
	}
}

// TestWindowsOfManyStationsSurviveARestart saves the windows of more
// stations than one chunk of writeWindows holds, while readings keep
// arriving, and restores every station's mean from the file.
func TestWindowsOfManyStationsSurviveARestart(t *testing.T) {
	const n = 3*windowsChunk + 5
	var sts []*station.Station
	for i := range n {
		sts = append(sts, airStation(fmt.Sprintf("zz-air-%04d", i), 10*time.Minute))
	}
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	te := newTestEngine(t, pm10Rule, sts, testConfig(t.TempDir()), t0)
	for i, st := range sts {
		now := t0
		te.feed(st, &now, 12, float64(20+i))
	}
	// Observe keeps running during the save: it takes the lock between
	// the chunks (the race detector checks the rest).
	done := make(chan struct{})
	go func() {
		defer close(done)
		now := t0.Add(2 * time.Hour)
		te.feed(sts[0], &now, 50, 20)
	}()
	te.saveWindows(te.clock.Now())
	<-done
	te.saveWindows(te.clock.Now())
	want := map[string]float64{}
	for _, st := range sts {
		want[st.ID], _, _ = te.stations[st.ID].series["pm10"].mean(24*time.Hour, st.Interval)
	}
	te.disp.stop(time.Second)

	te.start(t)
	for _, st := range sts {
		ss := te.stations[st.ID]
		if ss == nil || ss.series["pm10"] == nil {
			t.Fatalf("%s: no pm10 series after the restart", st.ID)
		}
		if m, _, _ := ss.series["pm10"].mean(24*time.Hour, st.Interval); m != want[st.ID] {
			t.Errorf("%s: mean %v after the restart, was %v", st.ID, m, want[st.ID])
		}
	}
}

// TestWindowsFileReadsAsEncodingJSONWouldWriteIt compares the hand-written
// windows file with what encoding/json makes of the same series: station
// ids that need escaping, rolling windows, a year-to-date accumulator and
// the recent-readings memory with the stations' arrival times.
func TestWindowsFileReadsAsEncodingJSONWouldWriteIt(t *testing.T) {
	rules := pm10Rule + "  - {name: PM25YTD, param: pm25, aggregate: ytd_mean, limit: 45, min_days: 3}\n"
	sts := []*station.Station{
		airStation(`zz-"quoted"\back`, 10*time.Minute),
		airStation("枫溪\x01", 10*time.Minute),
		airStation("zz-air-0101", 10*time.Minute),
	}
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	te := newTestEngine(t, rules, sts, testConfig(t.TempDir()), t0)
	for i, st := range sts {
		now := t0
		for k := range 30 {
			te.clock.Set(now.Add(time.Minute))
			te.Observe(st, reading(st.ID, now, val("pm10", 40.25+float64(i*k)/3), val("pm25", 1e-7*float64(k+1))))
			now = now.Add(10 * time.Minute)
		}
	}
	saved := te.clock.Now()

	var out bytes.Buffer
	if err := te.writeWindows(&out, saved); err != nil {
		t.Fatal(err)
	}
	var got savedWindows
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("the windows file is not JSON: %v\n%s", err, out.Bytes())
	}

	// What encoding/json writes for the same state.
	ref := savedWindows{Version: stateVersion, Saved: saved.UTC(), ParamBits: paramBitNames}
	for _, ss := range te.order {
		for p, s := range ss.series {
			sv := savedSeries{Station: ss.st.ID, Param: p, LastT: s.lastT}
			if len(s.ring) > 0 && s.started {
				sv.Width, sv.Cur = s.width, s.cur
				for j := range s.ring {
					if b := s.bucketAt(j); b.n > 0 {
						sv.Buckets = append(sv.Buckets, [3]float64{float64(s.cur - s.age(j)), b.sum, float64(b.n)})
					}
				}
			}
			if y := s.ytd; y != nil {
				sv.YTD = &savedYTD{Year: y.year, SumMeans: y.sumMeans, Days: y.days, Day: y.day}
				for i, h := range y.hours {
					if h.n > 0 {
						sv.YTD.Hours = append(sv.YTD.Hours, savedHour{i, h.sum, h.n, h.mask})
					}
				}
			}
			ref.Series = append(ref.Series, sv)
		}
		if ss.nRecent > 0 {
			sr := savedRecent{Station: ss.st.ID, N: ss.nRecent, Arrived: ss.arrived.UTC()}
			for _, k := range ss.recent[:min(ss.nRecent, recentReadings)] {
				sr.Times = append(sr.Times, k.t)
				sr.Periods = append(sr.Periods, string(periodName(k.period)))
				sr.Params = append(sr.Params, k.params)
			}
			ref.Recent = append(ref.Recent, sr)
		}
	}
	data, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	var want savedWindows
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if len(want.Series) < 6 || want.Series[0].YTD == nil && want.Series[1].YTD == nil || len(want.Recent) != 3 {
		t.Fatalf("the fixture lacks what it should cover: %s", data)
	}
	// Series come in map order.
	for _, sw := range []*savedWindows{&got, &want} {
		slices.SortFunc(sw.Series, func(a, b savedSeries) int {
			return strings.Compare(a.Station+"\x00"+a.Param, b.Station+"\x00"+b.Param)
		})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("windows file\n got %s\nwant %s", out.Bytes(), data)
	}
}

func TestStaleStationsCountSilenceAcrossARestart(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		heard    bool          // the station sent a reading at t0, before the restart
		restart  time.Duration // when envpipe restarts, after t0
		// quiet: no alert up to then; fires: firing by then (after t0).
		quiet, fires time.Duration
	}{
		{name: "a 4-hourly station silent 11 h at the restart fires at 12 h of silence",
			interval: 4 * time.Hour, heard: true, restart: 11 * time.Hour,
			quiet: 12 * time.Hour, fires: 12*time.Hour + time.Second},
		{name: "a station never heard from is counted from the start",
			interval: 4 * time.Hour, restart: 11 * time.Hour,
			quiet: 23 * time.Hour, fires: 23*time.Hour + time.Second},
		{name: "a station silent for days at the restart is given ten minutes to be heard from",
			interval: 4 * time.Hour, heard: true, restart: 48 * time.Hour,
			quiet: 48*time.Hour + 10*time.Minute, fires: 48*time.Hour + 10*time.Minute + time.Second},
		{name: "a minute station silent past its limit at the restart fires three intervals after it",
			interval: time.Minute, heard: true, restart: 30 * time.Minute,
			quiet: 33 * time.Minute, fires: 33*time.Minute + time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := airStation("s", tc.interval)
			t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
			te := newTestEngine(t, "rules:\n  - {name: StationSilent, aggregate: stale}\n", []*station.Station{st},
				testConfig(t.TempDir()), t0)
			if tc.heard {
				te.Observe(st, reading("s", t0, val("pm10", 1)))
			}
			te.Flush()
			te.disp.stop(time.Second)

			te.clock.Set(t0.Add(tc.restart))
			te.start(t)
			te.Tick(t0.Add(tc.restart))
			te.Tick(t0.Add(tc.quiet))
			if got := te.lines.transitions(); len(got) != 0 {
				t.Fatalf("transitions by %v after t0: %v", tc.quiet, got)
			}
			te.Tick(t0.Add(tc.fires))
			if got := te.lines.transitions(); !slices.Equal(got, []string{"StationSilent/warning/:firing"}) {
				t.Errorf("transitions by %v after t0: %v", tc.fires, got)
			}
		})
	}
}

// TestFilesOfAnOlderEnvpipeLoad: state and windows files as envpipe wrote
// them before it saved what receivers were told, arrival times, the
// parameters of recent readings and the open day's hours.
func TestFilesOfAnOlderEnvpipeLoad(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	rules := pm10Rule + "  - {name: PM25YTD, param: pm25, aggregate: ytd_mean, limit: 45, min_days: 3}\n" +
		"  - {name: StationSilent, aggregate: stale}\n"
	st := airStation("s", 10*time.Minute)
	saved := time.Date(2026, 11, 27, 4, 51, 0, 0, time.UTC)
	state := `{"version":1,"saved":"2026-11-27T04:51:00Z","alerts":[{"rule":"PM10Mean24hAbovePlanTarget","station":"s",
		"param":"pm10","severity":"critical","state":"firing","active_at":"2026-11-27T04:40:00Z",
		"fired_at":"2026-11-27T04:40:00Z","eval_at":"2026-11-27T04:50:00Z","value":80,"limit":70,"threshold":70,
		"ratio":1.14,"sent":true}]}`
	windows := `{"version":1,"saved":"2026-11-27T04:51:00Z","series":[
		{"station":"s","param":"pm10","width":1800,"cur":997641,"last_t":"2026-11-27T04:50:00Z","buckets":[[997641,240,3]]},
		{"station":"s","param":"pm25","last_t":"2026-11-27T04:50:00Z","ytd":{"year":2026,"sum_means":150,"days":3,
			"day":20784,"day_sum":90,"day_n":3}}],
		"recent":[{"station":"s","times":[1795755000000000000],"periods":[""],"n":1}]}`
	if err := os.WriteFile(cfg.StateFile, []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.StateFile+".windows", []byte(windows), 0o600); err != nil {
		t.Fatal(err)
	}
	te := newTestEngine(t, rules, []*station.Station{st}, cfg, saved.Add(time.Minute))
	if a := te.Alerts(); len(a) != 1 || a[0].State != StateFiring || !a[0].Sent {
		t.Fatalf("alerts %+v", a)
	}
	ss := te.stations["s"]
	if m, _, ok := ss.series["pm10"].mean(24*time.Hour, st.Interval); !ok || m != 80 {
		t.Errorf("pm10 mean %v (%v), want 80", m, ok)
	}
	if v, n, ok := ss.series["pm25"].ytd.value(); !ok || v != 50 || n != 3 {
		t.Errorf("year-to-date %v over %d days (%v), want 50 over 3", v, n, ok)
	}
	if !ss.arrived.IsZero() {
		t.Errorf("arrival %v from a file without one", ss.arrived)
	}
	// The recent reading counts once, whatever its parameters.
	last := time.Unix(0, 1795755000000000000)
	te.Observe(st, reading("s", last, val("pm10", 1000), val("pm25", 1000)))
	if m, _, _ := ss.series["pm10"].mean(24*time.Hour, st.Interval); m != 80 {
		t.Errorf("pm10 mean %v after a duplicate, want 80", m)
	}
}
