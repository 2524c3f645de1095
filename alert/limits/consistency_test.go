package limits_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert/aqi"
	"github.com/envpipe/envpipe/alert/limits"
)

// HJ 633 defines IAQI 100 as the Grade II short-term limit of GB 3095
// (reference §3.3 and §2.1), so the two packages' tables must agree: a
// concentration exactly at the Grade II limit scores exactly 100.
func TestGradeIILimitsAreAQIBreakpoint100(t *testing.T) {
	at2012 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	at2026 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		std   limits.Standard
		at    time.Time
		ed    aqi.Edition
		rep   aqi.Report
		param string
		avg   limits.Averaging
		ind   aqi.Indicator
	}{
		{limits.GB3095v2012, at2012, aqi.Edition2012, aqi.ReportDaily, "so2", limits.Mean24h, aqi.SO2Mean24h},
		{limits.GB3095v2012, at2012, aqi.Edition2012, aqi.ReportDaily, "no2", limits.Mean24h, aqi.NO2Mean24h},
		{limits.GB3095v2012, at2012, aqi.Edition2012, aqi.ReportDaily, "co", limits.Mean24h, aqi.COMean24h},
		{limits.GB3095v2012, at2012, aqi.Edition2012, aqi.ReportDaily, "pm10", limits.Mean24h, aqi.PM10Mean24h},
		{limits.GB3095v2012, at2012, aqi.Edition2012, aqi.ReportDaily, "pm25", limits.Mean24h, aqi.PM25Mean24h},
		{limits.GB3095v2012, at2012, aqi.Edition2012, aqi.ReportDaily, "o3", limits.Max8h, aqi.O3Mean8h},
		{limits.GB3095v2012, at2012, aqi.Edition2012, aqi.ReportDaily, "o3", limits.Mean1h, aqi.O3Mean1h},
		{limits.GB3095v2012, at2012, aqi.Edition2012, aqi.ReportHourly, "so2", limits.Mean1h, aqi.SO2Mean1h},
		{limits.GB3095v2012, at2012, aqi.Edition2012, aqi.ReportHourly, "no2", limits.Mean1h, aqi.NO2Mean1h},
		{limits.GB3095v2012, at2012, aqi.Edition2012, aqi.ReportHourly, "co", limits.Mean1h, aqi.COMean1h},
		{limits.GB3095v2026Transitional, at2026, aqi.Edition2026, aqi.ReportDaily, "pm10", limits.Mean24h, aqi.PM10Mean24h},
		{limits.GB3095v2026Transitional, at2026, aqi.Edition2026, aqi.ReportDaily, "pm25", limits.Mean24h, aqi.PM25Mean24h},
		{limits.GB3095v2026Transitional, at2026, aqi.Edition2026, aqi.ReportDaily, "so2", limits.Mean24h, aqi.SO2Mean24h},
		{limits.GB3095v2026Transitional, at2026, aqi.Edition2026, aqi.ReportHourly, "no2", limits.Mean1h, aqi.NO2Mean1h},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v Grade II %s %v scores 100 in HJ 633-%v", tt.std, tt.param, tt.avg, tt.ed), func(t *testing.T) {
			v, ok := limits.Limit(tt.std, tt.param, tt.avg, limits.GradeII, tt.at)
			if !ok {
				t.Fatal("no limit")
			}
			r, err := aqi.Compute(tt.ed, tt.rep, aqi.Inputs{tt.ind: v})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.IAQI[tt.ind]; got != 100 {
				t.Errorf("IAQI of %g = %d, want 100", v, got)
			}
		})
	}
}
