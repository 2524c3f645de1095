package limits

// Data validity: the least data a mean needs to count, from GB 3095-2012
// §8.2 Table 4 (污染物浓度数据有效性的最低要求); GB 3095-2026 keeps the
// same minimums. reference/standards.md has no validity table (its §3.6
// notes that HJ 663-2013, which has one, is not covered), so these are
// the table as the issue quotes it. alert/derive's hourly, daily and
// compliance figures and the rule engine's year-to-date means both use
// them, so that they agree.
const (
	// MinHourMinutes: a 1-hour mean needs at least 45 minutes of data in
	// the hour ("每小时至少有45分钟的采样时间").
	MinHourMinutes = 45
	// MinDayHours: a 24-hour mean (SO2, NO2, CO, PM10, PM2.5), calendar-day
	// or moving, needs at least 20 valid hourly means ("每日至少有20个小时
	// 平均浓度值").
	MinDayHours = 20
)
