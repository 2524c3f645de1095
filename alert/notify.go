package alert

import (
	"context"
	"time"
)

// Status of a notification.
type Status string

const (
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// Notification is one alert as receivers see it, shaped after Alertmanager's
// v2 API: identity is the label set; StartsAt stays fixed while it fires;
// EndsAt is set when it resolves (and, while firing, to a time after which
// Alertmanager may resolve it by itself if envpipe stops re-sending).
type Notification struct {
	Status       Status
	Labels       map[string]string // alertname, station, county, param, severity, ...
	Annotations  map[string]string // summary, description (in the configured language), value, limit, ...
	StartsAt     time.Time
	EndsAt       time.Time
	GeneratorURL string // link to the Grafana panel
	// Value and Limit are the aggregate and the threshold at the transition.
	Value, Limit float64
}

// Fingerprint identifies an alert by its labels, in a stable order.
func (n *Notification) Fingerprint() string { return fingerprint(n.Labels) }

// Notifier delivers notifications to one receiver. Implementations retry
// transient failures themselves (bounded by ctx) and return the final error.
type Notifier interface {
	Name() string
	Notify(ctx context.Context, alerts []Notification) error
}
