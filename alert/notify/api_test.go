package notify

import (
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert"
)

// The receivers are alert.Notifiers; Alertmanager asks the rule engine for
// re-sends (alert.Resender), robots and webhooks only with a repeat
// interval.
var (
	_ alert.Notifier = (*Alertmanager)(nil)
	_ alert.Notifier = (*Webhook)(nil)
	_ alert.Notifier = (*WeCom)(nil)
	_ alert.Notifier = (*DingTalk)(nil)
	_ alert.Notifier = (*Multi)(nil)
	_ alert.Resender = (*Alertmanager)(nil)
	_ alert.Resender = (*Webhook)(nil)
	_ alert.Resender = (*WeCom)(nil)
	_ alert.Resender = (*DingTalk)(nil)
	_ alert.Resender = (*Multi)(nil)
	_ alert.Teller   = (*Webhook)(nil)
	_ alert.Teller   = (*WeCom)(nil)
	_ alert.Teller   = (*DingTalk)(nil)
)

func TestResend(t *testing.T) {
	o, _, _ := testOptions(t)
	am, err := NewAlertmanager(AlertmanagerConfig{URLs: []string{"http://127.0.0.1:9093"}}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_WECOM_KEY", testWeComKey)
	quiet, err := NewWeCom(WeComConfig{KeyEnv: "TEST_WECOM_KEY"}, o)
	if err != nil {
		t.Fatal(err)
	}
	reminding, err := NewWeCom(WeComConfig{KeyEnv: "TEST_WECOM_KEY", Gate: Gate{RepeatInterval: 4 * time.Hour}}, o)
	if err != nil {
		t.Fatal(err)
	}
	if !am.Resend() || quiet.Resend() || !reminding.Resend() {
		t.Errorf("Resend: alertmanager %v, wecom %v, wecom with repeat_interval %v", am.Resend(), quiet.Resend(), reminding.Resend())
	}
	if NewMulti(quiet).Resend() || !NewMulti(quiet, am).Resend() {
		t.Error("Multi.Resend")
	}
}
