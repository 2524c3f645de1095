package main

// The value model: what a station measures at a given simulated time.
//
// Everything here is a pure function of the seed, the station, the simulated
// time and the rng passed in: no clock, no globals that change. A station's
// character (how polluted its site is, which water item runs close to its
// limit) comes from its id alone, so it is the same for every seed; the seed
// changes the weather (slow fluctuations shared across the network plus a
// local part) and, through the rng, the measurement noise.

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// cst is the zone readings are stamped in (China Standard Time, +08:00). The
// diurnal and seasonal profiles use its local time.
var cst = time.FixedZone("CST", 8*60*60)

// airParams and waterParams are the parameters the model emits, in payload
// order. Lakes and reservoirs also get tn (GB 3838 limits TN there only).
var (
	airParams   = []string{"pm25", "pm10", "so2", "no2", "co", "o3", "temp", "rh", "pressure", "wind_speed", "wind_dir"}
	waterParams = []string{"water_temp", "ph", "do", "codmn", "cod", "bod5", "nh3n", "tp", "conductivity", "turbidity"}
	lakeParams  = append(append([]string(nil), waterParams...), "tn")
)

// simulatedParams returns the parameters the model emits for st.
func simulatedParams(st *station.Station) []string {
	switch {
	case st.Kind == ingest.KindAir:
		return airParams
	case st.Waterbody == "lake":
		return lakeParams
	default:
		return waterParams
	}
}

// decimals is the precision each parameter is published with: 1 decimal for
// µg/m³ and the weather, 2 for CO (mg/m³) and pH, 3 for mg/L.
var decimals = map[string]int{
	"pm25": 1, "pm10": 1, "so2": 1, "no2": 1, "o3": 1, "co": 2,
	"temp": 1, "rh": 1, "pressure": 1, "wind_speed": 1, "wind_dir": 0,
	"water_temp": 1, "ph": 2,
	"do": 3, "codmn": 3, "cod": 3, "bod5": 3, "nh3n": 3, "tp": 3, "tn": 3,
	"conductivity": 1, "turbidity": 1, "chla": 1,
}

// roundValue rounds v to the published precision of param.
func roundValue(param string, v float64) float64 {
	d, ok := decimals[param]
	if !ok {
		d = 3
	}
	p := math.Pow10(d)
	return math.Round(v*p) / p
}

// classIILimit is the GB 3838-2002 Table 1 Class II limit (mg/L) of the
// upper-bound items the model keeps near their limit, from
// shared/reference/standards.md §1.2. Total phosphorus depends on the water
// body; total nitrogen is limited for lakes and reservoirs only. Dissolved
// oxygen is a lower bound: Class II requires at least classIIMinDO.
func classIILimit(param, waterbody string) (float64, bool) {
	switch param {
	case "codmn":
		return 4, true
	case "cod":
		return 15, true
	case "bod5":
		return 3, true
	case "nh3n":
		return 0.5, true
	case "tp":
		if waterbody == "lake" {
			return 0.025, true
		}
		return 0.1, true
	case "tn":
		if waterbody == "lake" {
			return 0.5, true
		}
	}
	return 0, false
}

// classIIMinDO is the Class II lower bound for dissolved oxygen (mg/L), and
// phMin/phMax the pH range of every class (GB 3838-2002 Table 1).
const (
	classIIMinDO = 6.0
	phMin, phMax = 6.0, 9.0
)

// stressItems are the water items a section may run close to its Class II
// limit; "" means none. Which one a station gets depends on its id only.
var stressItems = []string{"", "codmn", "nh3n", "tp", "do"}

// stressedItem returns the item st keeps near its Class II limit ("" when
// none). Dissolved oxygen comes close to its lower bound on warm nights only,
// when the water holds least oxygen.
func stressedItem(st *station.Station) string {
	if st.Kind != ingest.KindWater {
		return ""
	}
	return stressItems[key(0, st.ID, "class-ii")%uint64(len(stressItems))]
}

