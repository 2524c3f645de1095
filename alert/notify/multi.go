package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/envpipe/envpipe/alert"
)

// Multi sends every notification to several notifiers at once. It is an
// alert.Notifier itself.
type Multi struct {
	notifiers []alert.Notifier
}

// NewMulti returns a fan-out to ns (nil ones are skipped).
func NewMulti(ns ...alert.Notifier) *Multi {
	m := &Multi{}
	for _, n := range ns {
		if n != nil {
			m.notifiers = append(m.notifiers, n)
		}
	}
	return m
}

// Name is "multi".
func (m *Multi) Name() string { return "multi" }

// Resend implements alert.Resender: true when any receiver wants the rule
// engine's re-sends of firing alerts (Alertmanager does). The others are
// handed the re-sends too and drop them (their gate has told them
// already). Better: give the rule engine Notifiers(), so that each
// receiver gets its own queue and a slow one delays no other.
func (m *Multi) Resend() bool {
	for _, n := range m.notifiers {
		if r, ok := n.(interface{ Resend() bool }); ok && r.Resend() {
			return true
		}
	}
	return false
}

// Notifiers are the receivers, in configuration order.
func (m *Multi) Notifiers() []alert.Notifier { return m.notifiers }

// Len is the number of receivers.
func (m *Multi) Len() int { return len(m.notifiers) }

// Notify hands the alerts to every receiver concurrently and waits for all
// of them (each bounded by ctx and its own retry settings). The error, if
// any, is a *MultiError naming each receiver that failed; the others have
// delivered.
func (m *Multi) Notify(ctx context.Context, alerts []alert.Notification) error {
	if len(alerts) == 0 || len(m.notifiers) == 0 {
		return nil
	}
	errs := make([]error, len(m.notifiers))
	var wg sync.WaitGroup
	for i, n := range m.notifiers {
		wg.Go(func() { errs[i] = n.Notify(ctx, alerts) })
	}
	wg.Wait()
	var me MultiError
	for i, err := range errs {
		if err != nil {
			me.Errors = append(me.Errors, ReceiverError{Receiver: m.notifiers[i].Name(), Err: err})
		}
	}
	if len(me.Errors) == 0 {
		return nil
	}
	return &me
}

// ReceiverError is one receiver's failure.
type ReceiverError struct {
	Receiver string
	Err      error
}

func (e ReceiverError) Error() string {
	msg := e.Err.Error()
	if strings.HasPrefix(msg, e.Receiver+":") {
		return msg
	}
	return e.Receiver + ": " + msg
}

func (e ReceiverError) Unwrap() error { return e.Err }

// MultiError lists the receivers that failed.
type MultiError struct {
	Errors []ReceiverError
}

func (e *MultiError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, r := range e.Errors {
		parts[i] = r.Error()
	}
	return fmt.Sprintf("%d receiver(s) failed: %s", len(e.Errors), strings.Join(parts, "; "))
}

// Unwrap lets errors.Is and errors.As look into every receiver's error.
func (e *MultiError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, r := range e.Errors {
		out[i] = r
	}
	return out
}

// Failed returns the names of the receivers that failed.
func (e *MultiError) Failed() []string {
	out := make([]string, len(e.Errors))
	for i, r := range e.Errors {
		out[i] = r.Receiver
	}
	return out
}

// Build creates every receiver the notify section configures, in the
// order alertmanager, webhooks, wecom, dingtalk, behind one Multi (hand the
// rule engine m.Notifiers() to give each its own queue). It
// reads the receivers' secrets, so a missing one fails here, at start-up,
// not at the first alert. Call c.Validate (after c.ResolvePaths) first for
// a complete list of configuration problems; Build reports every receiver
// it cannot build.
func Build(c Config, o Options) (*Multi, error) {
	if c.Lang != "" {
		o.Lang = c.Lang
	}
	o = o.withDefaults()
	var ns []alert.Notifier
	var errs []error
	add := func(n alert.Notifier, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		ns = append(ns, n)
	}
	if c.Alertmanager.Enabled() {
		add(NewAlertmanager(c.Alertmanager, o))
	}
	for i, w := range c.Webhooks {
		add(newWebhook(w, i, o))
	}
	for i, w := range c.WeCom {
		add(newWeCom(w, i, o))
	}
	for i, d := range c.DingTalk {
		add(newDingTalk(d, i, o))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return NewMulti(ns...), nil
}
