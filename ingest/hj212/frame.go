package hj212

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultMaxLen bounds a whole frame ("##" to CR LF) when ParseOptions.MaxLen
// or the Framer's limit is zero. The standard allows 1036 bytes, but real
// devices send longer frames (data segments of 1025 and 1623 characters are
// in standards.md §4.1); 10 KiB admits every frame the 4-digit length field
// can describe (at most 10011 bytes).
const DefaultMaxLen = 10 << 10

// The fixed parts of a frame: "##", the 4-digit length, the 4-digit CRC.
const (
	headLen = 2 + 4
	crcLen  = 4
	// maxSegment is the longest data segment a 4-digit length can describe.
	maxSegment = 9999
)

// Flag is the packet flag byte (standards.md §4.3): bits V5..V0 are the
// protocol version, D (bit 1) marks a split message, A (bit 0) asks for a
// response.
type Flag uint8

const (
	FlagAck   Flag = 1 << 0 // A: the receiver must respond (9014 for data uploads)
	FlagSplit Flag = 1 << 1 // D: the packet carries PNUM and PNO
)

// Version is the protocol edition in the Flag's upper six bits.
type Version uint8

const (
	Version2005 Version = 0 // HJ/T 212-2005
	Version2017 Version = 1 // HJ 212-2017
	// Version2025 is HJ 212-2025 according to one library only (standards.md
	// §4.11), and a 2021 frame already uses it: do not infer the edition
	// from it.
	Version2025 Version = 2
)

// Version returns the protocol version encoded in f.
func (f Flag) Version() Version { return Version(f >> 2) }

// Has reports whether every bit of bits is set in f.
func (f Flag) Has(bits Flag) bool { return f&bits == bits }

// MakeFlag builds a Flag from a version and the D/A bits.
func MakeFlag(v Version, bits Flag) Flag { return Flag(v)<<2 | bits&(FlagAck|FlagSplit) }

// Frame is one HJ 212 communication packet. Header fields hold their text as
// received; absent fields are empty (QN, ST, PW, MN), zero (PNUM, PNO) or
// HasFlag == false (Flag), because real devices omit QN and Flag.
//
// A Frame from Parse re-encodes byte for byte, the CRC's hex case included
// (but a swapped CRC is rewritten as the HJ 212 one, and a length field that
// counted characters as the byte count): it remembers the header fields'
// order and raw text. Changing an exported field changes only that field's
// text.
type Frame struct {
	QN      string // request number, YYYYMMDDhhmmsszzz; echoed in responses
	ST      string // system code, e.g. "22" air quality, "21" surface water, "91" responses
	CN      string // command code, 4 digits
	PW      string // access password
	MN      string // device ID; 24 hex digits by the standard, anything in the field
	Flag    Flag
	HasFlag bool // whether the frame has a Flag field
	PNUM    int  // total packets of a split message; 0 when absent
	PNO     int  // this packet's number, 1..PNUM; 0 when absent
	CP      CP

	// SwappedCRC reports that the frame carried the byte-swapped Modbus CRC
	// instead of the HJ 212 one. Parse sets it whether or not
	// ParseOptions.AcceptSwappedCRC let the frame through, so the caller can
	// count it and decide per station.
	SwappedCRC bool

	layout   []headerField // header fields as received, in order
	crcLower bool          // the received CRC was written in lower case
}

// headerField is one "key=value" of the data segment before CP, as received.
type headerField struct{ key, raw string }

// headerOrder is the standard's field order (HJ 212-2017 Table 3), used when
// encoding a frame that was not parsed.
var headerOrder = [...]string{"QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO"}

func isKnownHeader(key string) bool {
	for _, k := range headerOrder {
		if k == key {
			return true
		}
	}
	return false
}

// Header returns the raw text of a header field as received, including
// fields this package does not know. It reports false for fields the frame
// did not carry and for every field of a frame that was not parsed.
func (f *Frame) Header(key string) (string, bool) {
	for _, h := range f.layout {
		if h.key == key {
			return h.raw, true
		}
	}
	return "", false
}

// WantsAck reports whether the sender asked for a response (Flag bit A).
func (f *Frame) WantsAck() bool { return f.HasFlag && f.Flag.Has(FlagAck) }

// IsSplit reports whether f is one packet of a message split into several.
func (f *Frame) IsSplit() bool { return f.PNUM > 1 }

// ParseOptions tune Parse for what a deployment or a station needs.
type ParseOptions struct {
	// MaxLen bounds the whole frame in bytes; 0 means DefaultMaxLen.
	MaxLen int
	// AcceptSwappedCRC accepts a frame whose CRC field holds the
	// byte-swapped CRC-16/MODBUS some devices send; Frame.SwappedCRC then
	// reports it. Without it such frames fail with ErrCRC (and still have
	// SwappedCRC set on the returned frame).
	AcceptSwappedCRC bool
}

