package aqi

// iaqiSteps are the IAQI values of the rows of the breakpoint tables
// (HJ 633-2012 Table 1, HJ 633-2026 Table 3). A column shorter than this
// ends at the IAQI of its last entry.
var iaqiSteps = [...]int64{0, 50, 100, 150, 200, 300, 400, 500}

// Breakpoint columns, in µg/m³ (CO in mg/m³). All breakpoints of both
// editions are integers, which keeps the exact arithmetic in aqi.go simple.
// Source: reference/standards.md §3.1 (2012) and §3.9 (2026 changes).
var (
	bpSO2Day  = []int64{0, 50, 150, 475, 800, 1600, 2100, 2620}
	bpSO2Hour = []int64{0, 150, 500, 650, 800} // ends at IAQI 200
	bpNO2Day  = []int64{0, 40, 80, 180, 280, 565, 750, 940}
	bpNO2Hour = []int64{0, 100, 200, 700, 1200, 2340, 3090, 3840}
	bpCODay   = []int64{0, 2, 4, 14, 24, 36, 48, 60}
	bpCOHour  = []int64{0, 5, 10, 35, 60, 90, 120, 150}
	bpO3Hour  = []int64{0, 160, 200, 300, 400, 800, 1000, 1200}
	bpO3Eight = []int64{0, 100, 160, 215, 265, 800} // ends at IAQI 300

	bpPM10Day2012 = []int64{0, 50, 150, 250, 350, 420, 500, 600}
	bpPM25Day2012 = []int64{0, 35, 75, 115, 150, 250, 350, 500}
	bpPM10Day2026 = []int64{0, 50, 120, 250, 350, 420, 500, 600}
	bpPM25Day2026 = []int64{0, 35, 60, 115, 150, 250, 350, 500}
)

// beyond says what a scoring does with a concentration above the last
// breakpoint of its column.
type beyond int

const (
	// beyondCap holds the sub-index at the column's top IAQI (500) and
	// reports the indicator as out of range.
	beyondCap beyond = iota
	// beyondSkip gives no sub-index (2012: O3 8 h above 800).
	beyondSkip
	// beyondFixed gives the fixed sub-index in scoring.fixed (2026: SO2
	// 1 h above 800 → 200, O3 8 h above 800 → 300).
	beyondFixed
	// beyondFallback scores scoring.fallback on scoring.fallbackBP
	// instead and reports the result under scoring.ind (2012 hourly: SO2
	// 1 h above 800 → the 24 h mean).
	beyondFallback
)

// scoring is how one report scores one indicator.
type scoring struct {
	ind        Indicator
	bp         []int64
	beyond     beyond
	fixed      int
	fallback   Indicator
	fallbackBP []int64
}

type method struct {
	ed  Edition
	rep Report
}

// methods holds, per edition and report, the indicators that get a
// sub-index, in the column order of the reference vectors.
// Source: reference/README.md "Which inputs each report uses",
// standards.md §3.1 footnotes, §3.5 and §3.9.
var methods = map[method][]scoring{
	{Edition2012, ReportDaily}: {
		{ind: SO2Mean24h, bp: bpSO2Day},
		{ind: NO2Mean24h, bp: bpNO2Day},
		{ind: PM10Mean24h, bp: bpPM10Day2012},
		{ind: PM25Mean24h, bp: bpPM25Day2012},
		{ind: COMean24h, bp: bpCODay},
		{ind: O3Mean1h, bp: bpO3Hour},
		{ind: O3Mean8h, bp: bpO3Eight, beyond: beyondSkip},
	},
	{Edition2012, ReportHourly}: {
		{ind: SO2Mean1h, bp: bpSO2Hour, beyond: beyondFallback, fallback: SO2Mean24h, fallbackBP: bpSO2Day},
		{ind: NO2Mean1h, bp: bpNO2Hour},
		{ind: PM10Mean24h, bp: bpPM10Day2012},
		{ind: PM25Mean24h, bp: bpPM25Day2012},
		{ind: COMean1h, bp: bpCOHour},
		{ind: O3Mean1h, bp: bpO3Hour},
		{ind: O3Mean8h, bp: bpO3Eight, beyond: beyondSkip},
	},
	{Edition2026, ReportDaily}: {
		{ind: SO2Mean24h, bp: bpSO2Day},
		{ind: NO2Mean24h, bp: bpNO2Day},
		{ind: PM10Mean24h, bp: bpPM10Day2026},
		{ind: PM25Mean24h, bp: bpPM25Day2026},
		{ind: COMean24h, bp: bpCODay},
		{ind: O3Mean8h, bp: bpO3Eight, beyond: beyondFixed, fixed: 300},
	},
	{Edition2026, ReportHourly}: {
		{ind: SO2Mean1h, bp: bpSO2Hour, beyond: beyondFixed, fixed: 200},
		{ind: NO2Mean1h, bp: bpNO2Hour},
		{ind: PM10Mean1h, bp: bpPM10Day2026},
		{ind: PM25Mean1h, bp: bpPM25Day2026},
		{ind: COMean1h, bp: bpCOHour},
		{ind: O3Mean1h, bp: bpO3Hour},
	},
}
