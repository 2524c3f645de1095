package notify

import (
	"slices"
	"sync"
	"time"

	"github.com/envpipe/envpipe/alert"
)

// gate decides which alerts a webhook or robot is told about: those its
// match filter keeps, resolved ones only with send_resolved, and a firing
// alert only when it is new or (with a repeat interval) was last told more
// than repeat_interval ago; an end is told once. It remembers what was
// delivered, not what was attempted: a failed notification goes again
// with the next call that carries it.
type gate struct {
	match        map[string][]string
	sendResolved bool
	repeat       time.Duration // 0: no reminders
	now          func() time.Time

	mu   sync.Mutex
	told map[string]told // by fingerprint
}

type told struct {
	startsAt time.Time
	resolved bool
	at       time.Time
}

func newGate(g Gate, now func() time.Time) *gate {
	return &gate{
		match:        g.Match,
		sendResolved: g.SendResolved == nil || *g.SendResolved,
		repeat:       g.RepeatInterval,
		now:          now,
		told:         map[string]told{},
	}
}

// resend reports whether the receiver wants the rule engine's re-sends
// of firing alerts: only to remind, with a repeat interval.
func (g *gate) resend() bool { return g.repeat > 0 }

func (g *gate) matches(n *alert.Notification) bool {
	for label, values := range g.match {
		if !slices.Contains(values, n.Labels[label]) {
			return false
		}
	}
	return true
}

// filter returns the alerts to send now.
func (g *gate) filter(alerts []alert.Notification) []alert.Notification {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []alert.Notification
	for i := range alerts {
		a := &alerts[i]
		if !g.matches(a) {
			continue
		}
		t, known := g.told[a.Fingerprint()]
		same := known && t.startsAt.Equal(a.StartsAt)
		if a.Status == alert.StatusResolved {
			// An end is told once; an end of an alert this receiver never
			// heard of (envpipe restarted since) is told too: better one
			// message too many than a group left believing it still fires.
			if !g.sendResolved || (same && t.resolved) {
				continue
			}
		} else if same && !t.resolved && (g.repeat == 0 || now.Sub(t.at) < g.repeat) {
			continue
		}
		out = append(out, *a)
	}
	return out
}

// delivered records alerts as told.
func (g *gate) delivered(alerts []alert.Notification) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range alerts {
		a := &alerts[i]
		g.told[a.Fingerprint()] = told{startsAt: a.StartsAt, resolved: a.Status == alert.StatusResolved, at: now}
	}
	// Forget ends after a day, and firing alerts not heard of for a week
	// (or two repeat intervals): the rule that raised them is gone. (An
	// end of a forgotten alert is still told.)
	keep := max(7*24*time.Hour, 2*g.repeat)
	for fp, t := range g.told {
		age := now.Sub(t.at)
		if (t.resolved && age > 24*time.Hour) || age > keep {
			delete(g.told, fp)
		}
	}
}
