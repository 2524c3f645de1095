package aqi

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// testdata/aqi-vectors.csv is a copy of shared/reference/aqi-vectors.csv,
// kept in the package so the test does not depend on where the reference
// is checked out.
const vectorsFile = "testdata/aqi-vectors.csv"

// readVectors returns the rows of a CSV file as maps from column name to
// cell, with the line number of each row.
func readVectors(t *testing.T, path string) (rows []map[string]string, lines []int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 {
		t.Fatalf("%s: no data rows", path)
	}
	head := recs[0]
	for i, rec := range recs[1:] {
		row := make(map[string]string, len(head))
		for j, h := range head {
			row[h] = strings.TrimSpace(rec[j])
		}
		rows = append(rows, row)
		lines = append(lines, i+2)
	}
	return rows, lines
}

func TestReferenceVectors(t *testing.T) {
	rows, lines := readVectors(t, vectorsFile)
	for k, row := range rows {
		name := fmt.Sprintf("line %d: %s %s", lines[k], row["edition"], row["report"])
		t.Run(name, func(t *testing.T) {
			ed, err := ParseEdition(row["edition"])
			if err != nil {
				t.Fatal(err)
			}
			rep, err := ParseReport(row["report"])
			if err != nil {
				t.Fatal(err)
			}
			in := Inputs{}
			for _, ind := range Indicators() {
				s := row[string(ind)]
				if s == "" {
					continue
				}
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatalf("%s: %v", ind, err)
				}
				in[ind] = v
			}
			got, err := Compute(ed, rep, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, ind := range Indicators() {
				want := row["iaqi_"+string(ind)]
				v, ok := got.IAQI[ind]
				gotS := ""
				if ok {
					gotS = strconv.Itoa(v)
				}
				if gotS != want {
					t.Errorf("iaqi_%s = %q, want %q", ind, gotS, want)
				}
			}
			if s := strconv.Itoa(got.AQI); s != row["aqi"] {
				t.Errorf("aqi = %s, want %s", s, row["aqi"])
			}
			if s := strconv.Itoa(int(got.Level)); s != row["level"] {
				t.Errorf("level = %s, want %s", s, row["level"])
			}
			if s := strings.Join(got.Primary, "+"); s != row["primary"] {
				t.Errorf("primary = %q, want %q", s, row["primary"])
			}
		})
	}
}
