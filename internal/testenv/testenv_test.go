package testenv

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestRepoRootAndFreePort(t *testing.T) {
	root := RepoRoot(t)
	for _, f := range []string{"go.mod", MosquittoConfig, MosquittoACL} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("RepoRoot %s: %v", root, err)
		}
	}
	seen := map[int]bool{}
	for range 20 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("FreePort returned %d twice", p)
		}
		seen[p] = true
		if p >= ephemeralLow() && ephemeralLow() > 12000 {
			t.Errorf("FreePort returned %d, inside the ephemeral range", p)
		}
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d from FreePort is not free: %v", p, err)
		}
		l.Close()
	}
}

// fakeTB records Fatalf/Skipf and stops the goroutine like testing.T does.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func runFake(t *testing.T, fn func(tb testing.TB)) *fakeTB {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

func TestRequire(t *testing.T) {
	if p := Require(t, "sh"); !filepath.IsAbs(p) {
		t.Errorf("Require(sh) = %q, want an absolute path", p)
	}
	t.Run("missing in CI fails", func(t *testing.T) {
		t.Setenv("CI", "true")
		f := runFake(t, func(tb testing.TB) { Require(tb, "envpipe-no-such-server") })
		if f.fatal == "" || f.skip != "" {
			t.Errorf("with CI=true: fatal=%q skip=%q, want a failure", f.fatal, f.skip)
		}
	})
	t.Run("missing outside CI skips", func(t *testing.T) {
		t.Setenv("CI", "")
		f := runFake(t, func(tb testing.TB) { Require(tb, "envpipe-no-such-server") })
		if f.skip == "" || f.fatal != "" {
			t.Errorf("without CI: fatal=%q skip=%q, want a skip", f.fatal, f.skip)
		}
	})
	t.Run("server lookup in CI fails", func(t *testing.T) {
		t.Setenv("CI", "true")
		t.Setenv("INFLUXD", "/nonexistent/influxd")
		f := runFake(t, func(tb testing.TB) { InfluxDB(tb) })
		if f.fatal == "" {
			t.Errorf("InfluxDB with a missing $INFLUXD and CI=true did not fail (skip=%q)", f.skip)
		}
	})
}

func TestMosquittoConfigFromShippedFile(t *testing.T) {
	b := Mosquitto(t, MosquittoOptions{
		Users: map[string]string{"envpipe": "pw"},
		ACL:   true,
		Extra: []string{"max_inflight_messages 7", "log_type debug"},
	})
	cfg, err := os.ReadFile(b.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	s := string(cfg)
	for _, want := range []string{
		"\npersistence true\n", "\nmax_queued_messages 200000\n", "\nmax_queued_bytes 134217728\n",
		"\nautosave_interval 60\n", "\nuser root\n", "\nallow_anonymous false\n",
		"\npassword_file " + b.PasswordFile + "\n",
		"\nacl_file " + filepath.Join(RepoRoot(t), MosquittoACL) + "\n",
		"\npersistence_location " + b.DataDir + "\n",
		fmt.Sprintf("\nlistener %d 127.0.0.1\n", b.Port),
		"\nmax_inflight_messages 7\n", "\nlog_type debug\n", "\nlog_type information\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("generated config lacks %q:\n%s", strings.TrimSpace(want), s)
		}
	}
	for _, unwanted := range []string{"/mosquitto/config", "/mosquitto/data", "listener 1883", "max_inflight_messages 1000", "user mosquitto", "log_dest stdout"} {
		if strings.Contains(s, unwanted) {
			t.Errorf("generated config contains %q:\n%s", unwanted, s)
		}
	}
	if t.Failed() {
		return
	}
	// The password file is in mosquitto_passwd's format: the broker takes it.
	c := mustConnect(t, b.Addr(), "envpipe-1", "envpipe", "pw", true)
	c.disconnect()
}

