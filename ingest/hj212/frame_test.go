package hj212

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// verdict is what Parse makes of a frame, in the TSV's vocabulary.
func verdict(f *Frame, err error) string {
	switch {
	case err == nil && f.SwappedCRC:
		return "swapped-crc"
	case err == nil:
		return "ok"
	case errors.Is(err, ErrCRC):
		return "bad-crc"
	}
	return Reason(err)
}

// TestReferenceVerdicts gives every reference frame its expected verdict,
// strictly and with AcceptSwappedCRC: a swapped-CRC frame is bad-crc unless
// the option is on.
func TestReferenceVerdicts(t *testing.T) {
	for _, rf := range refFrames(t) {
		for _, accept := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/swapped=%v", rf.name, accept), func(t *testing.T) {
				want := rf.expect
				if want == "swapped-crc" && !accept {
					want = "bad-crc"
				}
				f, err := Parse([]byte(rf.frame+"\r\n"), ParseOptions{AcceptSwappedCRC: accept})
				if got := verdict(f, err); got != want {
					t.Errorf("verdict %s (err %v), want %s", got, err, want)
				}
			})
		}
	}
}

// header is what the test expects of a frame's header and CP.
type header struct {
	QN, ST, CN, PW, MN string
	Flag               int // -1: no Flag field
	Items              int // CP items
	DataTime           string
}

// refHeaders are the values of the reference frames' fields, read off the
// frames in standards.md §4.9.
var refHeaders = map[string]header{
	"TV1":    {"20160801085857223", "32", "1062", "100000", "010000A8900016F000169DC0", 5, 1, ""},
	"TV2":    {"20220513162608370", "22", "2051", "123456", "JLYP01_AIR01_0001", 4, 12, "20220513162600"},
	"TV3":    {"20210301111100112", "21", "2011", "123456", "ZLDSZ20210127", 8, 12, "20210301111100"},
	"TV4":    {"20190925181031464", "22", "2061", "BF470F88957588DE902D1A52", "Z13401000010301", 5, 6, "20190924220000"},
	"TV5":    {"20231008125115215", "22", "9011", "123456", "010000A8900016F000169DC0", 4, 1, ""},
	"TV6":    {"20231008130452757", "22", "2081", "123456", "010000A8900016F000169DC0", 5, 2, "20231008130452"},
	"TV7":    {"", "32", "2011", "123456", "LD130133000015", -1, 4, "20160824003817000"},
	"TV8":    {"", "32", "2011", "000000", "LD130133000015", -1, 4, "20160824003817"},
	"TV9":    {"20191012133710130", "22", "2011", "123456", "Y80110010000010", 4, 8, "20191012133710"},
	"TV10":   {"", "101", "2011", "123456", "41050022000017", -1, 6, "20200922110000"},
	"RX0872": {"", "31", "2011", "123456", "88888880000001", -1, 32, "20200921174057"},
	"RX0868": {"", "31", "2011", "123456", "4201003", -1, 32, "20200923111707"},
	"RX1025": {"", "31", "2011", "123456", "88888880000001", -1, 37, "20200923113557"},
}

// TestReferenceValues checks that every frame Parse accepts decodes to the
// values it carries, and re-encodes to the same bytes.
func TestReferenceValues(t *testing.T) {
	for _, rf := range refFrames(t) {
		if rf.expect == "bad-crc" {
			continue
		}
		t.Run(rf.name, func(t *testing.T) {
			want, ok := refHeaders[rf.name]
			if !ok {
				t.Fatalf("no expected values for %s: add them to refHeaders", rf.name)
			}
			f := mustParse(t, rf.frame, ParseOptions{AcceptSwappedCRC: true})
			flag := -1
			if f.HasFlag {
				flag = int(f.Flag)
			}
			dt, _ := f.CP.Get("DataTime")
			got := header{f.QN, f.ST, f.CN, f.PW, f.MN, flag, len(f.CP), dt}
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if f.PNUM != 0 || f.PNO != 0 {
				t.Errorf("PNUM/PNO = %d/%d, want none", f.PNUM, f.PNO)
			}

			enc := mustEncode(t, f)
			if f.SwappedCRC {
				// Encode writes the standard CRC: all but the CRC is identical.
				if !bytes.Equal(enc[:len(enc)-6], []byte(rf.frame[:len(rf.frame)-4])) {
					t.Errorf("re-encoded\n%s\nwant\n%s", enc, rf.frame)
				}
				return
			}
			if string(enc) != rf.frame+"\r\n" {
				t.Errorf("re-encoded\n%q\nwant\n%q", enc, rf.frame+"\r\n")
			}
		})
	}
}

