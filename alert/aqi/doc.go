// Package aqi computes the Chinese ambient air quality index (AQI) of
// HJ 633, in both editions envpipe has to follow: HJ 633-2012 (data up to
// 2026-02-28) and HJ 633-2026 (from 2026-03-01, China Standard Time), and
// for both reports, the hourly real-time report (实时报) and the daily
// report (日报).
//
// The package is pure: it takes concentrations and returns numbers. It does
// not average readings; callers pass the means the report asks for.
//
// # Inputs
//
// [Inputs] maps an [Indicator] (a pollutant and its averaging period, named
// like the columns of the reference vectors, e.g. "pm25_24h", "o3_8h") to a
// concentration in µg/m³ (CO in mg/m³). A missing key, a NaN or a negative
// value gives no sub-index: an absent or impossible input must not lower
// or raise the AQI.
//
// Which indicators each report scores (see [Scored]):
//
//	2012 daily:  so2_24h no2_24h pm10_24h co_24h o3_1h (daily max) o3_8h (daily max) pm25_24h
//	2012 hourly: so2_1h no2_1h co_1h o3_1h o3_8h (moving) pm10_24h pm25_24h (24 h moving means)
//	2026 daily:  so2_24h no2_24h pm10_24h co_24h o3_8h (daily max) pm25_24h
//	2026 hourly: so2_1h no2_1h co_1h o3_1h pm10_1h pm25_1h
//
// # Edition rules
//
//   - 2012 hourly: so2_1h above 800 µg/m³ has no 1-hour sub-index; the SO2
//     sub-index is computed from so2_24h instead and reported under so2_1h
//     (as the reference vectors do).
//   - 2012, both reports: o3_8h above 800 µg/m³ has no sub-index; the
//     o3_1h one stands.
//   - 2026 hourly: so2_1h above 800 µg/m³ scores IAQI 200; pm10_1h and
//     pm25_1h are scored on the 2026 daily (24 h) PM breakpoints.
//   - 2026 daily: o3_8h above 800 µg/m³ scores IAQI 300.
//   - 2026 changed only the PM10 and PM2.5 24 h breakpoints (IAQI 100 at 120
//     and 60 µg/m³ instead of 150 and 75); every other breakpoint is shared.
//
// Any other concentration above the top breakpoint (IAQI 500) is out of the
// standard's range. Neither edition's tables (as the reference gives them)
// define an IAQI there, and dropping the sub-index would hide the worst
// pollution, so the sub-index is held at 500 and the indicator is listed in
// [Result.OutOfRange] for the caller to show as "> 500".
//
// # Rounding and boundaries
//
// IAQI = (IAQI_Hi − IAQI_Lo) / (BP_Hi − BP_Lo) × (C − BP_Lo) + IAQI_Lo,
// rounded up to an integer (HJ 633 §6.2, "全部进位取整数"); the AQI is the
// largest IAQI, so it is an integer too. The arithmetic is exact: a float64
// concentration is read as the shortest decimal that round-trips (the value
// as written, 2.4 and not 2.39999…) and the formula is evaluated in rational
// numbers, so a concentration exactly on a breakpoint gives exactly that
// breakpoint's IAQI (75 µg/m³ PM2.5 in 2012 gives 100, not 101), and 2.4
// mg/m³ CO gives 60, not 61.
//
// A value exactly on a breakpoint belongs to the lower segment, and an AQI
// exactly on a level boundary (50, 100, 150, 200, 300) belongs to the lower,
// better level: AQI 100 is level 2 (良), 101 is level 3.
//
// # Primary pollutant
//
// When the AQI is above 50, the pollutant(s) with the largest IAQI are the
// primary pollutants (首要污染物); ties list all of them in alphabetical
// order (co, no2, o3, pm10, pm25, so2), and a pollutant scored twice (O3 on
// 1 h and 8 h) is listed once. At AQI ≤ 50 there is none.
//
// # Edition in force
//
// [EditionFor] picks the edition in force at a time (HJ 633-2026 from
// 2026-03-01 00:00 +08:00). A configuration pins an edition by holding
// [Edition2012] or [Edition2026] instead of [EditionAuto], and
// [Edition.Resolve] turns either into the edition to use for a reading.
package aqi
