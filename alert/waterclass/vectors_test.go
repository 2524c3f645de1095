package waterclass

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// testdata/water-class-vectors.csv is a copy of
// shared/reference/water-class-vectors.csv (river samples), kept in the
// package so the test does not depend on where the reference is.
const vectorsFile = "testdata/water-class-vectors.csv"

func TestReferenceVectors(t *testing.T) {
	f, err := os.Open(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := recs[0]
	// The input columns are those with a class_ column beside them.
	var items []string
	for _, h := range head {
		if name, ok := strings.CutPrefix(h, "class_"); ok {
			items = append(items, name)
		}
	}
	if len(items) == 0 || len(recs) < 2 {
		t.Fatalf("%s: no items or no rows", vectorsFile)
	}
	for n, rec := range recs[1:] {
		row := map[string]string{}
		for j, h := range head {
			row[h] = strings.TrimSpace(rec[j])
		}
		t.Run(fmt.Sprintf("line %d classifies as %s", n+2, row["class"]), func(t *testing.T) {
			sample := map[string]float64{}
			for _, it := range items {
				v, err := strconv.ParseFloat(row[it], 64)
				if err != nil {
					t.Fatalf("%s: %v", it, err)
				}
				sample[it] = v
			}
			got, err := Assess(sample, Options{Waterbody: River})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				ir, ok := got.Item(it)
				if !ok {
					t.Errorf("%s not assessed", it)
					continue
				}
				if s := strconv.Itoa(int(ir.Class)); s != row["class_"+it] {
					t.Errorf("class_%s = %s, want %s", it, s, row["class_"+it])
				}
			}
			if s := strconv.Itoa(int(got.Class)); s != row["class"] {
				t.Errorf("class = %s, want %s", s, row["class"])
			}
			if s := strings.Join(got.Worst, "+"); s != row["worst"] {
				t.Errorf("worst = %q, want %q", s, row["worst"])
			}
		})
	}
}
