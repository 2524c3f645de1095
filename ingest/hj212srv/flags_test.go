package hj212srv

import (
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/hj212"
)

// A value with a flag outside HJ 212-2017 Table 8 reaches the pipeline
// flagged with its raw flag (so <param>_flagged keeps it); the flag is
// counted per station, not refused.
func TestDecoderKeepsValuesWithUnknownFlagsAndCountsThem(t *testing.T) {
	tests := []struct {
		flag   string
		kept   bool
		reject ingest.Reason // "" for none
		count  float64
	}{
		{"N", true, "", 0},
		{"P", true, "", 1},
		{"0", true, "", 1},
		{"H", true, "", 1},
		{"NN", false, ingest.ReasonBadFlag, 0},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			d, prom := newTestDecoder(t, newRegistry(t, airStation("st-a", "MN-A", "pw")))
			at := hj212.FormatDataTime(time.Now().Add(-time.Hour).Truncate(time.Minute), nil)
			res := decodeOne(d, "st-a", frame(t, qn(1), "2011", "MN-A", "pw", 5,
				"DataTime="+at+";a34004-Rtd=38,a34004-Flag="+tt.flag+";a34002-Rtd=50,a34002-Flag=N"))
			if len(res.Readings) != 1 {
				t.Fatalf("readings %+v rejects %v, want one reading", res.Readings, res.Rejects)
			}
			v, ok := res.Readings[0].Get("pm25")
			if ok != tt.kept || (ok && string(rune(v.Flag)) != tt.flag) {
				t.Errorf("pm25 %+v kept=%v, want kept=%v with flag %q", v, ok, tt.kept, tt.flag)
			}
			var reasons []ingest.Reason
			for _, rj := range res.Rejects {
				reasons = append(reasons, rj.Reason)
			}
			if (tt.reject == "") != (len(reasons) == 0) || (tt.reject != "" && reasons[0] != tt.reject) {
				t.Errorf("rejects %v, want %q", reasons, tt.reject)
			}
			if n := metricValue(t, prom, "envpipe_hj212_unknown_flags_total", "station", "st-a"); n != tt.count {
				t.Errorf("unknown_flags_total = %v, want %v", n, tt.count)
			}
		})
	}
}
