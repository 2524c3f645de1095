package aqi

import (
	"errors"
	"maps"
	"math"
	"slices"
	"testing"
)

func TestComputeBoundariesAndEditionRules(t *testing.T) {
	tests := []struct {
		name       string
		ed         Edition
		rep        Report
		in         Inputs
		iaqi       map[Indicator]int
		aqi        int
		level      Level
		primary    []string
		outOfRange []Indicator
	}{
		{
			name: "a concentration exactly on a breakpoint gives exactly that breakpoint's IAQI",
			ed:   Edition2012, rep: ReportDaily,
			in:   Inputs{PM25Mean24h: 75},
			iaqi: map[Indicator]int{PM25Mean24h: 100}, aqi: 100, level: Level2, primary: []string{"pm25"},
		},
		{
			name: "a concentration just above a breakpoint is rounded up into the next level",
			ed:   Edition2012, rep: ReportDaily,
			in:   Inputs{PM25Mean24h: 75.001},
			iaqi: map[Indicator]int{PM25Mean24h: 101}, aqi: 101, level: Level3, primary: []string{"pm25"},
		},
		{
			// In float64, 50/2 × (2.2 − 2) + 50 is 55.00000000000001 and
			// 50/40 × (128.3 − 115) + 150 is 169.00000000000003.
			name: "a decimal that float arithmetic would push over an integer stays on it",
			ed:   Edition2012, rep: ReportDaily,
			in:   Inputs{COMean24h: 2.2, PM25Mean24h: 128.3},
			iaqi: map[Indicator]int{COMean24h: 55, PM25Mean24h: 169}, aqi: 169, level: Level4, primary: []string{"pm25"},
		},
		{
			name: "a zero concentration scores zero and has no primary pollutant",
			ed:   Edition2026, rep: ReportDaily,
			in:   Inputs{PM25Mean24h: 0},
			iaqi: map[Indicator]int{PM25Mean24h: 0}, aqi: 0, level: Level1,
		},
		{
			name: "an AQI of exactly 50 is level 1 and has no primary pollutant",
			ed:   Edition2026, rep: ReportDaily,
			in:   Inputs{PM10Mean24h: 50, SO2Mean24h: 10},
			iaqi: map[Indicator]int{PM10Mean24h: 50, SO2Mean24h: 10}, aqi: 50, level: Level1,
		},
		{
			name: "the 2026 PM2.5 breakpoint of 60 is IAQI 100 while 2012 gives less",
			ed:   Edition2026, rep: ReportDaily,
			in:   Inputs{PM25Mean24h: 60},
			iaqi: map[Indicator]int{PM25Mean24h: 100}, aqi: 100, level: Level2, primary: []string{"pm25"},
		},
		{
			name: "tied pollutants are all primary, in alphabetical order",
			ed:   Edition2012, rep: ReportDaily,
			in:   Inputs{PM25Mean24h: 75, PM10Mean24h: 150, NO2Mean24h: 80, SO2Mean24h: 10},
			iaqi: map[Indicator]int{PM25Mean24h: 100, PM10Mean24h: 100, NO2Mean24h: 100, SO2Mean24h: 10},
			aqi:  100, level: Level2, primary: []string{"no2", "pm10", "pm25"},
		},
		{
			name: "ozone scored on 1 h and 8 h with the same IAQI is one primary pollutant",
			ed:   Edition2012, rep: ReportDaily,
			in:   Inputs{O3Mean1h: 200, O3Mean8h: 160},
			iaqi: map[Indicator]int{O3Mean1h: 100, O3Mean8h: 100}, aqi: 100, level: Level2, primary: []string{"o3"},
		},
		{
			name: "2012 hourly SO2 of exactly 800 is still scored on the 1 h column",
			ed:   Edition2012, rep: ReportHourly,
			in:   Inputs{SO2Mean1h: 800, SO2Mean24h: 100},
			iaqi: map[Indicator]int{SO2Mean1h: 200}, aqi: 200, level: Level4, primary: []string{"so2"},
		},
		{
			name: "2012 hourly SO2 above 800 takes its sub-index from the 24 h mean",
			ed:   Edition2012, rep: ReportHourly,
			in:   Inputs{SO2Mean1h: 800.1, SO2Mean24h: 150},
			iaqi: map[Indicator]int{SO2Mean1h: 100}, aqi: 100, level: Level2, primary: []string{"so2"},
		},
		{
			name: "2012 hourly SO2 above 800 without a 24 h mean gives no SO2 sub-index",
			ed:   Edition2012, rep: ReportHourly,
			in:   Inputs{SO2Mean1h: 900, NO2Mean1h: 100},
			iaqi: map[Indicator]int{NO2Mean1h: 50}, aqi: 50, level: Level1,
		},
		{
			name: "2012 hourly SO2 fallback above the 24 h top breakpoint is out of range",
			ed:   Edition2012, rep: ReportHourly,
			in:   Inputs{SO2Mean1h: 3000, SO2Mean24h: 2700},
			iaqi: map[Indicator]int{SO2Mean1h: 500}, aqi: 500, level: Level6, primary: []string{"so2"},
			outOfRange: []Indicator{SO2Mean24h},
		},
		{
			name: "2012 hourly report ignores the 24 h SO2 mean while the 1 h value is in range",
			ed:   Edition2012, rep: ReportHourly,
			in:   Inputs{SO2Mean1h: 150, SO2Mean24h: 2000},
			iaqi: map[Indicator]int{SO2Mean1h: 50}, aqi: 50, level: Level1,
		},
		{
			name: "2012 O3 8 h of exactly 800 scores 300",
			ed:   Edition2012, rep: ReportHourly,
			in:   Inputs{O3Mean8h: 800, O3Mean1h: 100},
			iaqi: map[Indicator]int{O3Mean8h: 300, O3Mean1h: 32}, aqi: 300, level: Level5, primary: []string{"o3"},
		},
		{
			name: "2012 O3 8 h above 800 has no sub-index and the 1 h one stands",
			ed:   Edition2012, rep: ReportDaily,
			in:   Inputs{O3Mean8h: 801, O3Mean1h: 700},
			iaqi: map[Indicator]int{O3Mean1h: 275}, aqi: 275, level: Level5, primary: []string{"o3"},
		},
		{
			name: "2012 O3 8 h above 800 alone gives no AQI at all",
			ed:   Edition2012, rep: ReportHourly,
			in:   Inputs{O3Mean8h: 801},
			iaqi: map[Indicator]int{},
		},
		{
			name: "2026 hourly SO2 above 800 scores 200",
			ed:   Edition2026, rep: ReportHourly,
			in:   Inputs{SO2Mean1h: 5000},
			iaqi: map[Indicator]int{SO2Mean1h: 200}, aqi: 200, level: Level4, primary: []string{"so2"},
		},
		{
			name: "2026 daily O3 8 h above 800 scores 300",
			ed:   Edition2026, rep: ReportDaily,
			in:   Inputs{O3Mean8h: 800.5},
			iaqi: map[Indicator]int{O3Mean8h: 300}, aqi: 300, level: Level5, primary: []string{"o3"},
		},
		{
			name: "2026 daily report does not score the O3 1 h maximum",
			ed:   Edition2026, rep: ReportDaily,
			in:   Inputs{O3Mean1h: 1000, O3Mean8h: 100},
			iaqi: map[Indicator]int{O3Mean8h: 50}, aqi: 50, level: Level1,
		},
		{
			name: "2026 hourly report scores PM 1 h values on the daily breakpoints and ignores 24 h means",
			ed:   Edition2026, rep: ReportHourly,
			in:   Inputs{PM25Mean1h: 60, PM10Mean1h: 120, PM25Mean24h: 500, O3Mean8h: 700},
			iaqi: map[Indicator]int{PM25Mean1h: 100, PM10Mean1h: 100}, aqi: 100, level: Level2,
			primary: []string{"pm10", "pm25"},
		},
		{
			name: "2012 hourly report scores the PM 24 h moving means and ignores PM 1 h values",
			ed:   Edition2012, rep: ReportHourly,
			in:   Inputs{PM25Mean24h: 35, PM25Mean1h: 500},
			iaqi: map[Indicator]int{PM25Mean24h: 50}, aqi: 50, level: Level1,
		},
		{
			name: "a concentration at the top breakpoint is IAQI 500 and still in range",
			ed:   Edition2026, rep: ReportDaily,
			in:   Inputs{PM25Mean24h: 500},
			iaqi: map[Indicator]int{PM25Mean24h: 500}, aqi: 500, level: Level6, primary: []string{"pm25"},
		},
		{
			name: "a concentration above the top breakpoint is held at 500 and reported out of range",
			ed:   Edition2026, rep: ReportDaily,
			in:   Inputs{PM25Mean24h: 650, PM10Mean24h: 600.1, COMean24h: 1},
			iaqi: map[Indicator]int{PM25Mean24h: 500, PM10Mean24h: 500, COMean24h: 25}, aqi: 500, level: Level6,
			primary: []string{"pm10", "pm25"}, outOfRange: []Indicator{PM10Mean24h, PM25Mean24h},
		},
		{
			name: "an infinite concentration is out of range, not a crash",
			ed:   Edition2012, rep: ReportHourly,
			in:   Inputs{COMean1h: math.Inf(1)},
			iaqi: map[Indicator]int{COMean1h: 500}, aqi: 500, level: Level6, primary: []string{"co"},
			outOfRange: []Indicator{COMean1h},
		},
		{
			name: "NaN and negative concentrations are treated as missing",
			ed:   Edition2012, rep: ReportDaily,
			in:   Inputs{PM25Mean24h: math.NaN(), PM10Mean24h: -1, SO2Mean24h: 50},
			iaqi: map[Indicator]int{SO2Mean24h: 50}, aqi: 50, level: Level1,
		},
		{
			name: "no inputs give no AQI",
			ed:   Edition2026, rep: ReportHourly,
			in:   nil,
			iaqi: map[Indicator]int{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Compute(tt.ed, tt.rep, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got.IAQI, tt.iaqi) {
				t.Errorf("IAQI = %v, want %v", got.IAQI, tt.iaqi)
			}
			if got.AQI != tt.aqi || got.Level != tt.level {
				t.Errorf("AQI, level = %d, %v; want %d, %v", got.AQI, got.Level, tt.aqi, tt.level)
			}
			if !slices.Equal(got.Primary, tt.primary) {
				t.Errorf("Primary = %q, want %q", got.Primary, tt.primary)
			}
			if !slices.Equal(got.OutOfRange, tt.outOfRange) {
				t.Errorf("OutOfRange = %q, want %q", got.OutOfRange, tt.outOfRange)
			}
			if got.OK() != (len(tt.iaqi) > 0) {
				t.Errorf("OK() = %v with %d sub-indices", got.OK(), len(tt.iaqi))
			}
		})
	}
}

