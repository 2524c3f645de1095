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

// A config that is valid but turns off what an operator expects (or has
// nothing to tell) says so; an empty file is all defaults.
func TestCheckConfigNotes(t *testing.T) {
	cases := []struct {
		name, yaml string
		rules      bool // write a rules file
		code       int
		want       []string
		not        []string
	}{
		{"empty file: defaults, alerting off", "", false, 0,
			[]string{"note: alert.rules is empty: alerting is off", "ok (1 stations"}, nil},
		{"rules without a receiver", "alert: {rules: rules.yaml}\n", true, 0,
			[]string{"note: notify: no receiver", "ok ("}, []string{"alerting is off"}},
		{"rules and Alertmanager", "alert: {rules: rules.yaml}\nnotify: {alertmanager: {urls: [\"http://127.0.0.1:9093\"]}}\n", true, 0,
			[]string{"ok ("}, []string{"note:"}},
		{"gzip left empty", "influxdb: {gzip: }\n", false, 1,
			[]string{"influxdb.gzip: empty: true or false"}, nil},
		{"listen not host:port", "http: {listen: bad}\n", false, 1,
			[]string{`http.listen: "bad" is not host:port`}, nil},
		{"password in the YAML", "mqtt: {password: hunter2}\n", false, 1,
			[]string{"mqtt.password_env", "hunter2"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "stations.yaml"), []byte("stations:\n  - {id: a, kind: air, county: X}\n"), 0o644)
			if c.rules {
				os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte("rules:\n  - {name: PM25High, param: pm25, stations: {kind: air}, aggregate: instant, limit: 75}\n"), 0o644)
			}
			cfg := filepath.Join(dir, "envpipe.yaml")
			os.WriteFile(cfg, []byte(c.yaml), 0o644)
			var out, errb bytes.Buffer
			code := mainArgs([]string{"check-config", "-config", cfg}, nil, &out, &errb)
			all := out.String() + errb.String()
			if code != c.code {
				t.Fatalf("exit %d, want %d:\n%s", code, c.code, all)
			}
			for _, w := range c.want {
				if w == "hunter2" {
					if strings.Contains(all, w) {
						t.Errorf("output shows the secret:\n%s", all)
					}
					continue
				}
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			for _, w := range c.not {
				if strings.Contains(all, w) {
					t.Errorf("output has %q:\n%s", w, all)
				}
			}
		})
	}
}
