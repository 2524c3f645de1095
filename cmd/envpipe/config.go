package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/envpipe/envpipe/alert"
	"github.com/envpipe/envpipe/alert/derive"
	"github.com/envpipe/envpipe/alert/notify"
	"github.com/envpipe/envpipe/ingest/hj212srv"
	"github.com/envpipe/envpipe/ingest/influx"
	"github.com/envpipe/envpipe/ingest/mqtt"
	"github.com/envpipe/envpipe/ingest/station"
)

// config is envpipe.yaml. Each section's type, defaults and validation live
// with the component that uses it; this only composes them.
type config struct {
	Stations string `yaml:"stations"`
	Lang     string `yaml:"lang"`
	// MemoryLimitMB is Go's soft memory limit (as GOMEMLIMIT): the garbage
	// collector works harder rather than let the heap grow past it. 0 keeps
	// the runtime's default (or $GOMEMLIMIT).
	MemoryLimitMB int64 `yaml:"memory_limit_mb"`
	// MaxProcs caps the cores Go runs envpipe's goroutines on (as
	// GOMAXPROCS). 0 keeps the runtime's default: every core, or the
	// container's CPU limit (or $GOMAXPROCS).
	MaxProcs   int                      `yaml:"max_procs"`
	Log        logConfig                `yaml:"log"`
	HTTP       httpConfig               `yaml:"http"`
	MQTT       mqtt.Config              `yaml:"mqtt"`
	InfluxDB   influx.Config            `yaml:"influxdb"`
	WAL        walConfig                `yaml:"wal"`
	Validation station.ValidationConfig `yaml:"validation"`
	DeadLetter deadLetterConfig         `yaml:"dead_letter"`
	Derive     derive.Config            `yaml:"derive"`
	Alert      alert.Config             `yaml:"alert"`
	Notify     notify.Config            `yaml:"notify"`
	HJ212      hj212srv.Config          `yaml:"hj212"`

	dir   string         // the config file's directory; relative paths start there
	rules *alert.RuleSet // loaded from Alert.Rules; nil when alerting is off
	// notes are what a valid config may not mean to do (alerting off,
	// alerts with nobody to tell, rules that select no station):
	// check-config prints them and run logs them as warnings.
	notes []string
}

type logConfig struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

type httpConfig struct {
	Listen string `yaml:"listen"`
	// Pprof serves Go's profiler under /debug/pprof/ (off by default).
	Pprof bool `yaml:"pprof"`
}

type walConfig struct {
	Dir           string `yaml:"dir"`
	SegmentSizeMB int64  `yaml:"segment_size_mb"`
	// MaxSizeMB bounds the unwritten backlog; at the bound envpipe stops
	// acking (the broker queues) instead of dropping. 0 = unbounded.
	MaxSizeMB int64 `yaml:"max_size_mb"`
	// CommitInterval is the least time between two fsyncs: it bounds their
	// rate (and CPU) under load, adding at most that much to ack latency.
	CommitInterval time.Duration `yaml:"commit_interval"`
}

type deadLetterConfig struct {
	Path       string `yaml:"path"`
	MaxSizeMB  int64  `yaml:"max_size_mb"`
	InfluxPath string `yaml:"influx_path"`
}

func defaultConfig() config {
	return config{
		Stations: "stations.yaml",
		Lang:     "zh",
		Log:      logConfig{Level: "info", Format: "text"},
		HTTP:     httpConfig{Listen: "127.0.0.1:9274"},
		MQTT:     mqtt.DefaultConfig(),
		InfluxDB: influx.DefaultConfig(),
		// A bounded backlog by default: through a long InfluxDB outage
		// the broker queues the rest instead of the disk filling up.
		WAL:        walConfig{Dir: "data/wal", SegmentSizeMB: 64, MaxSizeMB: 4096, CommitInterval: 10 * time.Millisecond},
		Validation: station.DefaultValidation(),
		DeadLetter: deadLetterConfig{Path: "data/deadletter.jsonl", MaxSizeMB: 64, InfluxPath: "data/deadletter-influx.lp"},
		Derive:     derive.DefaultConfig(),
		Alert:      alert.DefaultConfig(),
		Notify:     notify.DefaultConfig(),
		HJ212:      hj212srv.DefaultConfig(),
	}
}

// path resolves p against the config file's directory.
func (c *config) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// loadConfig reads path strictly (unknown keys are errors), applies
// defaults, validates every section and loads the station registry. It
// returns every problem found, each prefixed with its file.
func loadConfig(path string) (*config, *station.Registry, []error) {
	return loadConfigWith(path, overrides{})
}

// overrides replace paths of the config file from the command line
// (relative to the working directory); empty fields leave the file's.
type overrides struct {
	Stations, Rules string
}