// Parse decodes one frame: "##", the 4-digit length of the data segment, the
// data segment, the 4-hex-digit CRC, and an optional CR LF (MQTT payloads and
// logs often drop it). Some devices end frames in LF alone, and MQTT
// payloads may carry trailing blanks or a second CR LF: any run of spaces,
// tabs, CRs and LFs after the CRC is accepted, since the length field and the
// fixed-size CRC already say where the frame ends. Nothing else may follow.
//
// It is strict where a mistake would corrupt data: the length must match the
// data segment, the CRC must match (any hex case), and the header and CP must
// be well-formed key=value lists. It tolerates what real devices do: missing
// QN, Flag, ST, PW or MN, MNs of any shape, PNO before PNUM, unknown header
// fields (kept for re-encoding), and frames longer than the standard's 1024
// characters up to MaxLen. The length field may count UTF-8 characters instead
// of bytes when the segment holds non-ASCII text, since the standard says
// "characters" and does not settle which.
//
// Errors are *FrameError values wrapping ErrTooLong, ErrLength, ErrCRC or
// ErrSyntax. On a CRC error Parse still returns the decoded frame when the
// data segment is well-formed, so the caller can answer with QnRtn 9 and the
// request's QN; nothing else in such a frame can be trusted.
func Parse(frame []byte, opts ParseOptions) (*Frame, error) {
	maxLen := opts.MaxLen
	if maxLen <= 0 {
		maxLen = DefaultMaxLen
	}
	if len(frame) > maxLen {
		return nil, frameErr(ErrTooLong, "", fmt.Sprintf("%d bytes, limit %d", len(frame), maxLen))
	}
	b := trimEnd(frame)
	if len(b) < headLen+crcLen || b[0] != '#' || b[1] != '#' {
		return nil, frameErr(ErrSyntax, "", "not ##, length, data segment, CRC")
	}
	declared, ok := parseDigits(b[2:6], 4)
	if !ok {
		return nil, frameErr(ErrLength, "", fmt.Sprintf("length field %q is not 4 digits", b[2:6]))
	}
	seg, crcText := b[headLen:len(b)-crcLen], b[len(b)-crcLen:]
	if declared != len(seg) && declared != utf8.RuneCount(seg) {
		return nil, frameErr(ErrLength, "", fmt.Sprintf("length field says %d, data segment has %d bytes", declared, len(seg)))
	}
	given, ok := parseHex4(crcText)
	if !ok {
		return nil, frameErr(ErrCRC, "", fmt.Sprintf("CRC field %q is not 4 hex digits", crcText))
	}

	var crcErr error
	swapped := false
	if computed := CRC(seg); computed != given {
		if swappedModbusCRC(seg) == given {
			swapped = true
			if !opts.AcceptSwappedCRC {
				crcErr = frameErr(ErrCRC, "", fmt.Sprintf("frame has %s, the byte-swapped Modbus CRC; HJ 212 gives %04X", crcText, computed))
			}
		} else {
			crcErr = frameErr(ErrCRC, "", fmt.Sprintf("frame has %s, data segment gives %04X", crcText, computed))
		}
	}

	f, err := parseSegment(string(seg))
	if err != nil {
		if crcErr != nil {
			// A corrupted segment explains the syntax error; report the cause.
			return nil, crcErr
		}
		return nil, err
	}
	f.SwappedCRC = swapped
	f.crcLower = isLowerHex(crcText)
	if crcErr != nil {
		return f, crcErr
	}
	return f, nil
}

// parseSegment decodes a data segment whose framing has been checked. Every
// string in the result shares s's memory: one allocation for the text.
func parseSegment(s string) (*Frame, error) {
	if err := checkText(s); err != nil {
		return nil, err
	}
	cpAt := -1
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "CP=&&")
		if j < 0 {
			break
		}
		j += i
		if j == 0 || s[j-1] == ';' {
			cpAt = j
			break
		}
		i = j + 1
	}
	if cpAt < 0 {
		return nil, frameErr(ErrSyntax, "CP", "no CP=&& field")
	}
	body := s[cpAt+len("CP=&&"):]
	if len(body) < 2 || !strings.HasSuffix(body, "&&") {
		return nil, frameErr(ErrSyntax, "CP", "CP does not end with && at the end of the data segment")
	}
	body = body[:len(body)-2]

	f := &Frame{}
	if cpAt > 0 {
		if err := f.parseHeader(s[:cpAt-1]); err != nil {
			return nil, err
		}
	} else if err := f.validateHeader(); err != nil {
		return nil, err // a frame of nothing but CP has no CN (found by FuzzParse)
	}
	cp, err := parseCP(body)
	if err != nil {
		return nil, err
	}
	f.CP = cp
	return f, nil
}

