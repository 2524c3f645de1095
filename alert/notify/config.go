package notify

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// Config is the `notify` section of envpipe.yaml: where alerts go. Every
// receiver is optional; with none configured, alerts are evaluated and
// stored but nobody is told.
type Config struct {
	// Lang is the language of the robots' headers and field names: zh or
	// en; "" means the top-level `lang` (see Options.Lang).
	Lang string `yaml:"lang"`

	Alertmanager AlertmanagerConfig `yaml:"alertmanager"`
	Webhooks     []WebhookConfig    `yaml:"webhooks"`
	WeCom        []WeComConfig      `yaml:"wecom"`
	DingTalk     []DingTalkConfig   `yaml:"dingtalk"`
}

// DefaultConfig is used where envpipe.yaml is silent: no receivers.
func DefaultConfig() Config { return Config{} }

// Delivery is how hard a receiver tries: every receiver has these keys.
// Zero values take the defaults.
type Delivery struct {
	// Timeout bounds one HTTP attempt (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxAttempts bounds the attempts for one notification, the first
	// included (default 5). Retries back off exponentially with jitter
	// from InitialBackoff (default 1s) up to MaxBackoff (default 30s), or
	// wait as long as a 429/503 answer's Retry-After asks; the caller's
	// context bounds them all.
	MaxAttempts    int           `yaml:"max_attempts"`
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	MaxBackoff     time.Duration `yaml:"max_backoff"`
}

// Delivery defaults.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultMaxAttempts    = 5
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 30 * time.Second
)

func (d Delivery) withDefaults() Delivery {
	if d.Timeout == 0 {
		d.Timeout = DefaultTimeout
	}
	if d.MaxAttempts == 0 {
		d.MaxAttempts = DefaultMaxAttempts
	}
	if d.InitialBackoff == 0 {
		d.InitialBackoff = DefaultInitialBackoff
	}
	if d.MaxBackoff == 0 {
		d.MaxBackoff = DefaultMaxBackoff
	}
	if d.MaxBackoff < d.InitialBackoff {
		d.MaxBackoff = d.InitialBackoff
	}
	return d
}

func (d Delivery) validate(bad func(key, format string, a ...any)) {
	if d.Timeout < 0 || d.Timeout > 5*time.Minute {
		bad("timeout", "%v is not in 0..5m (0 = %v)", d.Timeout, DefaultTimeout)
	}
	if d.MaxAttempts < 0 || d.MaxAttempts > 100 {
		bad("max_attempts", "%d is not in 0..100 (0 = %d)", d.MaxAttempts, DefaultMaxAttempts)
	}
	if d.InitialBackoff < 0 || d.InitialBackoff > 10*time.Minute {
		bad("initial_backoff", "%v is not in 0..10m", d.InitialBackoff)
	}
	if d.MaxBackoff < 0 || d.MaxBackoff > time.Hour {
		bad("max_backoff", "%v is not in 0..1h", d.MaxBackoff)
	}
}

// Gate is which alerts a webhook or robot is told about, and how often.
// (Alertmanager gets every alert, every time: it routes, groups and
// de-duplicates itself, and must be re-told what fires after a restart.)
type Gate struct {
	// Match keeps only the alerts whose labels take one of the listed
	// values, for every label listed: {county: [Liling, You],
	// severity: [critical]}. Empty: every alert.
	Match map[string][]string `yaml:"match"`
	// SendResolved tells when an alert ends (default true).
	SendResolved *bool `yaml:"send_resolved"`
	// RepeatInterval, when set (at least 1m; e.g. 4h), reminds the
	// receiver of an alert that still fires that long after it was last
	// told. 0 (the default): the receiver hears of an alert when it starts
	// firing and when it ends, never in between. With a repeat interval
	// the receiver asks the rule engine for its every-minute re-sends
	// (alert.Resender) and the gate turns them into reminders: a chat
	// group never hears an alert every minute.
	RepeatInterval time.Duration `yaml:"repeat_interval"`
}

func (g Gate) validate(bad func(key, format string, a ...any)) {
	for _, label := range slices.Sorted(maps.Keys(g.Match)) {
		values := g.Match[label]
		if !validLabelName(label) {
			bad("match", "%q is not a label name", label)
		}
		if len(values) == 0 {
			bad("match."+label, "no values: list the values to keep")
		}
	}
	if g.RepeatInterval < 0 {
		bad("repeat_interval", "must not be negative (0 = no reminders)")
	} else if g.RepeatInterval > 0 && g.RepeatInterval < time.Minute {
		bad("repeat_interval", "%v is below 1m: the group would hear every re-send", g.RepeatInterval)
	}
}

// TLSConfig configures HTTPS to a self-hosted receiver.
type TLSConfig struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

