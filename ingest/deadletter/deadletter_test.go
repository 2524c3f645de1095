package deadletter

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func lines(t *testing.T, path string) []Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, r)
	}
	return out
}

func TestRotation(t *testing.T) {
	rec := func(i int) (Record, []byte) {
		return Record{Reason: "bad_json", Station: "zz-air-0001", Detail: strings.Repeat("x", 50)}, []byte{byte('a' + i)}
	}
	// The size of one record as written.
	probe := filepath.Join(t.TempDir(), "probe.jsonl")
	d, err := Open(probe, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	r, p := rec(0)
	if err := d.Write(r, p); err != nil {
		t.Fatal(err)
	}
	d.Close()
	st, err := os.Stat(probe)
	if err != nil {
		t.Fatal(err)
	}
	limit := 2*st.Size() + st.Size()/2 // two records fit, a third rotates

	cases := []struct {
		name        string
		blockRotate bool // the .1 name is taken by a directory: the rename fails
		wantMain    string
		wantRotated string
	}{
		{"rotates to .1 at the limit", false, "e", "cd"},
		{"a failed rotation writes on in the file", true, "abcde", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dead.jsonl")
			if c.blockRotate {
				if err := os.Mkdir(path+".1", 0o750); err != nil {
					t.Fatal(err)
				}
			}
			d, err := Open(path, limit)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				r, p := rec(i)
				if err := d.Write(r, p); err != nil {
					t.Errorf("record %d: %v", i, err)
				}
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if err := d.Write(Record{Reason: "late"}, nil); err == nil {
				t.Error("Write after Close succeeded")
			}
			payloads := func(path string) string {
				var b strings.Builder
				for _, r := range lines(t, path) {
					p, _ := base64.StdEncoding.DecodeString(r.Payload)
					b.Write(p)
					if r.Time.IsZero() {
						t.Errorf("record without a time: %+v", r)
					}
				}
				return b.String()
			}
			main, rotated := payloads(path), ""
			if !c.blockRotate {
				rotated = payloads(path + ".1")
			}
			if main != c.wantMain || rotated != c.wantRotated {
				t.Errorf("file holds %q, .1 holds %q; want %q and %q", main, rotated, c.wantMain, c.wantRotated)
			}
		})
	}
}
