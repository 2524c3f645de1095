package hj212

import (
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
)

// summary renders a Batch compactly: each reading as "time param=v/F …" and
// each problem as "key:reason".
func summary(b Batch) (readings, problems []string) {
	for _, r := range b.Readings {
		parts := []string{r.Station, r.Time.Format(time.RFC3339Nano)}
		for _, v := range r.Values {
			parts = append(parts, fmt.Sprintf("%s=%g/%c", v.Param, v.V, v.Flag))
		}
		readings = append(readings, strings.Join(parts, " "))
	}
	for _, p := range b.Problems {
		problems = append(problems, p.Key+":"+p.Reason)
	}
	return readings, problems
}

func checkBatch(t *testing.T, b Batch, period Period, readings, problems []string) {
	t.Helper()
	gotR, gotP := summary(b)
	if b.Period != period {
		t.Errorf("period %q, want %q", b.Period, period)
	}
	if strings.Join(gotR, "\n") != strings.Join(readings, "\n") {
		t.Errorf("readings\n%s\nwant\n%s", strings.Join(gotR, "\n"), strings.Join(readings, "\n"))
	}
	if strings.Join(gotP, " ") != strings.Join(problems, " ") {
		t.Errorf("problems %v\nwant     %v", gotP, problems)
	}
}

// TestReadingsReferenceFrames converts the reference data uploads. The
// values are the frames' own; pressure is sent in kPa (HJ 212 Table B.2)
// and stored in hPa.
func TestReadingsReferenceFrames(t *testing.T) {
	tests := []struct {
		name     string
		period   Period
		readings []string
		problems []string
	}{
		{"TV2", PeriodMinute,
			[]string{"st 2022-05-13T16:26:00+08:00 no2=4/N o3=63/N so2=6/N co=0.427/N pm25=14/N pm10=31/N wind_speed=1/N wind_dir=11/N temp=17/N rh=85/N pressure=950/N"},
			nil},
		{"TV3", PeriodRealtime,
			[]string{"st 2021-03-01T11:11:00+08:00 ph=8.33/N do=10.15/N water_temp=9.7/N conductivity=1425/N turbidity=13.1/N tp=0/N tn=3.563168/N nh3n=0.09055002/N codmn=4.102818/N"},
			[]string{"w01008:" + ReasonUnknownFactor, "w23002:" + ReasonUnsupportedFactor}},
		{"TV4", PeriodHour, nil,
			[]string{"a34006:" + ReasonUnknownFactor, "a34007:" + ReasonUnknownFactor, "a34048:" + ReasonUnknownFactor, "a34047:" + ReasonUnknownFactor, "a34049:" + ReasonUnknownFactor}},
		{"TV7", PeriodRealtime,
			[]string{"st 2016-08-24T00:38:17+08:00 cod=231/N nh3n=1.803/N"},
			[]string{"B01:" + ReasonUnknownFactor}},
		{"TV9", PeriodRealtime,
			[]string{"st 2019-10-12T13:37:10+08:00 co=0/N no2=0/N"},
			[]string{"a21007:" + ReasonUnknownFactor, "a21006:" + ReasonUnknownFactor, "a21001:" + ReasonUnknownFactor, "a21003:" + ReasonUnknownFactor, "a21002:" + ReasonUnsupportedFactor}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, frameByName(t, tt.name), ParseOptions{})
			b, err := f.Readings("st", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkBatch(t, b, tt.period, tt.readings, tt.problems)
		})
	}
	for _, name := range []string{"TV1", "TV5", "TV6"} {
		f := mustParse(t, frameByName(t, name), ParseOptions{})
		if _, err := f.Readings("st", nil, nil); !errors.Is(err, ErrNotData) || Reason(err) != ReasonNotData {
			t.Errorf("%s: err %v, want ErrNotData", name, err)
		}
	}
}

