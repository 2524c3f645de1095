package fieldunit

import (
	"context"
	"math"
	"net"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/hj212"
)

func TestUploadsReadBackAsTheSameReadings(t *testing.T) {
	u := New("MN-1", "pw", "22")
	u.Units = map[string]string{"a21005": "µg/m³"}
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, hj212.CST)
	vals := []ingest.Value{
		{Param: "pm25", V: 38.2, Flag: ingest.FlagNormal},
		{Param: "pressure", V: 1013.2, Flag: ingest.FlagNormal},
		{Param: "co", V: 0.8, Flag: ingest.FlagMaintenance},
		{Param: "wind_dir", V: 270},
	}
	for _, cn := range []string{hj212.CNRealtime, hj212.CNMinute, hj212.CNHourly, hj212.CNDaily} {
		raw, err := u.Upload(cn, Record{Time: at, Values: vals})
		if err != nil {
			t.Fatal(err)
		}
		f, err := hj212.Parse(raw, hj212.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v: %q", cn, err, raw)
		}
		if f.MN != "MN-1" || f.PW != "pw" || f.ST != "22" || !f.WantsAck() || f.Flag.Version() != hj212.Version2017 {
			t.Errorf("%s: header %+v", cn, f)
		}
		b, err := f.Readings("st", u.Units, nil)
		if err != nil || len(b.Problems) != 0 || len(b.Readings) != 1 {
			t.Fatalf("%s: %v %v", cn, err, b.Problems)
		}
		r := b.Readings[0]
		if !r.Time.Equal(at) {
			t.Errorf("%s: time %v", cn, r.Time)
		}
		for _, want := range vals {
			got, ok := r.Get(want.Param)
			wantFlag := want.Flag
			if wantFlag == 0 {
				wantFlag = ingest.FlagNormal
			}
			// Units convert by powers of ten in floating point: 101.32 kPa
			// comes back as 1013.1999999999999 hPa.
			if !ok || math.Abs(got.V-want.V) > 1e-9*math.Abs(want.V) || got.Flag != wantFlag {
				t.Errorf("%s: %s = %+v, want %v %c", cn, want.Param, got, want.V, wantFlag)
			}
		}
	}
	if _, err := u.Upload("9014", Record{Time: at}); err == nil {
		t.Error("a 9014 upload was built")
	}
	if _, err := u.Upload(hj212.CNRealtime, Record{Time: at, Values: []ingest.Value{{Param: "nonsense", V: 1}}}); err == nil {
		t.Error("an upload of an unknown parameter was built")
	}
}

func TestEveryModelledParameterHasACode(t *testing.T) {
	for _, p := range []string{"pm25", "pm10", "so2", "no2", "co", "o3", "temp", "rh", "pressure", "wind_speed", "wind_dir",
		"water_temp", "ph", "do", "codmn", "cod", "bod5", "nh3n", "tp", "tn", "conductivity", "turbidity"} {
		code, _, ok := Code(p)
		if !ok || code[0] < 'a' {
			t.Errorf("%s: code %q", p, code)
		}
	}
}

func TestHistoryKeepsOneRecordPerTimeInOrder(t *testing.T) {
	u := New("MN", "pw", "22")
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, hj212.CST)
	for _, m := range []int{5, 1, 3, 3, 0} {
		u.Store(hj212.CNMinute, Record{Time: t0.Add(time.Duration(m) * time.Minute), Values: []ingest.Value{{Param: "pm25", V: float64(m)}}})
	}
	got := u.History(hj212.CNMinute, t0.Add(time.Minute), t0.Add(4*time.Minute))
	if len(got) != 2 || got[0].Values[0].V != 1 || got[1].Values[0].V != 3 {
		t.Fatalf("history %+v", got)
	}
	if n := u.Len(hj212.CNMinute); n != 4 {
		t.Errorf("%d records, want 4", n)
	}
	if h := u.History(hj212.CNHourly, t0, t0.Add(time.Hour)); h != nil {
		t.Errorf("hourly history %+v", h)
	}
}

