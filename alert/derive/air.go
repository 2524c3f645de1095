package derive

import (
	"math"
	"math/big"
	"math/bits"
	"strings"
	"time"

	"github.com/envpipe/envpipe/alert/aqi"
	"github.com/envpipe/envpipe/alert/limits"
	"github.com/envpipe/envpipe/ingest"
)

// hourParams are the air parameters that get hourly means, in field
// order. The six pollutants come first. wind_dir is left out: an
// arithmetic mean of directions is meaningless (359° and 1° would average
// to 180°).
var hourParams = [...]string{"so2", "no2", "co", "o3", "pm10", "pm25", "temp", "rh", "pressure", "wind_speed"}

const (
	pSO2 = iota
	pNO2
	pCO
	pO3
	pPM10
	pPM25
	nParams = len(hourParams)
)

// hourParamOf maps ingest.ParamIDs to hourParams indexes (−1: none), so
// that a value costs no hashing of its name.
var hourParamOf = func() (a [ingest.NumParams + 1]int8) {
	for id := range a {
		a[id] = -1
	}
	for i, p := range hourParams {
		id, _, _ := ingest.LookupParam(p)
		a[id] = int8(i)
	}
	return a
}()

// Validity rules. reference/standards.md gives no data-validity table (its
// §3.6 notes that HJ 663-2013, which has one, is not covered), so these are
// GB 3095-2012 §8.2, Table 4 (污染物浓度数据有效性的最低要求), as the issue
// quotes them; GB 3095-2026 keeps the same minimums. The first two are
// package limits', which the rule engine's year-to-date means share.
const (
	// minHourMinutes: a 1-hour mean needs at least 45 minutes of data in
	// the hour (GB 3095-2012 Table 4: "每小时至少有45分钟的采样时间").
	minHourMinutes = limits.MinHourMinutes
	// min24hHours: a 24-hour mean (SO2, NO2, CO, PM10, PM2.5), calendar-day
	// or moving, needs at least 20 valid hourly means (Table 4: "每日至少有
	// 20个小时平均浓度值").
	min24hHours = limits.MinDayHours
	// min8hHours: an O3 8-hour moving mean needs at least 6 valid hourly
	// means of its 8 (Table 4: "每8小时至少有6小时平均浓度值").
	min8hHours = 6
	// minO3Max8hWindows: the O3 daily maximum 8-hour mean is the largest of
	// the day's 17 8-hour moving means whose hours all lie in the day
	// (windows starting 00:00 … 16:00, i.e. ending 08:00 … 24:00), and needs
	// at least 14 of them valid. From HJ 663-2013 §… ("当日8时至24时至少有14
	// 个有效8小时平均浓度值"), which is NOT in reference/; taken from the
	// standard's text as remembered, to be confirmed. HJ 663's exception
	// (a day with fewer windows still counts when its maximum exceeds the
	// limit) is not implemented.
	minO3Max8hWindows = 14
	// minO3Max1hHours: the O3 daily maximum 1-hour mean (HJ 633-2012 daily
	// report) is taken over the day's valid hourly means and needs
	// min24hHours of them, like a 24-hour mean. No source gives a rule for
	// it; this is envpipe's choice, so that a maximum over a few hours does
	// not pass for the day's.
	minO3Max1hHours = min24hHours
)

// hourAcc holds an open hour's N-flagged values in a form whose size does
// not grow with the station's rate: per parameter the exact running sum
// and count, the minutes covered and the offsets into the hour (whole
// seconds) already counted. A value at an offset already counted is a
// redelivered message and is not counted again (the first value stands;
// InfluxDB would keep the last, which differs only for a station that
// re-sends a reading with other values at the same second).
type hourAcc struct {
	sum  [nParams]exactSum
	n    [nParams]int32
	mask [nParams]uint64 // minutes covered, bit m = minute m
	seen [nParams]offsetSet
	// hourly holds the station's own hourly means (HJ 212 CN 2061), which
	// stand for the hour directly: full coverage, no averaging.
	hourly [nParams]float64
	hasHr  [nParams]bool
}

