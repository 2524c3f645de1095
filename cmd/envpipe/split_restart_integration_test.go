package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/hj212srv"
	"github.com/envpipe/envpipe/internal/testenv"
)

// A station sends a split hourly upload over TCP, one packet at a time,
// each answered with 9014 (as devices expect) before the message is whole.
// envpipe is SIGKILLed after the second of three packets; the station
// reconnects and sends the third. The hourly reading in InfluxDB carries
// all three pollutants: the answered packets came back from the journal.
func TestSplitUploadSurvivesSIGKILLBetweenPackets(t *testing.T) {
	testenv.Integration(t)
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{})
	influxd := testenv.InfluxDB(t)
	dir := t.TempDir()
	testStations(t, dir, 2) // st-000 is MN-ST000 with password pw000
	port, hjPort := testenv.FreePort(t), testenv.FreePort(t)
	hjAddr := fmt.Sprintf("127.0.0.1:%d", hjPort)
	p := spawnEnvpipe(t, dir, writeConfig(t, dir, broker.URL(), influxd.URL(), port,
		fmt.Sprintf("hj212: {listen: %q}\n", hjAddr)), port)

	at := hj212.FormatDataTime(time.Now().Add(-2*time.Hour).Truncate(time.Hour), nil)
	codes := [...]string{"a34004", "a34002", "a21026"} // pm25, pm10, so2
	send := func(pno int) {
		t.Helper()
		seg := fmt.Sprintf("QN=20261129080000%03d;ST=22;CN=2061;PW=pw000;MN=MN-ST000;Flag=7;PNUM=3;PNO=%d;CP=&&DataTime=%s;%s-Avg=%d&&",
			pno, pno, at, codes[pno-1], 10*pno)
		frame := fmt.Sprintf("##%04d%s%04X\r\n", len(seg), seg, hj212.CRC([]byte(seg)))
		c, err := net.DialTimeout("tcp", hjAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte(frame)); err != nil {
			t.Fatal(err)
		}
		answer, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.Contains(answer, "CN=9014") {
			t.Fatalf("packet %d: answer %q, %v; want 9014", pno, answer, err)
		}
	}

	send(1)
	send(2)
	p.kill()
	if n := countFiles(t, filepath.Join(dir, "wal", hj212srv.JournalDir), ".seg"); n == 0 {
		t.Fatal("no journal segment after the kill")
	}
	p.start()
	send(3)

	waitCount(t, influxd, "air_hour", "so2", 1, 30*time.Second)
	for _, f := range []string{"pm25", "pm10"} {
		if n := influxd.Count("air_hour", f); n != 1 {
			t.Errorf("air_hour holds %d %s values, want 1: the packet answered before the kill was lost", n, f)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "deadletter.jsonl")); err == nil && strings.Contains(string(b), "hj212_split") {
		t.Errorf("split packets dead-lettered:\n%s", b)
	}
	if err := p.term(); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
}

func countFiles(t *testing.T, dir, suffix string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if strings.HasSuffix(e.Name(), suffix) {
			n++
		}
	}
	return n
}
