// Package limits holds the ambient air concentration limits that envpipe's
// alert rules compare against: GB 3095-2012, GB 3095-2026 with its
// transitional limits (2026-03-01 to 2030-12-31) and final limits (from
// 2031-01-01), and the targets of the Zhuzhou 2018–2020 ecological action
// plan. It is data with a lookup, nothing more.
//
// # Standards and dates
//
// [InForce] returns the limit set in force at a time, in China Standard
// Time (UTC+8): GB 3095-2012 before 2026-03-01 00:00, the GB 3095-2026
// transitional limits until 2030-12-31 24:00, the final ones after. A
// configuration pins a set by naming it instead of [Auto]; [GB3095v2026]
// pins the 2026 edition while still following its own transitional/final
// calendar.
//
// # Parameters, averaging, grades
//
// Parameters use envpipe's names: so2, no2, co, o3, pm10, pm25; CO limits
// are in mg/m³, all others in µg/m³. Averaging times are the annual mean,
// the 24-hour (calendar-day) mean, the 1-hour mean and, for O3, the daily
// maximum 8-hour moving mean. Grade I applies to Class 1 zones (nature
// reserves and other specially protected areas; in the 2026 edition also
// national parks and nature parks), Grade II to Class 2 zones (residential,
// commercial, industrial, rural).
//
// Only GB 3095 Table 1 (the basic items) is included: Table 2 (TSP, NOx,
// Pb, BaP) rests on a single unconfirmed source in the reference and
// envpipe measures none of those items.
//
// # Boundary semantics
//
// A limit is the highest compliant value: a concentration exactly at the
// limit complies, only a larger one exceeds it (超标 means "above"). Use
// [Exceeds] rather than writing the comparison in each rule.
//
// # Zhuzhou plan
//
// [ZhuzhouPlan] carries the plan's 2020 annual targets, PM2.5 45 µg/m³ and
// PM10 70 µg/m³ (grade does not apply), and [GoodDaysTarget] its target
// share of good-air days (daily AQI ≤ 100), 83 %. The figures come from
// DESIGN.md, which treats them as rule data; they are here so that rules
// can refer to them by name instead of repeating numbers.
package limits
