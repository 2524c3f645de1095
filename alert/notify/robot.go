package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/envpipe/envpipe/alert"
)

// RobotMessageLimit is the size limit of a robot message's markdown text
// in bytes of UTF-8: WeCom's markdown.content is "最长不超过4096个字节，
// 必须是utf8编码" (longer ones are refused with errcode 40058); DingTalk
// messages are held to the same bound.
const RobotMessageLimit = 4096

// Robot error codes that mean "too fast, try later" (retried with
// back-off); every other non-zero errcode is a refusal.
var robotRetryable = map[int]string{
	-1:     "system busy",         // WeCom: 系统繁忙
	45009:  "WeCom rate limit",    // api freq out of limit (20 messages a minute per robot)
	130101: "DingTalk rate limit", // send too fast, exceed 20 times per minute
}

// robot is what WeCom and DingTalk share: gate, renderer, sender.
type robot struct {
	name    string
	s       *sender
	g       *gate
	r       *renderer
	display string // endpoint without secrets, for logs
	keyword string
	// url returns the endpoint with its secrets (DingTalk signs each
	// attempt with a fresh timestamp).
	url func() string
	// body encodes a message.
	body func(title, text string) any
}

// Name is the receiver's name.
func (rb *robot) Name() string { return rb.name }

// Resend implements alert.Resender: a robot with a repeat_interval gets the
// rule engine's re-sends of firing alerts (and reminds the group every
// repeat_interval); without one, transitions only.
func (rb *robot) Resend() bool { return rb.g.resend() }

// TellerKey, ToldVersion, Told and RestoreTold implement alert.Teller: the
// rule engine keeps what the group was told across restarts.
func (rb *robot) TellerKey() string             { return rb.g.key }
func (rb *robot) ToldVersion() uint64           { return rb.g.memoryVersion() }
func (rb *robot) Told() ([]alert.Told, uint64)  { return rb.g.memory() }
func (rb *robot) RestoreTold(told []alert.Told) { rb.g.restore(told) }

// Notify sends the alerts rb's gate lets through as one markdown message,
// truncated to RobotMessageLimit.
func (rb *robot) Notify(ctx context.Context, alerts []alert.Notification) error {
	send := rb.g.filter(alerts)
	if len(send) == 0 {
		if len(alerts) > 0 {
			rb.s.m.count(rb.name, ResultSuppressed)
		}
		return nil
	}
	title, text := rb.r.message(send, "")
	if rb.keyword != "" && !strings.Contains(text, rb.keyword) {
		title, text = rb.r.message(send, rb.keyword+blockSep)
	}
	body, err := encodeJSON(rb.body(title, text))
	if err != nil {
		return fmt.Errorf("%s: %w", rb.name, err)
	}
	err = rb.s.deliver(ctx, rb.display, len(send), func(ctx context.Context) error {
		resp, err := rb.s.post(ctx, rb.url(), nil, body)
		if err != nil {
			return err
		}
		if err := checkStatus(resp); err != nil {
			return err
		}
		return robotAnswer(resp.body)
	})
	if err != nil {
		return err
	}
	rb.g.delivered(send)
	return nil
}

// robotAnswer checks a robot's {"errcode":0,"errmsg":"ok"}.
func robotAnswer(body []byte) error {
	var a struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.ErrCode == nil {
		return permanent("unexpected answer (no errcode): %s", snippet(body))
	}
	if *a.ErrCode == 0 {
		return nil
	}
	if why, ok := robotRetryable[*a.ErrCode]; ok {
		return transient(0, "errcode %d (%s): %s", *a.ErrCode, why, snippet([]byte(a.ErrMsg)))
	}
	return permanent("errcode %d: %s", *a.ErrCode, snippet([]byte(a.ErrMsg)))
}

// encodeJSON encodes v without HTML escaping (markdown keeps its < > &)
// and without the encoder's trailing newline.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// secretFromWebhook accepts a bare key or token, or the whole webhook
// address a robot's settings show, and returns the secret parameter.
func secretFromWebhook(s, param string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	if u, err := url.Parse(s); err == nil {
		if v := u.Query().Get(param); v != "" {
			return v
		}
	}
	return s
}

