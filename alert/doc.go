// Package alert is envpipe's rule engine: it evaluates the rules of
// rules.yaml on the stream of accepted readings, keeps each alert's state,
// and hands firing and resolved alerts to notifiers (package alert/notify
// implements Notifier for Alertmanager, webhooks and chat robots).
//
// # Wiring
//
//	rules, errs := alert.LoadRules(cfg.Alert.Rules)         // every problem, as rules[i].<key>
//	errs = append(errs, rules.CheckStations(reg.All())...)
//	eng, err := alert.New(cfg.Alert, rules, reg.All(), alert.Options{
//		Notifiers: notifiers, Emit: func(lp []byte) { pipe.Emit(ctx, lp) },
//		Registerer: promReg, Logger: logger})
//	pipeline.Config{Observers: []pipeline.Observer{…, eng}}
//	go eng.Run(ctx)        // deliveries, re-sends, stale checks, periodic saves
//	eng.ObserveValue(st, "aqi", hour, aqi)                   // derived values
//	eng.ObserveLowerBound(st, "aqi", hour, aqi)              // one with an input missing
//
// Stop Run (cancel its context and wait) after the pipeline has stopped
// and before the WAL closes: it saves the state and delivers what is
// queued.
//
// # rules.yaml
//
//	rules:
//	  - name: PM10Mean24hAbovePlanTarget   # alertname: letters, digits, _
//	    param: pm10                        # watched parameter (not for stale;
//	                                       # optional for water_class and flag)
//	    stations:                          # selector; every key set must match
//	      ids: [zz-air-0101]               #   station ids
//	      kind: air                        #   air | water
//	      county: [Hetang, Lusong]         #   one or a list
//	      river: 湘江                       #   one or a list
//	      drinking_source: true            #   true | false
//	    aggregate: mean                    # instant | mean | ytd_mean | aqi |
//	                                       # water_class | stale | flag
//	    window: 24h                        # mean: rolling window (≤ 7 days)
//	    min_coverage: 0.75                 # mean: share of the window covered
//	    limit: zhuzhou:pm10:annual         # number or reference (see Limit)
//	    direction: above                   # above | below (lower bounds)
//	    warn_ratio: 0.9                    # warning at limit×0.9 (below: limit/0.9)
//	    for: 0s                            # time beyond the threshold before firing
//	    hysteresis: 0.05                   # resolve at threshold×(1−0.05) (below: ×1.05)
//	    severity: critical                 # of the limit: critical | warning | info
//	    labels: {team: air}                # added to the identity labels
//	    annotations:                       # text/template over TemplateData;
//	      summary: {zh: "…", en: "…"}      # built-in texts when left out
//	      description: {zh: "…", en: "…"}
//	  - name: EquipmentFlag
//	    aggregate: flag
//	    flags: [D, B, T]
//
// Aggregates: instant compares each value; mean the rolling mean over
// window; ytd_mean the year-to-date mean, the mean of the daily means of
// the year's closed China Standard Time days, the open day left out,
// judged from min_days such days on: for pm25 and pm10 of an air station
// reporting at least hourly as alert/derive's compliance figures
// (pm25_ytd) compute it, of the days that have at least 20 valid hours
// (45 minutes of data, or the station's hourly mean; package limits);
// otherwise (water sections, stations reporting less often) a day's
// mean is the plain mean of its values; its
// alerts end with their year (the new year's first value resolves them);
// aqi the hourly AQI fed through ObserveValue (ObserveLowerBound when a
// pollutant was missing: such an AQI can raise an alert but neither clear
// nor reset one); water_class assesses each water sample by GB 3838-2002
// against the section's target class (limit: target) or a class (limit:
// III) and raises one alert per offending item, critical when the item is
// worse than the class (ratio to the class limit above 1) and warning when
// the ratio is above warn_ratio (NH3-N 0.46 mg/L at Class II: 0.92),
// except for pH, whose 6–9 range is the same for every class and has no
// approach level; stale fires when a station has sent nothing for limit ×
// its interval (default 3); flag fires while a parameter's latest value
// carries one of flags. Stale and flag rules are warnings unless severity
// says otherwise.
//
// # Alerts and their identity
//
// A rule yields one alert per station, parameter and level: the limit at
// the rule's severity and, with warn_ratio, the approach level at
// warning. The labels are alertname (the rule's name), station, county,
// param (absent for stale), severity, and the rule's labels; Alertmanager
// identifies alerts by them. Annotations carry summary and description in
// the configured language (Config.Lang), value, limit, threshold and
// station_name.
//
// # Evaluation: event time, state machine, hysteresis, horizon
//
// Rules on readings are evaluated in event time, the readings' own
// timestamps, as each reading arrives: a backlog replayed after an outage
// is evaluated as it happened, as fast as it arrives. Only N-flagged values
// count for pollution rules (instant, mean, ytd_mean, water_class); other
// flags raise equipment alerts through flag rules. A value delivered
// twice (same station, time, period and parameter among the station's
// last 64 times) is counted once; another parameter of the same instant,
// in a reading of its own, counts. Rolling windows are per station and parameter, summed in
// buckets no wider than 1/96 of the window (15 min for 24 h, 5 min for 8 h,
// 1 min for 1 h), so memory is bounded; a value too old for its window is
// left out of it.
//
// Each alert is a state machine (Step, a pure function of the episode,
// the input's condition and its time): inactive → pending (first breach)
// → firing (still breaching `for` later, in event time; at once with for
// 0) → resolved (back past the hysteresis band). A pending alert whose
// value falls back below the threshold becomes inactive again. Inputs
// older than the alert's latest are ignored. Stale rules run on the wall
// clock (Tick) and resolve as soon as the station is heard from.
//
// A transition whose time is older than now − horizon (Config.Horizon,
// default 2 h) is backfill: it updates the alert and is written to
// InfluxDB, but it pages no one. If newer data, within the horizon, finds
// such an alert still firing, the firing is sent then. A resolution is
// sent whenever the firing was.
//
// # Notifications
//
// Firing and resolved alerts go to every notifier at once, in order, each
// notifier on its own goroutine with a bounded queue (Observe never
// waits). Notifiers implementing Resender get every firing alert again
// every resend_interval (Alertmanager forgets alerts when it restarts). A
// firing alert's endsAt is now + 4 × resend_interval, so Alertmanager
// resolves it by itself if envpipe stops; a resolved one's endsAt is its
// resolution time; startsAt is the time it fired and never changes, so a
// re-send is the same alert to Alertmanager. A notifier that takes no
// re-sends gets a notification that failed in a way a later try may mend
// (a network error, a 5xx; alert/notify's errors say which) again, after
// 30 s, doubling up to 5 min, or with its next delivery, until it is
// delivered, a newer one of the same alert replaces it, or 10 tries
// failed (then it is logged and counted). A notification the receiver
// refuses for itself (a 4xx, a robot's error code) is not tried again; a
// refused call of several is split to find it. No call carries more than
// 100 notifications, and what is tried again goes apart from what is
// new. generatorURL is
// grafana_url + grafana_dashboards[kind] + ?var-station=…&var-param=….
//
// # InfluxDB
//
// Every transition is one point of the measurement `alerts` (see
// appendLine) at the transition's time, handed to Options.Emit.
//
// # Restarts
//
// Pending and firing alerts are saved to Config.StateFile at every
// transition, before notifiers hear of it; the windows (bucket sums,
// year-to-date accumulators, recent readings) to StateFile + ".windows"
// every state_interval and at shutdown. Both are loaded by New. After a
// restart, even a SIGKILL, a firing alert is re-sent at once with its
// labels and startsAt (Alertmanager merges it: no second page) and
// resolves when the data says so. The state file also holds what each
// Teller (webhook, chat robot) was told, saved within a second of a
// delivery: after a restart it tells only what it was never told, and
// reminds on its own schedule; one that takes no re-sends gets the first
// re-send after the start for that. A teller the file does not know (a
// receiver added since) is told once, at that start, of what fires. The windows file holds each station's
// last arrival: a stale rule counts silence from it after a restart, but
// raises no new alert within min(its limit, 10 min) of the start, while
// what the station sent meanwhile arrives from the broker. A crash loses
// at most state_interval of window data.
//
// # Metrics
//
//	envpipe_alerts_firing{severity}
//	envpipe_alert_transitions_total{to}
//	envpipe_alert_notifications_dropped_total{receiver, reason}   queue_full | refused | tries | unreachable
//	envpipe_alert_state_save_errors_total
package alert
