package hj212

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// minFrame is the shortest byte string that can be a frame: "##", 4 length
// digits, 4 CRC digits, CR LF.
const minFrame = headLen + crcLen + 2

// Framer cuts a TCP byte stream into frames. A frame runs from "##" to the
// first LF, which HJ 212 precedes with CR: the data segment cannot hold CR
// or LF, so the terminator is unambiguous even when the length field is
// wrong (Parse then reports the bad length rather than the framer silently
// losing sync). Devices that end frames in LF alone are cut the same way
// rather than lost as oversized; Parse decides whether what precedes the LF
// is a frame. Frames may arrive split across reads or several to a read.
//
// It resynchronises on garbage: bytes before "##" are skipped and counted,
// as is a "##"…LF too short to hold a length and a CRC,
// and a frame that contains a second "##" but whose length field does not fit
// is taken to be a truncated frame followed by a whole one, so the bytes
// before the second "##" are skipped. A frame with no LF within the size
// bound is discarded up to the next "##".
//
// A Framer is not safe for concurrent use; use one per connection.
type Framer struct {
	r      io.Reader
	max    int
	buf    []byte
	start  int // buffered bytes are buf[start:end]
	end    int
	stats  FramerStats
	drop   bool  // inside an oversized frame: discard up to the next "##"
	eof    bool  // r has returned io.EOF
	silent int   // consecutive reads returning 0, nil
	err    error // a read error to return once the buffer is drained
}

// FramerStats counts what a Framer has done, for metrics.
type FramerStats struct {
	Frames    int64 // frames returned
	Skipped   int64 // bytes not returned in any frame: garbage, oversized and truncated frames
	Oversized int64 // frames discarded for exceeding the size bound
}

// NewFramer returns a Framer reading r. maxLen bounds a frame ("##" to CR
// LF inclusive) in bytes; 0 means DefaultMaxLen. The buffer is maxLen bytes.
func NewFramer(r io.Reader, maxLen int) *Framer {
	if maxLen <= 0 {
		maxLen = DefaultMaxLen
	}
	maxLen = max(maxLen, minFrame)
	return &Framer{r: r, max: maxLen, buf: make([]byte, maxLen)}
}

// Stats returns the counts so far.
func (fr *Framer) Stats() FramerStats { return fr.stats }

var (
	frameStart = []byte("##")
)

// Next returns the next frame, "##" to LF inclusive (CR LF, or LF alone). The slice is valid
// until the following call. Feed it to Parse.
//
// An error wrapping ErrTooLong reports a discarded oversized frame: the
// Framer has already resynchronised and Next may be called again. Read
// errors from the underlying reader are returned as they are, after the
// frames already buffered; at the end of the stream Next returns io.EOF, or
// io.ErrUnexpectedEOF when the stream ended inside a frame (whose bytes are
// counted as skipped).
func (fr *Framer) Next() ([]byte, error) {
	for {
		data := fr.buf[fr.start:fr.end]
		if fr.drop {
			if i := bytes.Index(data, frameStart); i >= 0 {
				fr.skip(i)
				fr.drop = false
				continue
			}
			fr.skip(len(data) - trailingHash(data))
		} else if i := bytes.Index(data, frameStart); i < 0 {
			fr.skip(len(data) - trailingHash(data))
		} else {
			// In "###0101…" the frame starts at the last "##": a data
			// segment never begins with '#', so a stray '#' is garbage.
			for i+2 < len(data) && data[i+2] == '#' {
				i++
			}
			if i > 0 {
				fr.skip(i)
				data = data[i:]
			}
			if j := bytes.IndexByte(data[:min(len(data), fr.max)], '\n'); j >= 0 {
				frame := data[:j+1]
				if k := bytes.Index(frame[2:], frameStart); k >= 0 && !lengthFits(frame) {
					fr.skip(k + 2)
					continue
				}
				if len(trimEnd(frame)) < headLen+crcLen {
					fr.skip(len(frame)) // too short to be anything but noise
					continue
				}
				fr.start += len(frame)
				fr.stats.Frames++
				return frame, nil
			}
			if len(data) >= fr.max {
				fr.stats.Oversized++
				fr.skip(2) // past this "##"; drop mode finds the next one
				fr.drop = true
				return nil, fmt.Errorf("%w: no LF within %d bytes of ##", ErrTooLong, fr.max)
			}
		}
		if err := fr.fill(); err != nil {
			return nil, err
		}
	}
}

// skip discards n buffered bytes.
func (fr *Framer) skip(n int) {
	fr.start += n
	fr.stats.Skipped += int64(n)
}

// trailingHash is 1 when data ends with a '#' that may begin a "##" split
// across reads; that byte must be kept.
func trailingHash(data []byte) int {
	if len(data) > 0 && data[len(data)-1] == '#' {
		return 1
	}
	return 0
}

// lengthFits reports whether a candidate frame's length field matches its
// size, i.e. whether it is a whole frame rather than a truncated one
// followed by another.
func lengthFits(frame []byte) bool {
	n, ok := parseDigits(frame[2:6], 4)
	return ok && n+headLen+crcLen == len(trimEnd(frame))
}

// fill reads more bytes, making room first. It returns the error to give the
// caller when no more bytes will come.
func (fr *Framer) fill() error {
	if fr.start > 0 {
		fr.end = copy(fr.buf, fr.buf[fr.start:fr.end])
		fr.start = 0
	}
	if fr.eof || fr.err != nil {
		return fr.finish()
	}
	n, err := fr.r.Read(fr.buf[fr.end:])
	fr.end += n
	switch {
	case errors.Is(err, io.EOF):
		fr.eof = true
	case err != nil:
		fr.err = err
	case n == 0:
		// A reader that keeps returning nothing would spin us forever.
		if fr.silent++; fr.silent >= 100 {
			fr.err = io.ErrNoProgress
		}
		return nil
	}
	fr.silent = 0
	if n > 0 {
		return nil // scan what arrived before reporting the error
	}
	return fr.finish()
}

// finish reports the end of input once the buffer holds no whole frame.
func (fr *Framer) finish() error {
	if fr.err != nil {
		err := fr.err
		fr.err = nil // a timeout may be retried; report it once
		return err
	}
	// Left over: a frame cut off by the end of the stream, or a lone '#'
	// kept in case a "##" was split across reads. An oversized frame cut
	// off has already been reported as ErrTooLong.
	rest := fr.buf[fr.start:fr.end]
	partial := !fr.drop && bytes.HasPrefix(rest, frameStart)
	fr.skip(len(rest))
	fr.drop = false
	if partial {
		return io.ErrUnexpectedEOF
	}
	return io.EOF
}