// withParams returns ingest.Params plus the GB 3838 metals, to test the
// conversion path they will take once ingest accepts them.
func withParams() map[string]ingest.Param {
	p := maps.Clone(ingest.Params)
	p["hg"] = ingest.Param{Name: "hg", Kind: ingest.KindWater, Unit: "mg/L"}
	p["pb"] = ingest.Param{Name: "pb", Kind: ingest.KindWater, Unit: "mg/L"}
	return p
}

func TestReadings(t *testing.T) {
	const dt = "DataTime=20260301080000;"
	const at = "st 2026-03-01T08:00:00+08:00"
	tests := []struct {
		name     string
		cn       string
		cp       string
		units    map[string]string
		loc      *time.Location
		params   map[string]ingest.Param
		period   Period
		readings []string
		problems []string
	}{
		{name: "every flag", cn: "2011",
			cp:       dt + "a34004-Rtd=1,a34004-Flag=N;a34002-Rtd=2,a34002-Flag=F;a21026-Rtd=3,a21026-Flag=M;a21004-Rtd=4,a21004-Flag=S;a21005-Rtd=5,a21005-Flag=D;a05024-Rtd=6,a05024-Flag=C;a01001-Rtd=7,a01001-Flag=T;a01002-Rtd=8,a01002-Flag=B;a01007-Rtd=9",
			period:   PeriodRealtime,
			readings: []string{at + " pm25=1/N pm10=2/F so2=3/M no2=4/S co=5/D o3=6/C temp=7/T rh=8/B wind_speed=9/N"}},
		{name: "flags that are not one character", cn: "2011",
			cp:       dt + "a34004-Rtd=1,a34004-Flag=P;a34002-Rtd=2,a34002-Flag=NN;a21026-Rtd=3,a21026-Flag=;a21004-Rtd=4,a21004-Flag=n",
			period:   PeriodRealtime,
			readings: []string{at + " pm25=1/P no2=4/n"},
			problems: []string{"a34002:" + ReasonUnknownFlag, "a21026:" + ReasonUnknownFlag}},
		{name: "aggregates take Avg", cn: "2061",
			cp:       dt + "a34004-Min=1,a34004-Avg=2,a34004-Max=3,a34004-Flag=N;a34002-Rtd=9,a34002-Flag=N",
			period:   PeriodHour,
			readings: []string{at + " pm25=2/N"},
			problems: []string{"a34002:" + ReasonMissingValue}},
		{name: "daily", cn: "2031", cp: "DataTime=20260301000000;w21003-Avg=0.5,w21003-Flag=N",
			period: PeriodDay, readings: []string{"st 2026-03-01T00:00:00+08:00 nh3n=0.5/N"}},
		{name: "minute", cn: "2051", cp: "DataTime=20260301081000;w21011-Cou=1,w21011-Avg=0.02",
			period: PeriodMinute, readings: []string{"st 2026-03-01T08:10:00+08:00 tp=0.02/N"}},
		{name: "station units override the defaults", cn: "2011",
			cp:       dt + "a21026-Rtd=0.012;a21005-Rtd=800;a01006-Rtd=1013.2;w01014-Rtd=1.5",
			units:    map[string]string{"a21026": "mg/m3", "a21005": "ug/m3", "a01006": "hPa", "w01014": "mS/cm"},
			period:   PeriodRealtime,
			readings: []string{at + " so2=12/N co=0.8/N pressure=1013.2/N conductivity=1500/N"}},
		{name: "units that do not convert", cn: "2011",
			cp:       dt + "a21026-Rtd=1;a34004-Rtd=2;a34002-Rtd=3",
			units:    map[string]string{"a21026": "mg/L", "a34004": "furlongs"},
			period:   PeriodRealtime,
			readings: []string{at + " pm10=3/N"},
			problems: []string{"a21026:" + ReasonBadUnit, "a34004:" + ReasonBadUnit}},
		{name: "metals default to µg/L and are stored in mg/L", cn: "2011",
			cp:       dt + "w20111-Rtd=0.05,w20111-Flag=N;w20144-Rtd=0.01",
			params:   withParams(),
			period:   PeriodRealtime,
			readings: []string{at + " hg=5e-05/N pb=0.01/N"}},
		{name: "metal unit override", cn: "2011",
			cp:       dt + "w20111-Rtd=0.00005",
			units:    map[string]string{"w20111": "mg/L"},
			params:   withParams(),
			period:   PeriodRealtime,
			readings: []string{at + " hg=5e-05/N"}},
		{name: "metals are unsupported until ingest has them", cn: "2011",
			cp:       dt + "w20111-Rtd=0.05;w01009-Rtd=7.5",
			period:   PeriodRealtime,
			readings: []string{at + " do=7.5/N"},
			problems: []string{"w20111:" + ReasonUnsupportedFactor}},
		{name: "total and dissolved codes of one item", cn: "2011",
			cp:       dt + "w20111-Rtd=0.05;w20142-Rtd=0.04",
			params:   withParams(),
			period:   PeriodRealtime,
			readings: []string{at + " hg=5e-05/N"},
			problems: []string{"w20142:" + ReasonDuplicate}},
		{name: "values that are not numbers", cn: "2011",
			cp:       dt + "a34004-Rtd=abc;a34002-Rtd=NaN;a21026-Rtd=1e400;a21004-Rtd=0x10;a21005-Rtd=;a05024-Rtd=-1.5;a01001-Rtd=1.2E1;a01002-Rtd=.5",
			period:   PeriodRealtime,
			readings: []string{at + " o3=-1.5/N temp=12/N rh=0.5/N"},
			problems: []string{"a34004:" + ReasonBadValue, "a34002:" + ReasonBadValue, "a21026:" + ReasonBadValue, "a21004:" + ReasonBadValue, "a21005:" + ReasonBadValue}},
		{name: "a factor given twice", cn: "2011",
			cp:       dt + "a34004-Rtd=1;a34004-Rtd=2;a34002-Rtd=3;a34002-Rtd=3;a21026-Rtd=4,a21026-Flag=N,a21026-Flag=D",
			period:   PeriodRealtime,
			readings: []string{at + " pm10=3/N"},
			problems: []string{"a34004:" + ReasonDuplicate, "a21026:" + ReasonDuplicate}},
		{name: "fields that are not factor values", cn: "2011",
			cp:       dt + "RestartTime=20260301000000;a34004-Rtd=1,a34004-SampleTime=20260301075500,a34004-EFlag=A1",
			period:   PeriodRealtime,
			readings: []string{at + " pm25=1/N"},
			problems: []string{"RestartTime:" + ReasonUnknownField}},
		{name: "one reading per DataTime", cn: "2061",
			cp:       "DataTime=20260301080000;a34004-Avg=1;DataTime=20260301090000;a34004-Avg=2",
			period:   PeriodHour,
			readings: []string{at + " pm25=1/N", "st 2026-03-01T09:00:00+08:00 pm25=2/N"}},
		{name: "a repeated DataTime merges, as in a reassembled message", cn: "2061",
			cp:       dt + "a34004-Avg=1;" + dt + "a34002-Avg=2",
			period:   PeriodHour,
			readings: []string{at + " pm25=1/N pm10=2/N"}},
		{name: "DataTime in another zone", cn: "2011", cp: dt + "a34004-Rtd=1", loc: time.UTC,
			period: PeriodRealtime, readings: []string{"st 2026-03-01T08:00:00Z pm25=1/N"}},
		{name: "no values", cn: "2011", cp: dt[:len(dt)-1], period: PeriodRealtime},
		{name: "empty CP", cn: "2011", cp: "", period: PeriodRealtime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, build("QN=1;ST=22;CN="+tt.cn+";MN=X;Flag=4;CP=&&"+tt.cp+"&&"), ParseOptions{})
			params := tt.params
			if params == nil {
				params = ingest.Params
			}
			b, err := f.readings("st", tt.units, tt.loc, params)
			if err != nil {
				t.Fatal(err)
			}
			checkBatch(t, b, tt.period, tt.readings, tt.problems)
		})
	}
}