// hourRec is one station-hour.
type hourRec struct {
	start int64    // Unix s
	acc   *hourAcc // nil once the hour is final (or was warmed)

	n     [nParams]int32    // N-flagged values
	cover [nParams]uint8    // minutes covered by them
	mean  [nParams]hourMean // their mean; none when there are no values

	computed   bool // n, cover, mean reflect acc
	dirty      bool // acc changed after the last computation
	emitted    bool // air_hourly written
	aqiEmitted bool // aqi period=hour written
	aqiDirty   bool // an hour in its windows changed after that
}

// valid reports whether parameter p has a valid hourly mean.
func (h *hourRec) valid(p int) bool { return h.mean[p].ok() && h.cover[p] >= minHourMinutes }

// dayIndicators are the indicators of a day, in air_daily's field order.
var dayIndicators = [...]aqi.Indicator{
	aqi.SO2Mean24h, aqi.NO2Mean24h, aqi.COMean24h, aqi.O3Mean1h, aqi.O3Mean8h, aqi.PM10Mean24h, aqi.PM25Mean24h,
}

const (
	dSO2 = iota
	dNO2
	dCO
	dO31h
	dO38h
	dPM10
	dPM25
	nDayInd = len(dayIndicators)
)

// dayRec is one station-day: what compliance needs of it, kept for the
// year.
type dayRec struct {
	start   int64
	emitted bool
	dirty   bool
	final   bool

	val [nDayInd]float64 // daily indicators (unrounded); valid where ok
	ok  [nDayInd]bool

	edition  aqi.Edition
	hasAQI   bool
	aqi      int
	complete bool // every indicator the edition's daily report scores was valid
}

// observeAir files the N-flagged values of r into its hour. t is r's time
// and now the wall clock, both Unix ns.
func (d *Deriver) observeAir(s *stationState, r *ingest.Reading, t, now int64) {
	h := d.hourOf(t)
	end := (h + hourSec) * int64(1e9)
	if s.has && end+d.late <= s.clock(now) {
		d.stats.TooLate++
		return
	}
	i, found := sortedIndex(s.hours, h, func(x *hourRec) int64 { return x.start })
	var rec *hourRec
	if found {
		rec = s.hours[i]
		if rec.acc == nil { // final, or warmed from InfluxDB
			d.stats.TooLate++
			return
		}
	} else {
		// A day already final (closed, or warmed from InfluxDB after a
		// restart, before the station's clock runs again) takes no new
		// hour: one late reading would recompute it from that hour alone.
		if j, ok := sortedIndex(s.days, d.dayOf(t), func(x *dayRec) int64 { return x.start }); ok && s.days[j].final {
			d.stats.TooLate++
			return
		}
		rec = &hourRec{start: h, acc: &hourAcc{}}
		s.hours = insertAt(s.hours, i, rec)
		d.ensureDay(s, d.dayOf(t))
		if end < s.next {
			s.next = end
		}
	}
	off := uint16((t - h*int64(1e9)) / int64(1e9))
	// A reading covers its station's interval from its time: one minute
	// for minute data, five for 5-minute data, the whole hour for hourly
	// data (clipped to the hour).
	cover := (uint64(1)<<uint(s.slots) - 1) << (off / 60) & (1<<60 - 1)
	changed := false
	for i := range r.Values {
		v := &r.Values[i]
		p := int(hourParamOf[v.ParamID()])
		if p < 0 || (v.Flag != ingest.FlagNormal && v.Flag != 0) || !usable(v.V) {
			continue
		}
		if r.Period == ingest.PeriodHour {
			rec.acc.hourly[p], rec.acc.hasHr[p] = v.V, true
		} else {
			a := rec.acc
			if !a.seen[p].add(off) {
				continue
			}
			a.sum[p].add(v.V)
			a.n[p]++
			a.mask[p] |= cover
		}
		changed = true
	}
	if changed && rec.computed {
		rec.dirty = true
		s.dirty = true
	}
}

