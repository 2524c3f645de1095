package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
)

func TestParseEpisode(t *testing.T) {
	simStart := time.Date(2026, 11, 28, 6, 0, 0, 0, cst)
	for _, tc := range []struct {
		name, in   string
		station    string
		params     []string
		start      time.Time
		dur        time.Duration
		factor     float64
		wantErrHas string
	}{
		{name: "an RFC 3339 start with its colons", in: "zz-air-0301:pm10:2026-11-28T08:00:00+08:00:6h:2.5",
			station: "zz-air-0301", params: []string{"pm10"}, start: time.Date(2026, 11, 28, 8, 0, 0, 0, cst), dur: 6 * time.Hour, factor: 2.5},
		{name: "a UTC start", in: "zz-air-0301:pm25:2026-11-28T00:00:00Z:90m:3",
			station: "zz-air-0301", params: []string{"pm25"}, start: time.Date(2026, 11, 28, 8, 0, 0, 0, cst), dur: 90 * time.Minute, factor: 3},
		{name: "a start relative to the simulated start", in: "zz-air-0301:pm25+pm10:+30m:2h:4",
			station: "zz-air-0301", params: []string{"pm25", "pm10"}, start: simStart.Add(30 * time.Minute), dur: 2 * time.Hour, factor: 4},
		{name: "every station and a lowering factor", in: "*:do:+0s:12h:0.5",
			station: "*", params: []string{"do"}, start: simStart, dur: 12 * time.Hour, factor: 0.5},
		{name: "too few fields", in: "zz-air-0301:pm10:6h:2.5", wantErrHas: "want STATION:PARAMS:START:DURATION:FACTOR"},
		{name: "no fields", in: "zz-air-0301", wantErrHas: "want STATION"},
		{name: "a bad start", in: "zz-air-0301:pm10:2026-11-28 08:00:6h:2.5", wantErrHas: "RFC 3339"},
		{name: "a zero duration", in: "zz-air-0301:pm10:+1h:0s:2.5", wantErrHas: "positive duration"},
		{name: "a negative factor", in: "zz-air-0301:pm10:+1h:1h:-2", wantErrHas: "factor"},
		{name: "a zero factor", in: "zz-air-0301:pm10:+1h:1h:0", wantErrHas: "factor"},
		{name: "an unknown parameter", in: "zz-air-0301:pm1:+1h:1h:2", wantErrHas: `unknown parameter "pm1"`},
		{name: "all parameters", in: "zz-air-0301:*:+1h:1h:2", wantErrHas: "names its parameters"},
		{name: "no station", in: ":pm10:+1h:1h:2", wantErrHas: "missing station"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := parseEpisode(tc.in)
			if tc.wantErrHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrHas) {
					t.Fatalf("parseEpisode(%q) error %v, want one containing %q", tc.in, err, tc.wantErrHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseEpisode(%q): %v", tc.in, err)
			}
			if e.Relative {
				e.Start = simStart.Add(e.Offset)
			}
			if e.Station != tc.station || !slices.Equal(e.Params, tc.params) || !e.Start.Equal(tc.start) ||
				e.Duration != tc.dur || e.Factor != tc.factor {
				t.Errorf("parseEpisode(%q) = %+v", tc.in, e)
			}
		})
	}
}

func TestParseFault(t *testing.T) {
	for _, tc := range []struct {
		in         string
		want       fault
		wantErrHas string
	}{
		{in: "zz-air-0202:pm10:D", want: fault{"zz-air-0202", []string{"pm10"}, ingest.FlagFault}},
		{in: "zz-wat-xj02:nh3n+tp:m", want: fault{"zz-wat-xj02", []string{"nh3n", "tp"}, ingest.FlagMaintenance}},
		{in: "zz-air-0101:*:C", want: fault{"zz-air-0101", []string{"*"}, ingest.FlagCalibration}},
		{in: "zz-air-0202:pm10:N", wantErrHas: "normal state"},
		{in: "zz-air-0202:pm10:X", wantErrHas: "not an HJ 212 flag"},
		{in: "zz-air-0202:pm10", wantErrHas: "STATION:PARAMS:FLAG"},
		{in: "zz-air-0202:pm10+*:D", wantErrHas: "cannot be combined"},
	} {
		f, err := parseFault(tc.in)
		if tc.wantErrHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErrHas) {
				t.Errorf("parseFault(%q) error %v, want one containing %q", tc.in, err, tc.wantErrHas)
			}
			continue
		}
		if err != nil || f.Station != tc.want.Station || !slices.Equal(f.Params, tc.want.Params) || f.Flag != tc.want.Flag {
			t.Errorf("parseFault(%q) = %+v, %v; want %+v", tc.in, f, err, tc.want)
		}
	}
}