func TestReadingsDataTimeErrors(t *testing.T) {
	tests := []struct{ name, cp string }{
		{"value before DataTime", "a34004-Rtd=1;DataTime=20260301080000"},
		{"no DataTime", "a34004-Rtd=1"},
		{"month 13", "DataTime=20261301080000;a34004-Rtd=1"},
		{"February 30", "DataTime=20260230080000;a34004-Rtd=1"},
		{"13 digits", "DataTime=2026030108000;a34004-Rtd=1"},
		{"not digits", "DataTime=2026-03-01 08:0;a34004-Rtd=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, build("ST=22;CN=2011;MN=X;CP=&&"+tt.cp+"&&"), ParseOptions{})
			_, err := f.Readings("st", nil, nil)
			if !errors.Is(err, ErrDataTime) || Reason(err) != ReasonDataTime {
				t.Errorf("err %v, want ErrDataTime", err)
			}
		})
	}
}

func TestDataTimeFormats(t *testing.T) {
	tm, err := ParseDataTime("20160824003817123", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2016, 8, 24, 0, 38, 17, 123e6, CST); !tm.Equal(want) {
		t.Errorf("got %v, want %v", tm, want)
	}
	if got := FormatDataTime(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), nil); got != "20260301080000" {
		t.Errorf("FormatDataTime = %s", got)
	}
	if got := FormatQN(time.Date(2026, 3, 1, 0, 0, 0, 7e6, time.UTC), nil); got != "20260301080000007" {
		t.Errorf("FormatQN = %s", got)
	}
}

