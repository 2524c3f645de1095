package hj212

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// drain reads fr to the end and describes each result: the frame's text, or
// "!too-long", "!unexpected-eof", "!<error>" for errors. It stops at io.EOF
// (not listed) or after too many results.
func drain(t *testing.T, fr *Framer) []string {
	t.Helper()
	var out []string
	for range 1000 {
		frame, err := fr.Next()
		switch {
		case err == nil:
			out = append(out, string(frame))
		case errors.Is(err, io.EOF):
			return out
		case errors.Is(err, ErrTooLong):
			out = append(out, "!too-long")
		case errors.Is(err, io.ErrUnexpectedEOF):
			out = append(out, "!unexpected-eof")
		default:
			out = append(out, "!"+err.Error())
		}
	}
	t.Fatal("Framer does not reach io.EOF")
	return nil
}

func TestFramer(t *testing.T) {
	a := build("QN=1;ST=22;CN=2011;MN=A;Flag=4;CP=&&DataTime=20260101000000;a34004-Rtd=1&&")
	b := build("ST=22;CN=2011;MN=B;CP=&&&&")
	c := frameByName(t, "RX1025") + "\r\n" // over 1024 characters, swapped CRC
	big := build("ST=22;CN=2011;MN=C;CP=&&x=" + strings.Repeat("9", 200) + "&&")
	badLen := "##0999" + a[6:] // length field wrong, no second ## inside
	truncated := a[:40]

	tests := []struct {
		name    string
		in      string
		maxLen  int
		want    []string
		skipped int64
		over    int64
	}{
		{"one frame", a, 0, []string{a}, 0, 0},
		{"joined in one read", a + b + c, 0, []string{a, b, c}, 0, 0},
		{"garbage before and between", "xx\r\n" + a + "junk#" + b + "\x00", 0, []string{a, b}, 4 + 5 + 1, 0},
		{"stray # before ##", "###" + a[2:], 0, []string{a}, 1, 0},
		{"truncated frame then a whole one", truncated + a, 0, []string{a}, int64(len(truncated)), 0},
		{"bad length is left to Parse", badLen + b, 0, []string{badLen, b}, 0, 0},
		{"oversized frame then a good one", big + a, 100, []string{"!too-long", a}, int64(len(big)), 1},
		{"oversized frame with nothing after", big, 100, []string{"!too-long"}, int64(len(big)), 1},
		{"frame exactly at the bound", a, len(a), []string{a}, 0, 0},
		{"frame one byte over the bound", a, len(a) - 1, []string{"!too-long"}, int64(len(a)), 1},
		{"stream ends inside a frame", a + truncated, 0, []string{a, "!unexpected-eof"}, int64(len(truncated)), 0},
		{"stream ends with garbage", a + "zz#", 0, []string{a}, 3, 0},
		{"frame without LF is skipped", strings.Replace(a, "\r\n", "\r", 1) + b, 0, []string{b}, int64(len(a) - 1), 0},
		{"empty stream", "", 0, nil, 0, 0},
		{"too short to be a frame", "##\r\n##12\r\n" + b, 0, []string{b}, 10, 0},
		{"frame ending in LF alone", lf(a) + b, 0, []string{lf(a), b}, 0, 0},
		{"frames ending in LF alone, joined", lf(a) + lf(b) + lf(c), 0, []string{lf(a), lf(b), lf(c)}, 0, 0},
		{"garbage line ending in LF alone", "noise\n" + lf(a), 0, []string{lf(a)}, 6, 0},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+EOF": iotest.DataErrReader,
	}
	for _, tt := range tests {
		for rname, wrap := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				fr := NewFramer(wrap(strings.NewReader(tt.in)), tt.maxLen)
				got := drain(t, fr)
				if strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Errorf("got  %q\nwant %q", got, tt.want)
				}
				st := fr.Stats()
				if st.Skipped != tt.skipped || st.Oversized != tt.over {
					t.Errorf("stats %+v, want skipped %d oversized %d", st, tt.skipped, tt.over)
				}
				var frameBytes int64
				for _, g := range got {
					if !strings.HasPrefix(g, "!") {
						frameBytes += int64(len(g))
					}
				}
				if frameBytes+st.Skipped != int64(len(tt.in)) || st.Frames != int64(len(got))-st.Oversized-int64(strings.Count(strings.Join(got, "|"), "!unexpected-eof")) {
					t.Errorf("bytes unaccounted for: frames %d + skipped %d != %d; stats %+v", frameBytes, st.Skipped, len(tt.in), st)
				}
			})
		}
	}
}

// TestFramerFramesParse: what the Framer cuts from a stream of the reference
// frames parses.
func TestFramerFramesParse(t *testing.T) {
	var stream bytes.Buffer
	var want []string
	for _, rf := range refFrames(t) {
		stream.WriteString("\x00garbage")
		stream.WriteString(rf.frame + "\r\n")
		want = append(want, rf.expect)
	}
	fr := NewFramer(iotest.HalfReader(&stream), 0)
	var got []string
	for {
		frame, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, verdict(Parse(frame, ParseOptions{AcceptSwappedCRC: true})))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("verdicts %v, want %v", got, want)
	}
}

// TestFramerReadErrors: a read error comes after the frames already read,
// once; a timeout can be retried.
func TestFramerReadErrors(t *testing.T) {
	a := build("ST=22;CN=2011;MN=A;CP=&&&&")
	b := build("ST=22;CN=2011;MN=B;CP=&&&&")
	// TimeoutReader fails the second read only.
	fr := NewFramer(iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader(a+b))), 0)
	var got []string
	for range 100 {
		frame, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			got = append(got, "!"+err.Error())
			continue
		}
		got = append(got, string(frame))
	}
	want := []string{"!" + iotest.ErrTimeout.Error(), a, b}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}

	// A reader that never makes progress is reported, not spun on.
	fr = NewFramer(zeroReader{}, 0)
	if _, err := fr.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("err %v, want io.ErrNoProgress", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func BenchmarkFramer(b *testing.B) {
	var stream []byte
	for range 100 {
		stream = append(stream, frameByName(b, "TV2")+"\r\n"...)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	r := bytes.NewReader(stream)
	for b.Loop() {
		r.Reset(stream)
		fr := NewFramer(r, 0)
		for {
			if _, err := fr.Next(); err != nil {
				break
			}
		}
	}
}

// lf turns a frame's CR LF into LF alone, as some devices send it.
func lf(frame string) string { return strings.TrimSuffix(frame, "\r\n") + "\n" }
