// Package derive is envpipe's derivation stage: from the readings the
// pipeline accepts it computes what the standards define — hourly and
// daily means, the hourly (real-time) and daily AQI of HJ 633 in the
// edition of each hour and day, the GB 3838 class of every water sample —
// and the Zhuzhou plan's compliance figures, and hands them to the
// pipeline as line protocol (pipeline.Emit), so they reach InfluxDB through
// the WAL like the readings.
//
// It imports only the standards packages (alert/aqi, alert/waterclass,
// alert/limits) and the reading model; it does no I/O.
//
// # Wiring
//
//	d, err := derive.New(cfg.Derive, reg.All(), func(lp []byte) { pipe.Emit(ctx, lp) }, time.Now)
//	pipeline.Config{Observers: []pipeline.Observer{d}, …}
//	every second: d.Tick(time.Now())
//
// Observe runs on the pipeline goroutine, Tick on a ticker goroutine; state
// is behind a mutex and emit is called outside it, one batch at a time in
// the order the batches were made.
//
// # Hours, days, zone
//
// Hours and days are those of China Standard Time (UTC+8, Config.Location),
// as HJ 633 and GB 3095 count them. A point's timestamp is the start of
// its hour or day (HJ 212 labels aggregates with the start of their
// window), so the hour stamped 10:00 covers 10:00–11:00 and the day stamped
// 2026-03-01T00:00+08:00 covers that calendar day. The HJ 633 edition of an
// hour or a day is the one in force at its start (aqi.EditionFor: HJ
// 633-2012 up to the hour 2026-02-28 23:00, HJ 633-2026 from the hour
// 2026-03-01 00:00) unless Config.Edition pins one.
//
// # When an hour or a day closes: the station clock
//
// Each station has a clock: the end of the period its latest reading
// covers (the reading's time plus the station's interval, so the 10:59
// reading of a 1-minute station brings it to 11:00). It stands there
// until the next reading is overdue (one interval after the last one
// arrived, plus 15 s of network jitter), then runs on with the wall
// clock. For a live station that is the event time of its latest reading
// (a reading closes its period, so an hour closes when its last reading
// arrives, not before); for a station replaying a backlog it is the event
// time of the backlog, which moves on as fast as the data does; for a
// silent station it runs on with the wall clock, so its hours close
// anyway, an interval and 15 s late.
//
//   - An hour (a day) closes when the station clock reaches its end: its
//     means and AQI are computed and written.
//   - A reading that arrives for an hour that is closed but whose end +
//     Config.Lateness the station clock has not reached yet ("late")
//     recomputes the hour; if its means change, the hour, the hourly AQI
//     of the hours whose 8 h and 24 h windows contain it, its day and the
//     compliance figures are written again (at the next Tick; points are
//     idempotent in InfluxDB, the new version replaces the old).
//   - Once the station clock passes an hour's end + lateness the hour is
//     final: its minute data is dropped and a reading for it is stored by
//     the pipeline but recomputes nothing (Stats.TooLate).
//
// Observe applies the rule whenever a reading moves a station's clock past
// a boundary (so a backlog, or a test, is derived as fast as it arrives,
// independent of the wall clock); Tick applies it to the wall clock once a
// second, and writes what late readings changed.
//
// # Validity (which values count)
//
// Only values flagged N count. reference/standards.md has no data-validity
// table, so the rules are those of GB 3095-2012 §8.2 Table 4, as the issue
// states them (see the constants in air.go):
//
//   - an hourly mean needs ≥ 45 minutes of data in the hour. A reading
//     covers its station's interval from its time (rounded up to whole
//     minutes, clipped to the hour): 45 one-minute readings, 9 five-minute
//     readings or 1 hourly reading make a valid hour. The mean is the
//     arithmetic mean of the hour's N values;
//   - a 24-hour mean (calendar day, or moving over hours H−23…H) needs ≥ 20
//     valid hourly means;
//   - an O3 8-hour moving mean (hours H−7…H) needs ≥ 6 valid hourly means;
//   - the O3 daily maximum 8-hour mean is the largest of the day's 17
//     8-hour means whose hours lie in the day (ending 08:00 … 24:00) and
//     needs ≥ 14 of them valid (HJ 663-2013, not in reference/: to be
//     confirmed);
//   - the O3 daily maximum 1-hour mean needs ≥ 20 valid hourly means
//     (envpipe's choice; no source gives a rule).
//
// Means are exact (rational arithmetic over the values as written).
// HJ 633-2026 inputs are rounded per GB/T 8170 (round half to even) to
// integers in µg/m³ and to 0.1 mg/m³ for CO (reference §3.9); HJ 633-2012
// inputs are not rounded. Moving and daily means are taken over the
// unrounded hourly means.
//
// # AQI inputs
//
// Hourly (real-time) report (reference README and §3.5, §3.9):
//
//	2012: so2_1h no2_1h co_1h o3_1h (hour H), o3_8h (moving, H−7…H),
//	      pm10_24h pm25_24h (moving, H−23…H), and so2_24h (moving) for
//	      the SO2 > 800 µg/m³ fallback
//	2026: so2_1h no2_1h co_1h o3_1h pm10_1h pm25_1h (hour H)
//
// Daily report: the day's 24-hour means of SO2, NO2, CO, PM10, PM2.5, the
// O3 daily maximum 8-hour mean and (2012 only) the O3 daily maximum 1-hour
// mean. An input whose validity rule fails is left out; the AQI is then
// computed from the others and marked complete=false (in the aqi point and
// to OnAQI): a lower bound of the true AQI.
//
// # InfluxDB schema (derived measurements)
//
// Tags are written in sorted key order; timestamps are in nanoseconds.
//
//	air_hourly   tags  county, station
//	             fields <param> (float, the hourly mean; only when valid),
//	                    <param>_minutes (int, minutes covered by N values)
//	                    for so2 no2 co o3 pm10 pm25 temp rh pressure
//	                    wind_speed (not wind_dir) with at least one N value
//	             time  start of the hour
//
//	air_daily    tags  county, station
//	             fields so2_24h no2_24h co_24h pm10_24h pm25_24h (24 h
//	                    means), o3_1h (daily max 1 h), o3_8h (daily max
//	                    8 h) — float, only when valid; so2_hours no2_hours
//	                    co_hours o3_hours pm10_hours pm25_hours (int, valid
//	                    hourly means), o3_8h_windows (int, valid 8 h means)
//	             time  start of the day
//
//	aqi          tags  county, edition (2012|2026), period (hour|day), station
//	             fields aqi (int), level (int 1–6), primary (string,
//	                    pollutants joined by "+", "" when AQI ≤ 50),
//	                    complete (bool: every indicator the report scores
//	                    had a valid input), out_of_range (string, indicators
//	                    above the top breakpoint, joined by "+", usually ""),
//	                    lat, lon (float, the station's coordinates, for maps),
//	                    iaqi_<indicator> (int) for each sub-index computed,
//	                    e.g. iaqi_pm25_24h, iaqi_o3_8h, iaqi_pm25_1h
//	             time  start of the hour or day
//	             Written only when at least one sub-index could be computed.
//
//	water_quality tags county, river, section, station
//	             fields class (int 1–6, 6 = worse than V), target_class (int
//	                    1–5), meets_target (bool), worst (string, the
//	                    deciding items at the class, joined by "+"),
//	                    exceeding (string, items worse than the target,
//	                    joined by "+"), <item>_class (int) per assessed item
//	             time  the sample's time
//	             One point per water reading with at least one assessable
//	             N-flagged item (GB 3838-2002 single factor, the section's
//	             waterbody and target class; total nitrogen and fecal
//	             coliform classed but not deciding, waterclass.Monitoring).
//
//	compliance   tags  scope=station: county, scope, station
//	                   scope=network: scope
//	             fields pm25_ytd pm10_ytd (float, µg/m³, when any valid day),
//	                    pm25_days pm10_days (int), pm25_target pm10_target
//	                    (float, the plan's annual targets), good_days
//	                    valid_days (int), good_days_rate (float 0–1, when
//	                    valid_days > 0), good_days_target (float 0–1);
//	                    network only: stations (int, air stations with the
//	                    day closed), sections_total sections_meeting (int),
//	                    sections_meeting_share (float 0–1, when total > 0)
//	             time  start of the day
//	             See compliance.go for the definitions. Written when a day
//	             closes (station scope: that station's day; network scope:
//	             rewritten as each station closes the day).
//
// # Memory
//
// Per air station: the minute data of the hours not yet final (at most
// lateness + 2 hours of them), the hourly means of the last 25 h +
// lateness (the 24 h moving windows, and the hours of a day that may still
// be recomputed), and one small record per day of the current year (and,
// within lateness of New Year, the previous one) for the year-to-date.
// Per water section: one record per day of the year.
//
// # Restarts
//
// The Deriver keeps its state in memory. Warm seeds it from the
// air_hourly and air_daily points written before a restart (the daemon
// queries them from InfluxDB, and hands Observe again the readings of the
// hour in progress, so that it does not count only the minutes after the
// restart); without it, the moving windows start empty
// (the 2012 hourly PM sub-indices need 20 h of data again) and the
// year-to-date figures count only the days since the restart. Water
// section statuses are not warmed: the network's water share counts the
// sections sampled since the restart on the day of the restart.
package derive
