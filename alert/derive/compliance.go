package derive

import (
	"math/big"
	"sort"
	"time"

	"github.com/envpipe/envpipe/alert/aqi"
	"github.com/envpipe/envpipe/alert/limits"
)

// Compliance figures (measurement compliance), written at each day's
// close, for the day and the year to date (the calendar year, in the
// Deriver's zone, of the day).
//
// Station scope, per air station, over its days of the year up to the day:
//   - pm25_ytd, pm10_ytd: the mean of the valid daily (24-hour) means, with
//     pm25_days, pm10_days how many there were;
//   - valid_days: days whose daily AQI had every indicator its edition's
//     daily report scores (a valid monitoring day); good_days: those of
//     them with AQI ≤ 100 (优良, reference/standards.md §3.6);
//     good_days_rate = good_days / valid_days;
//   - the plan's targets from package limits: pm25_target, pm10_target
//     (annual means) and good_days_target.
//
// Network scope, the same over the network: each day's network value of
// an indicator is the mean of the stations' valid values that day, and the
// network's daily AQI is computed from those means by the day's edition
// (the way a city's AQI is computed from its stations' mean
// concentrations); pm25_ytd is the mean of the network's daily PM2.5 means.
// It also carries stations (air stations with a closed day that day) and
// the water figures for the day: sections_total (sections with an
// assessed sample that day), sections_meeting (those whose latest sample
// that day met their target class) and sections_meeting_share.

// netDay is the network's figures for one day, computed from the stations'
// day records.
type netDay struct {
	stations   int
	pm25, pm10 float64
	hasPM25    bool
	hasPM10    bool
	valid      bool
	good       bool
}

type network struct {
	cache   map[int64]*netDay // by day start; dropped when a station's day changes
	dirty   map[int64]bool    // days whose network point is to be (re)written
	emitted map[int64]bool
	wrote   int64 // wall clock (ns) when Observe last wrote network points
}

// networkEvery is how often Observe may write the network's points. Each
// station's day close changes them and writing them costs O(stations): at
// the close of a day of 10 000 stations, writing them at every station's
// close took 0.5 ms per station, 5 s in all, and rewrote the same points
// 10 000 times. Tick writes them whenever they changed.
const networkEvery = time.Second

func (n *network) init() {
	n.cache = map[int64]*netDay{}
	n.dirty = map[int64]bool{}
	n.emitted = map[int64]bool{}
}

// dayChanged records that a station's figures for the day changed: the
// network point of that day, and of the later days of the year already
// written (their year-to-date includes it), are rewritten at the next
// flush.
func (n *network) dayChanged(d *Deriver, day int64) {
	delete(n.cache, day)
	n.dirty[day] = true
	end := d.yearEnd(day)
	for e := range n.emitted {
		if e > day && e < end {
			n.dirty[e] = true
		}
	}
}

