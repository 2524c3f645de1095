package alert

import (
	"fmt"
	"net/url"
	"time"
)

// Config is the `alert` section of envpipe.yaml.
type Config struct {
	// Rules is the path of rules.yaml (relative to envpipe.yaml). Empty
	// (the default) turns the rule engine off; the shipped envpipe.yaml
	// sets it.
	Rules string `yaml:"rules"`
	// Lang is the language of alert texts (zh | en). It is envpipe.yaml's
	// top-level `lang`, which the daemon copies here.
	Lang string `yaml:"-"`
	// Horizon: a transition whose event time is older than now − Horizon
	// (backfilled or replayed data) updates the alert and is written to
	// InfluxDB, but pages no one.
	Horizon time.Duration `yaml:"horizon"`
	// ResendInterval is how often firing alerts are re-sent to notifiers
	// that want it (Alertmanager keeps alerts in memory only). A firing
	// alert's endsAt is now + 4 × ResendInterval, so Alertmanager resolves
	// it by itself if envpipe stops.
	ResendInterval time.Duration `yaml:"resend_interval"`
	// StateFile keeps alert state across restarts; the rolling windows go
	// beside it, in StateFile + ".windows".
	StateFile string `yaml:"state_file"`
	// StateInterval is how often the windows are saved (alert state is
	// saved at every transition).
	StateInterval time.Duration `yaml:"state_interval"`
	// GrafanaURL is Grafana's base URL for alerts' generatorURL; empty
	// leaves generatorURL out.
	GrafanaURL string `yaml:"grafana_url"`
	// Dashboards are the dashboard paths by station kind (air, water); the
	// generatorURL is GrafanaURL + path + "?var-station=<id>".
	Dashboards map[string]string `yaml:"grafana_dashboards"`
	// NotifyTimeout bounds one delivery to one notifier, its retries
	// included.
	NotifyTimeout time.Duration `yaml:"notify_timeout"`
}

// DefaultConfig is used where envpipe.yaml is silent.
func DefaultConfig() Config {
	return Config{
		Lang:           "zh",
		Horizon:        2 * time.Hour,
		ResendInterval: time.Minute,
		StateFile:      "data/alert-state.json",
		StateInterval:  time.Minute,
		GrafanaURL:     "http://127.0.0.1:3000",
		Dashboards: map[string]string{
			"air":   "/d/envpipe-air/air-quality",
			"water": "/d/envpipe-water/water-quality",
		},
		NotifyTimeout: 30 * time.Second,
	}
}

// Enabled reports whether rules are configured.
func (c Config) Enabled() bool { return c.Rules != "" }

// Validate returns the problems of c, each naming its key as alert.<key>
// (lang, which comes from the top level, as lang).
func (c Config) Validate() []error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("alert.%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if _, err := ParseLang(c.Lang); err != nil {
		errs = append(errs, fmt.Errorf("lang: %v", err))
	}
	if c.Horizon <= 0 {
		bad("horizon", "must be positive (e.g. 2h)")
	}
	if c.ResendInterval < 100*time.Millisecond || c.ResendInterval > time.Hour {
		bad("resend_interval", "%v is not in 100ms..1h", c.ResendInterval)
	}
	if c.StateFile == "" {
		bad("state_file", "missing")
	}
	if c.StateInterval < time.Second {
		bad("state_interval", "%v is shorter than 1s", c.StateInterval)
	}
	if c.GrafanaURL != "" {
		u, err := url.Parse(c.GrafanaURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("grafana_url", "%q is not an http(s) URL", c.GrafanaURL)
		}
	}
	for k := range c.Dashboards {
		if k != "air" && k != "water" {
			bad("grafana_dashboards", "%q is not air or water", k)
		}
	}
	if c.NotifyTimeout <= 0 {
		bad("notify_timeout", "must be positive")
	}
	return errs
}
