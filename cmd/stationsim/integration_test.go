package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/envpipe/envpipe/internal/testenv"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

const mosquittoBin = "/usr/sbin/mosquitto"

// startMosquitto starts a broker of its own on a free 127.0.0.1 port with
// extra configuration lines, in t.TempDir(), and kills it (by its PID) when
// the test ends. It returns the broker URL. Without the binary the test is
// skipped, or fails when CI=true.
func startMosquitto(t *testing.T, extra ...string) string {
	t.Helper()
	testenv.Require(t, mosquittoBin) // missing: a failure with CI=true, else a skip
	dir := t.TempDir()
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		conf := strings.Join(append([]string{
			fmt.Sprintf("listener %d 127.0.0.1", port),
			"user root",
			"persistence false",
			"log_dest stderr",
		}, extra...), "\n") + "\n"
		confPath := filepath.Join(dir, "mosquitto.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("mosquitto-%d.log", attempt)))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(mosquittoBin, "-c", confPath)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); logf.Close(); close(exited) }()
		stop := func() {
			cmd.Process.Kill() // our own child, by PID
			<-exited
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		deadline := time.Now().Add(10 * time.Second)
		for {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Cleanup(stop)
				return "tcp://" + addr
			}
			select {
			case <-exited:
			case <-time.After(50 * time.Millisecond):
				if time.Now().Before(deadline) {
					continue
				}
				stop()
			}
			break
		}
		log, _ := os.ReadFile(logf.Name())
		if attempt == 2 {
			t.Fatalf("mosquitto did not come up on %s:\n%s", addr, log)
		}
		t.Logf("mosquitto did not come up on %s, trying another port:\n%s", addr, log)
	}
}

// freePort picks a port below the ephemeral range that nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		p := 20000 + rand.IntN(10000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

// subscribe collects every message on env/+/data at QoS 1.
func subscribe(t *testing.T, url, user, password string) <-chan mqtt.Message {
	t.Helper()
	ch := make(chan mqtt.Message, 100000)
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("test-sub-%d", rand.Int())).
		SetUsername(user).SetPassword(password).SetCleanSession(true).SetOrderMatters(false)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	if tok := c.Subscribe("env/+/data", 1, func(_ mqtt.Client, m mqtt.Message) { ch <- m }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return ch
}

// receive waits for n messages (and a little longer, to catch extra ones).
func receive(t *testing.T, ch <-chan mqtt.Message, n int) []mqtt.Message {
	t.Helper()
	var got []mqtt.Message
	timeout := time.After(20 * time.Second)
	for len(got) < n {
		select {
		case m := <-ch:
			got = append(got, m)
		case <-timeout:
			t.Fatalf("received %d messages, want %d", len(got), n)
		}
	}
	select {
	case m := <-ch:
		t.Errorf("message beyond the %d expected: %s %s", n, m.Topic(), m.Payload())
	case <-time.After(300 * time.Millisecond):
	}
	return got
}

// readingsOf decodes a message into its readings, checking the topic names
// the payload's station.
func readingsOf(t *testing.T, m mqtt.Message) (station string, objs []map[string]any) {
	t.Helper()
	p := m.Payload()
	if len(p) > 0 && p[0] == '[' {
		if err := json.Unmarshal(p, &objs); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	} else {
		var o map[string]any
		if err := json.Unmarshal(p, &o); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		objs = []map[string]any{o}
	}
	station = strings.TrimSuffix(strings.TrimPrefix(m.Topic(), "env/"), "/data")
	for _, o := range objs {
		if o["station"] != station {
			t.Errorf("topic %s carries station %v", m.Topic(), o["station"])
		}
	}
	return station, objs
}

func testConfig(url string) config {
	return config{
		Stations: "../../configs/stations.yaml", Broker: url, Topic: "env/{station}/data",
		ClientID: fmt.Sprintf("stationsim-test-%d", rand.Int()), Speed: 600, Seed: 1,
		Batch: 1, Conns: 2, Window: 1000, Drain: 5 * time.Second,
		Start: time.Date(2026, 11, 28, 8, 0, 0, 0, cst),
	}
}