func TestConvertUnit(t *testing.T) {
	tests := []struct {
		v        float64
		from, to string
		want     float64
		err      bool
	}{
		{0.05, "µg/L", "mg/L", 0.00005, false},
		{0.05, "μg/L", "mg/L", 0.00005, false}, // Greek mu
		{0.05, "ug/l", "mg/L", 0.00005, false},
		{0.6, "mg/m3", "µg/m³", 600, false},
		{800, "µg/m³", "mg/m³", 0.8, false},
		{14, "纳克/立方米", "µg/m³", 0.014, false},
		{95, "kPa", "hPa", 950, false},
		{101325, "Pa", "hPa", 1013.25, false},
		{1.5, "mS/cm", "µS/cm", 1500, false},
		{20, "℃", "°C", 20, false},
		{7, "pH", "", 7, false},
		{1, "mg/L", "mg/m³", 0, true},
		{1, "NTU", "%", 0, true},
		{1, "furlongs", "mg/L", 0, true},
		{1, "mg/L", "furlongs", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.from+"→"+tt.to, func(t *testing.T) {
			got, err := ConvertUnit(tt.v, tt.from, tt.to)
			if (err != nil) != tt.err {
				t.Fatalf("err %v, want error %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("ConvertUnit(%g) = %g, want %g", tt.v, got, tt.want)
			}
		})
	}
}

// TestFactorTable: every parameter of ingest.Params except chla (no
// documented code) is fed by a code, every default unit converts to its
// parameter's canonical unit, and the numbers match standards.md §4.10.
func TestFactorTable(t *testing.T) {
	fed := map[string]bool{}
	for _, f := range Factors() {
		if p, ok := ingest.Params[f.Param]; ok {
			fed[f.Param] = true
			if _, err := ConvertUnit(1, f.Unit, p.Unit); err != nil {
				t.Errorf("%s: default unit: %v", f.Code, err)
			}
		} else if _, ok := lookupUnit(f.Unit); !ok {
			t.Errorf("%s: unknown unit %q", f.Code, f.Unit)
		}
	}
	for name := range ingest.Params {
		if !fed[name] && name != "chla" {
			t.Errorf("no factor code feeds %s", name)
		}
	}
	spot := map[string]Factor{
		"a34004": {"a34004", "PM2.5", "pm25", "µg/m³"},
		"a21005": {"a21005", "CO", "co", "mg/m³"},
		"04":     {"04", "CO", "co", "mg/m³"},
		"a01006": {"a01006", "air pressure", "pressure", "kPa"},
		"w01003": {"w01003", "turbidity", "turbidity", "NTU"},
		"060":    {"060", "ammonia nitrogen", "nh3n", "mg/L"},
		"w20111": {"w20111", "total mercury", "hg", "µg/L"},
		"w20144": {"w20144", "lead", "pb", "mg/L"},
		"w20117": {"w20117", "hexavalent chromium", "cr6", "µg/L"},
	}
	for code, want := range spot {
		if got, ok := LookupFactor(code); !ok || got != want {
			t.Errorf("LookupFactor(%s) = %+v, %v; want %+v", code, got, ok, want)
		}
	}
	if _, ok := LookupFactor("w01016"); ok {
		t.Error("chlorophyll-a code w01016 is unconfirmed and must not be mapped")
	}
}

func TestCheckUnits(t *testing.T) {
	tests := []struct {
		name  string
		units map[string]string
		ok    bool
	}{
		{"none", nil, true},
		{"SO2 in mg/m³", map[string]string{"a21026": "mg/m³"}, true},
		{"mercury not yet ingested", map[string]string{"w20111": "mg/L"}, true},
		{"unknown code", map[string]string{"x99": "mg/L"}, false},
		{"wrong dimension", map[string]string{"a21026": "mg/L"}, false},
		{"unknown unit for a code not yet ingested", map[string]string{"w20111": "grains"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckUnits(tt.units); (err == nil) != tt.ok {
				t.Errorf("CheckUnits = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func BenchmarkReadings(b *testing.B) {
	f := mustParse(b, frameByName(b, "TV2"), ParseOptions{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Readings("st", nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReadingsRefuseNonFiniteConversions: a finite value that overflows when
// converted to the canonical unit is a bad value, not an infinite reading.
func TestReadingsRefuseNonFiniteConversions(t *testing.T) {
	const dt = "DataTime=20260301080000;"
	tests := []struct {
		name     string
		cp       string
		units    map[string]string
		readings []string
		problem  string // key:reason of the one problem
	}{
		{name: "pressure in kPa overflows hPa", cp: dt + "a01006-Rtd=1e308,a01006-Flag=N;a34004-Rtd=38",
			readings: []string{"st 2026-03-01T08:00:00+08:00 pm25=38/N"}, problem: "a01006:" + ReasonBadValue},
		{name: "negative overflow", cp: dt + "a01006-Rtd=-1e308",
			problem: "a01006:" + ReasonBadValue},
		{name: "station unit override overflows", cp: dt + "w01014-Rtd=1e306",
			units: map[string]string{"w01014": "mS/cm"}, problem: "w01014:" + ReasonBadValue},
		{name: "largest value that still converts", cp: dt + "a01006-Rtd=1e307",
			readings: []string{"st 2026-03-01T08:00:00+08:00 pressure=1e+308/N"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, build("QN=1;ST=22;CN=2011;MN=X;Flag=4;CP=&&"+tt.cp+"&&"), ParseOptions{})
			b, err := f.Readings("st", tt.units, nil)
			if err != nil {
				t.Fatal(err)
			}
			var problems []string
			if tt.problem != "" {
				problems = []string{tt.problem}
			}
			checkBatch(t, b, PeriodRealtime, tt.readings, problems)
			for _, p := range b.Problems {
				if !strings.Contains(p.Detail, "not finite") {
					t.Errorf("detail %q does not say the converted value is not finite", p.Detail)
				}
			}
		})
	}
}

// TestReadingsManyFields: a reassembled message can hold megabytes of CP.
// Fields of one factor are found however many others lie between them, in
// linear time (2^17 factors took minutes when each was looked for among all
// the earlier ones, which times out the package's test run), and memory
// stays linear in the number of DataTime groups.
func TestReadingsManyFields(t *testing.T) {
	const huge = 1 << 17
	dt := Item{{Key: "DataTime", Value: "20260301080000"}}
	unknown := func(cp CP, n int) CP {
		for i := range n {
			cp = append(cp, Item{{Key: fmt.Sprintf("x%06d-Rtd", i), Value: "1"}})
		}
		return cp
	}
	// groups returns n DataTime groups a minute apart, each with one value.
	groups := func(n int) CP {
		var cp CP
		t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, CST)
		for i := range n {
			cp = append(cp, Item{{Key: "DataTime", Value: FormatDataTime(t0.Add(time.Duration(i)*time.Minute), nil)}},
				Item{{Key: "a34004-Rtd", Value: "1"}})
		}
		return cp
	}
	tests := []struct {
		name     string
		cp       CP
		readings int
		problems map[string]int // reason → count
		first    string         // summary of the first reading; "" to skip
		maxAlloc uint64         // bytes Readings may allocate; 0 for no bound
	}{
		{name: "2^17 unknown factors", cp: unknown(CP{dt}, huge),
			problems: map[string]int{ReasonUnknownFactor: huge}},
		{name: "one factor's fields far apart, and a duplicate",
			cp: append(unknown(CP{dt, {{Key: "a34002-Flag", Value: "D"}}, {{Key: "a34004-Rtd", Value: "1"}}}, huge),
				Item{{Key: "a34002-Rtd", Value: "3"}}, Item{{Key: "a34004-Rtd", Value: "2"}}),
			readings: 1, problems: map[string]int{ReasonUnknownFactor: huge, ReasonDuplicate: 1},
			first: "st 2026-03-01T08:00:00+08:00 pm10=3/D"},
		{name: "2^17 DataTime groups", cp: groups(huge), readings: huge,
			first: "st 2026-03-01T08:00:00+08:00 pm25=1/N"},
		{name: "a DataTime repeated after many groups merges",
			cp:       append(groups(40), Item{{Key: "DataTime", Value: "20260301080000"}}, Item{{Key: "a34002-Rtd", Value: "2"}}),
			readings: 40, first: "st 2026-03-01T08:00:00+08:00 pm25=1/N pm10=2/N"},
		{name: "1024 DataTime groups allocate little", cp: groups(1024), readings: 1024, maxAlloc: 4 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Frame{CN: CNRealtime, CP: tt.cp}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b, err := f.Readings("st", nil, nil)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Readings) != tt.readings {
				t.Errorf("%d readings, want %d", len(b.Readings), tt.readings)
			}
			got := map[string]int{}
			for _, p := range b.Problems {
				got[p.Reason]++
			}
			if !maps.Equal(got, tt.problems) && (len(got) > 0 || len(tt.problems) > 0) {
				t.Errorf("problems %v, want %v", got, tt.problems)
			}
			if rs, _ := summary(b); tt.first != "" && len(rs) > 0 && rs[0] != tt.first {
				t.Errorf("first reading %s, want %s", rs[0], tt.first)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; tt.maxAlloc > 0 && alloc > tt.maxAlloc {
				t.Errorf("allocated %d bytes, want at most %d", alloc, tt.maxAlloc)
			}
		})
	}
}

// BenchmarkReadingsManyFactors is one DataTime group of 40,000 factors, as a
// reassembled message can hold: milliseconds, not the 5 s that searching
// every earlier factor took.
func BenchmarkReadingsManyFactors(b *testing.B) {
	cp := CP{{{Key: "DataTime", Value: "20260301080000"}}}
	for i := range 40000 {
		cp = append(cp, Item{{Key: fmt.Sprintf("x%05d-Rtd", i), Value: "1"}})
	}
	f := &Frame{CN: CNRealtime, CP: cp}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Readings("st", nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
