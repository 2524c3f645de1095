package alert

import (
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest/station"
)

// The validity rule (20 valid hours a day) applies where derive's
// compliance figures apply it: pm25 and pm10 of air stations reporting at
// least hourly. Elsewhere a day is the plain mean of its values: a
// ytd_mean rule on a water section (every 4 h) or an air station every
// 2 h would otherwise never fire.
func TestYearToDateFiresOnStationsReportingLessThanHourly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		st    *station.Station
		param string
		every time.Duration // a reading every
	}{
		{"water section every 4 h, nh3n", waterStation("w"), "nh3n", 4 * time.Hour},
		{"air station every 2 h, pm25", airStation("w", 2*time.Hour), "pm25", 2 * time.Hour},
		{"hourly air station, so2 (derive writes no so2_ytd), every other hour", airStation("w", time.Hour), "so2", 2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := "rules:\n  - {name: YTD, param: " + tc.param + ", aggregate: ytd_mean, limit: 1, min_days: 3}\n"
			day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
			te := newTestEngine(t, rules, []*station.Station{tc.st}, testConfig(t.TempDir()), day)
			for at := day; at.Before(day.AddDate(0, 0, 40)); at = at.Add(tc.every) {
				te.clock.Set(at.Add(time.Minute))
				te.Observe(tc.st, reading("w", at, val(tc.param, 5)))
			}
			if got := te.lines.transitions(); len(got) == 0 {
				t.Errorf("40 days at 5× the limit: no transition")
			}
		})
	}
}