func TestMosquittoAnonymousRoundTrip(t *testing.T) {
	t.Parallel()
	b := Mosquitto(t, MosquittoOptions{})
	if !strings.HasPrefix(b.URL(), "tcp://127.0.0.1:") {
		t.Errorf("URL() = %q", b.URL())
	}
	sub := mustConnect(t, b.Addr(), "sub", "", "", true)
	if g := sub.subscribe("env/+/data", 1); g != 1 {
		t.Fatalf("SUBACK granted %d, want 1", g)
	}
	pub := mustConnect(t, b.Addr(), "pub", "", "", true)
	pub.publish("env/zz-air-0101/data", `{"station":"zz-air-0101"}`, 1)
	m, ok := sub.receive(5 * time.Second)
	if !ok || m.Topic != "env/zz-air-0101/data" || m.Payload != `{"station":"zz-air-0101"}` || m.QoS != 1 {
		t.Fatalf("received %+v, %v", m, ok)
	}
	pub.disconnect()
	sub.disconnect()
}

func TestMosquittoUsersAndShippedACL(t *testing.T) {
	t.Parallel()
	b := Mosquitto(t, MosquittoOptions{
		Users: map[string]string{"envpipe": "envpipe-pw", "zz-air-0101": "pw-0101", "zz-air-0102": "pw-0102"},
		ACL:   true,
	})
	if _, rc, _ := mqttConnect(t, b.Addr(), nil, "x", "zz-air-0101", "wrong", true); rc == 0 {
		t.Error("wrong password accepted")
	}
	if _, rc, _ := mqttConnect(t, b.Addr(), nil, "anon", "", "", true); rc == 0 {
		t.Error("anonymous client accepted although users are configured")
	}

	envpipe := mustConnect(t, b.Addr(), "envpipe", "envpipe", "envpipe-pw", true)
	if g := envpipe.subscribe("env/#", 1); g != 1 {
		t.Fatalf("envpipe SUBSCRIBE env/#: granted 0x%02x", g)
	}
	s1 := mustConnect(t, b.Addr(), "zz-air-0101", "zz-air-0101", "pw-0101", true)
	s2 := mustConnect(t, b.Addr(), "zz-air-0102", "zz-air-0102", "pw-0102", true)

	// Denied by "pattern write env/%u/#". Mosquitto still sends the PUBACK
	// (MQTT 3.1.1 has no way to refuse) and drops the message. Messages from
	// one client are delivered in order, so if the spoofed one got through it
	// would arrive first.
	s1.publish("env/zz-air-0102/data", "spoofed by 0101", 1)
	s1.publish("env/zz-air-0101/data", "from 0101", 1)
	s2.publish("env/zz-air-0102/hj212", "from 0102", 1)
	var got []string
	for range 2 {
		m, ok := envpipe.receive(5 * time.Second)
		if !ok {
			break
		}
		got = append(got, m.Topic+" "+m.Payload)
	}
	want := []string{"env/zz-air-0101/data from 0101", "env/zz-air-0102/hj212 from 0102"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("envpipe received %q, want %q", got, want)
	}

	// A station cannot read other stations' data. Mosquitto 2.0.11 grants
	// the subscription in its SUBACK but checks read access on every
	// delivery. The broker fans a message out to all subscribers at once, so
	// once envpipe has it, the station would have it too.
	g := s1.subscribe("env/#", 1)
	s2.publish("env/zz-air-0102/data", "not for 0101", 1)
	if m, ok := envpipe.receive(5 * time.Second); !ok || m.Payload != "not for 0101" {
		t.Fatalf("envpipe received %+v, %v", m, ok)
	}
	if m, ok := s1.receive(300 * time.Millisecond); ok {
		t.Errorf("station 0101 read %s %q (SUBACK 0x%02x)", m.Topic, m.Payload, g)
	}

	// The shared subscription that several envpipe replicas use passes the ACL.
	shared := mustConnect(t, b.Addr(), "envpipe-replica", "envpipe", "envpipe-pw", true)
	if g := shared.subscribe("$share/envpipe/env/+/data", 1); g != 1 {
		t.Fatalf("envpipe SUBSCRIBE $share/envpipe/env/+/data: granted 0x%02x", g)
	}
	s1.publish("env/zz-air-0101/data", "shared", 1)
	if m, ok := shared.receive(5 * time.Second); !ok || m.Payload != "shared" {
		t.Errorf("shared subscription received %+v, %v", m, ok)
	}
}

