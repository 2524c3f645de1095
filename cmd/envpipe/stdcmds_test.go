package main

import (
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"strings"
	"testing"
)

// The reference vectors, as copied into the standards packages' testdata.
const (
	stdAQIVectors   = "../../alert/aqi/testdata/aqi-vectors.csv"
	stdWaterVectors = "../../alert/waterclass/testdata/water-class-vectors.csv"
)

// stdCmd is the signature of cmdAQI and cmdWaterClass.
type stdCmd = func(args []string, stdin io.Reader, stdout, stderr io.Writer) int

// stdRun runs a subcommand and returns its exit code, stdout and stderr.
func stdRun(cmd stdCmd, args []string, stdin string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := cmd(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// stdParseCSVOutput returns a command's CSV output as rows of column → cell.
func stdParseCSVOutput(t *testing.T, s string) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, s)
	}
	if len(recs) == 0 {
		t.Fatal("no output")
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	return rows
}

// stdCheckVectors feeds a reference CSV through a command with -csv -o csv
// and checks that every column of every row of the reference, inputs and
// expected outputs alike, comes out unchanged.
func stdCheckVectors(t *testing.T, cmd stdCmd, path string, extra ...string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := stdRun(cmd, append([]string{"-csv", "-o", "csv"}, extra...), string(data))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The output has exactly the reference's columns and cells, inputs
	// echoed as written; only the line ends differ (the reference has
	// CRLF, the command writes LF).
	if ref := strings.ReplaceAll(string(data), "\r\n", "\n"); out != ref {
		t.Errorf("output differs from %s", path)
	}
	want := stdParseCSVOutput(t, string(data))
	got := stdParseCSVOutput(t, out)
	if len(got) != len(want) {
		t.Fatalf("%d rows out, want %d", len(got), len(want))
	}
	for i := range want {
		for col, w := range want[i] {
			g, ok := got[i][col]
			if !ok {
				t.Fatalf("output has no column %q", col)
			}
			if g != w {
				t.Errorf("row %d (line %d) %s = %q, want %q", i+1, i+2, col, g, w)
			}
		}
	}
}

func TestCmdAQIReproducesTheReferenceVectors(t *testing.T) {
	stdCheckVectors(t, cmdAQI, stdAQIVectors)
}

func TestCmdWaterClassReproducesTheReferenceVectors(t *testing.T) {
	stdCheckVectors(t, cmdWaterClass, stdWaterVectors)
}

func TestCmdAQIFromTheCommandLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want map[string]string
	}{
		{
			name: "flags and name=value arguments combine",
			args: []string{"-edition", "2026", "-report", "daily", "-pm25_24h", "75", "so2_24h=10"},
			want: map[string]string{"edition": "2026", "report": "daily", "iaqi_pm25_24h": "114", "iaqi_so2_24h": "10",
				"aqi": "114", "level": "3", "primary": "pm25", "iaqi_pm10_24h": ""},
		},
		{
			name: "auto picks 2012 for the last day of February 2026",
			args: []string{"-date", "2026-02-28", "-report", "daily", "pm25_24h=75"},
			want: map[string]string{"edition": "2012", "aqi": "100", "level": "2"},
		},
		{
			name: "auto picks 2026 from the first of March 2026",
			args: []string{"-date", "2026-03-01", "-report", "daily", "pm25_24h=75"},
			want: map[string]string{"edition": "2026", "aqi": "114", "level": "3"},
		},
		{
			name: "an RFC 3339 time in UTC is judged in China Standard Time",
			args: []string{"-date", "2026-02-28T16:30:00Z", "-report", "daily", "pm25_24h=75"},
			want: map[string]string{"edition": "2026"},
		},
		{
			name: "the hourly report is the default",
			args: []string{"-edition", "2012", "so2_1h=900", "so2_24h=300"},
			want: map[string]string{"report": "hourly", "iaqi_so2_1h": "124", "iaqi_so2_24h": "", "aqi": "124"},
		},
		{
			name: "an AQI of 50 or less has no primary pollutant",
			args: []string{"-edition", "2026", "pm25_1h=35"},
			want: map[string]string{"aqi": "50", "level": "1", "primary": ""},
		},
		{
			name: "values the report does not use give no AQI",
			args: []string{"-edition", "2026", "-report", "daily", "o3_1h=100"},
			want: map[string]string{"aqi": "", "level": "", "o3_1h": "100", "iaqi_o3_1h": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := stdRun(cmdAQI, append([]string{"-o", "csv"}, tt.args...), "")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			rows := stdParseCSVOutput(t, out)
			if len(rows) != 1 {
				t.Fatalf("%d rows", len(rows))
			}
			for col, w := range tt.want {
				if g := rows[0][col]; g != w {
					t.Errorf("%s = %q, want %q", col, g, w)
				}
			}
		})
	}
}

