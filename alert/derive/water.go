package derive

import (
	"math"
	"strings"

	"github.com/envpipe/envpipe/alert/waterclass"
	"github.com/envpipe/envpipe/ingest"
)

// waterDay is what compliance needs of a water section's day: whether its
// latest sample that day met the section's target class.
type waterDay struct {
	start  int64
	latest int64 // Unix ns of the latest assessed sample
	meets  bool
	class  waterclass.Class
	closed bool // the day has ended on the section's clock
}

// observeWater assesses one water sample by GB 3838-2002 (single factor,
// N-flagged values only; total nitrogen and fecal coliform do not decide,
// waterclass.Monitoring) and writes its water_quality point. Each sample
// is assessed on its own, so a late sample always gets its point; it also
// updates the day's status, which the network compliance uses.
func (d *Deriver) observeWater(s *stationState, r *ingest.Reading, t int64) {
	sample := make(map[string]float64, len(r.Values))
	for _, v := range r.Values {
		if (v.Flag != ingest.FlagNormal && v.Flag != 0) || !usable(v.V) {
			continue
		}
		sample[v.Param] = v.V
	}
	res, err := waterclass.Assess(sample, waterclass.Options{Waterbody: s.waterbody, Target: s.target, Method: waterclass.Monitoring})
	if err != nil || res.Class == 0 {
		return // nothing assessable (no N-flagged item with a GB 3838 limit)
	}
	d.writeWaterQuality(s, res, t)

	day := d.dayOf(t)
	i, found := sortedIndex(s.wdays, day, func(x *waterDay) int64 { return x.start })
	if !found {
		if day < d.retainFrom(s.clockMax) && s.has {
			return // a year that is no longer kept
		}
		s.wdays = insertAt(s.wdays, i, &waterDay{start: day, latest: math.MinInt64})
		if e := (day + daySec) * int64(1e9); e < s.next {
			s.next = e
		}
	}
	wd := s.wdays[i]
	if t >= wd.latest {
		wd.latest, wd.meets, wd.class = t, res.MeetsTarget, res.Class
		if wd.closed {
			d.net.dayChanged(d, day)
		}
	}
}

// advanceWater closes the section's days that ended on its clock c (ns),
// so the network compliance counts them, and evicts past years.
func (d *Deriver) advanceWater(s *stationState, c int64) {
	next := int64(math.MaxInt64)
	for _, wd := range s.wdays {
		end := (wd.start + daySec) * int64(1e9)
		if !wd.closed && end <= c {
			wd.closed = true
			d.net.dayChanged(d, wd.start)
		}
		if !wd.closed {
			next = min(next, end)
		}
	}
	from := d.retainFrom(c)
	k := 0
	for k < len(s.wdays) && s.wdays[k].start < from && s.wdays[k].closed {
		k++
	}
	s.wdays = s.wdays[k:]
	s.next = next
}

func (d *Deriver) writeWaterQuality(s *stationState, res waterclass.Result, t int64) {
	w := &d.w
	w.begin("water_quality")
	w.tag("county", s.st.County)
	w.tag("river", s.st.River)
	w.tag("section", s.st.Section)
	w.tag("station", s.st.ID)
	w.int("class", int64(res.Class))
	w.int("target_class", int64(res.Target))
	w.bool("meets_target", res.MeetsTarget)
	w.str("worst", strings.Join(res.Worst, "+"))
	w.str("exceeding", strings.Join(res.Exceeding, "+"))
	for _, it := range res.Items {
		w.int(it.Item+"_class", int64(it.Class))
	}
	w.endNano(t)
	d.stats.WaterPoints++
}
