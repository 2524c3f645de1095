package hj212

import (
	"errors"
	"strings"
	"testing"
)

// Parse takes a frame whatever blank terminator follows its CRC: CR LF as
// the standard says, none (MQTT), LF alone, or trailing blanks; anything
// else after the CRC is refused.
func TestParseAcceptsTheTerminatorsDevicesSend(t *testing.T) {
	body := strings.TrimSuffix(build("QN=20260301080000000;ST=22;CN=2011;PW=123456;MN=M1;Flag=5;CP=&&DataTime=20260301080000;a34004-Rtd=38,a34004-Flag=N&&"), "\r\n")
	tests := []struct {
		name string
		end  string
		want error // nil: accepted
	}{
		{"CR LF", "\r\n", nil},
		{"nothing", "", nil},
		{"LF alone", "\n", nil},
		{"a trailing space", " ", nil},
		{"two CR LFs", "\r\n\r\n", nil},
		{"tab then CR LF", "\t\r\n", nil},
		{"a letter", "X", ErrLength},
		{"a letter after CR LF", "\r\nX", ErrLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(body+tt.end), ParseOptions{})
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Parse: %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if enc, _ := f.Encode(); string(enc) != body+"\r\n" {
				t.Errorf("re-encoded %q, want %q", enc, body+"\r\n")
			}
		})
	}
}
