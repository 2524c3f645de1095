package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/internal/testenv"
)

// TestBadInputIsRefusedWithAReasonAndGoodInputStillArrives sends every kind
// of bad input the walking skeleton must refuse, interleaved with good
// readings, and checks the reason counters, the dead-letter file and that
// the good readings (including the good half of mixed messages) land.
func TestBadInputIsRefusedWithAReasonAndGoodInputStillArrives(t *testing.T) {
	testenv.Integration(t)
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	influxd := testenv.InfluxDB(t)
	dir := t.TempDir()
	testStations(t, dir, 3)
	port := testenv.FreePort(t)
	cfg := writeConfig(t, dir, broker.URL(), influxd.URL(), port,
		"validation: {max_age: 720h, max_future: 5m, max_payload_bytes: 4096}\n")
	// The base config sets validation too: drop its line so ours stands.
	editConfig(t, cfg, "validation: {max_age: 8760h}\n", "")
	d := startDaemon(t, dir, cfg, port)

	now := time.Now().UTC().Truncate(time.Second)
	ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	good := func(station string, i int) string {
		return fmt.Sprintf(`{"station":"%s","time":"%s","values":{"pm25":%d}}`, station, ts(-time.Duration(i)*time.Minute), 10+i)
	}
	bad := []struct {
		reason, topic, payload string
	}{
		{"unknown_station", "env/nobody/data", `{"station":"nobody","time":"` + ts(0) + `","values":{"pm25":1}}`},
		{"station_mismatch", "env/st-001/data", `{"station":"st-002","time":"` + ts(0) + `","values":{"pm25":1}}`},
		{"param_wrong_kind", "env/wat-01/data", `{"station":"wat-01","time":"` + ts(0) + `","values":{"pm25":1}}`},
		{"unknown_param", "env/st-000/data", `{"station":"st-000","time":"` + ts(0) + `","values":{"radon":1}}`},
		{"not_numeric", "env/st-000/data", `{"station":"st-000","time":"` + ts(0) + `","values":{"pm25":"NaN"}}`},
		{"not_finite", "env/st-000/data", `{"station":"st-000","time":"` + ts(0) + `","values":{"pm25":1e999}}`},
		{"below_min", "env/st-000/data", `{"station":"st-000","time":"` + ts(0) + `","values":{"pm25":-3}}`},
		{"above_max", "env/st-000/data", `{"station":"st-000","time":"` + ts(0) + `","values":{"pm25":99999}}`},
		{"time_future", "env/st-000/data", `{"station":"st-000","time":"` + ts(2*time.Hour) + `","values":{"pm25":1}}`},
		{"time_too_old", "env/st-000/data", `{"station":"st-000","time":"` + ts(-800*time.Hour) + `","values":{"pm25":1}}`},
		{"payload_too_large", "env/st-000/data", `{"station":"st-000","time":"` + ts(0) + `","values":{"pm25":1},"pad":"` + strings.Repeat("x", 5000) + `"}`},
		{"malformed_json", "env/st-000/data", `{"station":"st-000","time":`},
		{"invalid_station_id", "env/st-000/data", `{"station":"a,b=c d","time":"` + ts(0) + `","values":{"pm25":1}}`},
		{"invalid_param_name", "env/st-000/data", `{"station":"st-000","time":"` + ts(0) + `","values":{"pm25=1 x":1}}`},
	}
	var msgs [][2]string
	goodCount := 0
	for i, c := range bad {
		msgs = append(msgs, [2]string{c.topic, c.payload})
		msgs = append(msgs, [2]string{"env/st-000/data", good("st-000", i)})
		goodCount++
	}
	// A message with one good and one bad reading keeps the good one; a
	// reading with one bad value keeps its good values.
	msgs = append(msgs, [2]string{"env/st-001/data", fmt.Sprintf(`[{"station":"st-001","time":"%s","values":{"pm25":5}},{"station":"st-001","time":"bad","values":{"pm25":6}}]`, ts(0))})
	msgs = append(msgs, [2]string{"env/st-002/data", fmt.Sprintf(`{"station":"st-002","time":"%s","values":{"pm25":7,"pm10":-1}}`, ts(0))})
	goodCount += 2
	publishAll(t, publisher(t, broker.URL(), "pub-bad"), msgs)

	waitCount(t, influxd, "air", "pm25", goodCount, 30*time.Second)
	if n := influxd.Count("air", "pm10"); n != 0 {
		t.Errorf("pm10 -1 was stored (%d points)", n)
	}

	wantCounts := map[string]int{"bad_time": 1}
	for _, c := range bad {
		wantCounts[c.reason]++
	}
	wantCounts["below_min"]++ // the pm10 -1 beside a good pm25
	for reason, n := range wantCounts {
		if got := d.metric(fmt.Sprintf(`envpipe_readings_rejected_total{reason="%s"}`, reason)); got != float64(n) {
			t.Errorf("rejected{reason=%s} = %v, want %d", reason, got, n)
		}
	}

	// Every refusal is in the dead-letter file with its reason, its topic and
	// the exact payload.
	f, err := os.Open(filepath.Join(dir, "deadletter.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type rec struct {
		Time    time.Time `json:"time"`
		Reason  string    `json:"reason"`
		Topic   string    `json:"topic"`
		Detail  string    `json:"detail"`
		Payload string    `json:"payload"`
	}
	got := map[string][]rec{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		var r rec
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("dead letter line %q: %v", sc.Text(), err)
		}
		if r.Time.IsZero() || r.Reason == "" {
			t.Errorf("dead letter without time or reason: %s", sc.Text())
		}
		got[r.Reason] = append(got[r.Reason], r)
		lines++
	}
	if lines != len(bad)+2 {
		t.Errorf("%d dead letters, want %d", lines, len(bad)+2)
	}
	for _, c := range bad {
		found := false
		for _, r := range got[c.reason] {
			payload, _ := base64.StdEncoding.DecodeString(r.Payload)
			found = found || (r.Topic == c.topic && string(payload) == c.payload)
		}
		if !found {
			t.Errorf("no dead letter for %s with topic %s and the exact payload (got %+v)", c.reason, c.topic, got[c.reason])
		}
	}
	// The process keeps running and stays ready.
	if _, code := d.get("/readyz"); code != 200 {
		t.Errorf("/readyz = %d after bad input", code)
	}
}