// loadConfigWith is loadConfig with command-line overrides.
func loadConfigWith(path string, ov overrides) (*config, *station.Registry, []error) {
	c := defaultConfig()
	c.dir = filepath.Dir(path)
	var errs []error
	fileErr := func(file string, err error) { errs = append(errs, fmt.Errorf("%s: %w", file, err)) }

	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, []error{err}
	}
	data, unset := expandEnv(data)
	for _, name := range unset {
		fileErr(path, fmt.Errorf("${%s}: environment variable not set (use ${%s:-default} for a default)", name, name))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // EOF: empty, all defaults
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, nil, []error{fmt.Errorf("%s: %w", path, err)}
		}
		for _, e := range te.Errors {
			fileErr(path, errors.New(e+secretHint(e)))
		}
	}
	for _, e := range c.validate() {
		fileErr(path, e)
	}
	// Paths in sections are relative to the config file.
	c.WAL.Dir = c.path(c.WAL.Dir)
	c.DeadLetter.Path = c.path(c.DeadLetter.Path)
	c.DeadLetter.InfluxPath = c.path(c.DeadLetter.InfluxPath)
	c.InfluxDB.DeadLetter = c.DeadLetter.InfluxPath
	for _, p := range []*string{&c.MQTT.TLS.CAFile, &c.MQTT.TLS.CertFile, &c.MQTT.TLS.KeyFile, &c.MQTT.PasswordFile, &c.InfluxDB.TokenFile} {
		*p = c.path(*p)
	}
	for _, e := range c.MQTT.Validate() {
		fileErr(path, e)
	}
	for _, e := range c.InfluxDB.Validate() {
		fileErr(path, e)
	}
	for _, e := range c.Validation.Validate() {
		fileErr(path, e)
	}
	for _, e := range c.Derive.Validate() {
		fileErr(path, e)
	}
	c.Alert.Lang = c.Lang
	c.Alert.Rules = c.path(c.Alert.Rules)
	if ov.Rules != "" {
		c.Alert.Rules = ov.Rules
	}
	c.Alert.StateFile = c.path(c.Alert.StateFile)
	for _, e := range c.Alert.Validate() {
		fileErr(path, e)
	}
	for _, e := range c.HJ212.Validate() {
		fileErr(path, e)
	}
	c.Notify.ResolvePaths(c.path)
	for _, e := range c.Notify.Validate() {
		fileErr(path, e)
	}

	stPath := c.path(c.Stations)
	if ov.Stations != "" {
		stPath, c.Stations = ov.Stations, ov.Stations
	}
	reg, serrs := station.Load(stPath)
	for _, e := range serrs {
		fileErr(stPath, e)
	}
	if c.Alert.Enabled() {
		rules, rerrs := alert.LoadRules(c.Alert.Rules)
		if rules != nil && reg != nil {
			rerrs = append(rerrs, rules.CheckStations(reg.All())...)
		}
		for _, e := range rerrs {
			fileErr(c.Alert.Rules, e)
		}
		c.rules = rules
		if rules != nil && reg != nil {
			for _, r := range rules.Idle(reg.All()) {
				c.notes = append(c.notes, fmt.Sprintf("alert rule %s selects no station", r))
			}
		}
		if !c.hasReceiver() {
			c.notes = append(c.notes, "notify: no receiver (alertmanager.urls, webhooks, wecom, dingtalk): alerts are evaluated and stored in InfluxDB, but nobody is told")
		}
	} else {
		c.notes = append(c.notes, "alert.rules is empty: alerting is off")
	}
	return &c, reg, errs
}

func (c *config) hasReceiver() bool {
	n := c.Notify
	return n.Alertmanager.Enabled() || len(n.Webhooks) > 0 || len(n.WeCom) > 0 || len(n.DingTalk) > 0
}

func (c *config) validate() []error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if c.MaxProcs < 0 {
		bad("max_procs", "must not be negative")
	}
	if c.MemoryLimitMB < 0 {
		bad("memory_limit_mb", "must not be negative")
	}
	if c.Lang != "zh" && c.Lang != "en" {
		bad("lang", "%q is not zh or en", c.Lang)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen", "%q is not host:port (for /metrics, /healthz, /readyz)", c.HTTP.Listen)
	}
	if c.WAL.Dir == "" {
		bad("wal.dir", "missing")
	}
	if c.WAL.SegmentSizeMB <= 0 || c.WAL.SegmentSizeMB > 1024 {
		bad("wal.segment_size_mb", "%d is not in 1..1024", c.WAL.SegmentSizeMB)
	}
	if c.WAL.CommitInterval < 0 || c.WAL.CommitInterval > time.Second {
		bad("wal.commit_interval", "%s is not in 0..1s", c.WAL.CommitInterval)
	}
	if c.WAL.MaxSizeMB < 0 {
		bad("wal.max_size_mb", "must not be negative")
	}
	if c.Stations == "" {
		bad("stations", "missing: path of stations.yaml")
	}
	if c.DeadLetter.Path == "" {
		bad("dead_letter.path", "missing")
	}
	if c.DeadLetter.MaxSizeMB < 0 {
		bad("dead_letter.max_size_mb", "must not be negative")
	}
	return errs
}

// secretKey matches the YAML decoder's error for a secret written into the
// file, which envpipe refuses by having no such key.
var secretKey = regexp.MustCompile(`field (password|token) not found in type (mqtt|influx)\.Config`)

// secretHint says where the secret the YAML error is about goes instead.
func secretHint(msg string) string {
	m := secretKey.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	section := map[string]string{"mqtt": "mqtt.password", "influx": "influxdb.token"}[m[2]]
	return fmt.Sprintf(" (secrets never go in the YAML: use %s_env or %s_file)", section, section)
}

// envRef matches ${NAME} and ${NAME:-default}. Only the braced form is
// expanded, so that MQTT's $share/... stays as it is.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// expandEnv replaces environment references in the config text, returning
// the names that are unset and have no default. Whole-line comments are
// left alone, so that documentation may mention ${VAR}.
func expandEnv(data []byte) ([]byte, []string) {
	var unset []string
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, line := range lines {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '#' {
			continue
		}
		lines[i] = expandLine(line, &unset)
	}
	return bytes.Join(lines, nil), unset
}

func expandLine(data []byte, unset *[]string) []byte {
	return envRef.ReplaceAllFunc(data, func(m []byte) []byte {
		sub := envRef.FindSubmatch(m)
		if v, ok := os.LookupEnv(string(sub[1])); ok && v != "" {
			return []byte(v)
		}
		if bytes.Contains(m, []byte(":-")) {
			return sub[2]
		}
		*unset = append(*unset, string(sub[1]))
		return nil
	})
}
