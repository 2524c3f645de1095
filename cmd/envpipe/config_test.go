package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShippedConfigIsValid(t *testing.T) {
	var out, errb bytes.Buffer
	if code := mainArgs([]string{"check-config", "-config", "../../configs/envpipe.yaml"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "ok (") {
		t.Errorf("output %q", out.String())
	}
}

func TestCheckConfigReportsEveryMistakeWithFileAndKey(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "stations.yaml"), []byte("stations:\n  - {id: a, kind: air, county: X}\n  - {id: b, kind: sea, county: X}\n"), 0o644)
	cfg := filepath.Join(dir, "envpipe.yaml")
	os.WriteFile(cfg, []byte(`stations: stations.yaml
mqtt:
  broker: http://broker:1883
  colour: blue
influxdb:
  batch_max_bytes: -5
`), 0o644)
	var out, errb bytes.Buffer
	code := mainArgs([]string{"check-config", "-config", cfg}, nil, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	msg := errb.String()
	for _, want := range []string{
		cfg + ": line 4: field colour not found",
		cfg + ": mqtt.broker: \"http://broker:1883\"",
		cfg + ": influxdb.batch_max_bytes: -5",
		filepath.Join(dir, "stations.yaml") + ": stations[1].kind: \"sea\"",
		"4 problem(s) found",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("output lacks %q:\n%s", want, msg)
		}
	}
}

func TestSecretsComeFromTheEnvironmentNotTheFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "stations.yaml"), []byte("stations:\n  - {id: a, kind: air, county: X}\n"), 0o644)
	cfg := filepath.Join(dir, "envpipe.yaml")
	os.WriteFile(cfg, []byte("mqtt: {password: hunter2}\n"), 0o644)
	_, _, errs := loadConfig(cfg)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "field password not found") {
		t.Fatalf("a password in the YAML must be refused, got %v", errs)
	}
}

func TestEnvironmentReferencesAreExpanded(t *testing.T) {
	t.Setenv("POD", "envpipe-1")
	got, unset := expandEnv([]byte("# docs: ${VAR}\nclient_id: ${POD}\nshared: $share/g/x\nlevel: ${LVL:-info}\nx: ${NOPE}\n"))
	want := "# docs: ${VAR}\nclient_id: envpipe-1\nshared: $share/g/x\nlevel: info\nx: \n"
	if string(got) != want || len(unset) != 1 || unset[0] != "NOPE" {
		t.Fatalf("got %q %v", got, unset)
	}
}
