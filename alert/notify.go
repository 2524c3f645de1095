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

// Told is what a receiver was told of one alert: what a notifier that
// tells each alert once (and reminds at its own pace) remembers of it.
type Told struct {
	Fingerprint string
	StartsAt    time.Time
	Resolved    bool
	At          time.Time // when it was told
}

// Teller is implemented by notifiers that remember what they have told
// their receiver (webhooks and chat robots). The engine keeps that memory
// in the state file and gives it back after a restart, so that its
// re-sends of firing alerts after a restart page nobody again for what
// was told before, while what was never told still goes out.
type Teller interface {
	// TellerKey identifies the receiver across restarts (its name and
	// destination): a memory goes back only to the receiver it came from.
	TellerKey() string
	// ToldVersion changes whenever the memory does.
	ToldVersion() uint64
	// Told returns the memory and its version.
	Told() ([]Told, uint64)
	// RestoreTold replaces the memory with one that Told returned.
	RestoreTold([]Told)
}
