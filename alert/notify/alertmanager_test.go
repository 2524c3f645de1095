package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert"
	"github.com/envpipe/envpipe/internal/testenv"
)

// hookReceiver is an Alertmanager webhook receiver on 127.0.0.1: it
// decodes every payload into the WebhookMessage type envpipe's own
// webhook posts (so the test also checks that the two agree).
func hookReceiver(t *testing.T) (*httptest.Server, <-chan WebhookMessage) {
	ch := make(chan WebhookMessage, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m WebhookMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("webhook payload: %v: %s", err, body)
		}
		ch <- m
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func waitMessage(t *testing.T, ch <-chan WebhookMessage, status string, timeout time.Duration) WebhookMessage {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-ch:
			if m.Status == status {
				return m
			}
			t.Logf("skipping a %s notification while waiting for %s", m.Status, status)
		case <-deadline:
			t.Fatalf("no %s notification from Alertmanager within %v", status, timeout)
		}
	}
}

func closedPortURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// TestAlertmanagerIntegration posts a firing alert and then its
// resolution to a real Alertmanager, which routes both to a webhook
// receiver; a second real instance (HA pair) and a dead one get the same
// posts.
func TestAlertmanagerIntegration(t *testing.T) {
	hook, msgs := hookReceiver(t)
	am := testenv.Alertmanager(t, fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, station]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s/hook
        send_resolved: true
`, hook.URL))
	am2 := testenv.Alertmanager(t, "")
	dead := closedPortURL(t)

	o, reg, logs := testOptions(t)
	o.Now = time.Now
	n, err := NewAlertmanager(AlertmanagerConfig{URLs: []string{am.URL(), am2.URL(), dead}, Delivery: fastRetry}, o)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	a := alert.Notification{
		Status: alert.StatusFiring,
		Labels: map[string]string{"alertname": "PM25Daily", "station": "zz-air-0601", "county": "Liling",
			"param": "pm25", "severity": "critical", "empty": ""},
		Annotations: map[string]string{"summary": "醴陵市环保局 PM2.5 24 小时均值 81 µg/m³，超过限值 75 µg/m³",
			"description": "GB 3095-2012 二级"},
		StartsAt:     start,
		EndsAt:       time.Now().Add(5 * time.Minute),
		GeneratorURL: "http://127.0.0.1:3000/d/envpipe-air?var-station=zz-air-0601",
		Value:        81, Limit: 75,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Notify(ctx, []alert.Notification{a}); err != nil {
		t.Fatalf("Notify (one instance of three down must not fail it): %v", err)
	}

	m := waitMessage(t, msgs, "firing", 20*time.Second)
	if len(m.Alerts) != 1 {
		t.Fatalf("firing: %d alerts", len(m.Alerts))
	}
	got := m.Alerts[0]
	want := map[string]string{"alertname": "PM25Daily", "station": "zz-air-0601", "county": "Liling", "param": "pm25", "severity": "critical"}
	if fmt.Sprint(got.Labels) != fmt.Sprint(want) {
		t.Errorf("labels %v, want %v", got.Labels, want)
	}
	if got.Annotations["summary"] != a.Annotations["summary"] || got.GeneratorURL != a.GeneratorURL || !got.StartsAt.Equal(start) {
		t.Errorf("firing alert %+v", got)
	}
	if got.Fingerprint != Fingerprint(a.Labels) {
		t.Errorf("Alertmanager's fingerprint %s, ours %s", got.Fingerprint, Fingerprint(a.Labels))
	}
	for i, inst := range []*testenv.AM{am, am2} {
		held, err := inst.Alerts()
		if err != nil {
			t.Fatal(err)
		}
		if len(held) != 1 || held[0].Labels["station"] != "zz-air-0601" || held[0].Fingerprint != got.Fingerprint {
			t.Errorf("instance %d holds %+v", i+1, held)
		}
	}

	// Re-posting (as the rule engine does every minute) changes nothing.
	if err := n.Notify(ctx, []alert.Notification{a}); err != nil {
		t.Fatal(err)
	}

	resolved := a
	resolved.Status = alert.StatusResolved
	resolved.EndsAt = time.Now()
	if err := n.Notify(ctx, []alert.Notification{resolved}); err != nil {
		t.Fatal(err)
	}
	m = waitMessage(t, msgs, "resolved", 20*time.Second)
	if len(m.Alerts) != 1 || m.Alerts[0].Status != "resolved" || fmt.Sprint(m.Alerts[0].Labels) != fmt.Sprint(want) ||
		m.Alerts[0].EndsAt.IsZero() {
		t.Errorf("resolved notification %+v", m)
	}
	if held, _ := am2.Alerts(); len(held) != 0 {
		t.Errorf("the second instance still holds %d active alert(s)", len(held))
	}

	// Three notifications × (two instances that took them + one down).
	if got := counter(t, reg, "alertmanager", ResultSuccess); got != 6 {
		t.Errorf("success = %v, want 6", got)
	}
	if got := counter(t, reg, "alertmanager", ResultFailure); got != 3 {
		t.Errorf("failure = %v, want 3 (the dead instance)", got)
	}
	if got := histogramCount(t, reg, "alertmanager"); got != 9 {
		t.Errorf("duration observed %d times, want 9", got)
	}
	if t.Failed() {
		t.Logf("logs:\n%s", logs)
	}
}

func TestAlertmanagerRefusesInvalidAlert(t *testing.T) {
	am := testenv.Alertmanager(t, "")
	o, reg, _ := testOptions(t)
	o.Now = time.Now
	n, err := NewAlertmanager(AlertmanagerConfig{URLs: []string{am.URL()}, Delivery: fastRetry}, o)
	if err != nil {
		t.Fatal(err)
	}
	bad := alert.Notification{Status: alert.StatusFiring, Labels: map[string]string{"bad-label": "x"}, StartsAt: time.Now()}
	if err := n.Notify(context.Background(), []alert.Notification{bad}); err == nil {
		t.Fatal("Alertmanager accepted an invalid label name")
	}
	if got := counter(t, reg, "alertmanager", ResultRetry); got != 0 {
		t.Errorf("a 400 was retried %v times", got)
	}
}