// checkText rejects control characters and invalid UTF-8: the standard's
// text is printable ASCII (Chinese as UTF-8), and anything else would end up
// in logs, JSON and InfluxDB tags.
func checkText(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return frameErr(ErrSyntax, "", fmt.Sprintf("control character 0x%02X at offset %d", c, i))
		}
	}
	if !utf8.ValidString(s) {
		return frameErr(ErrSyntax, "", "data segment is not valid UTF-8")
	}
	return nil
}

func (f *Frame) parseHeader(h string) error {
	f.layout = make([]headerField, 0, strings.Count(h, ";")+1)
	for part := range strings.SplitSeq(h, ";") {
		key, val, ok := strings.Cut(part, "=")
		if !ok || !validKey(key) {
			return frameErr(ErrSyntax, "", fmt.Sprintf("header field %q is not key=value", part))
		}
		if _, dup := f.Header(key); dup {
			return frameErr(ErrSyntax, key, "field appears twice")
		}
		f.layout = append(f.layout, headerField{key, val})
		var err error
		switch key {
		case "QN":
			f.QN = val
		case "ST":
			f.ST = val
		case "CN":
			f.CN = val
		case "PW":
			f.PW = val
		case "MN":
			f.MN = val
		case "Flag":
			var n int
			n, err = parseNumber(key, val, 3, 255)
			f.Flag, f.HasFlag = Flag(n), true
		case "PNUM":
			f.PNUM, err = parseNumber(key, val, 4, maxSegment)
		case "PNO":
			f.PNO, err = parseNumber(key, val, 4, maxSegment)
		}
		if err != nil {
			return err
		}
	}
	return f.validateHeader()
}

// validateHeader checks what Parse requires and Encode guarantees.
func (f *Frame) validateHeader() error {
	if !isDigits(f.CN) || len(f.CN) != 4 {
		if _, ok := f.Header("CN"); !ok && f.CN == "" {
			return frameErr(ErrSyntax, "CN", "missing")
		}
		return frameErr(ErrSyntax, "CN", fmt.Sprintf("%q is not 4 digits", f.CN))
	}
	if f.ST != "" && !isAlnum(f.ST) {
		return frameErr(ErrSyntax, "ST", fmt.Sprintf("%q is not alphanumeric", f.ST))
	}
	switch {
	case f.PNUM == 0 && f.PNO == 0:
	case f.PNUM == 0 || f.PNO == 0:
		return frameErr(ErrSyntax, "PNUM", "PNUM and PNO must come together")
	case f.PNO > f.PNUM:
		return frameErr(ErrSyntax, "PNO", fmt.Sprintf("packet %d of %d", f.PNO, f.PNUM))
	}
	return nil
}

// parseNumber parses a header number: 1 to maxDigits decimal digits (leading
// zeros allowed, as in "PNO=0002"), at most maxVal.
func parseNumber(field, s string, maxDigits, maxVal int) (int, error) {
	n, ok := parseDigits([]byte(s), maxDigits)
	if !ok || len(s) == 0 || n > maxVal || (n == 0 && field != "Flag") {
		return 0, frameErr(ErrSyntax, field, fmt.Sprintf("%q is not a number in range", s))
	}
	return n, nil
}

