package notify

import (
	"crypto/sha256"
	"encoding/hex"
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
// with the next call that carries it. The rule engine keeps that memory
// across restarts (alert.Teller).
type gate struct {
	key          string // alert.Teller's key
	match        map[string][]string
	sendResolved bool
	repeat       time.Duration // 0: no reminders
	now          func() time.Time

	mu      sync.Mutex
	told    map[string]told // by fingerprint
	version uint64          // counts changes of told
}

type told struct {
	startsAt time.Time
	resolved bool
	at       time.Time
}

// newGate returns the gate of receiver name, which sends to dest (with its
// secrets: only a digest of it is kept).
func newGate(g Gate, name, dest string, now func() time.Time) *gate {
	sum := sha256.Sum256([]byte(dest))
	return &gate{
		key:          name + "@" + hex.EncodeToString(sum[:6]),
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
	// Forget ends after a day, and, with reminders, firing alerts not
	// reminded of for a week (or two repeat intervals): the rule that
	// raised them is gone. (An end of a forgotten alert is still told.)
	// Without reminders a firing alert is told once and never again, so
	// its record must outlive it however long it fires: after a restart
	// the engine's catch-up re-send must find it told. Those of alerts
	// that ended untold are left out when the engine saves the memory.
	keep := max(7*24*time.Hour, 2*g.repeat)
	for fp, t := range g.told {
		age := now.Sub(t.at)
		if (t.resolved && age > 24*time.Hour) || (!t.resolved && g.repeat > 0 && age > keep) {
			delete(g.told, fp)
		}
	}
	g.version++
}

// memory returns what the gate remembers, and its version.
func (g *gate) memory() ([]alert.Told, uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]alert.Told, 0, len(g.told))
	for fp, t := range g.told {
		out = append(out, alert.Told{Fingerprint: fp, StartsAt: t.startsAt, Resolved: t.resolved, At: t.at})
	}
	return out, g.version
}

func (g *gate) memoryVersion() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.version
}

// restore replaces what the gate remembers.
func (g *gate) restore(mem []alert.Told) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.told = make(map[string]told, len(mem))
	for _, t := range mem {
		g.told[t.Fingerprint] = told{startsAt: t.StartsAt, resolved: t.Resolved, at: t.At}
	}
	g.version++
}