// TestParseTolerance covers what real devices send that the standard does
// not allow, and Parse accepts.
func TestParseTolerance(t *testing.T) {
	const cp = "CP=&&DataTime=20260101000000;a34004-Rtd=12,a34004-Flag=N&&"
	long := "QN=20260101000000000;ST=22;CN=2011;PW=123456;MN=X;Flag=4;CP=&&DataTime=20260101000000" +
		strings.Repeat(";a34004-Rtd=12,a34004-Flag=N", 60) + "&&"
	tests := []struct {
		name  string
		seg   string
		check func(t *testing.T, f *Frame)
	}{
		{"no QN and no Flag, 2005 style", "ST=22;CN=2011;PW=123456;MN=010000A8900016F000169DC0;" + cp,
			func(t *testing.T, f *Frame) {
				if f.QN != "" || f.HasFlag || f.WantsAck() {
					t.Errorf("QN %q HasFlag %v", f.QN, f.HasFlag)
				}
			}},
		{"short MN", "QN=20260101000000000;ST=22;CN=2011;PW=123456;MN=LD1301;Flag=4;" + cp,
			func(t *testing.T, f *Frame) {
				if f.MN != "LD1301" {
					t.Errorf("MN %q", f.MN)
				}
			}},
		{"MN with underscores", "ST=22;CN=2011;MN=JLYP01_AIR01_0001;" + cp, nil},
		{"empty PW", "QN=1;ST=31;CN=2081;PW=;MN=X;Flag=4;CP=&&RestartTime=20200425120954&&",
			func(t *testing.T, f *Frame) {
				if raw, ok := f.Header("PW"); !ok || raw != "" || f.PW != "" {
					t.Errorf("PW %q/%q %v", f.PW, raw, ok)
				}
			}},
		{"PNO before PNUM", "QN=20180303104513001;ST=32;CN=2051;PW=123456;MN=X;Flag=6;PNO=0002;PNUM=0002;" + cp,
			func(t *testing.T, f *Frame) {
				if f.PNUM != 2 || f.PNO != 2 || !f.IsSplit() || !f.Flag.Has(FlagSplit) {
					t.Errorf("PNUM %d PNO %d", f.PNUM, f.PNO)
				}
			}},
		{"PNUM without D bit", "ST=32;CN=2051;MN=X;Flag=4;PNUM=2;PNO=1;" + cp, nil},
		{"non-standard ST", "ST=101;CN=2011;MN=X;" + cp, nil},
		{"2025 flag", "QN=1;ST=21;CN=2011;MN=X;Flag=9;" + cp,
			func(t *testing.T, f *Frame) {
				if f.Flag.Version() != Version2025 || !f.WantsAck() {
					t.Errorf("Flag %d version %d", f.Flag, f.Flag.Version())
				}
			}},
		{"unknown header field kept", "QN=1;ST=22;CN=2011;MN=X;Flag=4;XX=7;" + cp,
			func(t *testing.T, f *Frame) {
				if v, ok := f.Header("XX"); !ok || v != "7" {
					t.Errorf("XX = %q, %v", v, ok)
				}
			}},
		{"trailing semicolon in CP", "ST=22;CN=9011;MN=X;CP=&&QnRtn=1;&&",
			func(t *testing.T, f *Frame) {
				if len(f.CP) != 2 || f.CP[1] != nil {
					t.Errorf("CP %#v", f.CP)
				}
			}},
		{"empty CP", "QN=1;ST=91;CN=9014;PW=1;MN=X;Flag=4;CP=&&&&",
			func(t *testing.T, f *Frame) {
				if len(f.CP) != 0 {
					t.Errorf("CP %#v", f.CP)
				}
			}},
		{"CP value with = and &", "ST=22;CN=1014;MN=X;CP=&&NewSK=ab==&x&&",
			func(t *testing.T, f *Frame) {
				if v, _ := f.CP.Get("NewSK"); v != "ab==&x" {
					t.Errorf("NewSK %q", v)
				}
			}},
		{"Chinese text in CP", "ST=22;CN=3020;MN=X;CP=&&i11001-Info=监测点&&", nil},
		{"data segment over 1024", long,
			func(t *testing.T, f *Frame) {
				if len(long) <= 1024 || len(f.CP) != 61 {
					t.Errorf("segment %d bytes, %d items", len(long), len(f.CP))
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := build(tt.seg)
			for _, variant := range []string{frame, strings.TrimSuffix(frame, "\r\n")} {
				f := mustParse(t, variant, ParseOptions{})
				if tt.check != nil {
					tt.check(t, f)
				}
				if enc := mustEncode(t, f); string(enc) != frame {
					t.Errorf("re-encoded\n%q\nwant\n%q", enc, frame)
				}
			}
		})
	}
}

// TestParseLowerCaseCRC: devices write the CRC in lower case; Parse accepts
// it and Encode keeps it.
func TestParseLowerCaseCRC(t *testing.T) {
	frame := frameByName(t, "TV3") // ends in 7d00
	f := mustParse(t, frame, ParseOptions{})
	if enc := mustEncode(t, f); !bytes.HasSuffix(enc, []byte("7d00\r\n")) {
		t.Errorf("re-encoded CRC %q", enc[len(enc)-6:])
	}
	upper := frame[:len(frame)-4] + "7D00"
	f = mustParse(t, upper, ParseOptions{})
	if enc := mustEncode(t, f); !bytes.HasSuffix(enc, []byte("7D00\r\n")) {
		t.Errorf("re-encoded CRC %q", enc[len(enc)-6:])
	}
}

// TestParseUTF8Length: the length field may count characters rather than
// bytes when the segment holds Chinese (standards.md, open doubts).
func TestParseUTF8Length(t *testing.T) {
	seg := "ST=22;CN=3020;MN=X;CP=&&i11001-Info=监测点&&"
	runes := len([]rune(seg))
	frame := "##" + pad4(runes) + seg + hex4(CRC([]byte(seg)))
	f := mustParse(t, frame, ParseOptions{})
	if v, _ := f.CP.Get("i11001-Info"); v != "监测点" {
		t.Errorf("Info %q", v)
	}
	// An ASCII segment has one count only.
	ascii := "ST=22;CN=2011;MN=X;CP=&&&&"
	if _, err := Parse([]byte("##"+pad4(len(ascii)+1)+ascii+hex4(CRC([]byte(ascii)))), ParseOptions{}); !errors.Is(err, ErrLength) {
		t.Errorf("err %v, want ErrLength", err)
	}
}

func TestParseErrors(t *testing.T) {
	good := strings.TrimSuffix(build("QN=20260101000000000;ST=22;CN=2011;PW=123456;MN=X;Flag=5;CP=&&DataTime=20260101000000;a34004-Rtd=12&&"), "\r\n")
	seg := good[6 : len(good)-4]
	tests := []struct {
		name   string
		frame  string
		opts   ParseOptions
		reason string
		field  string
		rtn    QnRtn
	}{
		{"empty", "", ParseOptions{}, ReasonSyntax, "", QnRtnRejected},
		{"no ##", "X" + good[1:], ParseOptions{}, ReasonSyntax, "", QnRtnRejected},
		{"too short", "##0000", ParseOptions{}, ReasonSyntax, "", QnRtnRejected},
		{"over MaxLen", good, ParseOptions{MaxLen: 100}, ReasonTooLong, "", QnRtnRejected},
		{"length not digits", "##01a1" + good[6:], ParseOptions{}, ReasonBadLength, "", QnRtnRejected},
		{"length one short", "##" + pad4(len(seg)-1) + good[6:], ParseOptions{}, ReasonBadLength, "", QnRtnRejected},
		{"length one long", "##" + pad4(len(seg)+1) + good[6:], ParseOptions{}, ReasonBadLength, "", QnRtnRejected},
		{"garbage after CR LF", good + "\r\nX", ParseOptions{}, ReasonBadLength, "", QnRtnRejected},
		{"CRC not hex", good[:len(good)-4] + "12G4", ParseOptions{}, ReasonBadCRC, "", QnRtnCRC},
		{"CRC wrong", good[:len(good)-4] + "0000", ParseOptions{}, ReasonBadCRC, "", QnRtnCRC},
		{"no CP", build("ST=22;CN=2011;MN=X"), ParseOptions{}, ReasonSyntax, "CP", QnRtnRejected},
		{"CP not closed", build("ST=22;CN=2011;MN=X;CP=&&a=1"), ParseOptions{}, ReasonSyntax, "CP", QnRtnRejected},
		{"CP closed early", build("ST=22;CN=2011;MN=X;CP=&&"), ParseOptions{}, ReasonSyntax, "CP", QnRtnRejected},
		{"field after CP", build("ST=22;CN=2011;CP=&&a=1&&;MN=X"), ParseOptions{}, ReasonSyntax, "CP", QnRtnRejected},
		{"&& inside CP", build("ST=22;CN=2011;MN=X;CP=&&a=1&&b=2&&"), ParseOptions{}, ReasonSyntax, "CP", QnRtnRejected},
		{"CP field without =", build("ST=22;CN=2011;MN=X;CP=&&DataTime=1;a34004-Rtd&&"), ParseOptions{}, ReasonSyntax, "CP", QnRtnRejected},
		{"CP empty field", build("ST=22;CN=2011;MN=X;CP=&&a=1,,b=2&&"), ParseOptions{}, ReasonSyntax, "CP", QnRtnRejected},
		{"CP key with space", build("ST=22;CN=2011;MN=X;CP=&&PolId =w01018&&"), ParseOptions{}, ReasonSyntax, "CP", QnRtnRejected},
		{"header field without =", build("ST=22;CN=2011;MN;CP=&&&&"), ParseOptions{}, ReasonSyntax, "", QnRtnRejected},
		{"empty header field", build("ST=22;;CN=2011;CP=&&&&"), ParseOptions{}, ReasonSyntax, "", QnRtnRejected},
		{"missing CN", build("ST=22;MN=X;CP=&&&&"), ParseOptions{}, ReasonSyntax, "CN", QnRtnCN},
		{"CN of 3 digits", build("ST=22;CN=201;MN=X;CP=&&&&"), ParseOptions{}, ReasonSyntax, "CN", QnRtnCN},
		{"duplicate QN", build("QN=1;QN=2;ST=22;CN=2011;CP=&&&&"), ParseOptions{}, ReasonSyntax, "QN", QnRtnQN},
		{"ST not alphanumeric", build("ST=2-2;CN=2011;CP=&&&&"), ParseOptions{}, ReasonSyntax, "ST", QnRtnST},
		{"Flag over 255", build("ST=22;CN=2011;Flag=256;CP=&&&&"), ParseOptions{}, ReasonSyntax, "Flag", QnRtnFlag},
		{"Flag not a number", build("ST=22;CN=2011;Flag=x;CP=&&&&"), ParseOptions{}, ReasonSyntax, "Flag", QnRtnFlag},
		{"PNUM without PNO", build("ST=22;CN=2011;Flag=6;PNUM=2;CP=&&&&"), ParseOptions{}, ReasonSyntax, "PNUM", QnRtnFlag},
		{"PNO beyond PNUM", build("ST=22;CN=2011;Flag=6;PNUM=2;PNO=3;CP=&&&&"), ParseOptions{}, ReasonSyntax, "PNO", QnRtnFlag},
		{"PNO zero", build("ST=22;CN=2011;Flag=6;PNUM=2;PNO=0;CP=&&&&"), ParseOptions{}, ReasonSyntax, "PNO", QnRtnFlag},
		{"control character", build("ST=22;CN=2011;MN=X\x00;CP=&&&&"), ParseOptions{}, ReasonSyntax, "", QnRtnRejected},
		{"invalid UTF-8", build("ST=22;CN=2011;MN=\xff;CP=&&&&"), ParseOptions{}, ReasonSyntax, "", QnRtnRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.frame), tt.opts)
			if got := Reason(err); got != tt.reason {
				t.Fatalf("Reason = %q (err %v), want %q", got, err, tt.reason)
			}
			fe, ok := errors.AsType[*FrameError](err)
			if !ok {
				t.Fatalf("err %T is not a *FrameError", err)
			}
			if fe.Field != tt.field {
				t.Errorf("Field = %q, want %q (err %v)", fe.Field, tt.field, err)
			}
			if got := QnRtnFor(err); got != tt.rtn {
				t.Errorf("QnRtnFor = %d, want %d", got, tt.rtn)
			}
			if f != nil && !errors.Is(err, ErrCRC) {
				t.Errorf("frame returned with %v", err)
			}
		})
	}
}

