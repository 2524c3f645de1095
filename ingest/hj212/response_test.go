package hj212

import (
	"strings"
	"testing"
	"time"
)

func TestResponses(t *testing.T) {
	req := func(seg string) *Frame { return mustParse(t, build(seg), ParseOptions{}) }
	const mn = "010000A8900016F000169DC0"
	tests := []struct {
		name string
		resp *Frame
		seg  string
	}{
		{"9014 to a 2017 upload asking for one",
			DataResponse(req("QN=20231008130452757;ST=22;CN=2081;PW=123456;MN=" + mn + ";Flag=5;CP=&&DataTime=20231008130452;RestartTime=20231007130452&&")),
			"QN=20231008130452757;ST=91;CN=9014;PW=123456;MN=" + mn + ";Flag=4;CP=&&&&"},
		{"9014 to a split 2017 packet",
			DataResponse(req("QN=20180303104513001;ST=32;CN=2051;PW=123456;MN=X;Flag=7;PNUM=2;PNO=2;CP=&&&&")),
			"QN=20180303104513001;ST=91;CN=9014;PW=123456;MN=X;Flag=4;CP=&&&&"},
		{"9014 to a 2025 upload",
			DataResponse(req("QN=20260706103512345;ST=21;CN=2061;PW=123456;MN=A110000_0001;Flag=9;CP=&&&&")),
			"QN=20260706103512345;ST=91;CN=9014;PW=123456;MN=A110000_0001;Flag=8;CP=&&&&"},
		{"9014 to a sender without QN or Flag",
			DataResponse(req("ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&&&")),
			"ST=91;CN=9014;PW=123456;MN=LD130133000015;CP=&&&&"},
		{"9011 ready",
			RequestResponse(req("QN=20160801085857223;ST=32;CN=1062;PW=100000;MN="+mn+";Flag=5;CP=&&RtdInterval=30&&"), QnRtnReady),
			"QN=20160801085857223;ST=91;CN=9011;PW=100000;MN=" + mn + ";Flag=4;CP=&&QnRtn=1&&"},
		{"9011 unknown error",
			RequestResponse(req("QN=1;ST=22;CN=2011;PW=1;MN=X;Flag=5;CP=&&&&"), QnRtnUnknown),
			"QN=1;ST=91;CN=9011;PW=1;MN=X;Flag=4;CP=&&QnRtn=100&&"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := mustEncode(t, tt.resp)
			if string(enc) != build(tt.seg) {
				t.Errorf("got  %q\nwant %q", enc, build(tt.seg))
			}
			// What the station receives parses back to the same response.
			back := mustParse(t, string(enc), ParseOptions{})
			if back.QN != tt.resp.QN || back.ST != STResponse || back.CN != tt.resp.CN || back.Flag != tt.resp.Flag ||
				back.HasFlag != tt.resp.HasFlag || back.WantsAck() || back.CP.String() != tt.resp.CP.String() {
				t.Errorf("parsed back %+v, sent %+v", back, tt.resp)
			}
		})
	}
}

func TestHistoryRequest(t *testing.T) {
	now := time.Date(2026, 3, 1, 2, 30, 0, 123e6, time.UTC) // 10:30:00.123 CST
	begin := time.Date(2026, 3, 1, 0, 0, 0, 0, CST)
	end := time.Date(2026, 3, 1, 9, 0, 0, 0, CST)
	base := HistoryRequest{CN: CNHourly, ST: "22", MN: "010000A8900016F000169DC0", PW: "123456",
		Version: Version2017, Begin: begin, End: end, Now: now}
	tests := []struct {
		name string
		edit func(h *HistoryRequest)
		seg  string // "" for an error
	}{
		{"hourly", func(*HistoryRequest) {},
			"QN=20260301103000123;ST=22;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&BeginTime=20260301000000;EndTime=20260301090000&&"},
		{"minute, 2025 station", func(h *HistoryRequest) { h.CN, h.Version = CNMinute, Version2025 },
			"QN=20260301103000123;ST=22;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&BeginTime=20260301000000;EndTime=20260301090000&&"},
		{"daily, station clock in UTC", func(h *HistoryRequest) { h.CN, h.Loc = CNDaily, time.UTC },
			"QN=20260301023000123;ST=22;CN=2031;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&BeginTime=20260228160000;EndTime=20260301010000&&"},
		{"not a history CN", func(h *HistoryRequest) { h.CN = CNRealtime }, ""},
		{"End before Begin", func(h *HistoryRequest) { h.Begin, h.End = h.End, h.Begin }, ""},
		{"no MN", func(h *HistoryRequest) { h.MN = "" }, ""},
		{"no Now", func(h *HistoryRequest) { h.Now = time.Time{} }, ""},
		{"PW that breaks the frame", func(h *HistoryRequest) { h.PW = "12;34" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := base
			tt.edit(&h)
			f, err := h.Frame()
			if tt.seg == "" {
				if err == nil {
					t.Fatalf("want an error, got %v", f)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			enc := mustEncode(t, f)
			if string(enc) != build(tt.seg) {
				t.Errorf("got  %q\nwant %q", enc, build(tt.seg))
			}
			back := mustParse(t, string(enc), ParseOptions{})
			bt, _ := back.CP.Get("BeginTime")
			et, _ := back.CP.Get("EndTime")
			loc := h.Loc
			gotBegin, err1 := ParseDataTime(bt, loc)
			gotEnd, err2 := ParseDataTime(et, loc)
			if err1 != nil || err2 != nil || !gotBegin.Equal(begin) || !gotEnd.Equal(end) || !back.WantsAck() {
				t.Errorf("parsed back: %v..%v (%v %v), ack %v", gotBegin, gotEnd, err1, err2, back.WantsAck())
			}
			if !strings.HasPrefix(back.QN, "2026030") {
				t.Errorf("QN %q", back.QN)
			}
		})
	}
}
