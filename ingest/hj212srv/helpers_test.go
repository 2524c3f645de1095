package hj212srv

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/deadletter"
	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/station"
)

// refFrame is one row of the codec's reference TSVs (standards.md frames
// and real device frames): name, expected verdict, frame without CR LF.
type refFrame struct{ name, expect, frame string }

func refFrames(t testing.TB) []refFrame {
	t.Helper()
	var out []refFrame
	for _, path := range []string{"../hj212/testdata/hj212-frames.tsv", "../hj212/testdata/rx-log-frames.tsv"} {
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			cols := strings.Split(line, "\t")
			if len(cols) != 3 {
				t.Fatalf("%s: want 3 columns: %q", path, line)
			}
			out = append(out, refFrame{cols[0], cols[1], cols[2]})
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d reference frames", len(out))
	}
	return out
}

var headerField = regexp.MustCompile(`(?:^##\d{4}|;)(MN|PW|ST|CN)=([^;]*)`)

// header returns a header field of a raw frame, without parsing it (the
// frame may have a bad CRC).
func header(frame, key string) string {
	for _, m := range headerField.FindAllStringSubmatch(frame, -1) {
		if m[1] == key {
			return m[2]
		}
	}
	return ""
}

// newRegistry builds a registry, failing the test on a bad station.
func newRegistry(t testing.TB, sts ...*station.Station) *station.Registry {
	t.Helper()
	for _, s := range sts {
		if s.County == "" {
			s.County = "Hetang"
		}
		if s.Kind == ingest.KindWater {
			s.River, s.TargetClass = "湘江", "II"
		}
	}
	reg, errs := station.New(sts)
	if len(errs) > 0 {
		t.Fatalf("registry: %v", errs)
	}
	return reg
}

// airStation is an air station speaking HJ 212 with MN and PW.
func airStation(id, mn, pw string) *station.Station {
	return &station.Station{ID: id, Name: id, Kind: ingest.KindAir, County: "Hetang", Lat: 27.8, Lon: 113.1,
		Interval: time.Minute, HJ212MN: mn, HJ212Password: pw}
}

// frame builds an encoded frame (CR LF included) from its parts; cp is the
// text between "CP=&&" and "&&".
func frame(t testing.TB, qn, cn, mn, pw string, flag int, cp string) []byte {
	t.Helper()
	seg := fmt.Sprintf("QN=%s;ST=22;CN=%s;PW=%s;MN=%s;Flag=%d;CP=&&%s&&", qn, cn, pw, mn, flag, cp)
	if qn == "" {
		seg = strings.TrimPrefix(seg, "QN=;")
	}
	return []byte(fmt.Sprintf("##%04d%s%04X\r\n", len(seg), seg, hj212.CRC([]byte(seg))))
}

// badCRC returns f with its CRC changed.
func badCRC(f []byte) []byte {
	g := append([]byte(nil), f...)
	i := len(g) - 3 // last CRC digit
	if g[i] == '0' {
		g[i] = '1'
	} else {
		g[i] = '0'
	}
	return g
}

// swapCRC returns f with the byte-swapped Modbus CRC some devices send.
func swapCRC(f []byte) []byte {
	s := strings.TrimSuffix(string(f), "\r\n")
	seg := s[6 : len(s)-4]
	reg := uint16(0xFFFF)
	for i := 0; i < len(seg); i++ {
		reg ^= uint16(seg[i])
		for range 8 {
			if reg&1 == 1 {
				reg = reg>>1 ^ 0xA001
			} else {
				reg >>= 1
			}
		}
	}
	return []byte(fmt.Sprintf("%s%04X\r\n", s[:len(s)-4], reg<<8|reg>>8))
}

// dataCP is a real-time CP at t with PM2.5 v.
func dataCP(t time.Time, v float64) string {
	return fmt.Sprintf("DataTime=%s;a34004-Rtd=%g,a34004-Flag=N", hj212.FormatDataTime(t, nil), v)
}

// deadLetters collects what the pipeline dead-letters.
type deadLetters struct {
	mu   sync.Mutex
	recs []deadletter.Record
}

func (d *deadLetters) Write(r deadletter.Record, payload []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recs = append(d.recs, r)
	return nil
}

func (d *deadLetters) reasons() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := map[string]int{}
	for _, r := range d.recs {
		m[r.Reason]++
	}
	return m
}

// metricValue returns the value of a counter or gauge with the given labels
// (name=value pairs), 0 when it does not exist.
func metricValue(t testing.TB, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !hasLabel(m, labels[i], labels[i+1]) {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k {
			return l.GetValue() == v
		}
	}
	return false
}

// testLogger discards, unless HJ212SRV_LOG is set: then debug logs go to
// stderr.
func testLogger() *slog.Logger {
	if os.Getenv("HJ212SRV_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func prometheusRegistry() *prometheus.Registry { return prometheus.NewRegistry() }