// Model computes plausible readings for a seed.
type Model struct {
	Seed uint64
}

// RNG returns the generator for the noise of one reading: a function of the
// seed, the station and the reading time, so a reading does not depend on
// which readings were made before it.
func (m Model) RNG(stationID string, t time.Time) *rand.Rand {
	h := key(m.Seed, stationID, "noise")
	h = splitmix64(h ^ uint64(t.UnixNano()))
	return rand.New(rand.NewPCG(h, splitmix64(h)))
}

// Values returns what st measures at t, rounded to the published precision,
// with every flag N.
func (m Model) Values(st *station.Station, t time.Time, rng *rand.Rand) []ingest.Value {
	if st.Kind == ingest.KindWater {
		return m.Water(st, t, rng)
	}
	return m.Air(st, t, rng)
}

// Air models an urban air-quality station:
//   - PM2.5 around 30-50 µg/m³, with peaks in the morning (~08:00) and evening
//     (~19:30) rush, a low in the early afternoon when the mixing layer is
//     deepest, higher in winter; PM10 about 1.6 × PM2.5.
//   - NO2 and CO follow the traffic peaks; SO2 is low with a mild daytime rise.
//   - O3 peaks in the afternoon (~15:00) and in summer.
//   - temperature, humidity, pressure and wind follow Zhuzhou's climate.
func (m Model) Air(st *station.Station, t time.Time, rng *rand.Rand) []ingest.Value {
	lt := t.In(cst)
	h := hourOfDay(lt)
	winter := winterness(lt) // +1 mid-January, -1 mid-July
	id := st.ID
	w := func(channel string, period time.Duration) float64 { return m.weather(id, channel, t, period) }
	n := rng.NormFloat64

	// Station character: a site factor per pollutant (0.85-1.2 for PM).
	pmSite := 0.85 + 0.35*unit(key(0, id, "pm"))
	gasSite := 0.7 + 0.8*unit(key(0, id, "so2"))
	trafficSite := 0.8 + 0.5*unit(key(0, id, "no2"))

	pm25 := 36 * pmDiurnal(h) * pmSite * (1 + 0.2*winter) *
		math.Exp(0.25*w("pm", 12*time.Hour)) * (1 + 0.04*n())
	ratio := 1.6 + 0.1*(unit(key(0, id, "pm10"))-0.5) + 0.03*n()
	pm10 := pm25 * clamp(ratio, 1.4, 1.8)
	so2 := 9 * gasSite * (1 + 0.15*bump(h, 10, 3)) * (1 + 0.15*winter) *
		math.Exp(0.2*w("so2", 12*time.Hour)) * (1 + 0.05*n())
	no2 := 28 * trafficSite * (0.8 + 0.45*bump(h, 8, 1.5) + 0.55*bump(h, 19, 2.5) - 0.25*bump(h, 14, 3)) *
		(1 + 0.1*winter) * math.Exp(0.2*w("no2", 12*time.Hour)) * (1 + 0.05*n())
	co := 0.75 * trafficSite * (0.85 + 0.25*bump(h, 8, 1.8) + 0.3*bump(h, 19.5, 2.5)) *
		(1 + 0.15*winter) * math.Exp(0.15*w("pm", 12*time.Hour)) * (1 + 0.04*n())
	o3 := (22 + 95*bump(h, 15, 3.2)) * (1 - 0.3*winter) *
		math.Exp(0.2*w("o3", 24*time.Hour)) * (1 + 0.05*n())

	// Zhuzhou: monthly mean ~5.5 °C in January, ~29.5 °C in July; a diurnal
	// swing of ±3.5 °C peaking at 14:30; a little warmer further south.
	daily := math.Cos(2 * math.Pi * (h - 14.5) / 24)
	temp := 17.5 - 12*winter + 3.5*daily +
		2.5*w("temp", 24*time.Hour) + (27.8-st.Lat)*0.4 + 0.1*n()
	rh := 75 - 14*daily + 8*w("rh", 24*time.Hour) + 0.5*n()
	pressure := 1012 + 9*winter + 1.2*math.Cos(4*math.Pi*(h-10)/24) +
		3*m.slow("", "pressure", t, 48*time.Hour) + 0.1*n()
	wind := 1.6 + 1.2*bump(h, 15, 3.5) + 0.6*w("wind", 12*time.Hour) + 0.3*n()
	// Prevailing wind: north-north-west in winter, south in summer.
	dir := 255 + 85*winter + 50*m.slow("", "wind_dir", t, 24*time.Hour) + 15*n()

	return finish(airParams, []float64{
		pm25, pm10, so2, no2, co, o3,
		temp, rh, pressure, wind, math.Mod(math.Mod(dir, 360)+360, 360),
	})
}

