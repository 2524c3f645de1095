package hj212srv

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/decode"
	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/pipeline"
	"github.com/envpipe/envpipe/ingest/station"
)

func newTestDecoder(t *testing.T, reg *station.Registry) (*Decoder, *prometheus.Registry) {
	t.Helper()
	pr := prometheus.NewRegistry()
	return NewDecoder(DecoderConfig{Registry: reg, Metrics: NewMetrics(pr, reg), Logger: testLogger()}), pr
}

func decodeOne(d *Decoder, topicStation string, payload []byte) *decode.Result {
	return d.Decode(&pipeline.Delivery{Format: pipeline.FormatHJ212, Topic: "env/x/hj212", Station: topicStation, Payload: payload})
}

// frameLevel reports whether rj refuses the whole frame (as opposed to one
// value of it).
func frameLevel(rj ingest.Reject) bool { return rj.Param == "" }

// Every reference frame, through the Decoder, for a station that has the
// frame's MN and PW: data uploads give readings of their period (values the
// codec cannot use are refused one by one), other uploads are taken quietly,
// other commands are refused as not data, bad and swapped CRCs are refused
// as CRC errors.
func TestDecoderGivesEveryReferenceFrameItsVerdict(t *testing.T) {
	for _, rf := range refFrames(t) {
		t.Run(rf.name, func(t *testing.T) {
			kind := ingest.KindAir
			if st := header(rf.frame, "ST"); st == "21" || st == "32" {
				kind = ingest.KindWater
			}
			st := airStation("ref-station", header(rf.frame, "MN"), header(rf.frame, "PW"))
			st.Kind = kind
			d, _ := newTestDecoder(t, newRegistry(t, st))
			res := decodeOne(d, "", []byte(rf.frame))
			cn := header(rf.frame, "CN")
			switch {
			case rf.expect == "bad-crc" || rf.expect == "swapped-crc":
				if len(res.Readings) != 0 || len(res.Rejects) != 1 || res.Rejects[0].Reason != ingest.ReasonHJ212CRC {
					t.Fatalf("got %d readings, rejects %v; want one %s", len(res.Readings), res.Rejects, ingest.ReasonHJ212CRC)
				}
			case rf.expect != "ok":
				t.Fatalf("unknown verdict %q", rf.expect)
			case !isData(cn) && isUpload(cn):
				// Received, not stored, not refused: as over TCP.
				if len(res.Readings) != 0 || len(res.Rejects) != 0 {
					t.Fatalf("CN=%s: got %d readings, rejects %v; want neither", cn, len(res.Readings), res.Rejects)
				}
			case !isData(cn):
				if len(res.Readings) != 0 || len(res.Rejects) != 1 || res.Rejects[0].Reason != ingest.ReasonHJ212NotData ||
					!strings.Contains(res.Rejects[0].Detail, "no data") {
					t.Fatalf("CN=%s: got %d readings, rejects %v; want one not-data refusal", cn, len(res.Readings), res.Rejects)
				}
			default:
				for _, rj := range res.Rejects {
					if frameLevel(rj) {
						t.Fatalf("data frame refused whole: %v", rj)
					}
					if rj.Station != "ref-station" || rj.Detail == "" {
						t.Errorf("reject without station or detail: %+v", rj)
					}
				}
				p, _, _ := hj212.PeriodOf(cn)
				for _, r := range res.Readings {
					if r.Station != "ref-station" || r.Period != period(p) || r.Time.IsZero() || len(r.Values) == 0 {
						t.Errorf("reading %+v: want station ref-station, period %q, a time and values", r, period(p))
					}
				}
				// Nothing vanishes: each value is a reading's or a refusal's.
				f, err := hj212.Parse([]byte(rf.frame), hj212.ParseOptions{})
				if err != nil {
					t.Fatal(err)
				}
				b, err := f.Readings("ref-station", nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Readings) != len(b.Readings) || len(res.Rejects) != len(b.Problems) {
					t.Fatalf("got %d readings and %d refusals, the codec gives %d and %d",
						len(res.Readings), len(res.Rejects), len(b.Readings), len(b.Problems))
				}
			}
		})
	}
}

