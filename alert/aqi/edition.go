package aqi

import (
	"fmt"
	"strings"
	"time"
)

// Edition is an edition of HJ 633. The zero value, EditionAuto, means "the
// edition in force at the reading's time", so a configuration that says
// nothing follows the standard's own calendar; holding Edition2012 or
// Edition2026 pins that edition for every reading.
type Edition int

const (
	// EditionAuto selects the edition by date; see [Edition.Resolve].
	EditionAuto Edition = 0
	// Edition2012 is HJ 633-2012, in force until 2026-02-28.
	Edition2012 Edition = 2012
	// Edition2026 is HJ 633-2026, in force from 2026-03-01.
	Edition2026 Edition = 2026
)

// chinaStandardTime is the zone the standards' dates are written in.
// A fixed offset, not Asia/Shanghai: the machine may have no tzdata, and
// China has kept UTC+8 without daylight saving since 1991.
var chinaStandardTime = time.FixedZone("CST", 8*60*60)

// edition2026Start is the first instant HJ 633-2026 applies to.
var edition2026Start = time.Date(2026, time.March, 1, 0, 0, 0, 0, chinaStandardTime)

// EditionFor returns the edition in force at t: data from before
// 2026-03-01 00:00 China Standard Time is judged by HJ 633-2012, later data
// by HJ 633-2026. An hourly value is judged by the time it is labelled with
// (HJ 212 labels aggregates with the start of their window), so the hour
// 2026-03-01 00:00–01:00 is the first one under the 2026 edition.
func EditionFor(t time.Time) Edition {
	if t.Before(edition2026Start) {
		return Edition2012
	}
	return Edition2026
}

// Resolve returns e itself when it pins an edition, and the edition in
// force at t when e is EditionAuto.
func (e Edition) Resolve(t time.Time) Edition {
	if e == EditionAuto {
		return EditionFor(t)
	}
	return e
}

// Valid reports whether e is an edition the package computes (not
// EditionAuto, which must be resolved first).
func (e Edition) Valid() bool {
	return e == Edition2012 || e == Edition2026
}

func (e Edition) String() string {
	switch e {
	case EditionAuto:
		return "auto"
	case Edition2012:
		return "2012"
	case Edition2026:
		return "2026"
	}
	return fmt.Sprintf("Edition(%d)", int(e))
}

// ParseEdition parses "2012", "2026" (also "HJ 633-2012", "HJ633-2026") or
// "auto" (and the empty string, which a configuration leaves when it does
// not pin an edition).
func ParseEdition(s string) (Edition, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimPrefix(strings.ReplaceAll(t, " ", ""), "hj633-")
	switch t {
	case "", "auto":
		return EditionAuto, nil
	case "2012":
		return Edition2012, nil
	case "2026":
		return Edition2026, nil
	}
	return EditionAuto, fmt.Errorf("aqi: unknown edition %q (want 2012, 2026 or auto)", s)
}

// Report is one of the two AQI reports of HJ 633.
type Report int

const (
	// ReportHourly is the real-time report (实时报), published every hour.
	ReportHourly Report = iota + 1
	// ReportDaily is the daily report (日报) over a natural day.
	ReportDaily
)

func (r Report) String() string {
	switch r {
	case ReportHourly:
		return "hourly"
	case ReportDaily:
		return "daily"
	}
	return fmt.Sprintf("Report(%d)", int(r))
}

// ParseReport parses "hourly" (also "realtime", "real-time", "1h") or
// "daily" (also "day", "24h").
func ParseReport(s string) (Report, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "hourly", "hour", "realtime", "real-time", "1h":
		return ReportHourly, nil
	case "daily", "day", "24h":
		return ReportDaily, nil
	}
	return 0, fmt.Errorf("aqi: unknown report %q (want hourly or daily)", s)
}
