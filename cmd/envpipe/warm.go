package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/envpipe/envpipe/alert/aqi"
	"github.com/envpipe/envpipe/alert/derive"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/influx"
	"github.com/envpipe/envpipe/ingest/station"
)

// warmDeriver reloads what the Deriver wrote before a restart (hourly means
// since the start of yesterday, daily values since the start of the year,
// CST) so that moving windows and year-to-date compliance carry on. InfluxDB
// being unreachable only costs the warm-up: envpipe starts anyway.
func warmDeriver(ctx context.Context, d *derive.Deriver, q *influx.Querier, now time.Time, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cst := time.FixedZone("CST", 8*3600)
	local := now.In(cst)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, cst)
	yearStart := time.Date(local.Year(), 1, 1, 0, 0, 0, 0, cst)

	hourSeries, err := q.Query(ctx, fmt.Sprintf(`SELECT * FROM air_hourly WHERE time >= %d GROUP BY station`, today.AddDate(0, 0, -1).UnixNano()))
	if err != nil {
		logger.Warn("derive: warm-up from InfluxDB failed; moving windows start empty", "err", err)
		return
	}
	var hours []derive.HourMeans
	params := derive.HourlyParams()
	influx.Rows(hourSeries, func(t time.Time, row map[string]any) {
		st, _ := row["station"].(string)
		hm := derive.HourMeans{Station: st, Hour: t, Means: map[string]float64{}}
		for _, p := range params {
			if v, ok := row[p].(float64); ok {
				hm.Means[p] = v
			}
		}
		hours = append(hours, hm)
	})
	daySeries, err := q.Query(ctx, fmt.Sprintf(`SELECT * FROM air_daily WHERE time >= %d GROUP BY station`, yearStart.UnixNano()))
	if err != nil {
		logger.Warn("derive: warm-up of daily values failed; year-to-date figures restart", "err", err)
		daySeries = nil
	}
	var days []derive.DayValues
	inds := derive.DayIndicators()
	influx.Rows(daySeries, func(t time.Time, row map[string]any) {
		st, _ := row["station"].(string)
		dv := derive.DayValues{Station: st, Day: t, Values: map[aqi.Indicator]float64{}}
		for _, ind := range inds {
			if v, ok := row[string(ind)].(float64); ok {
				dv.Values[ind] = v
			}
		}
		days = append(days, dv)
	})
	d.Warm(hours, days)
	logger.Info("derive: warmed from InfluxDB", "hours", len(hours), "days", len(days))
}

// maxOpenHourRows bounds the readings warmOpenHour reads back; a network
// that reports more often than that in an hour starts its open hour
// empty rather than pull them all into memory at start.
const maxOpenHourRows = 500_000

// warmOpenHour hands the Deriver again the air readings of the hour in
// progress, from InfluxDB: without them the hour's mean would count only
// the minutes after the restart, and a restart after a quarter past would
// leave every station without that hour (45 minutes make it valid). Call
// it once the pipeline exists, before it runs: the Deriver emits through
// it, should anything close meanwhile.
func warmOpenHour(ctx context.Context, d *derive.Deriver, q *influx.Querier, reg *station.Registry, now time.Time, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := now.Truncate(time.Hour)
	expected := 0.0
	for _, st := range reg.All() {
		if st.Kind == ingest.KindAir && st.Interval > 0 {
			expected += float64(now.Sub(start)) / float64(st.Interval)
		}
	}
	if expected > maxOpenHourRows {
		logger.Info("derive: the open hour is not warmed: too many readings to read back", "expected", int(expected))
		return
	}
	n := 0
	for _, m := range []struct {
		name   string
		period ingest.Period
	}{{"air", ingest.PeriodInstant}, {"air_minute", ingest.PeriodMinute}} {
		series, err := q.Query(ctx, fmt.Sprintf(`SELECT * FROM %s WHERE time >= %d AND time <= %d GROUP BY station`,
			m.name, start.UnixNano(), now.UnixNano()))
		if err != nil {
			logger.Warn("derive: warm-up of the open hour failed; it counts the readings from now on", "err", err)
			return
		}
		var r ingest.Reading
		influx.Rows(series, func(t time.Time, row map[string]any) {
			id, _ := row["station"].(string)
			st, ok := reg.Lookup(id)
			if !ok || st.Kind != ingest.KindAir {
				return
			}
			r = ingest.Reading{Station: id, Time: t, Period: m.period, Values: r.Values[:0]}
			for k, v := range row {
				f, isNum := v.(float64)
				if _, _, known := ingest.LookupParam(k); known && isNum {
					r.Values = append(r.Values, ingest.Value{Param: k, V: f, Flag: ingest.FlagNormal})
				}
			}
			if len(r.Values) > 0 {
				d.Observe(st, &r)
				n++
			}
		})
	}
	logger.Info("derive: open hour warmed from InfluxDB", "readings", n)
}
