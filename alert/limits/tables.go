package limits

type key struct {
	param string
	avg   Averaging
}

// grades holds a limit for Grade I and Grade II.
type grades [2]float64

var params = []string{"so2", "no2", "co", "o3", "pm10", "pm25"}

// tables are GB 3095 Table 1 in each edition and stage, µg/m³ (CO mg/m³).
// Source: reference/standards.md §2.1 (2012) and §2.3 (2026, read from the
// official PDF).
var tables = map[Standard]map[key]grades{
	GB3095v2012: {
		{"so2", Annual}:   {20, 60},
		{"so2", Mean24h}:  {50, 150},
		{"so2", Mean1h}:   {150, 500},
		{"no2", Annual}:   {40, 40},
		{"no2", Mean24h}:  {80, 80},
		{"no2", Mean1h}:   {200, 200},
		{"co", Mean24h}:   {4, 4},
		{"co", Mean1h}:    {10, 10},
		{"o3", Max8h}:     {100, 160},
		{"o3", Mean1h}:    {160, 200},
		{"pm10", Annual}:  {40, 70},
		{"pm10", Mean24h}: {50, 150},
		{"pm25", Annual}:  {15, 35},
		{"pm25", Mean24h}: {35, 75},
	},
	GB3095v2026Transitional: {
		{"so2", Annual}:   {20, 60},
		{"so2", Mean24h}:  {50, 150},
		{"so2", Mean1h}:   {150, 500},
		{"no2", Annual}:   {40, 40},
		{"no2", Mean24h}:  {80, 80},
		{"no2", Mean1h}:   {200, 200},
		{"co", Mean24h}:   {4, 4},
		{"co", Mean1h}:    {10, 10},
		{"o3", Max8h}:     {100, 160},
		{"o3", Mean1h}:    {160, 200},
		{"pm10", Annual}:  {40, 60},
		{"pm10", Mean24h}: {50, 120},
		{"pm25", Annual}:  {15, 30},
		{"pm25", Mean24h}: {35, 60},
	},
	GB3095v2026Final: {
		{"so2", Annual}:   {20, 20},
		{"so2", Mean24h}:  {50, 50},
		{"so2", Mean1h}:   {150, 150},
		{"no2", Annual}:   {30, 30},
		{"no2", Mean24h}:  {50, 50},
		{"no2", Mean1h}:   {200, 200},
		{"co", Mean24h}:   {4, 4},
		{"co", Mean1h}:    {10, 10},
		{"o3", Max8h}:     {100, 160},
		{"o3", Mean1h}:    {160, 200},
		{"pm10", Annual}:  {20, 50},
		{"pm10", Mean24h}: {50, 100},
		{"pm25", Annual}:  {10, 25},
		{"pm25", Mean24h}: {25, 50},
	},
}

// zhuzhou holds the plan's 2020 annual targets (DESIGN.md), µg/m³.
var zhuzhou = map[key]float64{
	{"pm25", Annual}: 45,
	{"pm10", Annual}: 70,
}

// zhuzhouGoodDays is the plan's target share of good-air days (≥ 83 %).
const zhuzhouGoodDays = 0.83
