package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/envpipe/envpipe/alert/aqi"
	"github.com/envpipe/envpipe/alert/derive"
	"github.com/envpipe/envpipe/ingest/influx"
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