// ensureDay makes sure the station has a record for the day starting at
// day (Unix s).
func (d *Deriver) ensureDay(s *stationState, day int64) *dayRec {
	i, found := sortedIndex(s.days, day, func(x *dayRec) int64 { return x.start })
	if found {
		return s.days[i]
	}
	rec := &dayRec{start: day}
	s.days = insertAt(s.days, i, rec)
	if e := (day + daySec) * int64(1e9); e < s.next {
		s.next = e
	}
	return rec
}

// computeHour recomputes an hour's means from its minute data and reports
// whether anything changed.
func (d *Deriver) computeHour(s *stationState, h *hourRec) bool {
	if h.acc == nil {
		h.computed = true
		return false
	}
	changed := !h.computed
	for p := 0; p < nParams; p++ {
		if h.acc.hasHr[p] {
			// The station's hourly mean (HJ 212 2061) is the hour's mean.
			mean := meanOfDecimal(h.acc.hourly[p])
			if h.n[p] != 1 || h.cover[p] != 60 || !mean.equal(h.mean[p]) {
				changed = true
			}
			h.n[p], h.cover[p], h.mean[p] = 1, 60, mean
			continue
		}
		n, cover := h.acc.n[p], uint8(bits.OnesCount64(h.acc.mask[p]))
		var mean hourMean
		if n > 0 {
			mean = h.acc.sum[p].mean(int(n))
		}
		if n != h.n[p] || cover != h.cover[p] || !mean.equal(h.mean[p]) {
			changed = true
		}
		h.n[p], h.cover[p], h.mean[p] = n, cover, mean
	}
	h.computed = true
	return changed
}

// advanceAir emits what became due on an air station whose clock is c
// (ns): closed hours (air_hourly, aqi period=hour), closed days (air_daily,
// aqi period=day, compliance), recomputations, and evicts what no window
// needs any more.
func (d *Deriver) advanceAir(s *stationState, c int64) {
	// 1. Hourly means of closed hours; a change re-opens the hourly AQI of
	//    every emitted hour whose moving windows contain the hour, and the
	//    day.
	for _, h := range s.hours {
		end := (h.start + hourSec) * int64(1e9)
		if end > c {
			break
		}
		if !h.computed || h.dirty {
			first := !h.emitted
			changed := d.computeHour(s, h)
			h.dirty = false
			if changed || first {
				d.writeHourly(s, h)
				h.emitted = true
			}
			if changed {
				d.hourChanged(s, h)
			}
		}
		if h.acc != nil && end+d.late <= c {
			h.acc = nil // final: late readings no longer recompute it
		}
	}
	// 2. Hourly AQI.
	for i, h := range s.hours {
		if (h.start+hourSec)*int64(1e9) > c {
			break
		}
		if !h.aqiEmitted || h.aqiDirty {
			d.writeHourAQI(s, i)
			h.aqiEmitted, h.aqiDirty = true, false
		}
	}
	// 3. Days.
	for i, dy := range s.days {
		end := (dy.start + daySec) * int64(1e9)
		if end > c {
			break
		}
		if !dy.emitted || dy.dirty {
			d.closeDay(s, i)
		}
		if end+d.late <= c {
			dy.final = true
		}
	}
	// 4. Evict. Hourly means are kept while a window may need them: the
	//    24 h moving mean of the newest hour, and the hours of a day that
	//    may still be recomputed (ended less than lateness ago): 25 h +
	//    lateness in all. Day records are kept for the year-to-date.
	cut := d.hourOf(c-d.late) - 25*hourSec
	k := 0
	for k < len(s.hours) && s.hours[k].start < cut && s.hours[k].acc == nil {
		k++
	}
	s.hours = s.hours[k:]
	from := d.retainFrom(c)
	k = 0
	for k < len(s.days) && s.days[k].start < from && s.days[k].final {
		k++
	}
	s.days = s.days[k:]

	// Next work: the first hour or day not yet due, or the first open
	// hour's finalization.
	next := int64(math.MaxInt64)
	for _, h := range s.hours {
		end := (h.start + hourSec) * int64(1e9)
		if !h.emitted || !h.aqiEmitted {
			next = min(next, end)
		}
		if h.acc != nil {
			next = min(next, end+d.late)
		}
	}
	for _, dy := range s.days {
		end := (dy.start + daySec) * int64(1e9)
		if !dy.emitted {
			next = min(next, end)
		}
		if !dy.final {
			next = min(next, end+d.late)
		}
	}
	s.next = next
}

