package notify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/envpipe/envpipe/alert"
	"github.com/envpipe/envpipe/internal/testenv"
)

// The shipped Alertmanager configuration, deploy/alertmanager/alertmanager.yml.
func shippedAlertmanagerConfig(t *testing.T) string {
	return filepath.Join(testenv.RepoRoot(t), "deploy", "alertmanager", "alertmanager.yml")
}

func TestShippedAlertmanagerConfigChecks(t *testing.T) {
	amtool := testenv.Require(t, "amtool")
	cfg := shippedAlertmanagerConfig(t)
	out, err := exec.Command(amtool, "check-config", cfg).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
}

func TestShippedAlertmanagerRoutes(t *testing.T) {
	amtool := testenv.Require(t, "amtool")
	cfg := shippedAlertmanagerConfig(t)
	for _, c := range []struct {
		labels string
		want   string
	}{
		{"alertname=PM25Daily station=zz-air-0601 county=Liling param=pm25 severity=critical", "oncall-webhook,wechat-counties"},
		{"alertname=PM25Daily station=zz-air-0701 county=You param=pm25 severity=warning", "oncall-webhook,wechat-counties"},
		{"alertname=PM10Daily station=zz-air-0101 county=Hetang param=pm10 severity=warning", "oncall-webhook,wechat-city"},
		{"alertname=DOLow station=zz-wat-xj01 county=Lukou param=do severity=critical", "oncall-webhook,wechat-city"},
		{"alertname=PM25Daily station=zz-air-9901 county=Elsewhere param=pm25 severity=critical", "oncall-webhook,bureau-email"},
		{"alertname=EnvpipeDown team=platform severity=critical instance=envpipe:9274", "platform-email"},
		{"alertname=EnvpipeStationsSilent team=operations severity=warning", "bureau-email"},
	} {
		args := append([]string{"config", "routes", "test", "--config.file=" + cfg}, strings.Fields(c.labels)...)
		out, err := exec.Command(amtool, args...).Output()
		if err != nil {
			t.Errorf("%s: %v", c.labels, err)
			continue
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("%s → %s, want %s", c.labels, got, c.want)
		}
	}
}