func TestCmdAQIReadsCSVWithOptionalColumns(t *testing.T) {
	in := "station,date,pm25_24h,edition,pm10_24h,time\n" +
		"a,2026-02-28,75,,\n" +
		"b,2026-03-01,75,auto,150\n" +
		"c,2020-01-01,75,2026,\n" +
		"d,,75,,,2026-03-01T00:00:00+08:00\n"
	code, out, errOut := stdRun(cmdAQI, []string{"-csv", "-o", "csv", "-report", "daily"}, in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rows := stdParseCSVOutput(t, out)
	want := []struct{ edition, aqi, primary string }{
		{"2012", "100", "pm25"},
		{"2026", "114", "pm25"},
		{"2026", "114", "pm25"},
		{"2026", "114", "pm25"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows: %s", len(rows), out)
	}
	for i, w := range want {
		if rows[i]["edition"] != w.edition || rows[i]["aqi"] != w.aqi || rows[i]["primary"] != w.primary {
			t.Errorf("row %d = %v, want %+v", i, rows[i], w)
		}
	}
	if _, ok := rows[0]["station"]; ok {
		t.Error("extra input columns should not be copied to the output")
	}
}

func TestCmdAQITableShowsLevelAndCategory(t *testing.T) {
	code, out, errOut := stdRun(cmdAQI, []string{"-edition", "2026", "-report", "daily", "pm25_24h=650", "pm10_24h=100"}, "")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"iaqi_pm25_24h", ">500", "VI", "严重污染", "#7E0023", "pm25"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "iaqi_so2_24h") {
		t.Errorf("table shows a column no row scores:\n%s", out)
	}
}

func TestCmdWaterClassFromTheCommandLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want map[string]string
	}{
		{
			name: "a river sample without a target has no ratio columns",
			args: []string{"-do", "5", "nh3n=1.0", "tp=0.1"},
			want: map[string]string{"class_do": "3", "class_nh3n": "3", "class_tp": "2", "class": "3", "worst": "do+nh3n"},
		},
		{
			name: "a lake uses the lake TP limits and assesses TN",
			args: []string{"-waterbody", "lake", "tp=0.1", "tn=0.4"},
			want: map[string]string{"class_tp": "4", "class_tn": "2", "class": "4", "worst": "tp"},
		},
		{
			name: "TN in a river is not assessed",
			args: []string{"tp=0.1", "tn=3"},
			want: map[string]string{"class_tn": "", "class": "2", "worst": "tp"},
		},
		{
			name: "a target adds whether it is met and each item's ratio",
			args: []string{"-target", "II", "do=3", "nh3n=0.5", "ph=7"},
			want: map[string]string{"class": "4", "target": "II", "meets_target": "false", "exceeding": "do",
				"ratio_do": "2.000", "ratio_nh3n": "1.000", "ratio_ph": "0.857"},
		},
		{
			name: "the 2011 method reports TN without letting it decide",
			args: []string{"-method", "2011", "-waterbody", "lake", "-target", "III", "tn=5", "do=8"},
			want: map[string]string{"class": "1", "class_tn": "6", "meets_target": "true", "worst": "do"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := stdRun(cmdWaterClass, append([]string{"-o", "csv"}, tt.args...), "")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			rows := stdParseCSVOutput(t, out)
			if len(rows) != 1 {
				t.Fatalf("%d rows", len(rows))
			}
			for col, w := range tt.want {
				if g, ok := rows[0][col]; g != w || !ok {
					t.Errorf("%s = %q (present %v), want %q\n%s", col, g, ok, w, out)
				}
			}
		})
	}
}