// pmDiurnal is the diurnal PM profile (local hour → factor, mean ≈ 0.92):
// rush-hour peaks at 08:00 (≈1.19) and 19:30 (≈1.18), an afternoon low
// (≈0.70 at 14:00), ≈0.78 at night.
func pmDiurnal(h float64) float64 {
	return 0.78 + 0.42*bump(h, 8, 1.6) + 0.4*bump(h, 19.5, 2.2) - 0.1*bump(h, 14, 2.5)
}

// Water models a surface-water section held to Class II: every item mostly
// within Class II, upper-bound items at 45-70 % of their limit, except the
// station's stressed item (see stressedItem) at 86-92 % of it, so it now and
// then crosses; COD and BOD5 follow the permanganate index, so a section
// stressed on CODMn has them near their limits too. Dissolved oxygen follows
// the temperature's saturation value.
func (m Model) Water(st *station.Station, t time.Time, rng *rand.Rand) []ingest.Value {
	lt := t.In(cst)
	h := hourOfDay(lt)
	id := st.ID
	lake := st.Waterbody == "lake"
	stress := stressedItem(st)
	w := func(channel string, period time.Duration) float64 { return m.weather(id, channel, t, period) }
	n := rng.NormFloat64
	daily := math.Cos(2 * math.Pi * (h - 15) / 24) // photosynthesis and sun: afternoon high

	// Water temperature lags the air: ~9 °C late January, ~29 °C late July.
	wt := 19 - 10*math.Cos(2*math.Pi*float64(lt.YearDay()-25)/365.25) +
		0.8*math.Cos(2*math.Pi*(h-16)/24) + 0.8*w("water_temp", 48*time.Hour) + 0.05*n()
	ph := 7.3 + 0.4*unit(key(0, id, "ph")) + 0.12*daily + 0.08*w("ph", 24*time.Hour) + 0.03*n()
	frac := 0.95 // fraction of oxygen saturation
	if stress == "do" {
		frac = 0.82
	}
	do := doSaturation(wt) * (frac + 0.05*daily + 0.02*w("do", 24*time.Hour) + 0.01*n())

	level := func(item string, limit float64) float64 {
		r := 0.45 + 0.25*unit(key(0, id, item))
		if item == stress {
			r = 0.86 + 0.06*unit(key(0, id, item))
		}
		return limit * r * math.Exp(0.06*w(item, 48*time.Hour)) * (1 + 0.03*n())
	}
	lim := func(item string) float64 { l, _ := classIILimit(item, st.Waterbody); return l }

	codmn := level("codmn", lim("codmn"))
	// COD and BOD5 follow the organic load that the permanganate index
	// measures (typical river ratios COD/CODMn 3.3-3.7, BOD5/CODMn 0.55-0.7).
	cod := codmn * (3.3 + 0.4*unit(key(0, id, "cod"))) * (1 + 0.03*n())
	bod5 := codmn * (0.55 + 0.15*unit(key(0, id, "bod5"))) * (1 + 0.04*n())
	nh3n := level("nh3n", lim("nh3n"))
	tp := level("tp", lim("tp"))
	cond := (180 + 140*unit(key(0, id, "conductivity"))) * math.Exp(0.05*w("conductivity", 48*time.Hour)) * (1 + 0.01*n())
	turbBase := 8 + 14*unit(key(0, id, "turbidity"))
	if lake {
		turbBase = 3 + 4*unit(key(0, id, "turbidity"))
	}
	turb := turbBase * math.Exp(0.3*w("turbidity", 24*time.Hour)) * (1 + 0.03*n())

	vals := []float64{clamp(wt, 0.5, 40), clamp(ph, 6.3, 8.7), do, codmn, cod, bod5, nh3n, tp, cond, turb}
	if lake {
		vals = append(vals, level("tn", lim("tn")))
	}
	return finish(simulatedParams(st), vals)
}