func TestMosquittoRestartKeepsQueuedMessages(t *testing.T) {
	t.Parallel()
	b := Mosquitto(t, MosquittoOptions{})
	port := b.Port

	// A persistent session (clean session false) subscribes, goes away, and
	// a message is queued for it.
	c := mustConnect(t, b.Addr(), "envpipe", "", "", false)
	c.subscribe("env/+/data", 1)
	c.disconnect()
	p := mustConnect(t, b.Addr(), "station", "", "", true)
	p.publish("env/zz-air-0101/data", "queued before restart", 1)
	p.disconnect()

	b.Restart() // SIGTERM: the broker writes mosquitto.db
	if b.Port != port {
		t.Fatalf("port changed across restart: %d -> %d", port, b.Port)
	}
	if _, err := os.Stat(filepath.Join(b.DataDir, "mosquitto.db")); err != nil {
		t.Errorf("no persistence file after a clean stop: %v", err)
	}
	c, rc, present := mqttConnect(t, b.Addr(), nil, "envpipe", "", "", false)
	if rc != 0 || !present {
		t.Fatalf("reconnect after restart: rc=%d session present=%v", rc, present)
	}
	if m, ok := c.receive(5 * time.Second); !ok || m.Payload != "queued before restart" {
		t.Fatalf("after restart received %+v, %v", m, ok)
	}
	c.disconnect()

	// Kill (no final save) and Start again: the broker comes back on the
	// same port.
	b.Kill()
	if err := dialable(b.Addr()); err == nil {
		t.Fatal("broker still accepts connections after Kill")
	}
	b.Start()
	mustConnect(t, b.Addr(), "after-kill", "", "", true).disconnect()
}

// An offline persistent session holds max_queued_messages messages (the
// in-flight window does not add to it in Mosquitto 2.0.11) and the broker
// drops the rest silently, logging only "Outgoing messages are being dropped".
func TestMosquittoOfflineQueueLimit(t *testing.T) {
	t.Parallel()
	b := Mosquitto(t, MosquittoOptions{Extra: []string{"max_inflight_messages 3", "max_queued_messages 5"}})
	c := mustConnect(t, b.Addr(), "envpipe", "", "", false)
	c.subscribe("env/#", 1)
	c.disconnect()
	p := mustConnect(t, b.Addr(), "station", "", "", true)
	for i := range 20 {
		p.publish("env/s/data", fmt.Sprint(i), 1)
	}
	c = mustConnect(t, b.Addr(), "envpipe", "", "", false)
	var got []string
	for {
		m, ok := c.receive(time.Second)
		if !ok {
			break
		}
		got = append(got, m.Payload)
	}
	t.Logf("offline session with max_inflight_messages 3, max_queued_messages 5 kept %d of 20: %v", len(got), got)
	if strings.Join(got, " ") != "0 1 2 3 4" {
		t.Errorf("kept %v, want the first 5 (max_queued_messages)", got)
	}
	if !strings.Contains(b.Log(), "Outgoing messages are being dropped for client envpipe") {
		t.Error("the broker did not log the drop")
	}
}