func TestDecoderReadsTheReferenceMinuteFrameInCanonicalUnits(t *testing.T) {
	var tv2 string
	for _, rf := range refFrames(t) {
		if rf.name == "TV2" {
			tv2 = rf.frame
		}
	}
	d, _ := newTestDecoder(t, newRegistry(t, airStation("zz-air-1", "JLYP01_AIR01_0001", "123456")))
	res := decodeOne(d, "zz-air-1", []byte(tv2))
	if len(res.Rejects) != 0 || len(res.Readings) != 1 {
		t.Fatalf("got %d readings, rejects %v", len(res.Readings), res.Rejects)
	}
	r := res.Readings[0]
	if want := time.Date(2022, 5, 13, 16, 26, 0, 0, hj212.CST); !r.Time.Equal(want) || r.Period != ingest.PeriodMinute {
		t.Errorf("time %v period %q, want %v minute", r.Time, r.Period, want)
	}
	for param, want := range map[string]float64{"co": 0.427, "pm25": 14, "pm10": 31, "pressure": 950, "o3": 63} {
		if v, ok := r.Get(param); !ok || v.V != want || v.Flag != ingest.FlagNormal {
			t.Errorf("%s = %+v, want %v N", param, v, want)
		}
	}
}

func TestDecoderRefusesWhatTheStationMayNotSend(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	good := frame(t, "20260301081000123", "2011", "MN-A", "pw-a", 5, dataCP(now, 38))
	reg := newRegistry(t, airStation("st-a", "MN-A", "pw-a"), airStation("st-b", "MN-B", "pw-b"))
	for _, tc := range []struct {
		name, topic string
		payload     []byte
		reason      ingest.Reason
	}{
		{"a frame on its own station's topic is accepted", "st-a", good, ""},
		{"a frame over TCP (no topic) is accepted", "", good, ""},
		{"a frame on another station's topic is a mismatch", "st-b", good, ingest.ReasonStationMismatch},
		{"a wrong password is refused", "st-a", frame(t, "", "2011", "MN-A", "pw-b", 5, dataCP(now, 38)), ingest.ReasonHJ212Password},
		{"an empty password is refused", "st-a", frame(t, "", "2011", "MN-A", "", 5, dataCP(now, 38)), ingest.ReasonHJ212Password},
		{"an unknown MN is an unknown station", "", frame(t, "", "2011", "MN-X", "pw-a", 5, dataCP(now, 38)), ingest.ReasonUnknownStation},
		{"a bad CRC is refused", "st-a", badCRC(good), ingest.ReasonHJ212CRC},
		{"garbage is a bad frame", "st-a", []byte("##0010garbage!!!!ABCD"), ingest.ReasonHJ212Frame},
		{"a data response is not data", "st-a", frame(t, "", "9014", "MN-A", "pw-a", 4, ""), ingest.ReasonHJ212NotData},
		{"values before any DataTime are a bad time", "st-a", frame(t, "", "2011", "MN-A", "pw-a", 4, "a34004-Rtd=3"), ingest.ReasonBadTime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := newTestDecoder(t, reg)
			res := decodeOne(d, tc.topic, tc.payload)
			if tc.reason == "" {
				if len(res.Rejects) != 0 || len(res.Readings) != 1 || res.Readings[0].Station != "st-a" {
					t.Fatalf("got readings %+v, rejects %v; want one reading of st-a", res.Readings, res.Rejects)
				}
				return
			}
			if len(res.Readings) != 0 || len(res.Rejects) != 1 || res.Rejects[0].Reason != tc.reason {
				t.Fatalf("got %d readings, rejects %v; want one %s", len(res.Readings), res.Rejects, tc.reason)
			}
			if rj := res.Rejects[0]; rj.Detail == "" || strings.Contains(rj.Detail, "pw-a") || strings.Contains(rj.Detail, "pw-b") {
				t.Errorf("detail %q: want a reason, never a password", rj.Detail)
			}
		})
	}
}