func TestScenarioReportsEveryProblemAgainstTheRegistry(t *testing.T) {
	reg := sampleNetwork(t)
	_, err := newScenario(reg,
		[]string{"zz-air-9999"},
		[]string{"zz-air-0202:nh3n:D", "nosuch:pm10:D"},
		[]string{"zz-wat-xj01:pm25:+1h:1h:2", "zz-wat-xj01:tn:+1h:1h:2", "zz-air-0301:pm10:+1h:1h"},
		nov28)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`-silent: unknown station "zz-air-9999"`,
		`-faulty zz-air-0202:nh3n:D: station zz-air-0202 (air) does not simulate "nh3n"`,
		`-faulty nosuch:pm10:D: unknown station "nosuch"`,
		`-episode zz-wat-xj01:pm25:+1h:1h:2: station zz-wat-xj01 (water) does not simulate "pm25"`,
		`-episode zz-wat-xj01:tn:+1h:1h:2: station zz-wat-xj01 (water) does not simulate "tn"`, // a river
		`-episode zz-air-0301:pm10:+1h:1h: `,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := newScenario(reg, nil, nil, []string{"zz-wat-hb01:tn:+1h:1h:2"}, nov28); err != nil {
		t.Errorf("tn on a lake: %v", err)
	}
}

func TestEpisodeMultipliesOnlyWithinItsSpan(t *testing.T) {
	reg := sampleNetwork(t)
	st, _ := reg.Lookup("zz-air-0301")
	other, _ := reg.Lookup("zz-air-0302")
	sc, err := newScenario(reg, nil, nil, []string{"zz-air-0301:pm10:2026-11-28T08:00:00+08:00:6h:2.5"}, nov28)
	if err != nil {
		t.Fatal(err)
	}
	m := Model{Seed: 1}
	start := time.Date(2026, 11, 28, 8, 0, 0, 0, cst)
	for _, tc := range []struct {
		name string
		st   string
		at   time.Time
		want float64 // factor on pm10
	}{
		{"a minute before", st.ID, start.Add(-time.Minute), 1},
		{"at its start", st.ID, start, 2.5},
		{"in the middle", st.ID, start.Add(3 * time.Hour), 2.5},
		{"its last minute", st.ID, start.Add(6*time.Hour - time.Minute), 2.5},
		{"at its end", st.ID, start.Add(6 * time.Hour), 1},
		{"another station", other.ID, start.Add(time.Hour), 1},
	} {
		s, _ := reg.Lookup(tc.st)
		base := m.Values(s, tc.at, m.RNG(s.ID, tc.at))
		got := m.Values(s, tc.at, m.RNG(s.ID, tc.at))
		sc.Apply(s, tc.at, got)
		for i := range got {
			want := base[i].V
			if got[i].Param == "pm10" {
				want = roundValue("pm10", base[i].V*tc.want)
			}
			if got[i].V != want || got[i].Flag != ingest.FlagNormal {
				t.Errorf("%s: %s = %v (%c), want %v", tc.name, got[i].Param, got[i].V, got[i].Flag, want)
			}
		}
	}
}

func TestOverlappingEpisodesMultiply(t *testing.T) {
	reg := sampleNetwork(t)
	st, _ := reg.Lookup("zz-air-0101")
	sc, err := newScenario(reg, nil, nil, []string{"zz-air-0101:pm25:+0s:1h:2", "*:pm25:+0s:1h:3"}, nov28)
	if err != nil {
		t.Fatal(err)
	}
	vals := []ingest.Value{{Param: "pm25", V: 10, Flag: ingest.FlagNormal}}
	sc.Apply(st, nov28.Add(time.Minute), vals)
	if vals[0].V != 60 {
		t.Errorf("pm25 10 × 2 × 3 = %v, want 60", vals[0].V)
	}
}

func TestFaultySensorFlagsOnlyItsParameters(t *testing.T) {
	reg := sampleNetwork(t)
	sc, err := newScenario(reg, nil, []string{"zz-air-0202:pm10:D", "zz-wat-xj02:*:M"}, nil, nov28)
	if err != nil {
		t.Fatal(err)
	}
	m := Model{Seed: 1}
	at := nov28.Add(9 * time.Hour)
	for _, id := range []string{"zz-air-0202", "zz-air-0201", "zz-wat-xj02"} {
		st, _ := reg.Lookup(id)
		vals := m.Values(st, at, m.RNG(id, at))
		sc.Apply(st, at, vals)
		for _, v := range vals {
			want := ingest.FlagNormal
			switch {
			case id == "zz-air-0202" && v.Param == "pm10":
				want = ingest.FlagFault
			case id == "zz-wat-xj02":
				want = ingest.FlagMaintenance
			}
			if v.Flag != want {
				t.Errorf("%s %s: flag %c, want %c", id, v.Param, v.Flag, want)
			}
		}
	}
}