func (t TLSConfig) validate(bad func(key, format string, a ...any)) {
	for key, f := range map[string]string{"tls.ca_file": t.CAFile, "tls.cert_file": t.CertFile, "tls.key_file": t.KeyFile} {
		checkFile(bad, key, f)
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		bad("tls.cert_file", "cert_file and key_file go together")
	}
}

// HTTPAuth authenticates to Alertmanager or a webhook. Secrets come from
// the environment or a file, never from the YAML.
type HTTPAuth struct {
	BasicAuth       *BasicAuth `yaml:"basic_auth"`
	BearerTokenEnv  string     `yaml:"bearer_token_env"`
	BearerTokenFile string     `yaml:"bearer_token_file"`
}

// BasicAuth is HTTP basic authentication; the password comes from
// password_env or password_file.
type BasicAuth struct {
	Username     string `yaml:"username"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
}

func (h HTTPAuth) validate(bad func(key, format string, a ...any)) {
	bearer := h.BearerTokenEnv != "" || h.BearerTokenFile != ""
	if h.BearerTokenEnv != "" && h.BearerTokenFile != "" {
		bad("bearer_token_env", "set bearer_token_env or bearer_token_file, not both")
	}
	checkFile(bad, "bearer_token_file", h.BearerTokenFile)
	if b := h.BasicAuth; b != nil {
		if bearer {
			bad("basic_auth", "basic_auth and a bearer token exclude each other")
		}
		if b.Username == "" {
			bad("basic_auth.username", "missing")
		}
		if b.PasswordEnv != "" && b.PasswordFile != "" {
			bad("basic_auth.password_env", "set password_env or password_file, not both")
		}
		checkFile(bad, "basic_auth.password_file", b.PasswordFile)
	}
}

// AlertmanagerConfig posts alerts to Alertmanager's v2 API. With several
// URLs (the instances of one HA cluster) every instance gets every alert,
// as Prometheus does; the cluster de-duplicates the notifications.
type AlertmanagerConfig struct {
	// URLs of the instances, e.g. http://127.0.0.1:9093 (a path prefix is
	// kept: http://host/alertmanager posts to /alertmanager/api/v2/alerts).
	// Empty: Alertmanager is not used.
	URLs     []string `yaml:"urls"`
	Name     string   `yaml:"name"` // metrics and logs; default "alertmanager"
	Delivery `yaml:",inline"`
	HTTPAuth `yaml:",inline"`
	TLS      TLSConfig `yaml:"tls"`
}

// Enabled reports whether any Alertmanager is configured.
func (c AlertmanagerConfig) Enabled() bool { return len(c.URLs) > 0 }

// Validate returns the problems of c, each naming its key as
// notify.alertmanager.<key>.
func (c AlertmanagerConfig) Validate() []error { return c.validate("notify.alertmanager") }

func (c AlertmanagerConfig) validate(prefix string) []error {
	var errs []error
	bad := badFunc(prefix, &errs)
	for i, u := range c.URLs {
		if err := checkHTTPURL(u); err != nil {
			bad(fmt.Sprintf("urls[%d]", i), "%v", err)
		}
	}
	c.Delivery.validate(bad)
	c.HTTPAuth.validate(bad)
	c.TLS.validate(bad)
	return errs
}

// WebhookConfig posts an Alertmanager-style webhook payload (version 4)
// to any HTTP endpoint, signed when a secret is configured:
//
//	X-Envpipe-Timestamp: <unix seconds>
//	X-Envpipe-Signature: sha256=<hex HMAC-SHA256(secret, body)>
type WebhookConfig struct {
	Name string `yaml:"name"` // metrics and logs; default "webhook", "webhook-2", ...
	// URL receives the POST. Put no secret in it: its query string is
	// redacted in logs, but the YAML is not a secret store.
	URL        string `yaml:"url"`
	SecretEnv  string `yaml:"secret_env"`
	SecretFile string `yaml:"secret_file"`
	Delivery   `yaml:",inline"`
	Gate       `yaml:",inline"`
	HTTPAuth   `yaml:",inline"`
	TLS        TLSConfig `yaml:"tls"`
}

// Validate returns the problems of c, each naming its key as
// notify.webhooks.<key>.
func (c WebhookConfig) Validate() []error { return c.validate("notify.webhooks") }

func (c WebhookConfig) validate(prefix string) []error {
	var errs []error
	bad := badFunc(prefix, &errs)
	if c.URL == "" {
		bad("url", "missing")
	} else if err := checkHTTPURL(c.URL); err != nil {
		bad("url", "%v", err)
	}
	if c.SecretEnv != "" && c.SecretFile != "" {
		bad("secret_env", "set secret_env or secret_file, not both")
	}
	checkFile(bad, "secret_file", c.SecretFile)
	c.Delivery.validate(bad)
	c.Gate.validate(bad)
	c.HTTPAuth.validate(bad)
	c.TLS.validate(bad)
	return errs
}

// WeComURL is the WeCom (企业微信) group robot endpoint.
const WeComURL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"

// WeComConfig sends markdown messages to a WeCom group robot. The robot's
// key is a secret: it comes from key_env or key_file, which may hold the
// bare key or the whole webhook address the WeCom client shows.
type WeComConfig struct {
	Name string `yaml:"name"` // metrics and logs; default "wecom", "wecom-2", ...
	// URL is the endpoint without the key (default WeComURL).
	URL      string `yaml:"url"`
	KeyEnv   string `yaml:"key_env"`
	KeyFile  string `yaml:"key_file"`
	Lang     string `yaml:"lang"` // zh | en; "" = notify.lang
	Delivery `yaml:",inline"`
	Gate     `yaml:",inline"`
}

// Validate returns the problems of c, each naming its key as
// notify.wecom.<key>.
func (c WeComConfig) Validate() []error { return c.validate("notify.wecom") }

func (c WeComConfig) validate(prefix string) []error {
	var errs []error
	bad := badFunc(prefix, &errs)
	validateEndpoint(bad, c.URL, "key")
	validateSecretSource(bad, "key", c.KeyEnv, c.KeyFile, true)
	validateLang(bad, c.Lang)
	c.Delivery.validate(bad)
	c.Gate.validate(bad)
	return errs
}

// DingTalkURL is the DingTalk (钉钉) custom robot endpoint.
const DingTalkURL = "https://oapi.dingtalk.com/robot/send"

// DingTalkConfig sends markdown messages to a DingTalk custom robot. The
// access token comes from access_token_env or access_token_file (the bare
// token or the whole webhook address); with the robot's "加签" security
// setting, its secret (SEC...) comes from secret_env or secret_file and
// every request is signed.
type DingTalkConfig struct {
	Name            string `yaml:"name"` // metrics and logs; default "dingtalk", "dingtalk-2", ...
	URL             string `yaml:"url"`  // endpoint without the token (default DingTalkURL)
	AccessTokenEnv  string `yaml:"access_token_env"`
	AccessTokenFile string `yaml:"access_token_file"`
	SecretEnv       string `yaml:"secret_env"`
	SecretFile      string `yaml:"secret_file"`
	// Keyword, for a robot secured by "自定义关键词", is put in every
	// message that does not already contain it.
	Keyword  string `yaml:"keyword"`
	Lang     string `yaml:"lang"` // zh | en; "" = notify.lang
	Delivery `yaml:",inline"`
	Gate     `yaml:",inline"`
}

// Validate returns the problems of c, each naming its key as
// notify.dingtalk.<key>.
func (c DingTalkConfig) Validate() []error { return c.validate("notify.dingtalk") }

func (c DingTalkConfig) validate(prefix string) []error {
	var errs []error
	bad := badFunc(prefix, &errs)
	validateEndpoint(bad, c.URL, "access_token", "timestamp", "sign")
	validateSecretSource(bad, "access_token", c.AccessTokenEnv, c.AccessTokenFile, true)
	validateSecretSource(bad, "secret", c.SecretEnv, c.SecretFile, false)
	validateLang(bad, c.Lang)
	c.Delivery.validate(bad)
	c.Gate.validate(bad)
	return errs
}

// Validate returns the problems of the whole notify section, each naming
// its key (notify.wecom[1].key_env: ...).
func (c Config) Validate() []error {
	var errs []error
	if c.Lang != "" && c.Lang != "zh" && c.Lang != "en" {
		errs = append(errs, fmt.Errorf("notify.lang: %q is not zh or en", c.Lang))
	}
	errs = append(errs, c.Alertmanager.validate("notify.alertmanager")...)
	for i, w := range c.Webhooks {
		errs = append(errs, w.validate(fmt.Sprintf("notify.webhooks[%d]", i))...)
	}
	for i, w := range c.WeCom {
		errs = append(errs, w.validate(fmt.Sprintf("notify.wecom[%d]", i))...)
	}
	for i, d := range c.DingTalk {
		errs = append(errs, d.validate(fmt.Sprintf("notify.dingtalk[%d]", i))...)
	}
	seen := map[string]string{}
	for _, r := range c.receiverNames() {
		if prev, dup := seen[r.name]; dup {
			errs = append(errs, fmt.Errorf("%s.name: %q is also the name of %s", r.key, r.name, prev))
			continue
		}
		seen[r.name] = r.key
	}
	return errs
}

type namedKey struct{ name, key string }

// receiverNames lists every configured receiver's name, defaults applied.
func (c Config) receiverNames() []namedKey {
	var out []namedKey
	if c.Alertmanager.Enabled() {
		out = append(out, namedKey{defaultName(c.Alertmanager.Name, "alertmanager", 0), "notify.alertmanager"})
	}
	for i, w := range c.Webhooks {
		out = append(out, namedKey{defaultName(w.Name, "webhook", i), fmt.Sprintf("notify.webhooks[%d]", i)})
	}
	for i, w := range c.WeCom {
		out = append(out, namedKey{defaultName(w.Name, "wecom", i), fmt.Sprintf("notify.wecom[%d]", i)})
	}
	for i, d := range c.DingTalk {
		out = append(out, namedKey{defaultName(d.Name, "dingtalk", i), fmt.Sprintf("notify.dingtalk[%d]", i)})
	}
	return out
}

// defaultName is name, or kind for the first receiver of its kind and
// kind-2, kind-3, ... for the next ones.
func defaultName(name, kind string, i int) string {
	if name != "" {
		return name
	}
	if i == 0 {
		return kind
	}
	return fmt.Sprintf("%s-%d", kind, i+1)
}

// ResolvePaths rewrites every file path in c with resolve (envpipe passes
// a function that makes paths relative to envpipe.yaml absolute).
func (c *Config) ResolvePaths(resolve func(string) string) {
	r := func(p *string) {
		if *p != "" {
			*p = resolve(*p)
		}
	}
	auth := func(h *HTTPAuth) {
		r(&h.BearerTokenFile)
		if h.BasicAuth != nil {
			b := *h.BasicAuth
			r(&b.PasswordFile)
			h.BasicAuth = &b
		}
	}
	tls := func(t *TLSConfig) { r(&t.CAFile); r(&t.CertFile); r(&t.KeyFile) }
	auth(&c.Alertmanager.HTTPAuth)
	tls(&c.Alertmanager.TLS)
	c.Webhooks = append([]WebhookConfig(nil), c.Webhooks...)
	for i := range c.Webhooks {
		r(&c.Webhooks[i].SecretFile)
		auth(&c.Webhooks[i].HTTPAuth)
		tls(&c.Webhooks[i].TLS)
	}
	c.WeCom = append([]WeComConfig(nil), c.WeCom...)
	for i := range c.WeCom {
		r(&c.WeCom[i].KeyFile)
	}
	c.DingTalk = append([]DingTalkConfig(nil), c.DingTalk...)
	for i := range c.DingTalk {
		r(&c.DingTalk[i].AccessTokenFile)
		r(&c.DingTalk[i].SecretFile)
	}
}

func badFunc(prefix string, errs *[]error) func(key, format string, a ...any) {
	return func(key, format string, a ...any) {
		*errs = append(*errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, a...)))
	}
}

func checkFile(bad func(key, format string, a ...any), key, path string) {
	if path == "" {
		return
	}
	if _, err := os.Stat(path); err != nil {
		bad(key, "%v", err)
	}
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q must be an http:// or https:// URL", redactURL(s))
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", redactURL(s))
	}
	return nil
}

// validateEndpoint checks a robot's endpoint: a URL without the secret
// query parameters.
func validateEndpoint(bad func(key, format string, a ...any), s string, secretParams ...string) {
	if s == "" {
		return
	}
	if err := checkHTTPURL(s); err != nil {
		bad("url", "%v", err)
		return
	}
	u, _ := url.Parse(s)
	for _, p := range secretParams {
		if u.Query().Has(p) {
			bad("url", "carries %s=: that is a secret; give the endpoint only and put the %s in %s_env or %s_file",
				p, secretParams[0], secretParams[0], secretParams[0])
			return
		}
	}
}

func validateSecretSource(bad func(key, format string, a ...any), name, env, file string, required bool) {
	switch {
	case env != "" && file != "":
		bad(name+"_env", "set %s_env or %s_file, not both", name, name)
	case required && env == "" && file == "":
		bad(name+"_env", "missing: the %s comes from %s_env (an environment variable's name) or %s_file", name, name, name)
	}
	checkFile(bad, name+"_file", file)
}

func validateLang(bad func(key, format string, a ...any), lang string) {
	if lang != "" && lang != "zh" && lang != "en" {
		bad("lang", "%q is not zh or en", lang)
	}
}

// validLabelName is Prometheus's classic label name syntax.
func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// readSecret reads a secret from a file (trailing newlines trimmed) or an
// environment variable. key names the config key for errors; the secret
// itself never appears in one.
func readSecret(key, env, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_file: %w", key, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("%s_file: %s is empty", key, file)
		}
		return s, nil
	}
	if env != "" {
		s := strings.TrimSpace(os.Getenv(env))
		if s == "" {
			return "", fmt.Errorf("%s_env: $%s is not set or empty", key, env)
		}
		return s, nil
	}
	return "", nil
}