func TestMeanUsesTheNormalValues(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, hj212.CST)
	r := Mean(t0, []Record{
		{Values: []ingest.Value{{Param: "pm25", V: 10, Flag: 'N'}, {Param: "co", V: 1, Flag: 'D'}}},
		{Values: []ingest.Value{{Param: "pm25", V: 20, Flag: 'N'}, {Param: "co", V: 3, Flag: 'D'}}},
		{Values: []ingest.Value{{Param: "pm25", V: 90, Flag: 'M'}}},
	})
	get := func(p string) ingest.Value {
		for _, v := range r.Values {
			if v.Param == p {
				return v
			}
		}
		return ingest.Value{}
	}
	if pm := get("pm25"); pm.V != 15 || pm.Flag != 'N' {
		t.Errorf("pm25 %+v, want 15 N", pm)
	}
	if co := get("co"); co.V != 2 || co.Flag != 'D' {
		t.Errorf("co %+v, want 2 D", co)
	}
}

// A centre asks for minute history: 9011 QnRtn=1, the records, 9012.
func TestSessionAnswersAHistoryRequest(t *testing.T) {
	u := New("MN-1", "pw", "22")
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, hj212.CST)
	for m := range 10 {
		u.Store(hj212.CNMinute, Record{Time: t0.Add(time.Duration(m) * time.Minute), Values: []ingest.Value{{Param: "pm25", V: float64(m)}}})
	}
	centre, station := net.Pipe()
	defer centre.Close()
	s := NewSession(station, u)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx, nil)

	fr := hj212.NewFramer(centre, 0)
	read := func() *hj212.Frame {
		t.Helper()
		_ = centre.SetReadDeadline(time.Now().Add(5 * time.Second))
		raw, err := fr.Next()
		if err != nil {
			t.Fatal(err)
		}
		f, err := hj212.Parse(raw, hj212.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	ask := func(pw string, begin, end time.Time) *hj212.Frame {
		req, err := hj212.HistoryRequest{CN: hj212.CNMinute, ST: "22", MN: "MN-1", PW: pw, Version: hj212.Version2017,
			Begin: begin, End: end, Now: time.Now()}.Frame()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := req.Encode()
		go centre.Write(b)
		return req
	}

	req := ask("pw", t0.Add(2*time.Minute), t0.Add(5*time.Minute))
	if f := read(); f.CN != hj212.CNRequestResponse || f.QN != req.QN {
		t.Fatalf("first answer CN=%s QN=%s", f.CN, f.QN)
	} else if rtn, _ := f.CP.Get("QnRtn"); rtn != "1" {
		t.Fatalf("QnRtn %s", rtn)
	}
	for m := 2; m <= 5; m++ {
		f := read()
		b, err := f.Readings("st", nil, nil)
		if f.CN != hj212.CNMinute || err != nil || len(b.Readings) != 1 || !b.Readings[0].Time.Equal(t0.Add(time.Duration(m)*time.Minute)) {
			t.Fatalf("minute %d: CN=%s %v %+v", m, f.CN, err, b.Readings)
		}
	}
	if f := read(); f.CN != hj212.CNExecResult || f.QN != req.QN {
		t.Fatalf("last answer CN=%s QN=%s", f.CN, f.QN)
	} else if exe, _ := f.CP.Get("ExeRtn"); exe != "1" {
		t.Fatalf("ExeRtn %s", exe)
	}

	req = ask("wrong", t0, t0)
	if f := read(); f.CN != hj212.CNRequestResponse || f.QN != req.QN {
		t.Fatalf("CN=%s", f.CN)
	} else if rtn, _ := f.CP.Get("QnRtn"); rtn != "3" {
		t.Fatalf("wrong password: QnRtn %s, want 3", rtn)
	}

	req = ask("pw", t0.Add(time.Hour), t0.Add(2*time.Hour))
	read() // 9011
	if f := read(); f.CN != hj212.CNExecResult {
		t.Fatalf("CN=%s", f.CN)
	} else if exe, _ := f.CP.Get("ExeRtn"); exe != "100" {
		t.Fatalf("no data: ExeRtn %s, want 100", exe)
	}
	// The last 9012 is read before Send returns: give it a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, answered := s.Requests()
		if got == 3 && answered == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("requests %d answered %d, want 3 and 2", got, answered)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
