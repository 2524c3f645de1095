package notify

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert"
)

func newTestWebhook(t *testing.T, url string, d Delivery, o Options) *Webhook {
	t.Helper()
	w, err := NewWebhook(WebhookConfig{URL: url, Delivery: d}, o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestRetryOn500(t *testing.T) {
	f := newFake(t, answer{500, nil, "boom"}, answer{502, nil, ""}, httpOK)
	o, reg, logs := testOptions(t)
	w := newTestWebhook(t, f.srv.URL, fastRetry, o)
	if err := w.Notify(context.Background(), fixture()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	for result, want := range map[string]float64{ResultRetry: 2, ResultSuccess: 1, ResultFailure: 0} {
		if got := counter(t, reg, "webhook", result); got != want {
			t.Errorf("%s = %v, want %v", result, got, want)
		}
	}
	if got := histogramCount(t, reg, "webhook"); got != 1 {
		t.Errorf("duration observed %d times, want once per notification", got)
	}
	if strings.Contains(logs.String(), "notification failed") {
		t.Errorf("a delivered notification was logged as failed:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "attempts=3") {
		t.Errorf("the delivery after retries is not logged:\n%s", logs)
	}
}

func TestRetryOn429HonoursRetryAfter(t *testing.T) {
	f := newFake(t, answer{429, map[string]string{"Retry-After": "1"}, "slow down"}, httpOK)
	o, reg, _ := testOptions(t)
	w := newTestWebhook(t, f.srv.URL, fastRetry, o) // back-off alone: ≤ 20 ms
	if err := w.Notify(context.Background(), fixture()); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 950*time.Millisecond {
		t.Errorf("retried after %v, Retry-After asked 1s", gap)
	}
	if got := counter(t, reg, "webhook", ResultRetry); got != 1 {
		t.Errorf("retry = %v", got)
	}
}

func TestRetryAfterBeyondDeadlineGivesUp(t *testing.T) {
	f := newFake(t, answer{503, map[string]string{"Retry-After": "120"}, ""})
	o, _, _ := testOptions(t)
	w := newTestWebhook(t, f.srv.URL, fastRetry, o)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err := w.Notify(ctx, fixture())
	if err == nil || !strings.Contains(err.Error(), "after the deadline") {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("waited %v for nothing", time.Since(start))
	}
}

func TestNoRetryOn400(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 413} {
		f := newFake(t, answer{status, nil, `{"error":"bad"}`})
		o, reg, logs := testOptions(t)
		w := newTestWebhook(t, f.srv.URL, fastRetry, o)
		err := w.Notify(context.Background(), fixture())
		if err == nil || !strings.Contains(err.Error(), "HTTP ") {
			t.Fatalf("%d: err = %v", status, err)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("%d: %d requests, want 1", status, n)
		}
		if got := counter(t, reg, "webhook", ResultFailure); got != 1 {
			t.Errorf("%d: failure = %v", status, got)
		}
		if got := counter(t, reg, "webhook", ResultRetry); got != 0 {
			t.Errorf("%d: retry = %v", status, got)
		}
		if n := strings.Count(logs.String(), "notification failed"); n != 1 {
			t.Errorf("%d: logged %d times, want once", status, n)
		}
	}
}

func TestMaxAttempts(t *testing.T) {
	f := newFake(t, answer{503, nil, ""})
	o, reg, logs := testOptions(t)
	w := newTestWebhook(t, f.srv.URL, fastRetry, o)
	err := w.Notify(context.Background(), fixture())
	if err == nil || !strings.Contains(err.Error(), "4 attempt(s)") {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.requests()); n != fastRetry.MaxAttempts {
		t.Errorf("%d requests, want %d", n, fastRetry.MaxAttempts)
	}
	if got := counter(t, reg, "webhook", ResultRetry); got != 3 {
		t.Errorf("retry = %v, want 3", got)
	}
	if got := counter(t, reg, "webhook", ResultFailure); got != 1 {
		t.Errorf("failure = %v, want 1", got)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings for one failed notification, want 1:\n%s", n, logs)
	}
}

func TestContextEndsRetries(t *testing.T) {
	f := newFake(t, answer{503, nil, ""})
	o, _, _ := testOptions(t)
	slow := fastRetry
	slow.MaxAttempts, slow.InitialBackoff, slow.MaxBackoff = 100, 200*time.Millisecond, 200*time.Millisecond
	w := newTestWebhook(t, f.srv.URL, slow, o)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := w.Notify(ctx, fixture())
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(fmtErr(err), "deadline") {
		t.Fatalf("err = %v", err)
	}
	// Equal jitter makes each back-off 100–200 ms: at most the attempts
	// at 0, 100, 200, 300 and 400 ms fit before the deadline (a sixth if
	// the last back-off ends with it), against the 100 that MaxAttempts
	// would allow.
	if n := len(f.requests()); n > 6 {
		t.Errorf("%d requests in 500 ms with 100–200 ms back-off", n)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestNetworkErrorIsRetriedAndKeyNeverShown(t *testing.T) {
	// A port nobody listens on: connection refused, every attempt.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	o, reg, logs := testOptions(t)
	t.Setenv("TEST_WECOM_KEY", testWeComKey)
	w, err := NewWeCom(WeComConfig{URL: "http://" + addr + "/cgi-bin/webhook/send", KeyEnv: "TEST_WECOM_KEY", Delivery: fastRetry}, o)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Notify(context.Background(), fixture())
	if err == nil {
		t.Fatal("want an error")
	}
	if got := counter(t, reg, "wecom", ResultRetry); got != float64(fastRetry.MaxAttempts-1) {
		t.Errorf("retry = %v", got)
	}
	for what, s := range map[string]string{"error": err.Error(), "logs": logs.String()} {
		if strings.Contains(s, testWeComKey) {
			t.Errorf("the robot key is in the %s: %s", what, s)
		}
		if !strings.Contains(s, "key=REDACTED") {
			t.Errorf("the %s should show the redacted URL: %s", what, s)
		}
	}
}

func TestDingTalkSecretsNeverShown(t *testing.T) {
	f := newFake(t, answer{200, nil, `{"errcode":310000,"errmsg":"sign not match"}`})
	o, _, logs := testOptions(t)
	d := newTestDingTalk(t, f, "zh", o)
	err := d.Notify(context.Background(), fixture())
	if err == nil || !strings.Contains(err.Error(), "310000") {
		t.Fatalf("err = %v", err)
	}
	for _, secret := range []string{testDingTalkToken, testDingTalkSecr} {
		if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("a secret leaked:\nerr: %v\nlogs: %s", err, logs)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc":                   "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=REDACTED",
		"https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1&sign=a%2Bb": "https://oapi.dingtalk.com/robot/send?access_token=REDACTED&sign=REDACTED&timestamp=REDACTED",
		"http://user:pw@am:9093/api/v2/alerts":                                       "http://REDACTED@am:9093/api/v2/alerts",
		"http://127.0.0.1:9093":                                                      "http://127.0.0.1:9093",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestRetryAfterParsing(t *testing.T) {
	if got := retryAfter("3"); got != 3*time.Second {
		t.Errorf("3 → %v", got)
	}
	if got := retryAfter(time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)); got < 8*time.Second || got > 10*time.Second {
		t.Errorf("HTTP date → %v", got)
	}
	for _, v := range []string{"", "-1", "soon"} {
		if got := retryAfter(v); got != 0 {
			t.Errorf("%q → %v", v, got)
		}
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	d := Delivery{InitialBackoff: time.Second, MaxBackoff: 8 * time.Second}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 9: 8 * time.Second} {
		for range 50 {
			if got := backoff(d, n); got < want/2 || got > want {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, got, want/2, want)
			}
		}
	}
}

// failing is a notifier that always fails.
type failing struct{ name string }

func (f failing) Name() string { return f.name }
func (f failing) Notify(context.Context, []alert.Notification) error {
	return errors.New(f.name + ": down")
}

func TestMultiReportsPerReceiver(t *testing.T) {
	ok := newFake(t, httpOK)
	o, _, _ := testOptions(t)
	w := newTestWebhook(t, ok.srv.URL, fastRetry, o)
	m := NewMulti(w, failing{"wecom-liling"}, nil, failing{"dingtalk"})
	if m.Len() != 3 {
		t.Fatalf("Len = %d", m.Len())
	}
	err := m.Notify(context.Background(), fixture())
	var me *MultiError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v", err)
	}
	if got := strings.Join(me.Failed(), ","); got != "wecom-liling,dingtalk" {
		t.Errorf("failed = %s", got)
	}
	if !strings.Contains(err.Error(), "2 receiver(s) failed: wecom-liling: down; dingtalk: down") {
		t.Errorf("err = %v", err)
	}
	if len(ok.requests()) != 1 {
		t.Error("the healthy receiver was not told")
	}
	if err := NewMulti(w).Notify(context.Background(), nil); err != nil {
		t.Errorf("nothing to send: %v", err)
	}
}