// parseDigits parses 1..maxDigits ASCII decimal digits.
func parseDigits(b []byte, maxDigits int) (int, bool) {
	if len(b) == 0 || len(b) > maxDigits {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func parseHex4(b []byte) (uint16, bool) {
	var v uint16
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(d)
	}
	return v, len(b) == 4
}

// isLowerHex reports whether hex digits were written in lower case, so that
// re-encoding keeps the device's spelling.
func isLowerHex(b []byte) bool {
	return bytes.ContainsAny(b, "abcdef") && !bytes.ContainsAny(b, "ABCDEF")
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// validKey accepts the names fields use: factor codes with suffixes
// ("a21004-Rtd", "SB1-RS", "011-Flag"), DataTime, QnRtn, header names.
func validKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != ""
}

// trimEnd removes the terminator Parse tolerates after the CRC: CR LF, LF
// alone, or any run of blanks.
func trimEnd(frame []byte) []byte {
	return bytes.TrimRight(frame, " \t\r\n")
}

// Encode returns the frame on the wire: "##", length, data segment, CRC in
// upper case (lower case if the parsed frame had it), CR LF. A frame from
// Parse encodes to the original bytes, with CR LF appended when the original
// lacked it (see Frame for the two exceptions).
func (f *Frame) Encode() ([]byte, error) {
	return f.AppendEncode(make([]byte, 0, 64+f.cpLenHint()))
}

// AppendEncode appends the encoded frame to dst. It fails, leaving dst as
// it was, when the frame could not be parsed back: a header value holding ';',
// control characters or invalid UTF-8, a CN that is not 4 digits, PNUM/PNO out of step, a
// CP key or value that would change the CP's structure, or a data segment
// longer than the 4-digit length field can describe.
func (f *Frame) AppendEncode(dst []byte) ([]byte, error) {
	if err := f.validate(); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, "##0000"...)
	segStart := len(dst)
	dst = f.appendHeader(dst)
	dst = append(dst, "CP=&&"...)
	dst = f.CP.appendTo(dst)
	dst = append(dst, "&&"...)
	n := len(dst) - segStart
	if n > maxSegment {
		return dst[:start], frameErr(ErrTooLong, "", fmt.Sprintf("data segment of %d bytes does not fit the 4-digit length", n))
	}
	dst[start+2] = byte('0' + n/1000)
	dst[start+3] = byte('0' + n/100%10)
	dst[start+4] = byte('0' + n/10%10)
	dst[start+5] = byte('0' + n%10)
	crc := CRC(dst[segStart:])
	digits := "0123456789ABCDEF"
	if f.crcLower {
		digits = "0123456789abcdef"
	}
	dst = append(dst, digits[crc>>12], digits[crc>>8&0xF], digits[crc>>4&0xF], digits[crc&0xF], '\r', '\n')
	return dst, nil
}

func (f *Frame) validate() error {
	for _, v := range [...]struct{ key, val string }{{"QN", f.QN}, {"ST", f.ST}, {"PW", f.PW}, {"MN", f.MN}} {
		if err := checkHeaderValue(v.key, v.val); err != nil {
			return err
		}
	}
	if err := f.validateHeader(); err != nil {
		return err
	}
	return f.CP.validate()
}

func checkHeaderValue(key, val string) error {
	// ';' is the only character that could change the header's structure:
	// "CP=&&" inside a value follows '=' or another character, never ';'.
	if strings.Contains(val, ";") {
		return frameErr(ErrSyntax, key, fmt.Sprintf("%q would split the header", val))
	}
	if err := checkText(val); err != nil {
		return frameErr(ErrSyntax, key, err.(*FrameError).Detail)
	}
	return nil
}

// knownHeader returns the text of a standard header field and whether it is
// to be written: raw text when the value is unchanged since Parse, so that
// "PNO=0002" or an empty "PW=" survive a round trip.
func (f *Frame) knownHeader(key string) (string, bool) {
	raw, parsed := f.Header(key)
	str := func(v string) (string, bool) {
		return v, v != "" || (parsed && raw == "")
	}
	num := func(v int, present bool) (string, bool) {
		if !present {
			return "", false
		}
		if parsed {
			if n, ok := parseDigits([]byte(raw), 4); ok && n == v {
				return raw, true
			}
		}
		return strconv.Itoa(v), true
	}
	switch key {
	case "QN":
		return str(f.QN)
	case "ST":
		return str(f.ST)
	case "CN":
		return str(f.CN)
	case "PW":
		return str(f.PW)
	case "MN":
		return str(f.MN)
	case "Flag":
		return num(int(f.Flag), f.HasFlag)
	case "PNUM":
		return num(f.PNUM, f.PNUM != 0)
	case "PNO":
		return num(f.PNO, f.PNO != 0)
	}
	return "", false
}

func (f *Frame) appendHeader(dst []byte) []byte {
	// Keep the received order only while the same standard fields are
	// present; otherwise fall back to the standard's order so that added
	// fields land where receivers expect them.
	keepLayout := f.layout != nil
	for _, k := range headerOrder {
		_, emit := f.knownHeader(k)
		_, had := f.Header(k)
		if emit != had {
			keepLayout = false
			break
		}
	}
	field := func(dst []byte, k, v string) []byte {
		dst = append(dst, k...)
		dst = append(dst, '=')
		dst = append(dst, v...)
		return append(dst, ';')
	}
	if keepLayout {
		for _, h := range f.layout {
			v := h.raw
			if isKnownHeader(h.key) {
				v, _ = f.knownHeader(h.key)
			}
			dst = field(dst, h.key, v)
		}
		return dst
	}
	for _, k := range headerOrder {
		if v, ok := f.knownHeader(k); ok {
			dst = field(dst, k, v)
		}
	}
	for _, h := range f.layout {
		if !isKnownHeader(h.key) {
			dst = field(dst, h.key, h.raw)
		}
	}
	return dst
}

func (f *Frame) cpLenHint() int {
	n := 0
	for _, it := range f.CP {
		for _, fl := range it {
			n += len(fl.Key) + len(fl.Value) + 2
		}
		n++
	}
	return n
}
