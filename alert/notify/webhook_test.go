package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert"
)

const testWebhookSecret = "whsec-7d1c0b6e2f"

// verifyWebhook is what a receiver of envpipe's webhook does: recompute
// the HMAC over the raw body and compare in constant time.
func verifyWebhook(r *http.Request, body []byte) error {
	sig, ok := strings.CutPrefix(r.Header.Get(SignatureHeader), "sha256=")
	if !ok {
		return fmt.Errorf("%s = %q", SignatureHeader, r.Header.Get(SignatureHeader))
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, []byte(testWebhookSecret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("signature mismatch")
	}
	if _, err := strconv.ParseInt(r.Header.Get(TimestampHeader), 10, 64); err != nil {
		return fmt.Errorf("%s: %v", TimestampHeader, err)
	}
	return nil
}

func TestWebhookSignedPayload(t *testing.T) {
	f := newFake(t, httpOK)
	f.check = verifyWebhook
	o, reg, _ := testOptions(t)
	t.Setenv("TEST_WEBHOOK_SECRET", testWebhookSecret)
	w, err := NewWebhook(WebhookConfig{Name: "oncall", URL: f.srv.URL + "/hook", SecretEnv: "TEST_WEBHOOK_SECRET", Delivery: fastRetry}, o)
	if err != nil {
		t.Fatal(err)
	}
	alerts := fixture()
	if err := w.Notify(context.Background(), alerts); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	if got := reqs[0].header.Get(TimestampHeader); got != strconv.FormatInt(o.Now().Unix(), 10) {
		t.Errorf("timestamp %s", got)
	}
	golden(t, "webhook.json", reqs[0].body)

	var m WebhookMessage
	if err := json.Unmarshal(reqs[0].body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Version != "4" || m.Status != "firing" || m.Receiver != "oncall" || len(m.Alerts) != 2 {
		t.Fatalf("message %+v", m)
	}
	a := m.Alerts[1]
	if a.Status != "firing" || a.Labels["station"] != "zz-air-0101" || !a.StartsAt.Equal(t0) || !a.EndsAt.IsZero() ||
		a.Fingerprint != Fingerprint(alerts[1].Labels) || a.Value == nil || *a.Value != 78.43333 {
		t.Errorf("firing alert %+v", a)
	}
	if r := m.Alerts[0]; r.Status != "resolved" || !r.EndsAt.Equal(alerts[0].EndsAt) {
		t.Errorf("resolved alert %+v", r)
	}
	if m.CommonLabels["alertname"] != "" || len(m.CommonLabels) != 0 {
		t.Errorf("common labels %v", m.CommonLabels)
	}
	if got := counter(t, reg, "oncall", ResultSuccess); got != 1 {
		t.Errorf("success = %v", got)
	}
}

func TestWebhookWrongSecretIsRefused(t *testing.T) {
	f := newFake(t, httpOK)
	var refused int
	f.check = func(r *http.Request, body []byte) error {
		if verifyWebhook(r, body) != nil {
			refused++
		}
		return nil
	}
	o, _, _ := testOptions(t)
	t.Setenv("TEST_WEBHOOK_SECRET", "another-secret")
	w, err := NewWebhook(WebhookConfig{URL: f.srv.URL, SecretEnv: "TEST_WEBHOOK_SECRET", Delivery: fastRetry}, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Notify(context.Background(), fixture()); err != nil {
		t.Fatal(err)
	}
	if refused != 1 {
		t.Errorf("a signature made with another secret verified")
	}
}

func TestFingerprintMatchesAlertmanager(t *testing.T) {
	// Alertmanager's fingerprint of {alertname="Test"}; the integration
	// test compares more with a real Alertmanager.
	ls := map[string]string{"alertname": "Test", "empty": ""}
	// FNV-1a 64 of "alertname\xffTest\xff", computed independently.
	if got, want := Fingerprint(ls), "e46aaa9fcf75dd34"; got != want {
		t.Errorf("Fingerprint = %s, want %s", got, want)
	}
	if Fingerprint(ls) != Fingerprint(map[string]string{"alertname": "Test"}) {
		t.Error("an empty label changed the fingerprint")
	}
}

func TestGateRepeatsAndResolves(t *testing.T) {
	f := newFake(t, robotOK)
	o, reg, _ := testOptions(t)
	now := t0
	o.Now = func() time.Time { return now }
	t.Setenv("TEST_WECOM_KEY", testWeComKey)
	w, err := NewWeCom(WeComConfig{URL: f.srv.URL, KeyEnv: "TEST_WECOM_KEY", Delivery: fastRetry,
		Gate: Gate{RepeatInterval: time.Hour, Match: map[string][]string{"county": {"Hetang", "Lukou"}}}}, o)
	if err != nil {
		t.Fatal(err)
	}
	firing := fixture()[1]
	other := manyAlerts(1)[0] // Liling: filtered out
	sends := func() int { return len(f.requests()) }
	step := func(d time.Duration, alerts ...alert.Notification) {
		t.Helper()
		now = now.Add(d)
		if err := w.Notify(context.Background(), alerts); err != nil {
			t.Fatal(err)
		}
	}
	step(0, firing, other)
	if sends() != 1 {
		t.Fatalf("first firing: %d sends", sends())
	}
	for range 59 { // re-sent every minute for 59 minutes: quiet
		step(time.Minute, firing, other)
	}
	if sends() != 1 {
		t.Fatalf("re-sends within repeat_interval: %d sends", sends())
	}
	step(time.Minute, firing) // an hour since it was told
	if sends() != 2 {
		t.Fatalf("after repeat_interval: %d sends", sends())
	}
	resolved := firing
	resolved.Status, resolved.EndsAt = alert.StatusResolved, now
	step(time.Minute, resolved)
	step(time.Minute, resolved)
	if sends() != 3 {
		t.Fatalf("resolution: %d sends, want exactly one more", sends())
	}
	again := firing
	again.StartsAt = now // a new episode
	step(time.Minute, again)
	if sends() != 4 {
		t.Fatalf("new episode: %d sends", sends())
	}
	if got := counter(t, reg, "wecom", ResultSuppressed); got != 60 {
		t.Errorf("suppressed = %v, want 60", got)
	}
	for _, r := range f.requests() {
		if strings.Contains(string(r.body), "zz-air-0000") {
			t.Errorf("an alert of a county not matched was sent")
		}
	}
}

func TestGateSendResolvedOff(t *testing.T) {
	off := false
	g := newGate(Gate{SendResolved: &off}, "test", "", time.Now)
	a := fixture()
	if got := g.filter(a); len(got) != 1 || got[0].Status != alert.StatusFiring {
		t.Errorf("filter = %v", got)
	}
}

func TestGateFailedDeliveryIsRetriedNextCall(t *testing.T) {
	f := newFake(t, answer{400, nil, "bad"}, robotOK)
	o, _, _ := testOptions(t)
	w := newTestWeCom(t, f, "zh", o)
	if err := w.Notify(context.Background(), fixture()); err == nil {
		t.Fatal("400 should fail")
	}
	if err := w.Notify(context.Background(), fixture()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests: a failed notification must be tried again on the next call", n)
	}
}

func TestGateWithoutRepeatTellsTransitionsOnly(t *testing.T) {
	f := newFake(t, httpOK)
	o, reg, _ := testOptions(t)
	now := t0
	o.Now = func() time.Time { return now }
	w := newTestWebhook(t, f.srv.URL, fastRetry, o)
	if w.Resend() {
		t.Error("a webhook without repeat_interval asks for re-sends")
	}
	firing := fixture()[1]
	for range 300 { // five hours of re-sends (e.g. through a Multi)
		if err := w.Notify(context.Background(), []alert.Notification{firing}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d sends, want 1", n)
	}
	if got := counter(t, reg, "webhook", ResultSuppressed); got != 299 {
		t.Errorf("suppressed = %v", got)
	}
}