func TestMosquittoTLS(t *testing.T) {
	t.Parallel()
	b := Mosquitto(t, MosquittoOptions{TLS: true, RequireClientCert: true})
	if !strings.HasPrefix(b.TLSURL(), "ssl://127.0.0.1:") || b.TLSPort == b.Port {
		t.Fatalf("TLSURL() = %q, URL() = %q", b.TLSURL(), b.URL())
	}

	// Verify the server with the CA file on disk, as a client would.
	caPEM, err := os.ReadFile(b.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA file holds no certificate")
	}
	pair, err := tls.LoadX509KeyPair(b.ClientCertFile, b.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, ServerName: "127.0.0.1"}
	c, rc, _ := mqttConnect(t, b.TLSAddr(), cfg, "tls-client", "", "", true)
	if rc != 0 {
		t.Fatalf("CONNACK over TLS: %d", rc)
	}
	if st := c.conn.(*tls.Conn).ConnectionState(); !st.HandshakeComplete || len(st.VerifiedChains) == 0 {
		t.Fatalf("TLS handshake not verified: %+v", st)
	}
	c.subscribe("t", 0)
	c.publish("t", "over tls", 0)
	if m, ok := c.receive(5 * time.Second); !ok || m.Payload != "over tls" {
		t.Fatalf("TLS round trip: %+v %v", m, ok)
	}
	c.disconnect()

	// The helper config works too.
	c, rc, _ = mqttConnect(t, b.TLSAddr(), b.TLSConfig(), "tls-helper", "", "", true)
	if rc != 0 {
		t.Fatalf("CONNACK over TLS with TLSConfig(): %d", rc)
	}
	c.disconnect()

	// Without a client certificate the handshake fails.
	noCert := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if c, err := mqttDial(t, b.TLSAddr(), noCert); err == nil {
		if rc, _, err := c.connect("no-cert", "", "", true); err == nil && rc == 0 {
			t.Error("TLS listener accepted a client without a certificate")
		}
	}
	// A client that does not trust the CA refuses the server.
	if _, err := mqttDial(t, b.TLSAddr(), &tls.Config{ServerName: "127.0.0.1"}); err == nil {
		t.Error("TLS handshake succeeded without trusting the test CA")
	}
	// The plain listener is still there.
	mustConnect(t, b.Addr(), "plain", "", "", true).disconnect()
	b.Restart()
	c, rc, _ = mqttConnect(t, b.TLSAddr(), cfg, "tls-after-restart", "", "", true)
	if rc != 0 {
		t.Fatalf("CONNACK over TLS after restart: %d", rc)
	}
	c.disconnect()
}

func TestInfluxDB(t *testing.T) {
	t.Parallel()
	in := InfluxDB(t)
	if in.RPCPort == 8088 || in.RPCPort == in.Port {
		t.Fatalf("RPC port %d, HTTP port %d", in.RPCPort, in.Port)
	}
	if err := dialable(fmt.Sprintf("127.0.0.1:%d", in.RPCPort)); err != nil {
		t.Errorf("RPC service not on its port: %v", err)
	}
	ts := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)

	// 1.x write API.
	if err := in.Write(fmt.Sprintf("air,station=zz-air-0101,county=Hetang pm25=38.2,pm10=61 %d\n", ts.UnixNano())); err != nil {
		t.Fatal(err)
	}
	// v2 write API, as influxdb-client-go uses it against 1.8 (bucket =
	// database[/retention policy], token "user:password" or empty).
	body := fmt.Sprintf("air,station=zz-air-0102,county=Lusong pm25=12 %d\n", ts.Add(time.Minute).UnixNano())
	req, _ := http.NewRequest("POST", in.URL()+"/api/v2/write?org=&bucket=env/autogen&precision=ns", strings.NewReader(body))
	req.Header.Set("Authorization", "Token :")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /api/v2/write: %s", resp.Status)
	}

	if n := in.Count("air", "pm25"); n != 2 {
		t.Fatalf("Count(air, pm25) = %d, want 2", n)
	}
	if n := in.Count("air", "pm10"); n != 1 {
		t.Errorf("Count(air, pm10) = %d, want 1", n)
	}
	if n := in.Count("water", "ph"); n != 0 {
		t.Errorf("Count(water, ph) = %d, want 0", n)
	}
	series, err := in.Query(`SELECT pm25 FROM air WHERE station = 'zz-air-0101'`)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || len(series[0].Values) != 1 {
		t.Fatalf("Query: %+v", series)
	}
	if v := series[0].Column("pm25")[0]; v != 38.2 {
		t.Errorf("pm25 = %v (%T), want 38.2", v, v)
	}
	if tm := series[0].Column("time")[0]; tm != "2026-11-28T01:00:00Z" {
		t.Errorf("time = %v", tm)
	}
	if _, err := in.Query("SELECT FROM"); err == nil {
		t.Error("a malformed query returned no error")
	}

	// Stop, Start: same port, same data.
	port := in.Port
	in.Restart()
	if in.Port != port {
		t.Fatalf("port changed: %d -> %d", port, in.Port)
	}
	if n := in.Count("air", "pm25"); n != 2 {
		t.Fatalf("after restart Count = %d, want 2", n)
	}
	// An outage: writes fail while it is down, work again after Start.
	in.Stop()
	if err := in.Write("air,station=x pm25=1\n"); err == nil {
		t.Fatal("write succeeded while InfluxDB was stopped")
	}
	in.Start()
	if err := in.Write(fmt.Sprintf("air,station=zz-air-0103 pm25=5 %d\n", ts.UnixNano())); err != nil {
		t.Fatal(err)
	}
	// A crash keeps what was acknowledged (the WAL is fsynced).
	in.Kill()
	in.Start()
	if n := in.Count("air", "pm25"); n != 3 {
		t.Fatalf("after kill and start Count = %d, want 3", n)
	}
}

