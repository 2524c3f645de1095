package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/envpipe/envpipe/alert"
)

const (
	testWeComKey      = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
	testDingTalkToken = "b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2"
	testDingTalkSecr  = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
)

func newTestWeCom(t *testing.T, f *fake, lang string, o Options) *WeCom {
	t.Helper()
	t.Setenv("TEST_WECOM_KEY", testWeComKey)
	w, err := NewWeCom(WeComConfig{URL: f.srv.URL + "/cgi-bin/webhook/send", KeyEnv: "TEST_WECOM_KEY",
		Lang: lang, Delivery: fastRetry}, o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func newTestDingTalk(t *testing.T, f *fake, lang string, o Options) *DingTalk {
	t.Helper()
	t.Setenv("TEST_DINGTALK_TOKEN", testDingTalkToken)
	t.Setenv("TEST_DINGTALK_SECRET", testDingTalkSecr)
	d, err := NewDingTalk(DingTalkConfig{URL: f.srv.URL + "/robot/send", AccessTokenEnv: "TEST_DINGTALK_TOKEN",
		SecretEnv: "TEST_DINGTALK_SECRET", Lang: lang, Delivery: fastRetry}, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// verifyDingTalk is what DingTalk does with a signed request: recompute
// the signature from the timestamp and the shared secret, and refuse a
// timestamp more than an hour away.
func verifyDingTalk(now func() time.Time) func(r *http.Request, body []byte) error {
	return func(r *http.Request, body []byte) error {
		q := r.URL.Query()
		if q.Get("access_token") != testDingTalkToken {
			return fmt.Errorf("access_token %q", q.Get("access_token"))
		}
		ts, sign := q.Get("timestamp"), q.Get("sign")
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return fmt.Errorf("timestamp %q: %v", ts, err)
		}
		if d := now().Sub(time.UnixMilli(ms)); d > time.Hour || d < -time.Hour {
			return fmt.Errorf("timestamp %s is %v away", ts, d)
		}
		// The raw query must carry the URL-encoded base64 (+ / = escaped).
		if !strings.Contains(r.URL.RawQuery, "sign="+url.QueryEscape(sign)) {
			return fmt.Errorf("sign not URL-encoded in %q", r.URL.RawQuery)
		}
		if want := DingTalkSign(testDingTalkSecr, ts); sign != want {
			return fmt.Errorf("sign %q, want %q", sign, want)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			return fmt.Errorf("Content-Type %q", ct)
		}
		if !json.Valid(body) {
			return fmt.Errorf("body is not JSON")
		}
		return nil
	}
}

func TestWeComGoldenZH(t *testing.T) {
	f := newFake(t, robotOK)
	o, reg, _ := testOptions(t)
	w := newTestWeCom(t, f, "zh", o)
	if err := w.Notify(context.Background(), fixture()); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if got := reqs[0].url; got != "/cgi-bin/webhook/send?key="+testWeComKey {
		t.Errorf("URL %s", got)
	}
	golden(t, "wecom-zh.json", reqs[0].body)
	if got := counter(t, reg, "wecom", ResultSuccess); got != 1 {
		t.Errorf("success = %v, want 1", got)
	}
	if got := histogramCount(t, reg, "wecom"); got != 1 {
		t.Errorf("duration observed %d times, want 1", got)
	}
}

func TestWeComGoldenEN(t *testing.T) {
	f := newFake(t, robotOK)
	o, _, _ := testOptions(t)
	w := newTestWeCom(t, f, "en", o)
	if err := w.Notify(context.Background(), fixtureEN()); err != nil {
		t.Fatal(err)
	}
	golden(t, "wecom-en.json", f.requests()[0].body)
}

func TestDingTalkGoldenAndSignature(t *testing.T) {
	for _, lang := range []string{"zh", "en"} {
		t.Run(lang, func(t *testing.T) {
			f := newFake(t, robotOK)
			o, reg, _ := testOptions(t)
			o.Now = time.Now // DingTalk refuses timestamps an hour away
			f.check = verifyDingTalk(time.Now)
			d := newTestDingTalk(t, f, lang, o)
			alerts := fixture()
			if lang == "en" {
				alerts = fixtureEN()
			}
			if err := d.Notify(context.Background(), alerts); err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			golden(t, "dingtalk-"+lang+".json", reqs[0].body)
			if got := counter(t, reg, "dingtalk", ResultSuccess); got != 1 {
				t.Errorf("success = %v", got)
			}
		})
	}
}

func TestDingTalkSignKnownVector(t *testing.T) {
	// A published example: secret "secret", timestamp 1700000000000.
	got := url.QueryEscape(DingTalkSign("secret", "1700000000000"))
	if want := "OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D"; got != want {
		t.Errorf("sign = %s, want %s", got, want)
	}
}

func TestDingTalkUnsignedAndKeyword(t *testing.T) {
	f := newFake(t, robotOK)
	o, _, _ := testOptions(t)
	t.Setenv("TEST_DINGTALK_TOKEN", "https://oapi.dingtalk.com/robot/send?access_token="+testDingTalkToken)
	d, err := NewDingTalk(DingTalkConfig{URL: f.srv.URL + "/robot/send", AccessTokenEnv: "TEST_DINGTALK_TOKEN",
		Keyword: "环境监测", Delivery: fastRetry}, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Notify(context.Background(), fixture()[1:]); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.url != "/robot/send?access_token="+testDingTalkToken {
		t.Errorf("URL %s (a whole webhook address in the env var should give its token)", r.url)
	}
	var m dingtalkMessage
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Markdown.Text, "环境监测\n\n") {
		t.Errorf("keyword not in text: %q", m.Markdown.Text)
	}
	if m.Markdown.Title != "【告警】PM2.5 24 小时均值超过二级标准" {
		t.Errorf("title %q", m.Markdown.Title)
	}
}

// manyAlerts are n firing alerts with long Chinese descriptions.
func manyAlerts(n int) []alert.Notification {
	var out []alert.Notification
	for i := range n {
		out = append(out, alert.Notification{
			Status: alert.StatusFiring,
			Labels: map[string]string{"alertname": "PM25Daily", "station": fmt.Sprintf("zz-air-%04d", i),
				"county": "Liling", "param": "pm25", "severity": "critical"},
			Annotations: map[string]string{
				"summary":      "PM2.5 24 小时均值超过二级标准",
				"description":  strings.Repeat("醴陵陶瓷产业园监测点颗粒物浓度持续升高，", 3),
				"station_name": "醴陵陶瓷产业园",
			},
			StartsAt: t0.Add(time.Duration(i) * time.Minute),
			Value:    80 + float64(i)/10, Limit: 75,
		})
	}
	return out
}

func TestRobotTruncationChinese(t *testing.T) {
	cases := []struct {
		name   string
		alerts []alert.Notification
		lang   string
		more   string // prefix of the more line
	}{
		{"200 alerts zh", manyAlerts(200), "zh", "…… 另有 "},
		{"200 alerts en", manyAlerts(200), "en", "… and "},
		{"one huge alert", func() []alert.Notification {
			a := manyAlerts(1)
			a[0].Annotations["description"] = strings.Repeat("溶解氧", 3000) // 27 000 bytes
			return a
		}(), "zh", ""},
		{"huge first of three", func() []alert.Notification {
			a := manyAlerts(3)
			a[0].Annotations["description"] = strings.Repeat("氨氮超标", 2000)
			return a
		}(), "zh", "compact"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, kind := range []string{"wecom", "dingtalk"} {
				f := newFake(t, robotOK)
				o, _, _ := testOptions(t)
				o.Now = time.Now
				var n alert.Notifier
				if kind == "wecom" {
					n = newTestWeCom(t, f, c.lang, o)
				} else {
					n = newTestDingTalk(t, f, c.lang, o)
				}
				if err := n.Notify(context.Background(), c.alerts); err != nil {
					t.Fatal(err)
				}
				var text string
				body := f.requests()[0].body
				if kind == "wecom" {
					var m wecomMessage
					if err := json.Unmarshal(body, &m); err != nil {
						t.Fatal(err)
					}
					text = m.Markdown.Content
				} else {
					var m dingtalkMessage
					if err := json.Unmarshal(body, &m); err != nil {
						t.Fatal(err)
					}
					text = m.Markdown.Text
					if !utf8.ValidString(m.Markdown.Title) || len(m.Markdown.Title) > dingtalkTitleLimit {
						t.Errorf("%s: title of %d bytes", kind, len(m.Markdown.Title))
					}
				}
				if len(text) > RobotMessageLimit {
					t.Errorf("%s: %d bytes > %d", kind, len(text), RobotMessageLimit)
				}
				if c.more == "compact" {
					// One line per alert shows all three; the long
					// description is left out.
					for _, st := range []string{"zz-air-0000", "zz-air-0001", "zz-air-0002"} {
						if !strings.Contains(text, st) {
							t.Errorf("%s: %s not shown:\n%s", kind, st, text)
						}
					}
					if strings.Contains(text, "另有") || strings.Contains(text, "氨氮超标") {
						t.Errorf("%s: not the compact form:\n%s", kind, text)
					}
					continue
				}
				if len(text) < RobotMessageLimit-300 {
					t.Errorf("%s: only %d bytes used of %d", kind, len(text), RobotMessageLimit)
				}
				if !utf8.ValidString(text) {
					t.Errorf("%s: cut inside a character", kind)
				}
				lines := strings.Split(text, "\n")
				last := lines[len(lines)-1]
				if c.more != "" && !strings.HasPrefix(last, c.more) {
					t.Errorf("%s: last line %q, want %q...", kind, last, c.more)
				}
				if len(c.alerts) == 200 {
					// shown + N more = 200, in the compact form: more than
					// twenty stations, not the first nine in full.
					shown := strings.Count(text, "PM2.5 24 小时均值超过二级标准")
					if shown < 20 {
						t.Errorf("%s: only %d alerts shown", kind, shown)
					}
					var more int
					if c.lang == "zh" {
						fmt.Sscanf(last, "…… 另有 %d 条未显示", &more)
					} else {
						fmt.Sscanf(last, "… and %d more", &more)
					}
					if more == 0 || shown+more != 200 {
						t.Errorf("%s: %d shown + %d more != 200", kind, shown, more)
					}
				}
			}
		})
	}
}

func TestTruncateUTF8(t *testing.T) {
	s := "a溶解氧" // 1 + 3*3 bytes
	for n, want := range map[int]string{0: "", 1: "a", 2: "a", 3: "a", 4: "a溶", 6: "a溶", 7: "a溶解", 10: "a溶解氧", 99: "a溶解氧"} {
		if got := truncateUTF8(s, n); got != want {
			t.Errorf("truncateUTF8(%q, %d) = %q, want %q", s, n, got, want)
		}
	}
}

func TestRobotErrorCodes(t *testing.T) {
	t.Run("rate limit is retried", func(t *testing.T) {
		f := newFake(t, answer{200, nil, `{"errcode":45009,"errmsg":"api freq out of limit"}`}, robotOK)
		o, reg, _ := testOptions(t)
		w := newTestWeCom(t, f, "zh", o)
		if err := w.Notify(context.Background(), fixture()); err != nil {
			t.Fatal(err)
		}
		if n := len(f.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
		if got := counter(t, reg, "wecom", ResultRetry); got != 1 {
			t.Errorf("retry = %v, want 1", got)
		}
	})
	t.Run("DingTalk 130101 is retried", func(t *testing.T) {
		f := newFake(t, answer{200, nil, `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`}, robotOK)
		o, _, _ := testOptions(t)
		o.Now = time.Now
		d := newTestDingTalk(t, f, "zh", o)
		if err := d.Notify(context.Background(), fixture()); err != nil {
			t.Fatal(err)
		}
		if n := len(f.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
	t.Run("other errcode is final", func(t *testing.T) {
		f := newFake(t, answer{200, nil, `{"errcode":93000,"errmsg":"invalid webhook url"}`})
		o, reg, logs := testOptions(t)
		w := newTestWeCom(t, f, "zh", o)
		err := w.Notify(context.Background(), fixture())
		if err == nil || !strings.Contains(err.Error(), "errcode 93000") {
			t.Fatalf("err = %v", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
		if got := counter(t, reg, "wecom", ResultFailure); got != 1 {
			t.Errorf("failure = %v, want 1", got)
		}
		if strings.Contains(err.Error(), testWeComKey) || strings.Contains(logs.String(), testWeComKey) {
			t.Errorf("the key leaked:\nerr: %v\nlogs: %s", err, logs)
		}
		if n := strings.Count(logs.String(), "notification failed"); n != 1 {
			t.Errorf("failure logged %d times, want once:\n%s", n, logs)
		}
	})
	t.Run("answer without errcode", func(t *testing.T) {
		f := newFake(t, answer{200, nil, `<html>proxy</html>`})
		o, _, _ := testOptions(t)
		w := newTestWeCom(t, f, "zh", o)
		if err := w.Notify(context.Background(), fixture()); err == nil || !strings.Contains(err.Error(), "no errcode") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRobotSecretFromFileAndMissing(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/wecom.key"
	if err := writeTestFile(file, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="+testWeComKey+"\n"); err != nil {
		t.Fatal(err)
	}
	f := newFake(t, robotOK)
	o, _, _ := testOptions(t)
	w, err := NewWeCom(WeComConfig{URL: f.srv.URL, KeyFile: file, Delivery: fastRetry}, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Notify(context.Background(), fixture()); err != nil {
		t.Fatal(err)
	}
	if got := f.requests()[0].url; got != "/?key="+testWeComKey {
		t.Errorf("URL %s", got)
	}

	_, err = NewWeCom(WeComConfig{KeyEnv: "TEST_WECOM_KEY_UNSET"}, o)
	if err == nil || !strings.Contains(err.Error(), "key_env: $TEST_WECOM_KEY_UNSET is not set") {
		t.Errorf("missing key: err = %v", err)
	}
}

func TestRenderEdgeCases(t *testing.T) {
	o := Options{StationName: func(id string) string {
		if id == "zz-wat-xj01" {
			return "朱亭"
		}
		return ""
	}}.withDefaults()
	r := newRenderer("zh", o, "\n", RobotMessageLimit)
	base := alert.Notification{Status: alert.StatusFiring, StartsAt: t0}
	cases := []struct {
		name     string
		labels   map[string]string
		ann      map[string]string
		value    float64
		limit    float64
		has, not []string
	}{
		{"station silent: no value line",
			map[string]string{"alertname": "StationSilent", "station": "zz-wat-xj01", "county": "Lukou", "severity": "warning"},
			map[string]string{"summary": "朱亭已 12小时 未上报数据", "value": "3", "limit": "3"}, 3, 3,
			[]string{"> 站点：朱亭（zz-wat-xj01），Lukou"}, []string{"数值", "限值", "项目"}},
		{"flag: value without limit",
			map[string]string{"alertname": "Flag", "station": "zz-air-0101", "param": "pm10", "severity": "warning"},
			map[string]string{"value": "61", "limit": "—"}, 61, math.NaN(),
			[]string{"> 数值：**61 µg/m³**"}, []string{"限值"}},
		{"water class as text",
			map[string]string{"alertname": "Class", "station": "zz-wat-xj01", "param": "nh3n", "severity": "critical"},
			map[string]string{"value": "IV 类", "limit": "II 类"}, 4, 2,
			[]string{"> 数值：**IV 类**（限值 II 类）"}, nil},
		{"unit annotation wins",
			map[string]string{"alertname": "AQI", "station": "zz-air-0101", "param": "aqi", "severity": "warning"},
			map[string]string{"value": "152", "unit": ""}, 152, 100,
			[]string{"> 数值：**152**（限值 100）"}, nil},
		{"newlines in annotations cannot break the layout",
			map[string]string{"alertname": "X", "station": "s", "param": "pm25"},
			map[string]string{"summary": "line1\n> fake quote", "description": "a\n\nb"}, 50, 0,
			[]string{"**line1 > fake quote**", "\n\na b"}, nil},
	}
	for _, c := range cases {
		a := base
		a.Labels, a.Annotations, a.Value, a.Limit = c.labels, c.ann, c.value, c.limit
		got := r.block(&a)
		for _, s := range c.has {
			if !strings.Contains(got, s) {
				t.Errorf("%s: no %q in\n%s", c.name, s, got)
			}
		}
		for _, s := range c.not {
			if strings.Contains(got, s) {
				t.Errorf("%s: %q in\n%s", c.name, s, got)
			}
		}
	}
}
