package derive

import (
	"time"

	"github.com/envpipe/envpipe/alert/aqi"
	"github.com/envpipe/envpipe/ingest"
)

// HourMeans is one station-hour of valid hourly means, as an air_hourly
// point holds them (the fields without a suffix).
type HourMeans struct {
	Station string
	Hour    time.Time          // the start of the hour
	Means   map[string]float64 // parameter → valid hourly mean
}

// DayValues is one station-day of valid daily indicators, as an air_daily
// point holds them (so2_24h, no2_24h, co_24h, o3_1h, o3_8h, pm10_24h,
// pm25_24h). A closed day whose indicators were all invalid is passed with
// an empty map: it still counts as closed.
type DayValues struct {
	Station string
	Day     time.Time // the start of the day
	Values  map[aqi.Indicator]float64
}

// DayIndicators returns the indicators an air_daily point may carry, which
// are its field names.
func DayIndicators() []aqi.Indicator { return append([]aqi.Indicator(nil), dayIndicators[:]...) }

// HourlyParams returns the parameters an air_hourly point may carry, which
// are its field names (plus "<param>_minutes").
func HourlyParams() []string { return append([]string(nil), hourParams[:]...) }

// Warm seeds the Deriver with what it wrote before a restart, so that the
// moving windows and the year-to-date figures continue where they were:
// the air_hourly points since the start of the previous day and the
// air_daily points since the start of the year (in the Deriver's zone).
// Call it before the first Observe.
//
// A warmed hour is final: a late reading for it no longer recomputes it
// (its minute data is gone). A warmed day counts as closed and written;
// the day in progress at the restart has no air_daily point and is closed
// as usual, from the warmed and the new hours. Entries of unknown or water
// stations are ignored.
func (d *Deriver) Warm(hours []HourMeans, days []DayValues) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, hm := range hours {
		s := d.byID[hm.Station]
		if s == nil || !s.air {
			continue
		}
		start := d.hourOf(hm.Hour.UnixNano())
		i, found := sortedIndex(s.hours, start, func(x *hourRec) int64 { return x.start })
		if found {
			continue
		}
		h := &hourRec{start: start, computed: true, emitted: true, aqiEmitted: true}
		for name, v := range hm.Means {
			id, _, _ := ingest.LookupParam(name)
			if p := hourParamOf[id]; p >= 0 && usable(v) {
				h.mean[p], h.n[p], h.cover[p] = meanOfDecimal(v), 1, 60
			}
		}
		s.hours = insertAt(s.hours, i, h)
		d.ensureDay(s, d.dayOf(hm.Hour.UnixNano()))
	}
	for _, dv := range days {
		s := d.byID[dv.Station]
		if s == nil || !s.air {
			continue
		}
		dy := d.ensureDay(s, d.dayOf(dv.Day.UnixNano()))
		var vals [nDayInd]*floatOpt
		for k, ind := range dayIndicators {
			if v, ok := dv.Values[ind]; ok && usable(v) {
				vals[k] = &floatOpt{v}
			}
		}
		d.setDay(dy, vals)
		dy.emitted, dy.final = true, true
	}
	for _, s := range d.air {
		s.next = 0 // recompute at the next advance
	}
}

type floatOpt struct{ v float64 }

// setDay fills a day record from daily indicator values and scores it.
func (d *Deriver) setDay(dy *dayRec, vals [nDayInd]*floatOpt) {
	ed := d.edition.Resolve(d.time(dy.start))
	in := aqi.Inputs{}
	for k, v := range vals {
		dy.ok[k] = v != nil
		dy.val[k] = 0
		if v == nil {
			continue
		}
		dy.val[k] = v.v
		r := decimal(v.v)
		if ed == aqi.Edition2026 {
			r = round2026(dayIndicators[k], r)
		}
		in[dayIndicators[k]] = toFloat(r)
	}
	res, err := aqi.Compute(ed, aqi.ReportDaily, in)
	dy.edition = ed
	dy.hasAQI = err == nil && res.OK()
	dy.aqi = res.AQI
	dy.complete = dy.hasAQI && complete(res, in)
}