func TestAlertmanager(t *testing.T) {
	t.Parallel()
	am := Alertmanager(t, "")
	alert := []map[string]any{{
		"labels":       map[string]string{"alertname": "PM25High", "station": "zz-air-0101", "county": "Hetang", "param": "pm25", "severity": "warning"},
		"annotations":  map[string]string{"summary": "PM2.5 approaching the limit"},
		"startsAt":     time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
		"endsAt":       time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339),
		"generatorURL": "http://envpipe.test/rules/pm25",
	}}
	post := func() {
		t.Helper()
		body, _ := json.Marshal(alert)
		resp, err := http.Post(am.URL()+"/api/v2/alerts", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /api/v2/alerts: %s", resp.Status)
		}
	}
	post()
	alerts, err := am.Alerts()
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Labels["station"] != "zz-air-0101" ||
		alerts[0].GeneratorURL != "http://envpipe.test/rules/pm25" || alerts[0].Status.State != "active" {
		t.Fatalf("alerts: %+v", alerts)
	}

	// Alertmanager keeps alerts in memory only: after a restart it has
	// forgotten them until they are posted again.
	port := am.Port
	am.Restart()
	if am.Port != port {
		t.Fatalf("port changed: %d -> %d", port, am.Port)
	}
	if alerts, err := am.Alerts(); err != nil || len(alerts) != 0 {
		t.Fatalf("after restart: %d alerts, %v; want none", len(alerts), err)
	}
	post()
	if alerts, err := am.Alerts(); err != nil || len(alerts) != 1 {
		t.Fatalf("after re-posting: %d alerts, %v", len(alerts), err)
	}
}

// The shipped max_inflight_messages (1000) replaces Mosquitto's default
// window of 20 unacknowledged QoS 1 messages per client.
func TestMosquittoInflightWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		extra []string
		want  int
	}{
		{nil, 60}, // shipped: 1000
		{[]string{"max_inflight_messages 20"}, 20}, // Mosquitto's default
	} {
		b := Mosquitto(t, MosquittoOptions{Extra: tc.extra})
		c := mustConnect(t, b.Addr(), "envpipe", "", "", true)
		c.noAck = true
		c.subscribe("env/#", 1)
		p := mustConnect(t, b.Addr(), "station", "", "", true)
		for i := range 60 {
			p.publish("env/s/data", fmt.Sprint(i), 1)
		}
		n := 0
		for {
			if _, ok := c.receive(500 * time.Millisecond); !ok {
				break
			}
			n++
		}
		t.Logf("%v: %d of 60 sent before any PUBACK", tc.extra, n)
		if n != tc.want {
			t.Errorf("%v: the broker sent %d unacknowledged messages, want %d", tc.extra, n, tc.want)
		}
	}
}
