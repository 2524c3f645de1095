package hj212

import (
	"strings"
	"testing"
)

// A flag outside HJ 212-2017 Table 8 (HJ/T 212-2005's P and 0–3, vendor
// flags such as H and L) is not N: the value is kept with the raw flag, so
// that it lands in <param>_flagged, and the flag is noted (standards.md
// §4.7). A flag that cannot be kept as one safe character is still refused.
func TestReadingsKeepValuesWithUnknownFlags(t *testing.T) {
	const dt = "DataTime=20260301080000;"
	const at = "st 2026-03-01T08:00:00+08:00"
	tests := []struct {
		name     string
		flag     string
		reading  string // "" when the value is left out
		note     bool   // an unknown flag noted
		problems []string
	}{
		{"2017 flag D", "D", at + " pm25=38/D", false, nil},
		{"2005 power failure P", "P", at + " pm25=38/P", true, nil},
		{"2005 air flag 0 (calibration)", "0", at + " pm25=38/0", true, nil},
		{"2005 air flag 3 (normal)", "3", at + " pm25=38/3", true, nil},
		{"vendor H above range", "H", at + " pm25=38/H", true, nil},
		{"vendor L below range", "L", at + " pm25=38/L", true, nil},
		{"vendor user threshold ]", "]", at + " pm25=38/]", true, nil},
		{"lower-case n is not N", "n", at + " pm25=38/n", true, nil},
		{"two characters", "NN", "", false, []string{"a34004:" + ReasonUnknownFlag}},
		{"empty", "", "", false, []string{"a34004:" + ReasonUnknownFlag}},
		{"a quote would break line protocol", `"`, "", false, []string{"a34004:" + ReasonUnknownFlag}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, build("QN=1;ST=22;CN=2011;MN=X;Flag=4;CP=&&"+dt+"a34004-Rtd=38,a34004-Flag="+tt.flag+"&&"), ParseOptions{})
			b, err := f.Readings("st", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			readings, problems := summary(b)
			if strings.Join(readings, "|") != tt.reading {
				t.Errorf("readings %q, want %q", readings, tt.reading)
			}
			if strings.Join(problems, " ") != strings.Join(tt.problems, " ") {
				t.Errorf("problems %q, want %q", problems, tt.problems)
			}
			noted := len(b.Notes) == 1 && b.Notes[0].Reason == ReasonUnknownFlag && b.Notes[0].Key == "a34004"
			if noted != tt.note || len(b.Notes) > 1 {
				t.Errorf("notes %v, want an unknown flag noted: %v", b.Notes, tt.note)
			}
		})
	}
}
