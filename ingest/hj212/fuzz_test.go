package hj212

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// sameFrame compares what a frame says (not how it was spelled).
func sameFrame(a, b *Frame) bool {
	norm := func(cp CP) string { return cp.String() }
	return a.QN == b.QN && a.ST == b.ST && a.CN == b.CN && a.PW == b.PW && a.MN == b.MN &&
		a.Flag == b.Flag && a.HasFlag == b.HasFlag && a.PNUM == b.PNUM && a.PNO == b.PNO &&
		norm(a.CP) == norm(b.CP)
}

// FuzzParse feeds arbitrary bytes to Parse twice: as a frame, and wrapped as
// a data segment with the right length and CRC (so that the fuzzer reaches
// the header and CP parsers). Whatever Parse accepts must encode and parse
// back to the same frame, and a frame with a standard CRC and a byte-count
// length must encode to its own bytes.
//
// Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in)
		if len(in) <= maxSegment {
			checkParse(t, []byte(build(string(in))))
		}
	})
}

func checkParse(t *testing.T, in []byte) {
	fr, err := Parse(in, ParseOptions{AcceptSwappedCRC: true})
	if err != nil {
		if Reason(err) == ReasonInvalid {
			t.Fatalf("error without a reason: %v", err)
		}
		if _, ok := errors.AsType[*FrameError](err); !ok {
			t.Fatalf("error %T is not a *FrameError", err)
		}
		if fr != nil && !errors.Is(err, ErrCRC) {
			t.Fatalf("frame returned with %v", err)
		}
		return
	}
	enc, err := fr.Encode()
	if err != nil {
		t.Fatalf("Parse accepted %q but Encode fails: %v", in, err)
	}
	back, err := Parse(enc, ParseOptions{})
	if err != nil {
		t.Fatalf("re-encoded frame %q does not parse: %v", enc, err)
	}
	if !sameFrame(fr, back) {
		t.Fatalf("round trip changed the frame:\n%+v\n%+v", fr, back)
	}
	if again, _ := back.Encode(); !bytes.Equal(again, enc) {
		t.Fatalf("second encoding differs:\n%q\n%q", enc, again)
	}
	orig := trimEnd(in)
	if n, _ := parseDigits(orig[2:6], 4); fr.SwappedCRC || n != len(orig)-headLen-crcLen {
		return // the CRC or the length field is rewritten the standard way
	}
	enc = bytes.TrimSuffix(enc, []byte("\r\n"))
	if !bytes.Equal(enc[:len(enc)-crcLen], orig[:len(orig)-crcLen]) ||
		!bytes.EqualFold(enc[len(enc)-crcLen:], orig[len(orig)-crcLen:]) {
		t.Fatalf("re-encoding is not byte-identical:\n%q\n%q", orig, enc)
	}
}

// FuzzFramer cuts arbitrary streams with small and default bounds, in one
// read and in reads of varying size. The frames and errors must not depend
// on how the stream was read, every frame must be "##"…LF within the
// bound, and every byte must be either in a frame or counted as skipped.
//
// Seeds: testdata/fuzz/FuzzFramer.
func FuzzFramer(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8, maxLen uint16) {
		limit := int(maxLen)
		if limit != 0 {
			limit = max(limit%2048, minFrame)
		}
		whole, wholeStats := frameAll(t, bytes.NewReader(in), limit, len(in))
		split, splitStats := frameAll(t, &chunkReader{data: in, sizes: chunk}, limit, len(in))
		if !reflect.DeepEqual(whole, split) || wholeStats != splitStats {
			t.Fatalf("depends on read sizes:\n%q %+v\n%q %+v", whole, wholeStats, split, splitStats)
		}
		bound := limit
		if bound == 0 {
			bound = DefaultMaxLen
		}
		var inFrames int64
		for _, fr := range whole {
			if fr == "!too-long" || fr == "!unexpected-eof" {
				continue
			}
			if len(trimEnd([]byte(fr))) < headLen+crcLen || len(fr) > bound || fr[:2] != "##" || fr[len(fr)-1] != '\n' ||
				strings.Contains(fr[:len(fr)-1], "\n") {
				t.Fatalf("bad frame %q (bound %d)", fr, bound)
			}
			inFrames += int64(len(fr))
		}
		if inFrames+wholeStats.Skipped != int64(len(in)) {
			t.Fatalf("frames %d + skipped %d != %d bytes", inFrames, wholeStats.Skipped, len(in))
		}
	})
}

// frameAll drains a Framer; n bounds the number of calls to catch loops.
func frameAll(t *testing.T, r io.Reader, maxLen, n int) ([]string, FramerStats) {
	fr := NewFramer(r, maxLen)
	var out []string
	for range n + 3 {
		frame, err := fr.Next()
		switch {
		case err == nil:
			out = append(out, string(frame))
		case errors.Is(err, io.EOF):
			return out, fr.Stats()
		case errors.Is(err, ErrTooLong):
			out = append(out, "!too-long")
		case errors.Is(err, io.ErrUnexpectedEOF):
			out = append(out, "!unexpected-eof")
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	t.Fatalf("no io.EOF after %d calls", n+3)
	return nil, FramerStats{}
}

// chunkReader returns data in reads of 1, 2, … sizes bytes, cycling.
type chunkReader struct {
	data  []byte
	sizes uint8
	next  int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	r.next = r.next%max(int(r.sizes), 1) + 1
	n := copy(p[:min(len(p), r.next)], r.data)
	r.data = r.data[n:]
	return n, nil
}