// hourChanged marks for recomputation what depends on an hour whose means
// changed after they were emitted: the hourly AQI of the emitted hours
// whose 8 h or 24 h windows contain it, and its day.
func (d *Deriver) hourChanged(s *stationState, h *hourRec) {
	for _, o := range s.hours {
		if o.start >= h.start && o.start < h.start+24*hourSec && o.aqiEmitted {
			o.aqiDirty = true
		}
	}
	i, found := sortedIndex(s.days, d.dayOf(h.start*int64(1e9)), func(x *dayRec) int64 { return x.start })
	if found && s.days[i].emitted {
		s.days[i].dirty = true
	}
}

// window returns the hourly means of parameter p over the n hours ending
// with the hour at index i of s.hours (hours i−n+1 … i by time), and how
// many of those hours have a valid mean.
func window(s *stationState, i, p, n int) (*big.Rat, int) {
	from := s.hours[i].start - int64(n-1)*hourSec
	var rs []*big.Rat
	for j := i; j >= 0 && s.hours[j].start >= from; j-- {
		if h := s.hours[j]; h.valid(p) {
			rs = append(rs, h.mean[p].rat())
		}
	}
	return meanOf(rs), len(rs)
}

// hourInputs returns the inputs of the hourly (real-time) report of
// edition ed for the hour at index i.
//
// HJ 633-2012 (reference/standards.md §3.5): SO2, NO2, CO and O3 1-hour
// means; the O3 8-hour moving mean (hours H−7 … H, valid with ≥ 6 valid
// hours); the PM10 and PM2.5 24-hour moving means (hours H−23 … H, valid
// with ≥ 20), and the SO2 24-hour moving mean for the SO2 > 800 µg/m³
// fallback.
//
// HJ 633-2026 (§3.9): the 1-hour means of all six pollutants, rounded per
// GB/T 8170 (integers in µg/m³, CO to 0.1 mg/m³).
func hourInputs(s *stationState, i int, ed aqi.Edition) aqi.Inputs {
	h := s.hours[i]
	in := aqi.Inputs{}
	set := func(ind aqi.Indicator, r *big.Rat) {
		if r == nil {
			return
		}
		if ed == aqi.Edition2026 {
			r = round2026(ind, r)
		}
		in[ind] = toFloat(r)
	}
	one := func(p int) *big.Rat {
		if h.valid(p) {
			return h.mean[p].rat()
		}
		return nil
	}
	moving := func(p, n, need int) *big.Rat {
		if m, k := window(s, i, p, n); k >= need {
			return m
		}
		return nil
	}
	set(aqi.SO2Mean1h, one(pSO2))
	set(aqi.NO2Mean1h, one(pNO2))
	set(aqi.COMean1h, one(pCO))
	set(aqi.O3Mean1h, one(pO3))
	switch ed {
	case aqi.Edition2012:
		set(aqi.O3Mean8h, moving(pO3, 8, min8hHours))
		set(aqi.PM10Mean24h, moving(pPM10, 24, min24hHours))
		set(aqi.PM25Mean24h, moving(pPM25, 24, min24hHours))
		set(aqi.SO2Mean24h, moving(pSO2, 24, min24hHours))
	case aqi.Edition2026:
		set(aqi.PM10Mean1h, one(pPM10))
		set(aqi.PM25Mean1h, one(pPM25))
	}
	return in
}