// TestParseBadCRCReturnsFrame: on a CRC error the frame comes back, so the
// server can answer 9011 QnRtn=9 with the request's QN.
func TestParseBadCRCReturnsFrame(t *testing.T) {
	frame := frameByName(t, "TV1")
	f, err := Parse([]byte(frame[:len(frame)-4]+"1C81"), ParseOptions{})
	if !errors.Is(err, ErrCRC) || f == nil || f.QN != "20160801085857223" {
		t.Fatalf("f %v, err %v", f, err)
	}
	resp := mustEncode(t, RequestResponse(f, QnRtnFor(err)))
	if !bytes.Contains(resp, []byte("QN=20160801085857223;ST=91;CN=9011;")) || !bytes.Contains(resp, []byte("CP=&&QnRtn=9&&")) {
		t.Errorf("response %q", resp)
	}
}

func TestSwappedCRC(t *testing.T) {
	frame := frameByName(t, "RX0868")
	tests := []struct {
		name    string
		accept  bool
		wantErr error
	}{
		{"strict", false, ErrCRC},
		{"accepted", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(frame), ParseOptions{AcceptSwappedCRC: tt.accept})
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			// Either way the frame says what happened, for the metric.
			if f == nil || !f.SwappedCRC {
				t.Fatalf("frame %v: SwappedCRC not reported", f)
			}
		})
	}
	// A standard CRC never reports swapped, even with the option.
	if f := mustParse(t, frameByName(t, "TV2"), ParseOptions{AcceptSwappedCRC: true}); f.SwappedCRC {
		t.Error("TV2 reported as swapped")
	}
	// A CRC that is neither is still rejected.
	if _, err := Parse([]byte(frame[:len(frame)-4]+"A6ED"), ParseOptions{AcceptSwappedCRC: true}); !errors.Is(err, ErrCRC) {
		t.Errorf("err %v, want ErrCRC", err)
	}
}