// withQuery adds params to an endpoint.
func withQuery(endpoint string, params url.Values) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return endpoint
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// WeCom is a WeCom (企业微信) group robot.
type WeCom struct{ robot }

type wecomMessage struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Content string `json:"content"`
	} `json:"markdown"`
}

// NewWeCom returns the notifier of a WeCom group robot. It reads the key
// now: a missing one is an error.
func NewWeCom(c WeComConfig, o Options) (*WeCom, error) {
	return newWeCom(c, 0, o)
}

func newWeCom(c WeComConfig, index int, o Options) (*WeCom, error) {
	o = o.withDefaults()
	name := defaultName(c.Name, "wecom", index)
	if errs := c.validate("notify.wecom"); len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", name, errs[0])
	}
	key, err := readSecret("key", c.KeyEnv, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	key = secretFromWebhook(key, "key")
	s, err := newSender(name, c.Delivery, TLSConfig{}, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s.scrub = []string{key}
	endpoint := c.URL
	if endpoint == "" {
		endpoint = WeComURL
	}
	full := withQuery(endpoint, url.Values{"key": {key}})
	w := &WeCom{robot{
		name:    name,
		s:       s,
		g:       newGate(c.Gate, name, full, o.Now),
		r:       newRenderer(cmpOr(c.Lang, o.Lang), o, "\n", RobotMessageLimit),
		display: redactURL(full),
		url:     func() string { return full },
		body: func(_, text string) any {
			var m wecomMessage
			m.MsgType = "markdown"
			m.Markdown.Content = text
			return m
		},
	}}
	return w, nil
}

// DingTalk is a DingTalk (钉钉) custom robot.
type DingTalk struct{ robot }

type dingtalkMessage struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
}

// dingtalkTitleLimit bounds the title (the notification preview).
const dingtalkTitleLimit = 128

// NewDingTalk returns the notifier of a DingTalk custom robot. It reads
// the access token and the signing secret now: a missing one is an error.
func NewDingTalk(c DingTalkConfig, o Options) (*DingTalk, error) {
	return newDingTalk(c, 0, o)
}

func newDingTalk(c DingTalkConfig, index int, o Options) (*DingTalk, error) {
	o = o.withDefaults()
	name := defaultName(c.Name, "dingtalk", index)
	if errs := c.validate("notify.dingtalk"); len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", name, errs[0])
	}
	token, err := readSecret("access_token", c.AccessTokenEnv, c.AccessTokenFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	token = secretFromWebhook(token, "access_token")
	secret, err := readSecret("secret", c.SecretEnv, c.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s, err := newSender(name, c.Delivery, TLSConfig{}, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s.scrub = []string{token, secret}
	endpoint := c.URL
	if endpoint == "" {
		endpoint = DingTalkURL
	}
	now := o.Now
	d := &DingTalk{robot{
		name:    name,
		s:       s,
		g:       newGate(c.Gate, name, withQuery(endpoint, url.Values{"access_token": {token}}), o.Now),
		r:       newRenderer(cmpOr(c.Lang, o.Lang), o, "\n\n", RobotMessageLimit),
		display: redactURL(withQuery(endpoint, url.Values{"access_token": {token}})),
		keyword: c.Keyword,
		url: func() string {
			q := url.Values{"access_token": {token}}
			if secret != "" {
				ts := strconv.FormatInt(now().UnixMilli(), 10)
				q.Set("timestamp", ts)
				q.Set("sign", DingTalkSign(secret, ts))
			}
			return withQuery(endpoint, q)
		},
		body: func(title, text string) any {
			var m dingtalkMessage
			m.MsgType = "markdown"
			m.Markdown.Title = truncateUTF8(title, dingtalkTitleLimit)
			m.Markdown.Text = text
			return m
		},
	}}
	return d, nil
}

// DingTalkSign is a signed DingTalk request's sign parameter before URL
// encoding: base64(HMAC-SHA256(secret, timestamp + "\n" + secret)), the
// timestamp in Unix milliseconds.
func DingTalkSign(secret, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
