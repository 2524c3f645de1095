package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/envpipe/envpipe/internal/testenv"
)

// TestTLSAndACLKeepStationsToThemselves runs the shipped ACL
// (pattern write env/%u/#) on a TLS listener with per-station users:
// a station cannot publish under another station's topic (the broker drops
// it), a payload that claims another station on its own topic is refused by
// envpipe, and no secret shows up in envpipe's log or /metrics.
func TestTLSAndACLKeepStationsToThemselves(t *testing.T) {
	testenv.Integration(t)
	const (
		envpipePW = "envpipe-secret-5a1b"
		st0PW     = "station0-secret-77c2"
		st1PW     = "station1-secret-9d3e"
		token     = "influx-token-secret-41f0"
	)
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{
		Users: map[string]string{"envpipe": envpipePW, "st-000": st0PW, "st-001": st1PW},
		ACL:   true, TLS: true, RequireClientCert: true,
	})
	influxd := testenv.InfluxDB(t)
	dir := t.TempDir()
	testStations(t, dir, 3)
	port := testenv.FreePort(t)
	t.Setenv("ENVPIPE_MQTT_PASSWORD", envpipePW)
	t.Setenv("ENVPIPE_INFLUX_TOKEN", token)
	cfg := writeConfig(t, dir, broker.TLSURL(), influxd.URL(), port, "")
	editConfig(t, cfg, "  client_id: envpipe-test\n", fmt.Sprintf(
		"  client_id: envpipe-test\n  username: envpipe\n  tls: {ca_file: %s, cert_file: %s, key_file: %s}\n",
		broker.CAFile, broker.ClientCertFile, broker.ClientKeyFile))
	d := startDaemon(t, dir, cfg, port)

	station := func(user, pw string) paho.Client {
		o := paho.NewClientOptions().AddBroker(broker.TLSURL()).SetClientID("dev-" + user).
			SetUsername(user).SetPassword(pw).SetTLSConfig(broker.TLSConfig())
		c := paho.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("%s connect: %v", user, tok.Error())
		}
		t.Cleanup(func() { c.Disconnect(100) })
		return c
	}
	// A wrong password is refused by the broker.
	o := paho.NewClientOptions().AddBroker(broker.TLSURL()).SetClientID("intruder").
		SetUsername("st-000").SetPassword("guess").SetTLSConfig(broker.TLSConfig()).SetConnectRetry(false)
	if tok := paho.NewClient(o).Connect(); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
		t.Fatal("broker accepted a wrong password")
	}

	st0 := station("st-000", st0PW)
	ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	pub := func(topic, payload string) {
		if tok := st0.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	// 1. st-000 publishes as st-001 on st-001's topic: the ACL drops it.
	pub("env/st-001/data", `{"station":"st-001","time":"`+ts+`","values":{"pm25":111}}`)
	// 2. st-000 claims st-001 on its own topic: envpipe refuses it.
	pub("env/st-000/data", `{"station":"st-001","time":"`+ts+`","values":{"pm25":222}}`)
	// 3. st-000 speaks for itself: stored.
	pub("env/st-000/data", `{"station":"st-000","time":"`+ts+`","values":{"pm25":33}}`)

	waitCount(t, influxd, "air", "pm25", 1, 20*time.Second)
	series, err := influxd.Query(`SELECT pm25 FROM air`)
	if err != nil || len(series) != 1 || series[0].Values[0][1] != 33.0 {
		t.Fatalf("stored: %v %+v", err, series)
	}
	if got := d.metric(`envpipe_readings_rejected_total{reason="station_mismatch"}`); got != 1 {
		t.Errorf("station_mismatch = %v, want 1 (and the ACL-dropped message never reached envpipe)", got)
	}
	if got := d.metric(`envpipe_messages_received_total{format="json"}`); got != 2 {
		t.Errorf("envpipe received %v messages, want 2: the broker must drop the one on st-001's topic", got)
	}

	metrics, _ := d.get("/metrics")
	for _, secret := range []string{envpipePW, st0PW, st1PW, token} {
		if strings.Contains(d.logs.String(), secret) {
			t.Errorf("secret %q in envpipe's log", secret)
		}
		if strings.Contains(metrics, secret) {
			t.Errorf("secret %q in /metrics", secret)
		}
	}
}
