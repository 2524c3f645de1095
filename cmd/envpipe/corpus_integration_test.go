package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/internal/testenv"
)

type corpusCase struct {
	file, station, reason string
	count                 int // rejections the payload causes
	payload               []byte
}

// topic is where the payload is published: HJ 212 frames (hj212-*.txt) on
// the station's hj212 topic, JSON on its data topic.
func (c corpusCase) topic() string {
	if strings.HasPrefix(c.file, "hj212-") {
		return "env/" + c.station + "/hj212"
	}
	return "env/" + c.station + "/data"
}

// loadCorpus reads testdata/badinput/MANIFEST.tsv and the payloads it names.
func loadCorpus(t *testing.T) []corpusCase {
	f, err := os.Open("testdata/badinput/MANIFEST.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []corpusCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 3 && len(parts) != 4 {
			t.Fatalf("manifest line %q", line)
		}
		count := 1
		if len(parts) == 4 {
			fmt.Sscan(parts[3], &count)
		}
		b, err := os.ReadFile(filepath.Join("testdata/badinput", parts[0]))
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, corpusCase{parts[0], parts[1], parts[2], count, b})
	}
	return cases
}

// TestBadInputCorpus publishes every malformed payload of testdata/badinput
// (and a 10 MB one made here, too big to commit), each followed by a good
// reading: each is refused with its reason and dead-lettered, envpipe keeps
// running, and every good reading arrives.
func TestBadInputCorpus(t *testing.T) {
	testenv.Integration(t)
	cases := loadCorpus(t)
	if len(cases) < 50 {
		t.Fatalf("corpus has %d payloads, want at least 50", len(cases))
	}
	cases = append(cases, corpusCase{"(generated) 10 MB payload", "st-000", "payload_too_large", 1,
		[]byte(`{"station":"st-000","time":"2026-11-28T09:00:00+08:00","values":{"pm25":1},"pad":"` + strings.Repeat("x", 10<<20) + `"}`)})

	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	influxd := testenv.InfluxDB(t)
	dir := t.TempDir()
	testStations(t, dir, 3)
	port := testenv.FreePort(t)
	d := startDaemon(t, dir, writeConfig(t, dir, broker.URL(), influxd.URL(), port, ""), port)

	pub := publisher(t, broker.URL(), "pub-corpus")
	base := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	var msgs [][2]string
	want := map[string]int{}
	rejections := 0
	for i, c := range cases {
		msgs = append(msgs, [2]string{c.topic(), string(c.payload)})
		msgs = append(msgs, [2]string{"env/st-002/data",
			fmt.Sprintf(`{"station":"st-002","time":"%s","values":{"pm25":%d}}`, base.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), i)})
		want[c.reason] += c.count
		rejections += c.count
	}
	publishAll(t, pub, msgs)
	waitCount(t, influxd, "air", "pm25", len(cases), 60*time.Second)

	total := 0.0
	for reason, n := range want {
		got := d.metric(fmt.Sprintf(`envpipe_readings_rejected_total{reason="%s"}`, reason))
		if got != float64(n) {
			t.Errorf("rejected{reason=%s} = %v, want %d", reason, got, n)
		}
	}
	body, _ := d.get("/metrics")
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "envpipe_readings_rejected_total{") {
			var v float64
			fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%g", &v)
			total += v
		}
	}
	if total != float64(rejections) {
		t.Errorf("%v rejections in all, want %d", total, rejections)
	}

	// Each bad payload's dead letters, with its reason, in publish order.
	f, err := os.Open(filepath.Join(dir, "deadletter.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	var expect []corpusCase
	for _, c := range cases {
		for k := 0; k < c.count; k++ {
			expect = append(expect, c)
		}
	}
	i := 0
	for sc.Scan() {
		var r struct{ Reason, Topic, Payload string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("dead letter %d: %v", i, err)
		}
		if i < len(expect) && (r.Reason != expect[i].reason || r.Topic != expect[i].topic()) {
			t.Errorf("%s: dead letter reason %s topic %s, want %s", expect[i].file, r.Reason, r.Topic, expect[i].reason)
		}
		i++
	}
	if i != len(expect) {
		t.Errorf("%d dead letters, want %d", i, len(expect))
	}
	if _, code := d.get("/readyz"); code != 200 {
		t.Errorf("/readyz %d after the corpus", code)
	}
}
