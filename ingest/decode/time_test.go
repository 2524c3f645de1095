package decode

import (
	"strings"
	"testing"

	"github.com/envpipe/envpipe/ingest"
)

// An integer time that reads as Unix seconds is refused with a hint saying
// so, rather than left to fail as a date in 1970.
func TestJSONHintsAtUnixSeconds(t *testing.T) {
	const hint = "looks like Unix seconds; time must be RFC 3339 or Unix milliseconds"
	tests := []struct {
		name   string
		time   string
		reason ingest.Reason // "" when the time is taken
		hint   bool
	}{
		{"Unix seconds, 2025", "1764291600", ingest.ReasonTimeTooOld, true},
		{"Unix seconds, 2001", "1000000000", ingest.ReasonTimeTooOld, true},
		{"Unix milliseconds", "1764291600000", "", false},
		{"RFC 3339", `"2026-11-28T09:00:00+08:00"`, "", false},
		{"zero is left to the validator", "0", "", false},
		{"a small number is left to the validator", "86400000", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			res := d.JSON([]byte(`{"station":"a","time":` + tt.time + `,"values":{"pm25":1}}`))
			if tt.reason == "" {
				if len(res.Rejects) != 0 || len(res.Readings) != 1 {
					t.Fatalf("rejects %v, want the reading", res.Rejects)
				}
				return
			}
			if len(res.Rejects) != 1 || res.Rejects[0].Reason != tt.reason {
				t.Fatalf("rejects %v, want one %s", res.Rejects, tt.reason)
			}
			if got := strings.Contains(res.Rejects[0].Detail, hint); got != tt.hint {
				t.Errorf("detail %q: hint %v, want %v", res.Rejects[0].Detail, got, tt.hint)
			}
		})
	}
}
