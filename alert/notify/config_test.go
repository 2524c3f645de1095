package notify

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// sampleYAML is a notify section as envpipe.yaml carries it, every kind of
// receiver and most keys.
const sampleYAML = `
notify:
  lang: ""                          # "" = the top-level lang
  alertmanager:
    urls: [http://127.0.0.1:9093, http://127.0.0.1:9094]
    timeout: 10s
    max_attempts: 5
    basic_auth: {username: envpipe, password_env: ENVPIPE_AM_PASSWORD}
  webhooks:
    - name: oncall
      url: https://oncall.example.org/hooks/envpipe
      secret_env: ENVPIPE_WEBHOOK_SECRET
      repeat_interval: 4h
  wecom:
    - name: wecom-bureau
      key_env: ENVPIPE_WECOM_KEY
      match: {severity: [critical, warning]}
    - name: wecom-liling
      key_file: secrets/wecom-liling.key
      lang: en
      match: {county: [Liling]}
      send_resolved: false
  dingtalk:
    - name: dingtalk-duty
      access_token_env: ENVPIPE_DINGTALK_TOKEN
      secret_env: ENVPIPE_DINGTALK_SECRET
      keyword: 告警
      max_attempts: 3
      initial_backoff: 2s
      max_backoff: 1m
`

func decodeStrict(t *testing.T, src string) Config {
	t.Helper()
	var doc struct {
		Notify Config `yaml:"notify"`
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Notify
}

func TestConfigDecodesAndValidates(t *testing.T) {
	dir := t.TempDir()
	c := decodeStrict(t, sampleYAML)
	if err := writeTestFile(filepath.Join(dir, "wecom-liling.key"), "k\n"); err != nil {
		t.Fatal(err)
	}
	c.ResolvePaths(func(p string) string { return filepath.Join(dir, filepath.Base(p)) })
	if errs := c.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	if len(c.Alertmanager.URLs) != 2 || c.Alertmanager.BasicAuth.PasswordEnv != "ENVPIPE_AM_PASSWORD" {
		t.Errorf("alertmanager %+v", c.Alertmanager)
	}
	if c.WeCom[1].SendResolved == nil || *c.WeCom[1].SendResolved || c.WeCom[1].Match["county"][0] != "Liling" ||
		c.WeCom[1].KeyFile != filepath.Join(dir, "wecom-liling.key") {
		t.Errorf("wecom[1] %+v", c.WeCom[1])
	}
	if d := c.DingTalk[0]; d.MaxAttempts != 3 || d.InitialBackoff != 2*time.Second || d.MaxBackoff != time.Minute || d.Keyword != "告警" {
		t.Errorf("dingtalk %+v", d)
	}
	if c.Webhooks[0].RepeatInterval != 4*time.Hour {
		t.Errorf("webhook %+v", c.Webhooks[0])
	}

	// Build reads the secrets: all present, it builds five receivers.
	t.Setenv("ENVPIPE_AM_PASSWORD", "am-pw")
	t.Setenv("ENVPIPE_WEBHOOK_SECRET", "wh")
	t.Setenv("ENVPIPE_WECOM_KEY", "key")
	t.Setenv("ENVPIPE_DINGTALK_TOKEN", "tok")
	t.Setenv("ENVPIPE_DINGTALK_SECRET", "SECxyz")
	m, err := Build(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range m.Notifiers() {
		names = append(names, n.Name())
	}
	if got := strings.Join(names, ","); got != "alertmanager,oncall,wecom-bureau,wecom-liling,dingtalk-duty" {
		t.Errorf("receivers %s", got)
	}

	// A missing secret fails Build, naming the receiver and the key.
	t.Setenv("ENVPIPE_DINGTALK_SECRET", "")
	if _, err := Build(c, Options{}); err == nil || !strings.Contains(err.Error(), "dingtalk-duty: secret_env: $ENVPIPE_DINGTALK_SECRET is not set") {
		t.Errorf("Build without a secret: %v", err)
	}
}

func TestConfigRefusesInlineSecrets(t *testing.T) {
	for _, src := range []string{
		"notify:\n  wecom:\n    - key: abc\n",
		"notify:\n  dingtalk:\n    - access_token: abc\n",
		"notify:\n  webhooks:\n    - url: http://x\n      secret: abc\n",
		"notify:\n  alertmanager:\n    basic_auth: {username: u, password: p}\n",
	} {
		var doc struct {
			Notify Config `yaml:"notify"`
		}
		dec := yaml.NewDecoder(strings.NewReader(src))
		dec.KnownFields(true)
		if err := dec.Decode(&doc); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("%q: err = %v, want an unknown field", src, err)
		}
	}
}

func TestConfigValidateNamesKeys(t *testing.T) {
	c := Config{
		Lang: "fr",
		Alertmanager: AlertmanagerConfig{URLs: []string{"127.0.0.1:9093"},
			Delivery: Delivery{MaxAttempts: -1},
			HTTPAuth: HTTPAuth{BearerTokenEnv: "A", BearerTokenFile: "/nonexistent/token"}},
		Webhooks: []WebhookConfig{{}, {Name: "dup", URL: "ftp://x"}},
		WeCom: []WeComConfig{
			{URL: WeComURL + "?key=abc", KeyEnv: "K"},
			{Name: "dup", Gate: Gate{RepeatInterval: 10 * time.Second, Match: map[string][]string{"1bad": {"x"}}}},
		},
		DingTalk: []DingTalkConfig{{AccessTokenEnv: "T", SecretEnv: "S", SecretFile: "/nonexistent/s", Lang: "de"}},
	}
	var got []string
	for _, e := range c.Validate() {
		got = append(got, e.Error())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`notify.lang: "fr" is not zh or en`,
		`notify.alertmanager.urls[0]: "127.0.0.1:9093" must be an http:// or https:// URL`,
		`notify.alertmanager.max_attempts: -1 is not in 0..100`,
		`notify.alertmanager.bearer_token_env: set bearer_token_env or bearer_token_file, not both`,
		`notify.alertmanager.bearer_token_file: stat /nonexistent/token`,
		`notify.webhooks[0].url: missing`,
		`notify.webhooks[1].url: "ftp://x" must be an http:// or https:// URL`,
		`notify.wecom[0].url: carries key=: that is a secret`,
		`notify.wecom[1].key_env: missing`,
		`notify.wecom[1].repeat_interval: 10s is below 1m`,
		`notify.wecom[1].match: "1bad" is not a label name`,
		`notify.wecom[1].name: "dup" is also the name of notify.webhooks[1]`,
		`notify.dingtalk[0].secret_env: set secret_env or secret_file, not both`,
		`notify.dingtalk[0].lang: "de" is not zh or en`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	if strings.Contains(all, "abc") {
		t.Errorf("a secret is echoed:\n%s", all)
	}
}

func TestEmptyConfigBuildsNothing(t *testing.T) {
	m, err := Build(DefaultConfig(), Options{})
	if err != nil || m.Len() != 0 {
		t.Fatalf("Build(empty) = %v, %v", m, err)
	}
	if err := m.Notify(context.Background(), fixture()); err != nil {
		t.Fatal(err)
	}
	if errs := DefaultConfig().Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
}

func TestAlertsEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:9093":                   "http://127.0.0.1:9093/api/v2/alerts",
		"http://127.0.0.1:9093/":                  "http://127.0.0.1:9093/api/v2/alerts",
		"https://ops.example.org/alertmanager":    "https://ops.example.org/alertmanager/api/v2/alerts",
		"http://127.0.0.1:9093/api/v2/alerts":     "http://127.0.0.1:9093/api/v2/alerts",
		"http://127.0.0.1:9093/am/api/v2/alerts/": "http://127.0.0.1:9093/am/api/v2/alerts",
	} {
		if got := alertsEndpoint(in); got != want {
			t.Errorf("alertsEndpoint(%s) = %s, want %s", in, got, want)
		}
	}
}