// RX1025 is a real device frame with the byte-swapped Modbus CRC.
func TestDecoderAcceptsTheSwappedCRCOnlyWhereTheStationAllowsItAndCountsIt(t *testing.T) {
	var rx string
	for _, rf := range refFrames(t) {
		if rf.name == "RX1025" {
			rx = rf.frame
		}
	}
	for _, allow := range []bool{false, true} {
		st := airStation("st-swap", header(rx, "MN"), header(rx, "PW"))
		st.HJ212SwappedCRC = allow
		d, pr := newTestDecoder(t, newRegistry(t, st))
		res := decodeOne(d, "", []byte(rx))
		frameRejects := 0
		for _, rj := range res.Rejects {
			if frameLevel(rj) {
				frameRejects++
				if rj.Reason != ingest.ReasonHJ212CRC || !strings.Contains(rj.Detail, "swapped") {
					t.Errorf("allow=%v: reject %v", allow, rj)
				}
			}
		}
		n := metricValue(t, pr, "envpipe_hj212_swapped_crc_total", "station", "st-swap")
		if allow && (frameRejects != 0 || n != 1) {
			t.Errorf("allowed: %d frame refusals, counter %v; want 0 and 1", frameRejects, n)
		}
		if !allow && (frameRejects != 1 || len(res.Readings) != 0 || n != 0) {
			t.Errorf("not allowed: %d frame refusals, %d readings, counter %v; want 1, 0, 0", frameRejects, len(res.Readings), n)
		}
	}
	// The frame is also good with its CRC fixed, and then nothing is counted.
	st := airStation("st-a", "MN-A", "pw")
	st.HJ212SwappedCRC = true
	d, pr := newTestDecoder(t, newRegistry(t, st))
	good := frame(t, "", "2011", "MN-A", "pw", 4, dataCP(time.Now(), 1))
	for _, p := range [][]byte{good, swapCRC(good)} {
		if res := decodeOne(d, "", p); len(res.Rejects) != 0 || len(res.Readings) != 1 {
			t.Fatalf("%q: rejects %v", p, res.Rejects)
		}
	}
	if n := metricValue(t, pr, "envpipe_hj212_swapped_crc_total", "station", "st-a"); n != 1 {
		t.Errorf("counter %v, want 1 (only the swapped one)", n)
	}
}

func TestDecoderSetsThePeriodFromTheCN(t *testing.T) {
	d, _ := newTestDecoder(t, newRegistry(t, airStation("st-a", "MN-A", "pw")))
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, hj212.CST)
	for cn, want := range map[string]ingest.Period{"2011": ingest.PeriodInstant, "2051": ingest.PeriodMinute,
		"2061": ingest.PeriodHour, "2031": ingest.PeriodDay} {
		suffix := "Avg"
		if cn == "2011" {
			suffix = "Rtd"
		}
		cp := "DataTime=" + hj212.FormatDataTime(at, nil) + ";a34004-" + suffix + "=12"
		res := decodeOne(d, "", frame(t, "", cn, "MN-A", "pw", 4, cp))
		if len(res.Rejects) != 0 || len(res.Readings) != 1 || res.Readings[0].Period != want || !res.Readings[0].Time.Equal(at) {
			t.Errorf("CN=%s: readings %+v rejects %v, want period %q at %v", cn, res.Readings, res.Rejects, want, at)
		}
	}
}

func TestDecoderConvertsWithTheStationsUnits(t *testing.T) {
	st := airStation("st-a", "MN-A", "pw")
	st.HJ212Units = map[string]string{"a21005": "µg/m³"}
	d, _ := newTestDecoder(t, newRegistry(t, st))
	res := decodeOne(d, "", frame(t, "", "2011", "MN-A", "pw", 4,
		"DataTime="+hj212.FormatDataTime(time.Now(), nil)+";a21005-Rtd=800,a21005-Flag=N"))
	if len(res.Readings) != 1 {
		t.Fatalf("rejects %v", res.Rejects)
	}
	if v, _ := res.Readings[0].Get("co"); v.V != 0.8 {
		t.Errorf("co = %v mg/m³, want 0.8 (800 µg/m³)", v.V)
	}
}

func TestDecoderJoinsASplitMessage(t *testing.T) {
	d, _ := newTestDecoder(t, newRegistry(t, airStation("st-a", "MN-A", "pw")))
	at := hj212.FormatDataTime(time.Date(2026, 3, 1, 8, 0, 0, 0, hj212.CST), nil)
	part := func(pno int, cp string) []byte {
		seg := fmt.Sprintf("QN=2026030108000000%d;ST=22;CN=2061;PW=pw;MN=MN-A;Flag=7;PNUM=2;PNO=%d;CP=&&%s&&", pno, pno, cp)
		f, err := hj212.Parse([]byte(withLenCRC(seg)), hj212.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := f.Encode()
		return b
	}
	res := decodeOne(d, "st-a", part(1, "DataTime="+at+";a34004-Avg=30"))
	if len(res.Readings) != 0 || len(res.Rejects) != 0 {
		t.Fatalf("first packet: %+v %v; want it held", res.Readings, res.Rejects)
	}
	res = decodeOne(d, "st-a", part(2, "DataTime="+at+";a34002-Avg=50"))
	if len(res.Rejects) != 0 || len(res.Readings) != 1 || len(res.Readings[0].Values) != 2 || res.Readings[0].Period != ingest.PeriodHour {
		t.Fatalf("second packet: %+v %v; want one hourly reading with pm25 and pm10", res.Readings, res.Rejects)
	}
}

func withLenCRC(seg string) string {
	return fmt.Sprintf("##%04d%s%04X", len(seg), seg, hj212.CRC([]byte(seg)))
}