// round2026 rounds an HJ 633-2026 input per GB/T 8170: CO (mg/m³) to one
// decimal, the others (µg/m³) to integers (reference/standards.md §3.9).
func round2026(ind aqi.Indicator, r *big.Rat) *big.Rat {
	if ind.Pollutant() == "co" {
		return roundGBT8170(r, 1)
	}
	return roundGBT8170(r, 0)
}

// writeHourAQI writes the hourly AQI of the hour at index i, if any
// sub-index can be computed.
func (d *Deriver) writeHourAQI(s *stationState, i int) {
	h := s.hours[i]
	ed := d.edition.Resolve(d.time(h.start))
	in := hourInputs(s, i, ed)
	res, err := aqi.Compute(ed, aqi.ReportHourly, in)
	if err != nil || !res.OK() {
		return
	}
	d.writeAQI(s, "hour", h.start, res, complete(res, in))
	d.stats.AQIHourPoints++
}

// complete reports whether every indicator the report scores had an input
// and got its sub-index.
func complete(res aqi.Result, in aqi.Inputs) bool {
	if len(res.Unscored) > 0 {
		return false
	}
	for _, ind := range aqi.Scored(res.Edition, res.Report) {
		if _, ok := in[ind]; !ok {
			return false
		}
	}
	return true
}

// dayValues computes the daily indicators of the day at index di from the
// station's hourly means: 24-hour means of SO2, NO2, CO, PM10 and PM2.5
// (≥ 20 valid hours), the O3 daily maximum 1-hour mean (≥ 20 valid hours)
// and the O3 daily maximum 8-hour mean (≥ 14 valid 8-hour windows within
// the day, each ≥ 6 valid hours). See the validity constants.
func dayValues(s *stationState, day int64) (vals [nDayInd]*big.Rat, counts [nDayInd]int) {
	var hours [24]*hourRec
	for _, h := range s.hours {
		if k := (h.start - day) / hourSec; h.start >= day && k < 24 {
			hours[k] = h
		}
	}
	mean24 := func(p, di int) {
		var rs []*big.Rat
		for _, h := range hours {
			if h != nil && h.valid(p) {
				rs = append(rs, h.mean[p].rat())
			}
		}
		counts[di] = len(rs)
		if len(rs) >= min24hHours {
			vals[di] = meanOf(rs)
		}
	}
	mean24(pSO2, dSO2)
	mean24(pNO2, dNO2)
	mean24(pCO, dCO)
	mean24(pPM10, dPM10)
	mean24(pPM25, dPM25)

	var max1h *big.Rat
	for _, h := range hours {
		if h != nil && h.valid(pO3) {
			counts[dO31h]++
			if m := h.mean[pO3].rat(); max1h == nil || m.Cmp(max1h) > 0 {
				max1h = m
			}
		}
	}
	if counts[dO31h] >= minO3Max1hHours {
		vals[dO31h] = max1h
	}

	var max8h *big.Rat
	for start := 0; start+8 <= 24; start++ {
		var rs []*big.Rat
		for _, h := range hours[start : start+8] {
			if h != nil && h.valid(pO3) {
				rs = append(rs, h.mean[pO3].rat())
			}
		}
		if len(rs) < min8hHours {
			continue
		}
		counts[dO38h]++
		if m := meanOf(rs); max8h == nil || m.Cmp(max8h) > 0 {
			max8h = m
		}
	}
	if counts[dO38h] >= minO3Max8hWindows {
		vals[dO38h] = max8h
	}
	return vals, counts
}

// dailyInputs turns daily indicators into the inputs of edition ed's
// daily report (HJ 633-2026: rounded per GB/T 8170).
func dailyInputs(vals [nDayInd]*big.Rat, ed aqi.Edition) aqi.Inputs {
	in := aqi.Inputs{}
	for k, r := range vals {
		if r == nil {
			continue
		}
		ind := dayIndicators[k]
		if ed == aqi.Edition2026 {
			r = round2026(ind, r)
		}
		in[ind] = toFloat(r)
	}
	return in
}