// doSaturation is the dissolved-oxygen saturation of fresh water at one
// atmosphere (mg/L) at temperature c (°C), a cubic fit of the usual tables
// (14.6 at 0 °C, 9.1 at 20 °C, 7.6 at 30 °C).
func doSaturation(c float64) float64 {
	return 14.652 - 0.41022*c + 0.007991*c*c - 0.000077774*c*c*c
}

// finish clamps each value to its parameter's plausible range and rounds it.
func finish(params []string, vals []float64) []ingest.Value {
	out := make([]ingest.Value, len(params))
	for i, p := range params {
		v := vals[i]
		if pr, ok := ingest.Params[p]; ok {
			v = clamp(v, pr.Min, pr.Max)
		}
		out[i] = ingest.Value{Param: p, V: roundValue(p, v), Flag: ingest.FlagNormal}
	}
	return out
}

// hourOfDay is the local time of day in hours, 0 <= h < 24.
func hourOfDay(lt time.Time) float64 {
	return float64(lt.Hour()) + float64(lt.Minute())/60 + float64(lt.Second())/3600
}

// winterness is +1 in mid-January and -1 in mid-July.
func winterness(lt time.Time) float64 {
	return math.Cos(2 * math.Pi * float64(lt.YearDay()-15) / 365.25)
}

// bump is a Gaussian bump of width w hours centred on hour c, wrapping
// around midnight.
func bump(h, c, w float64) float64 {
	d := math.Mod(h-c+36, 24) - 12
	return math.Exp(-0.5 * (d / w) * (d / w))
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// weather is smooth noise of unit variance for one station and channel:
// a regional part shared by every station (weather is regional) and a local
// part that changes twice as fast.
func (m Model) weather(id, channel string, t time.Time, period time.Duration) float64 {
	return 0.8*m.slow("", channel, t, period) + 0.6*m.slow(id, channel, t, period/2)
}

// slow is smooth noise of unit variance changing over about period: Gaussian
// knots every period joined by smoothstep interpolation (rescaled so the
// variance is the same between knots as at them). scope "" is network-wide.
func (m Model) slow(scope, channel string, t time.Time, period time.Duration) float64 {
	p := int64(period)
	ns := t.UnixNano()
	k := ns / p
	if ns%p < 0 {
		k--
	}
	f := float64(ns-k*p) / float64(p)
	base := key(m.Seed, scope, channel)
	a := gauss(splitmix64(base ^ uint64(k)*0x9e3779b97f4a7c15))
	b := gauss(splitmix64(base ^ uint64(k+1)*0x9e3779b97f4a7c15))
	s := f * f * (3 - 2*f)
	return (a*(1-s) + b*s) / math.Sqrt((1-s)*(1-s)+s*s)
}

// splitmix64 is the SplitMix64 finaliser: a good 64-bit mixer.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// key hashes a seed and two strings (FNV-1a, then mixed).
func key(seed uint64, a, b string) uint64 {
	h := splitmix64(seed) ^ 0xcbf29ce484222325
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * 0x100000001b3
	}
	h = splitmix64(h)
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * 0x100000001b3
	}
	return splitmix64(h)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// gauss maps a hash to a standard normal value (Box-Muller).
func gauss(h uint64) float64 {
	u1 := 1 - unit(h) // (0, 1]
	u2 := unit(splitmix64(h))
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}