func TestNonAttainmentIsReportedFor2012Only(t *testing.T) {
	in := Inputs{PM25Mean24h: 100, PM10Mean24h: 200, SO2Mean24h: 150}
	r12, _ := Daily(Edition2012, in)
	if want := []string{"pm10", "pm25"}; !slices.Equal(r12.NonAttainment, want) {
		t.Errorf("2012 NonAttainment = %q, want %q", r12.NonAttainment, want)
	}
	r26, _ := Daily(Edition2026, in)
	if r26.NonAttainment != nil {
		t.Errorf("2026 NonAttainment = %q, want nil", r26.NonAttainment)
	}
}

func TestHourlyAndDailyAreComputeWithTheirReport(t *testing.T) {
	in := Inputs{SO2Mean1h: 500, SO2Mean24h: 150}
	h, _ := Hourly(Edition2026, in)
	d, _ := Daily(Edition2026, in)
	if h.Report != ReportHourly || h.IAQI[SO2Mean1h] != 100 || len(h.IAQI) != 1 {
		t.Errorf("Hourly = %+v", h)
	}
	if d.Report != ReportDaily || d.IAQI[SO2Mean24h] != 100 || len(d.IAQI) != 1 {
		t.Errorf("Daily = %+v", d)
	}
}

func TestComputeRejectsUnresolvedOrUnknownEditions(t *testing.T) {
	tests := []struct {
		name string
		ed   Edition
		rep  Report
	}{
		{"auto must be resolved by the caller first", EditionAuto, ReportDaily},
		{"an edition that does not exist is refused", Edition(2019), ReportHourly},
		{"a report that does not exist is refused", Edition2026, Report(9)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Compute(tt.ed, tt.rep, Inputs{PM25Mean24h: 10}); !errors.Is(err, ErrEdition) {
				t.Errorf("err = %v, want ErrEdition", err)
			}
		})
	}
}

