package hj212

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// refFrame is one row of a testdata TSV: name, expected verdict, frame
// without its CR LF.
type refFrame struct {
	name, expect, frame string
}

func loadFrames(t testing.TB, path string) []refFrame {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []refFrame
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			t.Fatalf("%s: want 3 tab-separated columns: %q", path, line)
		}
		out = append(out, refFrame{cols[0], cols[1], cols[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no frames", path)
	}
	return out
}

// refFrames returns the standards.md frames and the rx.log frames.
func refFrames(t testing.TB) []refFrame {
	return append(loadFrames(t, "testdata/hj212-frames.tsv"), loadFrames(t, "testdata/rx-log-frames.tsv")...)
}

func frameByName(t testing.TB, name string) string {
	t.Helper()
	for _, f := range refFrames(t) {
		if f.name == name {
			return f.frame
		}
	}
	t.Fatalf("no reference frame %s", name)
	return ""
}

func mustParse(t testing.TB, frame string, opts ParseOptions) *Frame {
	t.Helper()
	f, err := Parse([]byte(frame), opts)
	if err != nil {
		t.Fatalf("Parse(%.60q…): %v", frame, err)
	}
	return f
}

func mustEncode(t testing.TB, f *Frame) []byte {
	t.Helper()
	b, err := f.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b
}

// build wraps a data segment into a frame with the right length and CRC.
func build(seg string) string {
	return "##" + pad4(len(seg)) + seg + hex4(CRC([]byte(seg))) + "\r\n"
}

func pad4(n int) string {
	s := "0000" + itoa(n)
	return s[len(s)-4:]
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func hex4(v uint16) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[v>>12], digits[v>>8&0xF], digits[v>>4&0xF], digits[v&0xF]})
}
