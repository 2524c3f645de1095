package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/envpipe/envpipe/alert"
)

// Alertmanager posts alerts to one or more Alertmanager instances
// (POST /api/v2/alerts). It sends every alert it is given, every time:
// Alertmanager keeps alerts in memory only, so the caller re-posts firing
// alerts (about every minute) for a restarted instance to learn them again;
// Alertmanager itself groups, de-duplicates, inhibits and repeats.
type Alertmanager struct {
	name    string
	targets []string // .../api/v2/alerts
	auth    string
	s       *sender
	now     func() time.Time
}

// PostableAlert is one element of the POST /api/v2/alerts body.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt,omitempty"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// NewAlertmanager returns the Alertmanager notifier. It reads its secrets
// now: a missing one is an error.
func NewAlertmanager(c AlertmanagerConfig, o Options) (*Alertmanager, error) {
	o = o.withDefaults()
	name := defaultName(c.Name, "alertmanager", 0)
	if !c.Enabled() {
		return nil, fmt.Errorf("%s: notify.alertmanager.urls: no Alertmanager URL", name)
	}
	if errs := c.validate("notify.alertmanager"); len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", name, errs[0])
	}
	auth, err := authHeader(c.HTTPAuth)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s, err := newSender(name, c.Delivery, c.TLS, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s.scrub = []string{auth}
	am := &Alertmanager{name: name, auth: auth, s: s, now: o.Now}
	for _, u := range c.URLs {
		am.targets = append(am.targets, alertsEndpoint(u))
	}
	return am, nil
}

// alertsEndpoint is base's /api/v2/alerts, keeping a path prefix.
func alertsEndpoint(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, "/api/v2/alerts") {
		p += "/api/v2/alerts"
	}
	u.Path, u.RawPath = p, ""
	return u.String()
}

// Name is the receiver's name.
func (am *Alertmanager) Name() string { return am.name }

// Resend implements alert.Resender: Alertmanager must get every firing
// alert again about every minute (it keeps alerts in memory only, and
// resolves an alert by itself when its endsAt passes).
func (am *Alertmanager) Resend() bool { return true }

// Notify posts the alerts to every instance at once. It succeeds when at
// least one instance accepted them (the instances of a cluster share what
// they receive); each instance's failure is counted and logged.
func (am *Alertmanager) Notify(ctx context.Context, alerts []alert.Notification) error {
	if len(alerts) == 0 {
		return nil
	}
	body, err := encodeJSON(PostableAlerts(alerts, am.now()))
	if err != nil {
		return fmt.Errorf("%s: %w", am.name, err)
	}
	errs := make([]error, len(am.targets))
	var wg sync.WaitGroup
	for i, target := range am.targets {
		wg.Go(func() {
			errs[i] = am.s.deliver(ctx, target, len(alerts), func(ctx context.Context) error {
				h := http.Header{}
				if am.auth != "" {
					h.Set("Authorization", am.auth)
				}
				resp, err := am.s.post(ctx, target, h, body)
				if err != nil {
					return err
				}
				return checkStatus(resp)
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	return errors.Join(errs...)
}

// PostableAlerts converts notifications to Alertmanager's v2 form. Empty
// label and annotation values are left out (Alertmanager treats an empty
// label as no label). A firing alert without EndsAt gets none:
// Alertmanager then resolves it by itself after its resolve_timeout
// unless it is re-posted; a resolved one without EndsAt ends now.
func PostableAlerts(alerts []alert.Notification, now time.Time) []PostableAlert {
	out := make([]PostableAlert, 0, len(alerts))
	for _, a := range alerts {
		p := PostableAlert{
			Labels:       nonEmpty(a.Labels),
			Annotations:  nonEmpty(a.Annotations),
			GeneratorURL: a.GeneratorURL,
			StartsAt:     amTime(a.StartsAt),
			EndsAt:       amTime(a.EndsAt),
		}
		if len(p.Annotations) == 0 {
			p.Annotations = nil
		}
		if a.Status == alert.StatusResolved && a.EndsAt.IsZero() {
			p.EndsAt = amTime(now)
		}
		out = append(out, p)
	}
	return out
}

func amTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