func TestScoredListsEachReportsIndicators(t *testing.T) {
	tests := []struct {
		name string
		ed   Edition
		rep  Report
		want []Indicator
	}{
		{"2012 daily scores seven indicators including the O3 1 h maximum", Edition2012, ReportDaily,
			[]Indicator{SO2Mean24h, NO2Mean24h, PM10Mean24h, PM25Mean24h, COMean24h, O3Mean1h, O3Mean8h}},
		{"2012 hourly scores gases on 1 h and PM on 24 h moving means", Edition2012, ReportHourly,
			[]Indicator{SO2Mean1h, NO2Mean1h, PM10Mean24h, PM25Mean24h, COMean1h, O3Mean1h, O3Mean8h}},
		{"2026 daily scores six indicators", Edition2026, ReportDaily,
			[]Indicator{SO2Mean24h, NO2Mean24h, PM10Mean24h, PM25Mean24h, COMean24h, O3Mean8h}},
		{"2026 hourly scores the six 1 h means", Edition2026, ReportHourly,
			[]Indicator{SO2Mean1h, NO2Mean1h, PM10Mean1h, PM25Mean1h, COMean1h, O3Mean1h}},
		{"an unresolved edition scores nothing", EditionAuto, ReportDaily, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Scored(tt.ed, tt.rep); !slices.Equal(got, tt.want) {
				t.Errorf("Scored = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIndicatorNamesMatchPollutants(t *testing.T) {
	for _, ind := range Indicators() {
		if !ind.Valid() {
			t.Errorf("%s not valid", ind)
		}
		switch ind.Pollutant() {
		case "so2", "no2", "pm10", "pm25", "co", "o3":
		default:
			t.Errorf("%s.Pollutant() = %q", ind, ind.Pollutant())
		}
	}
	if Indicator("pm25").Valid() {
		t.Error("a bare parameter name is not an indicator")
	}
}

func BenchmarkHourly2026(b *testing.B) {
	in := Inputs{SO2Mean1h: 34, NO2Mean1h: 35, PM10Mean1h: 204, PM25Mean1h: 125, COMean1h: 4.8, O3Mean1h: 134}
	for b.Loop() {
		if _, err := Hourly(Edition2026, in); err != nil {
			b.Fatal(err)
		}
	}
}

// 2012 hourly: SO2 above 800 µg/m³ is scored from its 24 h mean; without
// that mean it has no sub-index and the result says so (the AQI is then a
// lower bound).
func TestSO2Above800WithoutIts24hMeanIsUnscored(t *testing.T) {
	r, _ := Hourly(Edition2012, Inputs{SO2Mean1h: 900, NO2Mean1h: 100})
	if _, ok := r.IAQI[SO2Mean1h]; ok || !slices.Equal(r.Unscored, []Indicator{SO2Mean1h}) || r.AQI != 50 {
		t.Errorf("without the 24 h mean: IAQI %v, Unscored %v, AQI %d", r.IAQI, r.Unscored, r.AQI)
	}
	r, _ = Hourly(Edition2012, Inputs{SO2Mean1h: 900, SO2Mean24h: 150, NO2Mean1h: 100})
	if r.IAQI[SO2Mean1h] != 100 || r.Unscored != nil {
		t.Errorf("with the 24 h mean: IAQI %v, Unscored %v", r.IAQI, r.Unscored)
	}
}
