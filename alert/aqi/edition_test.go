package aqi

import (
	"fmt"
	"testing"
	"time"
)

func TestEditionForSwitchesAtMidnightChinaStandardTime(t *testing.T) {
	tests := []struct {
		name string
		at   string
		want Edition
	}{
		{"the last second of 2026-02-28 in China is judged by 2012", "2026-02-28T23:59:59+08:00", Edition2012},
		{"midnight of 2026-03-01 in China is judged by 2026", "2026-03-01T00:00:00+08:00", Edition2026},
		{"the same instant written in UTC is judged by 2026", "2026-02-28T16:00:00Z", Edition2026},
		{"one nanosecond earlier in UTC is judged by 2012", "2026-02-28T15:59:59.999999999Z", Edition2012},
		{"a reading from 2020 is judged by 2012", "2020-06-01T12:00:00+08:00", Edition2012},
		{"a reading from 2031 is judged by 2026", "2031-01-01T00:00:00+08:00", Edition2026},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, err := time.Parse(time.RFC3339Nano, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := EditionFor(at); got != tt.want {
				t.Errorf("EditionFor(%s) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
	if got := EditionFor(time.Time{}); got != Edition2012 {
		t.Errorf("EditionFor(zero time) = %v, want 2012", got)
	}
}

func TestResolveKeepsAPinnedEdition(t *testing.T) {
	before := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	after := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		ed   Edition
		at   time.Time
		want Edition
	}{
		{"auto before the change resolves to 2012", EditionAuto, before, Edition2012},
		{"auto after the change resolves to 2026", EditionAuto, after, Edition2026},
		{"a pinned 2012 stays 2012 after the change", Edition2012, after, Edition2012},
		{"a pinned 2026 stays 2026 before the change", Edition2026, before, Edition2026},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ed.Resolve(tt.at); got != tt.want {
				t.Errorf("Resolve = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseEditionAndReport(t *testing.T) {
	editions := []struct {
		in      string
		want    Edition
		wantErr bool
	}{
		{"2012", Edition2012, false},
		{" 2026 ", Edition2026, false},
		{"HJ 633-2026", Edition2026, false},
		{"hj633-2012", Edition2012, false},
		{"auto", EditionAuto, false},
		{"", EditionAuto, false},
		{"2019", EditionAuto, true},
	}
	for _, tt := range editions {
		t.Run(fmt.Sprintf("edition %q parses to %v", tt.in, tt.want), func(t *testing.T) {
			got, err := ParseEdition(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseEdition(%q) = %v, %v", tt.in, got, err)
			}
			if err == nil && tt.in != "" && tt.want != EditionAuto {
				if back, _ := ParseEdition(got.String()); back != got {
					t.Errorf("String() %q does not parse back", got.String())
				}
			}
		})
	}
	reports := []struct {
		in      string
		want    Report
		wantErr bool
	}{
		{"hourly", ReportHourly, false},
		{"Realtime", ReportHourly, false},
		{"daily", ReportDaily, false},
		{"24h", ReportDaily, false},
		{"weekly", 0, true},
	}
	for _, tt := range reports {
		t.Run(fmt.Sprintf("report %q parses to %v", tt.in, tt.want), func(t *testing.T) {
			got, err := ParseReport(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseReport(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}
