package jsonstr

import (
	"encoding/json"
	"testing"
)

func TestAppendReadsBackAsEncodingJSONWouldWriteIt(t *testing.T) {
	for _, s := range []string{"a\"b\\c\n黄", "zz-air-0101", "\x01\x1f", "bad \xff byte"} {
		got := Append(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("Append(%q) = %s: %v", s, got, err)
			continue
		}
		want, _ := json.Marshal(s)
		var wantBack string
		json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("Append(%q) reads back as %q, encoding/json's as %q", s, back, wantBack)
		}
	}
}