func TestPublishesTheSampleNetworkToARealBroker(t *testing.T) {
	url := startMosquitto(t, "allow_anonymous true")
	msgs := subscribe(t, url, "", "")

	cfg := testConfig(url)
	cfg.Count = 60
	cfg.Silent = []string{"zz-air-0901"}
	cfg.Faulty = []string{"zz-air-0202:pm10:D"}
	cfg.Episodes = []string{"zz-air-0301:pm25:+0s:1h:10"}
	var out bytes.Buffer
	if err := run(t.Context(), cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	if !strings.Contains(out.String(), "count reached") || !strings.Contains(out.String(), "60 published (acknowledged), 0 failed, 0 unconfirmed") {
		t.Errorf("summary:\n%s", out.String())
	}

	seen := map[string]int{}
	for _, m := range receive(t, msgs, 60) {
		station, objs := readingsOf(t, m)
		seen[station]++
		o := objs[0]
		flags, _ := o["flags"].(map[string]any)
		if station == "zz-air-0202" {
			if flags["pm10"] != "D" {
				t.Errorf("zz-air-0202 flags %v, want pm10 D", flags)
			}
		} else if flags != nil {
			t.Errorf("%s flags %v, want none", station, flags)
		}
		if station == "zz-air-0301" {
			if pm25 := o["values"].(map[string]any)["pm25"].(float64); pm25 < 100 {
				t.Errorf("zz-air-0301 pm25 %v during a ×10 episode", pm25)
			}
		}
	}
	if seen["zz-air-0901"] != 0 {
		t.Errorf("silent zz-air-0901 published %d messages", seen["zz-air-0901"])
	}
	if len(seen) != 24 {
		t.Errorf("%d stations published, want the 24 that are not silent: %v", len(seen), seen)
	}
}

func TestBatchesUnderLoad(t *testing.T) {
	url := startMosquitto(t, "allow_anonymous true")
	msgs := subscribe(t, url, "", "")
	cfg := testConfig(url)
	cfg.Speed, cfg.Count, cfg.Batch, cfg.Conns, cfg.Window = 1e6, 1000, 5, 3, 100
	var out bytes.Buffer
	if err := run(t.Context(), cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	readings := 0
	for _, m := range receive(t, msgs, 1000) {
		_, objs := readingsOf(t, m)
		if len(objs) != 5 {
			t.Fatalf("a batch of %d readings, want 5", len(objs))
		}
		readings += len(objs)
	}
	if readings != 5000 {
		t.Errorf("%d readings, want 5000", readings)
	}
}

// TestPerStationAuthPassesTheBrokerACL runs against the shipped ACL rule
// (pattern write env/%u/#): every station logs in as itself.
func TestPerStationAuthPassesTheBrokerACL(t *testing.T) {
	dir := t.TempDir()
	stations := filepath.Join(dir, "stations.yaml")
	if err := os.WriteFile(stations, []byte(`stations:
  - {id: zz-air-0101, name: a, county: Hetang, kind: air, lat: 27.86, lon: 113.16, interval: 1m}
  - {id: zz-air-0102, name: b, county: Hetang, kind: air, lat: 27.85, lon: 113.17, interval: 1m}
  - {id: zz-wat-xj01, name: c, county: Lukou, kind: water, river: 湘江, waterbody: river, target_class: II, lat: 27.45, lon: 113.17, interval: 4h}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	mkpasswd := testenv.Require(t, "mosquitto_passwd") // in the Debian package mosquitto
	passwd := filepath.Join(dir, "passwd")
	for i, user := range []string{"envpipe", "zz-air-0101", "zz-air-0102", "zz-wat-xj01"} {
		args := []string{"-b", passwd, user, "pw-" + user}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(mkpasswd, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
		}
	}
	acl := filepath.Join(dir, "acl")
	if err := os.WriteFile(acl, []byte("pattern write env/%u/#\nuser envpipe\ntopic read env/#\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url := startMosquitto(t, "allow_anonymous false", "password_file "+passwd, "acl_file "+acl)
	msgs := subscribe(t, url, "envpipe", "pw-envpipe")

	cfg := testConfig(url)
	cfg.Stations = stations
	cfg.PerStationAuth, cfg.StationPassword = true, "pw-{station}"
	cfg.Speed, cfg.Duration = 60, 2500*time.Millisecond // air at +0s, +1s, +2s; water once
	var out bytes.Buffer
	if err := run(t.Context(), cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	seen := map[string]int{}
	for _, m := range receive(t, msgs, 7) {
		station, _ := readingsOf(t, m)
		seen[station]++
	}
	if seen["zz-air-0101"] != 3 || seen["zz-air-0102"] != 3 || seen["zz-wat-xj01"] != 1 {
		t.Errorf("messages per station %v, want 3, 3, 1", seen)
	}

	cfg.StationPassword = "wrong"
	err := run(t.Context(), cfg, &out)
	if err == nil || !strings.Contains(err.Error(), "zz-air-0101") {
		t.Errorf("a wrong station password: %v, want a connect error naming the station", err)
	}
}

func TestAnInterruptDisconnectsWithinASecond(t *testing.T) {
	url := startMosquitto(t, "allow_anonymous true")
	msgs := subscribe(t, url, "", "")
	cfg := testConfig(url)
	cfg.Speed = 60
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- run(ctx, cfg, &out) }()
	<-msgs // publishing
	time.Sleep(500 * time.Millisecond)
	cancel()
	start := time.Now()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("run returned %v after the interrupt, want within 1s", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return within 5s of the interrupt")
	}
	if !strings.Contains(out.String(), "interrupted") {
		t.Errorf("summary:\n%s", out.String())
	}
}
