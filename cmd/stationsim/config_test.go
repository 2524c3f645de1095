package main

import (
	"bytes"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

func TestFlagDefaults(t *testing.T) {
	cfg, err := parseFlags(nil, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Stations != "configs/stations.yaml" || cfg.Broker != "tcp://127.0.0.1:1883" || cfg.Topic != "env/{station}/data" ||
		cfg.Speed != 1 || cfg.Batch != 1 || cfg.Conns != 1 || cfg.Window != 1000 || cfg.Interval != 0 ||
		!cfg.Start.IsZero() || cfg.Duration != 0 || cfg.Count != 0 || cfg.Seed != 1 {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestFlagsParseScenarioListsAndSecrets(t *testing.T) {
	env := map[string]string{envPassword: "from-env", envStationPassword: "st-{station}"}
	cfg, err := parseFlags([]string{
		"-silent", "zz-air-0901, zz-wat-xj01", "-silent", "zz-air-0902",
		"-faulty", "zz-air-0202:pm10:D,zz-air-0101:so2:M",
		"-episode", "zz-air-0301:pm10:2026-11-28T08:00:00+08:00:6h:2.5",
		"-episode", "*:pm25:+1h:2h:3",
		"-start", "2026-11-28T08:00:00+08:00", "-speed", "60", "-count", "10", "-duration", "1m",
	}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Silent, []string{"zz-air-0901", "zz-wat-xj01", "zz-air-0902"}) ||
		!slices.Equal(cfg.Faulty, []string{"zz-air-0202:pm10:D", "zz-air-0101:so2:M"}) ||
		!slices.Equal(cfg.Episodes, []string{"zz-air-0301:pm10:2026-11-28T08:00:00+08:00:6h:2.5", "*:pm25:+1h:2h:3"}) {
		t.Errorf("lists: %q %q %q", cfg.Silent, cfg.Faulty, cfg.Episodes)
	}
	if !cfg.Start.Equal(simStart) || cfg.Speed != 60 || cfg.Count != 10 || cfg.Duration != time.Minute {
		t.Errorf("start %s speed %v count %d duration %v", cfg.Start, cfg.Speed, cfg.Count, cfg.Duration)
	}
	if cfg.Password != "from-env" || cfg.StationPassword != "st-{station}" {
		t.Errorf("passwords from the environment: %q %q", cfg.Password, cfg.StationPassword)
	}
	cfg, err = parseFlags([]string{"-password", "flag"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil || cfg.Password != "flag" {
		t.Errorf("-password beats the environment: %q, %v", cfg.Password, err)
	}
}

func TestBadFlagsAreAllReported(t *testing.T) {
	_, err := parseFlags([]string{"-speed", "0", "-batch", "0", "-conns", "0", "-window", "70000",
		"-topic", "env/data", "-interval", "10ms", "-count", "-1"}, noEnv, &bytes.Buffer{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"-speed", "-batch", "-conns", "-window", "-topic", "-interval", "-count"} {
		if !strings.Contains(err.Error(), want+" ") {
			t.Errorf("error lacks %s:\n%v", want, err)
		}
	}
	if _, err := parseFlags([]string{"-start", "28.11.2026"}, noEnv, &bytes.Buffer{}); err == nil {
		t.Error("-start 28.11.2026 accepted")
	}
	if _, err := parseFlags([]string{"-per-station-auth", "-username", "x"}, noEnv, &bytes.Buffer{}); err == nil {
		t.Error("-per-station-auth with -username accepted")
	}
}

func TestUsageDocumentsTheScenarioSyntax(t *testing.T) {
	var out bytes.Buffer
	_, err := parseFlags([]string{"-h"}, noEnv, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{
		"-episode STATION:PARAMS:START:DURATION:FACTOR", "-faulty STATION:PARAMS:FLAG", "-silent ID",
		"zz-air-0301:pm10:2026-11-28T08:00:00+08:00:6h:2.5", "+DURATION", envPassword, envStationPassword,
		"-per-station-auth", "-speed", "-batch", "-conns",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}