// flushNetwork writes the network points marked dirty, oldest first, and
// evicts days of years no station keeps any more. Unless force, it does
// so at most every networkEvery of wall time now (ns).
func (d *Deriver) flushNetwork(now int64, force bool) {
	n := &d.net
	if len(n.dirty) == 0 || !force && now >= n.wrote && now-n.wrote < int64(networkEvery) {
		return
	}
	n.wrote = now
	days := make([]int64, 0, len(n.dirty))
	for day := range n.dirty {
		days = append(days, day)
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	clear(n.dirty)
	for _, day := range days {
		d.writeNetworkCompliance(day)
		n.emitted[day] = true
	}
	// Keep the network's days as far back as the station that keeps the
	// most, by the stations' running clocks: a station that fell silent
	// would otherwise hold every later day for good.
	from := int64(1<<63 - 1)
	for _, list := range [][]*stationState{d.air, d.water} {
		for _, s := range list {
			if s.has {
				from = min(from, d.retainFrom(s.clock(now)))
			}
		}
	}
	for day := range n.emitted {
		if day < from {
			delete(n.emitted, day)
		}
	}
	for day := range n.cache {
		if day < from {
			delete(n.cache, day)
		}
	}
}

// netDayOf computes (or returns the cached) network figures of a day.
func (d *Deriver) netDayOf(day int64) *netDay {
	if nd, ok := d.net.cache[day]; ok {
		return nd
	}
	nd := &netDay{}
	var sums [nDayInd]float64
	var counts [nDayInd]int
	for _, s := range d.air {
		i, found := sortedIndex(s.days, day, func(x *dayRec) int64 { return x.start })
		if !found || !s.days[i].emitted {
			continue
		}
		dy := s.days[i]
		nd.stations++
		for k := range dayIndicators {
			if dy.ok[k] {
				sums[k] += dy.val[k]
				counts[k]++
			}
		}
	}
	if nd.stations > 0 {
		var means [nDayInd]*big.Rat
		for k := range means {
			if counts[k] > 0 {
				means[k] = new(big.Rat).SetFloat64(sums[k] / float64(counts[k]))
			}
		}
		if means[dPM25] != nil {
			nd.pm25, nd.hasPM25 = toFloat(means[dPM25]), true
		}
		if means[dPM10] != nil {
			nd.pm10, nd.hasPM10 = toFloat(means[dPM10]), true
		}
		ed := d.edition.Resolve(d.time(day))
		in := dailyInputs(means, ed)
		if res, err := aqi.Compute(ed, aqi.ReportDaily, in); err == nil && res.OK() {
			nd.valid = complete(res, in)
			nd.good = nd.valid && res.AQI <= 100
		}
	}
	d.net.cache[day] = nd
	return nd
}

// ytd accumulates year-to-date figures.
type ytd struct {
	pm25, pm10         float64
	pm25Days, pm10Days int
	valid, good        int
}

func (y *ytd) add(pm25 float64, hasPM25 bool, pm10 float64, hasPM10, valid, good bool) {
	if hasPM25 {
		y.pm25 += pm25
		y.pm25Days++
	}
	if hasPM10 {
		y.pm10 += pm10
		y.pm10Days++
	}
	if valid {
		y.valid++
		if good {
			y.good++
		}
	}
}

// write appends the air compliance fields.
func (y *ytd) write(w *lineWriter, at time.Time) {
	if y.pm25Days > 0 {
		w.float("pm25_ytd", y.pm25/float64(y.pm25Days))
	}
	w.int("pm25_days", int64(y.pm25Days))
	if y.pm10Days > 0 {
		w.float("pm10_ytd", y.pm10/float64(y.pm10Days))
	}
	w.int("pm10_days", int64(y.pm10Days))
	if v, ok := limits.Limit(limits.ZhuzhouPlan, "pm25", limits.Annual, 0, at); ok {
		w.float("pm25_target", v)
	}
	if v, ok := limits.Limit(limits.ZhuzhouPlan, "pm10", limits.Annual, 0, at); ok {
		w.float("pm10_target", v)
	}
	w.int("good_days", int64(y.good))
	w.int("valid_days", int64(y.valid))
	if y.valid > 0 {
		w.float("good_days_rate", float64(y.good)/float64(y.valid))
	}
	if v, ok := limits.GoodDaysTarget(limits.ZhuzhouPlan); ok {
		w.float("good_days_target", v)
	}
}

// writeStationCompliance writes the station's compliance point for a day.
func (d *Deriver) writeStationCompliance(s *stationState, day int64) {
	y0 := d.yearOf(day)
	var y ytd
	for _, dy := range s.days {
		if dy.start > day {
			break
		}
		if dy.start < y0 || !dy.emitted {
			continue
		}
		good := dy.hasAQI && dy.aqi <= 100
		y.add(dy.val[dPM25], dy.ok[dPM25], dy.val[dPM10], dy.ok[dPM10], dy.complete, good)
	}
	w := &d.w
	w.begin("compliance")
	w.tag("county", s.st.County)
	w.tag("scope", "station")
	w.tag("station", s.st.ID)
	y.write(w, d.time(day))
	w.end(day)
	d.stats.CompliancePoints++
}

// writeNetworkCompliance writes the network's compliance point for a day.
func (d *Deriver) writeNetworkCompliance(day int64) {
	y0 := d.yearOf(day)
	var y ytd
	// Every day of the year up to this one on which some station closed
	// a day.
	seen := map[int64]bool{}
	for _, s := range d.air {
		for _, dy := range s.days {
			if dy.start > day {
				break
			}
			if dy.start >= y0 && dy.emitted {
				seen[dy.start] = true
			}
		}
	}
	ds := make([]int64, 0, len(seen))
	for dd := range seen {
		ds = append(ds, dd)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	for _, dd := range ds {
		nd := d.netDayOf(dd)
		y.add(nd.pm25, nd.hasPM25, nd.pm10, nd.hasPM10, nd.valid, nd.good)
	}
	today := d.netDayOf(day)

	var total, meeting int
	for _, s := range d.water {
		i, found := sortedIndex(s.wdays, day, func(x *waterDay) int64 { return x.start })
		if !found {
			continue
		}
		total++
		if s.wdays[i].meets {
			meeting++
		}
	}

	w := &d.w
	w.begin("compliance")
	w.tag("scope", "network")
	if len(d.air) > 0 {
		w.int("stations", int64(today.stations))
		y.write(w, d.time(day))
	}
	if len(d.water) > 0 {
		w.int("sections_total", int64(total))
		w.int("sections_meeting", int64(meeting))
		if total > 0 {
			w.float("sections_meeting_share", float64(meeting)/float64(total))
		}
	}
	before := w.points
	w.end(day)
	if w.points > before {
		d.stats.CompliancePoints++
	}
}