// TestShippedAlertmanagerTiming: critical alerts page faster than
// warnings on every route that distinguishes them.
func TestShippedAlertmanagerTiming(t *testing.T) {
	data, err := os.ReadFile(shippedAlertmanagerConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	type route struct {
		Receiver       string   `yaml:"receiver"`
		Matchers       []string `yaml:"matchers"`
		GroupWait      string   `yaml:"group_wait"`
		GroupInterval  string   `yaml:"group_interval"`
		RepeatInterval string   `yaml:"repeat_interval"`
		Routes         []route  `yaml:"routes"`
	}
	var cfg struct {
		Route        route `yaml:"route"`
		InhibitRules []struct {
			SourceMatchers []string `yaml:"source_matchers"`
			TargetMatchers []string `yaml:"target_matchers"`
			Equal          []string `yaml:"equal"`
		} `yaml:"inhibit_rules"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	dur := func(s, inherited string) time.Duration {
		if s == "" {
			s = inherited
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return d
	}
	root := cfg.Route
	critical := 0
	for _, r := range root.Routes {
		gw, ri := dur(r.GroupWait, root.GroupWait), dur(r.RepeatInterval, root.RepeatInterval)
		for _, sub := range r.Routes {
			if len(sub.Matchers) != 1 || sub.Matchers[0] != `severity="critical"` {
				continue
			}
			critical++
			if sgw := dur(sub.GroupWait, gw.String()); sgw >= gw && r.Receiver != "platform-email" {
				t.Errorf("%s: critical group_wait %v is not shorter than %v", r.Receiver, sgw, gw)
			}
			if sri := dur(sub.RepeatInterval, ri.String()); sri >= ri {
				t.Errorf("%s: critical repeat_interval %v is not shorter than %v", r.Receiver, sri, ri)
			}
		}
	}
	if critical < 3 {
		t.Errorf("only %d critical sub-routes", critical)
	}
	if len(cfg.InhibitRules) != 2 || strings.Join(cfg.InhibitRules[0].Equal, ",") != "station,param" {
		t.Errorf("inhibit rules %+v", cfg.InhibitRules)
	}
}

// loopbackOnly rewrites every address in an Alertmanager configuration to
// loopback ones (a test must not mail or call out), and every secret file
// to an existing empty one.
func loopbackOnly(t *testing.T, node any, hookURL, deadAddr, secretFile string) {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			switch k {
			case "url", "api_url", "wechat_api_url", "slack_api_url":
				n[k] = hookURL
			case "smarthost", "smtp_smarthost":
				n[k] = deadAddr
			case "credentials_file", "password_file", "smtp_auth_password_file", "auth_password_file", "api_secret_file":
				n[k] = secretFile
			default:
				loopbackOnly(t, v, hookURL, deadAddr, secretFile)
			}
		}
	case []any:
		for _, v := range n {
			loopbackOnly(t, v, hookURL, deadAddr, secretFile)
		}
	}
}

// TestShippedAlertmanagerInhibits starts Alertmanager with the shipped
// configuration (addresses moved to loopback) and checks that a critical
// alert mutes the warning about the same station and parameter (not an
// equipment flag), that envpipe's broker disconnection mutes the silent
// stations, and nothing else.
func TestShippedAlertmanagerInhibits(t *testing.T) {
	data, err := os.ReadFile(shippedAlertmanagerConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	// Wherever Alertmanager sends (webhook, WeChat's API), a sink answers.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"errcode":0,"errmsg":"ok","access_token":"placeholder","expires_in":7200}`)
	}))
	defer hook.Close()
	secret := filepath.Join(t.TempDir(), "secret")
	if err := writeTestFile(secret, "placeholder\n"); err != nil {
		t.Fatal(err)
	}
	loopbackOnly(t, doc, hook.URL+"/", strings.TrimPrefix(closedPortURL(t), "http://"), secret)
	rewritten, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, external := range []string{"example.org/", "qq.com", "smtp.example.org"} {
		if strings.Contains(string(rewritten), external) {
			t.Fatalf("the rewritten configuration still points at %s:\n%s", external, rewritten)
		}
	}
	am := testenv.Alertmanager(t, string(rewritten)) // refuses an invalid configuration

	o, _, _ := testOptions(t)
	o.Now = time.Now
	n, err := NewAlertmanager(AlertmanagerConfig{URLs: []string{am.URL()}, Delivery: fastRetry}, o)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	mk := func(name, station, param, severity string, extra ...string) alert.Notification {
		l := map[string]string{"alertname": name, "station": station, "param": param, "severity": severity, "county": "Liling"}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		if station == "" {
			delete(l, "station")
			delete(l, "county")
		}
		if param == "" {
			delete(l, "param")
		}
		return alert.Notification{Status: alert.StatusFiring, Labels: l, StartsAt: now.Add(-time.Minute), EndsAt: now.Add(10 * time.Minute)}
	}
	alerts := []alert.Notification{
		mk("PM25Daily", "zz-air-0601", "pm25", "critical"),
		mk("PM25PlanTarget", "zz-air-0601", "pm25", "warning"),                         // muted: same station and parameter
		mk("PM10Daily", "zz-air-0601", "pm10", "warning"),                              // other parameter
		mk("PM25Daily", "zz-air-0602", "pm25", "warning"),                              // other station
		mk("EquipmentFlag", "zz-air-0601", "pm25", "warning", "category", "equipment"), // explains the data: stays
		mk("EnvpipeDown", "", "", "critical", "team", "platform"),
		mk("EnvpipeWALBacklogGrowing", "", "", "warning", "team", "platform"), // no station: the rule does not apply
		mk("EnvpipeBrokerDisconnected", "", "", "critical", "team", "platform"),
		mk("StationSilent", "zz-air-0603", "", "warning", "category", "data"), // muted: envpipe hears no station
	}
	if err := n.Notify(context.Background(), alerts); err != nil {
		t.Fatal(err)
	}
	wantMuted := map[string]bool{"PM25PlanTarget": true, "StationSilent": true}
	deadline := time.Now().Add(15 * time.Second)
	for {
		held, err := am.Alerts()
		if err != nil {
			t.Fatal(err)
		}
		var problems []string
		for _, a := range held {
			muted := len(a.Status.InhibitedBy) > 0
			if muted != wantMuted[a.Labels["alertname"]] {
				problems = append(problems, a.Labels["alertname"]+"@"+a.Labels["station"]+": state "+a.Status.State)
			}
		}
		if len(held) != len(alerts) {
			problems = append(problems, fmt.Sprintf("holds %d alerts, want %d", len(held), len(alerts)))
		}
		if len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("inhibition: %v\nAlertmanager log:\n%s", problems, am.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