// TestEncodeEdits: changing a parsed frame's fields changes exactly them,
// and the result parses back to the edited values.
func TestEncodeEdits(t *testing.T) {
	tv1 := frameByName(t, "TV1")
	tests := []struct {
		name string
		edit func(f *Frame)
		seg  string
	}{
		{"new QN", func(f *Frame) { f.QN = "20260101000000000" },
			"QN=20260101000000000;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&"},
		{"flag cleared of A", func(f *Frame) { f.Flag &^= FlagAck },
			"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&RtdInterval=30&&"},
		{"QN dropped", func(f *Frame) { f.QN = "" },
			"ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&"},
		{"split fields added in standard order", func(f *Frame) { f.PNUM, f.PNO = 2, 1 },
			"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;PNUM=2;PNO=1;CP=&&RtdInterval=30&&"},
		{"CP replaced", func(f *Frame) { f.CP = CP{{{"RtdInterval", "60"}}} },
			"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=60&&"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, tv1, ParseOptions{})
			tt.edit(f)
			if got, want := string(mustEncode(t, f)), build(tt.seg); got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
	// PNO=0002 keeps its zeros while unchanged, and loses them when changed.
	f := mustParse(t, build("ST=32;CN=2051;MN=X;Flag=6;PNO=0002;PNUM=0002;CP=&&&&"), ParseOptions{})
	f.PNO = 1
	if got, want := string(mustEncode(t, f)), build("ST=32;CN=2051;MN=X;Flag=6;PNO=1;PNUM=0002;CP=&&&&"); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestEncodeErrors(t *testing.T) {
	base := func() *Frame { return &Frame{ST: "22", CN: "2011", MN: "X"} }
	tests := []struct {
		name string
		edit func(f *Frame)
		want error
	}{
		{"semicolon in MN", func(f *Frame) { f.MN = "a;b" }, ErrSyntax},
		{"invalid UTF-8 in PW", func(f *Frame) { f.PW = "\xff" }, ErrSyntax},
		{"control character in QN", func(f *Frame) { f.QN = "1\n" }, ErrSyntax},
		{"no CN", func(f *Frame) { f.CN = "" }, ErrSyntax},
		{"bad ST", func(f *Frame) { f.ST = "9 1" }, ErrSyntax},
		{"PNO without PNUM", func(f *Frame) { f.PNO = 1 }, ErrSyntax},
		{"comma in CP value", func(f *Frame) { f.CP = CP{{{"a", "1,2"}}} }, ErrSyntax},
		{"&& in CP value", func(f *Frame) { f.CP = CP{{{"a", "&&"}}} }, ErrSyntax},
		{"bad CP key", func(f *Frame) { f.CP = CP{{{"a b", "1"}}} }, ErrSyntax},
		{"segment over 9999", func(f *Frame) { f.CP = CP{{{"a", strings.Repeat("1", 10000)}}} }, ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base()
			tt.edit(f)
			dst := []byte("keep")
			out, err := f.AppendEncode(dst)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if string(out) != "keep" {
				t.Errorf("dst changed to %q", out)
			}
		})
	}
}

func TestAppendEncode(t *testing.T) {
	f := mustParse(t, frameByName(t, "TV5"), ParseOptions{})
	out, err := f.AppendEncode([]byte("prefix"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "prefix" + frameByName(t, "TV5") + "\r\n"; string(out) != want {
		t.Errorf("got %q", out)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"TV2", "RX1025"} {
		frame := []byte(frameByName(b, name) + "\r\n")
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if _, err := Parse(frame, ParseOptions{AcceptSwappedCRC: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	f := mustParse(b, frameByName(b, "TV2"), ParseOptions{})
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = f.AppendEncode(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
