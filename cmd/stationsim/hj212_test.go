package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/hj212srv"
	"github.com/envpipe/envpipe/ingest/pipeline"
	"github.com/envpipe/envpipe/ingest/station"
)

const hj212Stations = `stations:
  - {id: zz-air-0601, name: 醴陵, county: Liling, kind: air, lat: 27.6, lon: 113.5, interval: 1m, hj212_mn: "88888880000001", hj212_password: "123456"}
  - {id: zz-air-0101, name: 株洲, county: Hetang, kind: air, lat: 27.8, lon: 113.1, interval: 1m}
  - {id: zz-wat-xj03, name: 白石港, county: Hetang, kind: water, river: 湘江, section: 白石港, target_class: II, lat: 27.8, lon: 113.1, interval: 4h, hj212_mn: "88888880000101", hj212_password: "654321"}
`

func writeHJ212Stations(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stations.yaml")
	if err := os.WriteFile(p, []byte(hj212Stations), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHJ212FlagsParseAndValidate(t *testing.T) {
	cfg, err := parseFlags([]string{"-hj212", "tcp", "-hj212-addr", "127.0.0.1:9", "-hj212-uploads", "2051,2061",
		"-hj212-outage", "zz-air-0601:+30m:30m", "-hj212-outage", "*:2026-11-28T08:00:00+08:00:1h"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.HJ212
	if o.uploads("2011") || !o.uploads("2051") || len(o.Outages) != 2 {
		t.Errorf("options %+v", o)
	}
	start := time.Date(2026, 11, 28, 7, 0, 0, 0, cst)
	outs, err := newOutages(mustLoad(t, writeHJ212Stations(t)), o.Outages, start)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   string
		at   time.Duration
		want bool
	}{
		{"zz-air-0601", 29 * time.Minute, false}, {"zz-air-0601", 30 * time.Minute, true},
		{"zz-air-0601", 59 * time.Minute, true}, {"zz-air-0601", 60 * time.Minute, true}, // the * outage from 08:00
		{"zz-wat-xj03", 45 * time.Minute, false}, {"zz-wat-xj03", 119 * time.Minute, true}, {"zz-wat-xj03", 120 * time.Minute, false},
	} {
		if got := outs.offline(c.id, start.Add(c.at)); got != c.want {
			t.Errorf("%s at +%v: offline %v, want %v", c.id, c.at, got, c.want)
		}
	}

	for _, bad := range []hj212Options{
		{Mode: "udp", Uploads: []string{"2011"}},
		{Mode: "mqtt", Topic: "env/+/hj212", Uploads: []string{"2011"}},
		{Mode: "tcp", Addr: "x:1", Uploads: []string{"9014"}},
		{Mode: "tcp", Addr: "x:1", Uploads: []string{"2011"}, Outages: []string{"zz:+5m"}},
		{Outages: []string{"zz:+5m:5m"}},
	} {
		if err := bad.validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if _, err := parseFlags([]string{"-hj212", "udp", "-hj212-outage", "x"}, noEnv, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "-hj212 ") || !strings.Contains(err.Error(), "-hj212-outage") {
		t.Errorf("bad HJ 212 flags: %v", err)
	}
	var usage bytes.Buffer
	_, _ = parseFlags([]string{"-h"}, noEnv, &usage)
	if !strings.Contains(usage.String(), "-hj212-outage STATION:START:DURATION") {
		t.Error("usage lacks the HJ 212 mode")
	}
	if _, err := newOutages(mustLoad(t, writeHJ212Stations(t)), []string{"zz-air-0101:+1m:1m", "nope:+1m:1m"}, start); err == nil ||
		!strings.Contains(err.Error(), "no hj212_mn") || !strings.Contains(err.Error(), "unknown station") {
		t.Errorf("newOutages: %v", err)
	}
}

func mustLoad(t *testing.T, path string) *station.Registry {
	t.Helper()
	reg, errs := station.Load(path)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return reg
}

// Against envpipe's real listener and decoder: the station goes off line
// for 30 simulated minutes; once back, envpipe asks for its minute and
// hourly data and every minute and every complete hour arrives.
func TestHJ212OverTCPFillsAnOutageWhenEnvpipeAsks(t *testing.T) {
	path := writeHJ212Stations(t)
	reg := mustLoad(t, path)
	m := hj212srv.NewMetrics(prometheus.NewRegistry(), reg)
	dec := hj212srv.NewDecoder(hj212srv.DecoderConfig{Registry: reg, Metrics: m})
	deliveries := make(chan pipeline.Delivery, 64)
	var mu sync.Mutex
	seen := map[ingest.Period]map[int64]bool{} // by Unix seconds: times differ in zone
	rejected := 0
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for d := range deliveries {
			res := dec.Decode(&d)
			mu.Lock()
			rejected += len(res.Rejects)
			for _, r := range res.Readings {
				if r.Station != "zz-air-0601" {
					continue
				}
				if seen[r.Period] == nil {
					seen[r.Period] = map[int64]bool{}
				}
				seen[r.Period][r.Time.Unix()] = true
			}
			mu.Unlock()
			d.Ack()
		}
	}()
	lcfg := hj212srv.DefaultConfig()
	lcfg.Listen = "127.0.0.1:0"
	lcfg.MaxFramesPerSecond = 0
	l := hj212srv.NewListener(lcfg, reg, deliveries, m, nil)
	if err := l.Listen(); err != nil {
		t.Fatal(err)
	}
	lctx, stop := context.WithCancel(context.Background())
	lDone := make(chan error, 1)
	go func() { lDone <- l.Run(lctx) }()
	defer func() {
		stop()
		<-lDone
		close(deliveries)
		<-consumed
	}()

	start := time.Now().Truncate(time.Hour).Add(-6 * time.Hour)
	cfg := config{Stations: path, Speed: 3600, Duration: 2500 * time.Millisecond, Start: start, Seed: 1, Drain: 5 * time.Second,
		HJ212: hj212Options{Mode: "tcp", Addr: l.Addr().String(), Uploads: []string{"2011", "2051", "2061"},
			Outages: []string{"zz-air-0601:+50m:30m"}}}
	var out bytes.Buffer
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(out.String()))

	mu.Lock()
	defer mu.Unlock()
	if rejected != 0 {
		t.Errorf("%d refusals", rejected)
	}
	minutes := seen[ingest.PeriodMinute]
	var last time.Time
	for sec := range minutes {
		if tm := time.Unix(sec, 0); tm.After(last) {
			last = tm
		}
	}
	if last.Sub(start) < 100*time.Minute {
		t.Fatalf("minute data up to %v only", last)
	}
	for tm := start; !tm.After(last); tm = tm.Add(time.Minute) {
		if !minutes[tm.Unix()] {
			t.Errorf("minute %s missing", tm.In(cst).Format(time.TimeOnly))
		}
		if rt := seen[ingest.PeriodInstant]; !rt[tm.Unix()] && (tm.Sub(start) < 50*time.Minute || tm.Sub(start) >= 80*time.Minute) {
			t.Errorf("real-time reading %s missing", tm.In(cst).Format(time.TimeOnly))
		}
	}
	if n := len(seen[ingest.PeriodInstant]); n != len(minutes)-30 {
		t.Errorf("%d real-time readings, want %d (none for the outage: real-time data is not backfilled)", n, len(minutes)-30)
	}
	for h := start; h.Add(time.Hour).Before(last); h = h.Add(time.Hour) {
		if !seen[ingest.PeriodHour][h.Unix()] {
			t.Errorf("hour %s missing", h.In(cst).Format(time.TimeOnly))
		}
	}
	if !strings.Contains(out.String(), "2 history requests answered") {
		t.Errorf("summary: %s", out.String())
	}
}

// Over MQTT each frame is one message on env/{station}/hj212, and parses.
func TestHJ212OverMQTTPublishesOneFramePerMessage(t *testing.T) {
	broker := startMosquitto(t, "allow_anonymous true")
	path := writeHJ212Stations(t)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("hj212-sub"))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	var mu sync.Mutex
	topics := map[string]int{}
	var bad []string
	tok := sub.Subscribe("env/+/hj212", 1, func(_ mqtt.Client, msg mqtt.Message) {
		f, err := hj212.Parse(msg.Payload(), hj212.ParseOptions{})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			bad = append(bad, string(msg.Payload()))
			return
		}
		topics[msg.Topic()+" "+f.CN]++
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	cfg, err := parseFlags([]string{"-stations", path, "-broker", broker, "-client-id", "sim-hj212", "-speed", "1e6",
		"-count", "20", "-start", "2026-11-28T08:00:00+08:00", "-hj212", "mqtt", "-hj212-uploads", "2011,2051"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := 0
		for _, c := range topics {
			n += c
		}
		mu.Unlock()
		if n >= 20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("unparsable frames: %q", bad)
	}
	// 10 minutes of the 1-minute station (2011 + 2051 each), and the
	// 4-hour section's reading at the start.
	if topics["env/zz-air-0601/hj212 2011"] < 9 || topics["env/zz-air-0601/hj212 2051"] < 9 ||
		topics["env/zz-wat-xj03/hj212 2011"] != 1 || topics["env/zz-air-0101/hj212 2011"] != 0 {
		t.Errorf("messages by topic and CN: %v", topics)
	}
}