// closeDay computes and writes the day at index i: air_daily, the daily
// AQI, and the station's compliance figures (for this day, and for later
// days already written, whose year-to-date includes it).
func (d *Deriver) closeDay(s *stationState, i int) {
	dy := s.days[i]
	vals, counts := dayValues(s, dy.start)
	ed := d.edition.Resolve(d.time(dy.start))
	in := dailyInputs(vals, ed)
	res, err := aqi.Compute(ed, aqi.ReportDaily, in)

	wasEmitted := dy.emitted
	dy.edition = ed
	for k, r := range vals {
		dy.ok[k] = r != nil
		dy.val[k] = 0
		if r != nil {
			dy.val[k] = toFloat(r)
		}
	}
	dy.hasAQI = err == nil && res.OK()
	dy.aqi = res.AQI
	dy.complete = dy.hasAQI && complete(res, in)
	dy.emitted, dy.dirty = true, false

	d.writeDaily(s, dy, counts)
	if dy.hasAQI {
		d.writeAQI(s, "day", dy.start, res, dy.complete)
		d.stats.AQIDayPoints++
	}
	d.writeStationCompliance(s, dy.start)
	if wasEmitted {
		for _, later := range s.days[i+1:] {
			if later.emitted && d.yearOf(later.start) == d.yearOf(dy.start) {
				d.writeStationCompliance(s, later.start)
			}
		}
	}
	d.net.dayChanged(d, dy.start)
}

// Points.

func (d *Deriver) writeHourly(s *stationState, h *hourRec) {
	w := &d.w
	w.begin("air_hourly")
	w.tag("county", s.st.County)
	w.tag("station", s.st.ID)
	for p, name := range hourParams {
		if h.n[p] == 0 {
			continue
		}
		if h.valid(p) {
			w.float(name, toFloat(h.mean[p].rat()))
		}
		w.int(name+"_minutes", int64(h.cover[p]))
	}
	before := w.points
	w.end(h.start)
	if w.points > before {
		d.stats.HourlyPoints++
	}
}

func (d *Deriver) writeDaily(s *stationState, dy *dayRec, counts [nDayInd]int) {
	w := &d.w
	w.begin("air_daily")
	w.tag("county", s.st.County)
	w.tag("station", s.st.ID)
	for k, ind := range dayIndicators {
		if dy.ok[k] {
			w.float(string(ind), dy.val[k])
		}
	}
	w.int("so2_hours", int64(counts[dSO2]))
	w.int("no2_hours", int64(counts[dNO2]))
	w.int("co_hours", int64(counts[dCO]))
	w.int("o3_hours", int64(counts[dO31h]))
	w.int("o3_8h_windows", int64(counts[dO38h]))
	w.int("pm10_hours", int64(counts[dPM10]))
	w.int("pm25_hours", int64(counts[dPM25]))
	w.end(dy.start)
	d.stats.DailyPoints++
}

// writeAQI writes an aqi point. Every field is written each time, primary
// and out_of_range included (empty when there is none), so a recomputed
// point fully replaces the one before.
func (d *Deriver) writeAQI(s *stationState, period string, start int64, res aqi.Result, complete bool) {
	if d.onAQI != nil {
		d.onAQI(s.st, period, time.Unix(start, 0), res.AQI, complete)
	}
	w := &d.w
	w.begin("aqi")
	w.tag("county", s.st.County)
	w.tag("edition", res.Edition.String())
	w.tag("period", period)
	w.tag("station", s.st.ID)
	w.int("aqi", int64(res.AQI))
	w.int("level", int64(res.Level))
	w.str("primary", strings.Join(res.Primary, "+"))
	w.bool("complete", complete)
	oor := make([]string, len(res.OutOfRange))
	for k, ind := range res.OutOfRange {
		oor[k] = string(ind)
	}
	w.str("out_of_range", strings.Join(oor, "+"))
	w.float("lat", s.st.Lat)
	w.float("lon", s.st.Lon)
	for _, ind := range aqi.Indicators() {
		if v, ok := res.IAQI[ind]; ok {
			w.int("iaqi_"+string(ind), int64(v))
		}
	}
	w.end(start)
}
