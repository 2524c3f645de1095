package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/envpipe/envpipe/alert"
)

// Webhook signature headers.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// exact request body, keyed with the webhook's secret.
	SignatureHeader = "X-Envpipe-Signature"
	// TimestampHeader carries the Unix time (seconds) of the attempt.
	TimestampHeader = "X-Envpipe-Timestamp"
)

// WebhookMessage is the body a Webhook posts: Alertmanager's webhook
// payload, version 4, so that anything that reads Alertmanager's webhooks
// reads envpipe's. An envpipe notification is not grouped: groupLabels is
// empty and groupKey is "{}:{}".
type WebhookMessage struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"` // firing if any alert fires, else resolved
	Alerts            []WebhookAlert    `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
}

// WebhookAlert is one alert of a WebhookMessage. As in Alertmanager's
// payload, a firing alert's endsAt is the zero time. Value and limit are
// envpipe's additions (absent when not finite).
type WebhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	Value        *float64          `json:"value,omitempty"`
	Limit        *float64          `json:"limit,omitempty"`
}

// Webhook posts WebhookMessages to an HTTP endpoint.
type Webhook struct {
	name   string
	url    string
	secret []byte
	auth   string
	s      *sender
	g      *gate
	now    func() time.Time
}

// NewWebhook returns a webhook notifier. It reads its secrets now: a
// missing one is an error.
func NewWebhook(c WebhookConfig, o Options) (*Webhook, error) {
	return newWebhook(c, 0, o)
}

func newWebhook(c WebhookConfig, index int, o Options) (*Webhook, error) {
	o = o.withDefaults()
	name := defaultName(c.Name, "webhook", index)
	if errs := c.validate("notify.webhooks"); len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", name, errs[0])
	}
	secret, err := readSecret("secret", c.SecretEnv, c.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	auth, err := authHeader(c.HTTPAuth)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s, err := newSender(name, c.Delivery, c.TLS, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s.scrub = []string{secret, auth}
	return &Webhook{name: name, url: c.URL, secret: []byte(secret), auth: auth, s: s, g: newGate(c.Gate, name, c.URL, o.Now), now: o.Now}, nil
}

// Name is the receiver's name.
func (w *Webhook) Name() string { return w.name }

// Resend implements alert.Resender: with a repeat_interval the webhook gets
// the rule engine's re-sends of firing alerts (and is reminded every
// repeat_interval); without one, transitions only.
func (w *Webhook) Resend() bool { return w.g.resend() }

// TellerKey, ToldVersion, Told and RestoreTold implement alert.Teller: the
// rule engine keeps what the receiver was told across restarts.
func (w *Webhook) TellerKey() string             { return w.g.key }
func (w *Webhook) ToldVersion() uint64           { return w.g.memoryVersion() }
func (w *Webhook) Told() ([]alert.Told, uint64)  { return w.g.memory() }
func (w *Webhook) RestoreTold(told []alert.Told) { w.g.restore(told) }

// Notify posts the alerts w's gate lets through as one message.
func (w *Webhook) Notify(ctx context.Context, alerts []alert.Notification) error {
	send := w.g.filter(alerts)
	if len(send) == 0 {
		if len(alerts) > 0 {
			w.s.m.count(w.name, ResultSuppressed)
		}
		return nil
	}
	body, err := encodeJSON(NewWebhookMessage(w.name, send))
	if err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	var sig string
	if len(w.secret) > 0 {
		sig = "sha256=" + Sign(w.secret, body)
	}
	err = w.s.deliver(ctx, w.url, len(send), func(ctx context.Context) error {
		h := http.Header{}
		h.Set(TimestampHeader, strconv.FormatInt(w.now().Unix(), 10))
		if sig != "" {
			h.Set(SignatureHeader, sig)
		}
		if w.auth != "" {
			h.Set("Authorization", w.auth)
		}
		resp, err := w.s.post(ctx, w.url, h, body)
		if err != nil {
			return err
		}
		return checkStatus(resp)
	})
	if err != nil {
		return err
	}
	w.g.delivered(send)
	return nil
}

// Sign is the hex HMAC-SHA256 of body keyed with secret: what follows
// "sha256=" in SignatureHeader. A receiver recomputes it over the raw body
// it read and compares with hmac.Equal.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// NewWebhookMessage builds the webhook payload of alerts, in their order.
func NewWebhookMessage(receiver string, alerts []alert.Notification) WebhookMessage {
	m := WebhookMessage{
		Receiver:          receiver,
		Status:            string(alert.StatusResolved),
		Alerts:            make([]WebhookAlert, 0, len(alerts)),
		GroupLabels:       map[string]string{},
		CommonLabels:      map[string]string{},
		CommonAnnotations: map[string]string{},
		Version:           "4",
		GroupKey:          "{}:{}",
	}
	for i, a := range alerts {
		status := string(a.Status)
		if a.Status != alert.StatusResolved {
			status = string(alert.StatusFiring)
			m.Status = status
		}
		wa := WebhookAlert{
			Status:       status,
			Labels:       nonEmpty(a.Labels),
			Annotations:  nonEmpty(a.Annotations),
			StartsAt:     a.StartsAt.UTC(),
			GeneratorURL: a.GeneratorURL,
			Fingerprint:  Fingerprint(a.Labels),
			Value:        finite(a.Value),
			Limit:        finite(a.Limit),
		}
		if a.Status == alert.StatusResolved {
			wa.EndsAt = a.EndsAt.UTC()
		}
		m.Alerts = append(m.Alerts, wa)
		if i == 0 {
			maps.Copy(m.CommonLabels, wa.Labels)
			maps.Copy(m.CommonAnnotations, wa.Annotations)
			continue
		}
		common(m.CommonLabels, wa.Labels)
		common(m.CommonAnnotations, wa.Annotations)
	}
	return m
}

// common keeps in c the pairs that m has too.
func common(c, m map[string]string) {
	for k, v := range c {
		if w, ok := m[k]; !ok || w != v {
			delete(c, k)
		}
	}
}

func nonEmpty(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// Fingerprint is Alertmanager's fingerprint of a label set (16 hex
// digits: FNV-1a 64 over the sorted names and values, each followed by
// 0xff; empty values left out, as Alertmanager drops them), so that a
// webhook receiver can match envpipe's alerts with Alertmanager's.
func Fingerprint(labels map[string]string) string {
	h := fnv.New64a()
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if labels[k] == "" {
			continue
		}
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}