func TestCmdWaterClassReadsPerRowWaterbodyAndTarget(t *testing.T) {
	in := "section,tp,waterbody,target,conductivity\n" +
		"xiang-1,0.1,river,II,300\n" +
		"lake-1,0.1,lake,III,310\n" +
		"none,0.1,,,\n"
	code, out, errOut := stdRun(cmdWaterClass, []string{"-csv", "-o", "csv"}, in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rows := stdParseCSVOutput(t, out)
	want := []map[string]string{
		{"waterbody": "river", "class": "2", "target": "II", "meets_target": "true", "ratio_tp": "1.000"},
		{"waterbody": "lake", "class": "4", "target": "III", "meets_target": "false", "ratio_tp": "2.000"},
		{"waterbody": "river", "class": "2", "target": "", "meets_target": "", "ratio_tp": ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows:\n%s", len(rows), out)
	}
	for i, w := range want {
		for col, v := range w {
			if rows[i][col] != v {
				t.Errorf("row %d %s = %q, want %q", i, col, rows[i][col], v)
			}
		}
	}
	if _, ok := rows[0]["conductivity"]; ok {
		t.Error("a column that is not a GB 3838 item should not be copied")
	}
}

func TestCmdWaterClassTableShowsClassesAndRatios(t *testing.T) {
	code, out, errOut := stdRun(cmdWaterClass, []string{"-target", "III", "do=1.5", "nh3n=0.5"}, "")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"劣V", "III", "no", "1.5 劣V x3.333", "0.5 II x0.500", "重度污染"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestStdCommandsRefuseBadInput(t *testing.T) {
	tests := []struct {
		name    string
		cmd     stdCmd
		args    []string
		stdin   string
		message string
	}{
		{"aqi without values prints its usage", cmdAQI, nil, "", "usage: envpipe aqi"},
		{"aqi with an unknown flag", cmdAQI, []string{"-pm2.5", "3"}, "", "flag provided but not defined"},
		{"aqi with a value that is not a number", cmdAQI, []string{"-pm25_24h", "lots"}, "", "not a number"},
		{"aqi with NaN as a value", cmdAQI, []string{"pm25_24h=NaN"}, "", "not a number"},
		{"aqi with a negative value", cmdAQI, []string{"pm25_24h=-5"}, "", `pm25_24h: "-5" is negative`},
		{"aqi -csv names the line of a negative cell", cmdAQI, []string{"-csv"}, "pm25_24h\n3\n-4\n", "line 3"},
		{"waterclass with a negative value", cmdWaterClass, []string{"do=-1"}, "", `do: "-1" is negative`},
		{"aqi with an unknown argument", cmdAQI, []string{"pm25=3"}, "", "unexpected argument"},
		{"aqi with an unknown edition", cmdAQI, []string{"-edition", "2019", "pm25_24h=3"}, "", "unknown edition"},
		{"aqi with an unknown report", cmdAQI, []string{"-report", "weekly", "pm25_24h=3"}, "", "unknown report"},
		{"aqi with an unknown output format", cmdAQI, []string{"-o", "xml", "pm25_24h=3"}, "", "want table or csv"},
		{"aqi with a bad date", cmdAQI, []string{"-date", "yesterday", "pm25_24h=3"}, "", "date"},
		{"aqi -csv with values as well", cmdAQI, []string{"-csv", "pm25_24h=3"}, "pm25_24h\n3\n", "do not give values"},
		{"aqi -csv with empty input", cmdAQI, []string{"-csv"}, "", "header"},
		{"aqi -csv names the line of a bad cell", cmdAQI, []string{"-csv"}, "pm25_24h\n3\nx\n", "line 3"},
		{"aqi -csv names the line of a bad edition", cmdAQI, []string{"-csv"}, "edition,pm25_24h\n2012,3\n1999,4\n", "line 3"},
		{"waterclass without values prints its usage", cmdWaterClass, nil, "", "usage: envpipe waterclass"},
		{"waterclass with an unknown item", cmdWaterClass, []string{"chla=3"}, "", "unexpected argument"},
		{"waterclass with an unknown water body", cmdWaterClass, []string{"-waterbody", "sea", "do=3"}, "", "waterbody"},
		{"waterclass with worse than V as a target", cmdWaterClass, []string{"-target", "劣V", "do=3"}, "", "not a target"},
		{"waterclass with an unknown method", cmdWaterClass, []string{"-method", "2002", "do=3"}, "", "method"},
		{"waterclass -csv without any item column", cmdWaterClass, []string{"-csv"}, "chla,turbidity\n1,2\n", "names no GB 3838 item"},
		{"waterclass -csv names the line of a bad target", cmdWaterClass, []string{"-csv"}, "do,target\n8,II\n8,VII\n", "line 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" exits 2", func(t *testing.T) {
			code, out, errOut := stdRun(tt.cmd, tt.args, tt.stdin)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if out != "" {
				t.Errorf("wrote to stdout: %q", out)
			}
			if !strings.Contains(errOut, tt.message) {
				t.Errorf("stderr %q lacks %q", errOut, tt.message)
			}
		})
	}
}

func TestStdCommandsHelpExitsZero(t *testing.T) {
	for name, cmd := range map[string]stdCmd{
		"aqi": cmdAQI, "waterclass": cmdWaterClass,
	} {
		t.Run(name+" -h prints usage and exits 0", func(t *testing.T) {
			code, _, errOut := stdRun(cmd, []string{"-h"}, "")
			if code != 0 || !strings.Contains(errOut, "usage: envpipe "+name) {
				t.Errorf("exit %d, stderr %q", code, errOut)
			}
		})
	}
}

func TestStdDisplayWidthCountsChineseAsTwoColumns(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"pm25", 4}, {"劣V", 3}, {"严重污染", 8}, {"µg/m³", 5}, {"（）", 4},
	}
	for _, tt := range tests {
		if got := stdDisplayWidth(tt.s); got != tt.want {
			t.Errorf("stdDisplayWidth(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}
