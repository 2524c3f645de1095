package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Options are what every notifier shares. The zero value works: Chinese
// texts, China Standard Time, no metrics registered, no logs.
type Options struct {
	// Lang is the default language of the robots' texts: zh (default) or
	// en. envpipe passes its top-level `lang`.
	Lang string
	// Metrics counts notifications; nil: counted nowhere.
	Metrics *Metrics
	// Logger logs failures (once per notification, after the last attempt)
	// and deliveries that needed retries. nil: no logs.
	Logger *slog.Logger
	// Location is the zone times are shown in (default UTC+8, "CST").
	Location *time.Location
	// StationName returns a station's display name (e.g. from the station
	// registry) when an alert has no station_name annotation. Optional.
	StationName func(id string) string
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// ChinaStandardTime is UTC+8, the default Options.Location.
var ChinaStandardTime = time.FixedZone("CST", 8*60*60)

func (o Options) withDefaults() Options {
	if o.Lang == "" {
		o.Lang = "zh"
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Location == nil {
		o.Location = ChinaStandardTime
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// sender delivers one message with retries, metrics and a log line.
type sender struct {
	receiver string
	client   *http.Client
	d        Delivery
	m        *Metrics
	log      *slog.Logger
	// scrub holds secrets (keys, tokens, auth headers) that must never
	// appear in an error or a log line, whatever produced it.
	scrub []string
}

func newSender(receiver string, d Delivery, t TLSConfig, o Options) (*sender, error) {
	client, err := newHTTPClient(t)
	if err != nil {
		return nil, err
	}
	o.Metrics.init(receiver)
	return &sender{receiver: receiver, client: client, d: d.withDefaults(), m: o.Metrics, log: o.Logger}, nil
}

func newHTTPClient(t TLSConfig) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if t.CAFile != "" || t.CertFile != "" || t.ServerName != "" || t.InsecureSkipVerify {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return nil, fmt.Errorf("tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("tls.ca_file: no PEM certificate in %s", t.CAFile)
			}
			tc.RootCAs = pool
		}
		if t.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("tls.cert_file: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		tr.TLSClientConfig = tc
	}
	// Each attempt is bounded by Delivery.Timeout through its context.
	return &http.Client{Transport: tr}, nil
}

// attemptError is a failed attempt: retryable or not, and how long the
// server asked us to wait.
type attemptError struct {
	err        error
	retryable  bool
	retryAfter time.Duration
	// refusesAll: the receiver refused the call whatever it held (401,
	// 403, 404...: credentials or address), so splitting it would only
	// multiply calls that fail the same way.
	refusesAll bool
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

// Retryable reports whether a later try may succeed. The rule engine's
// dispatcher finds it with errors.As and keeps for another try only what
// failed so: a 4xx or a robot's error code would be refused every time.
func (e *attemptError) Retryable() bool { return e.retryable }

// RefusesAll reports whether the receiver refused the call for something
// other than its content: the dispatcher then gives the call up whole
// instead of splitting it to find the notification refused.
func (e *attemptError) RefusesAll() bool { return e.refusesAll }

func permanent(format string, a ...any) error {
	return &attemptError{err: fmt.Errorf(format, a...)}
}

func transient(after time.Duration, format string, a ...any) error {
	return &attemptError{err: fmt.Errorf(format, a...), retryable: true, retryAfter: after}
}

// maxRetryAfter bounds how long a Retry-After answer may hold a
// notification when the context has no deadline; beyond it, we give up.
const maxRetryAfter = 10 * time.Minute

// deliver runs attempt until it succeeds, fails permanently, runs out of
// attempts, or ctx ends. target is shown in logs and errors (redacted).
// It counts the outcome, observes the duration and logs a failure once.
func (s *sender) deliver(ctx context.Context, target string, alerts int, attempt func(ctx context.Context) error) error {
	start := time.Now()
	target = redactURL(target)
	var last error
	n := 0
	for {
		n++
		actx, cancel := context.WithTimeout(ctx, s.d.Timeout)
		err := attempt(actx)
		cancel()
		if err == nil {
			s.m.count(s.receiver, ResultSuccess)
			s.m.duration.WithLabelValues(s.receiver).Observe(time.Since(start).Seconds())
			if n > 1 {
				s.log.Info("notification delivered after retries", "receiver", s.receiver, "target", target,
					"alerts", alerts, "attempts", n)
			}
			return nil
		}
		last = err
		if ctx.Err() != nil {
			last = fmt.Errorf("%w (%v)", ctx.Err(), err)
			break
		}
		var ae *attemptError
		if !errors.As(err, &ae) || !ae.retryable || n >= s.d.MaxAttempts {
			break
		}
		wait := backoff(s.d, n)
		if ae.retryAfter > wait {
			wait = ae.retryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			last = fmt.Errorf("%w; next attempt (in %v) would be after the deadline", err, wait.Round(time.Millisecond))
			break
		} else if !ok && wait > maxRetryAfter {
			last = fmt.Errorf("%w; the server asks to wait %v", err, wait)
			break
		}
		s.log.Debug("notification attempt failed, retrying", "receiver", s.receiver, "target", target,
			"attempt", n, "wait", wait, "err", s.clean(err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			last = fmt.Errorf("%w (%v)", ctx.Err(), err)
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
		s.m.count(s.receiver, ResultRetry)
	}
	s.m.count(s.receiver, ResultFailure)
	s.m.duration.WithLabelValues(s.receiver).Observe(time.Since(start).Seconds())
	err := &scrubbedError{msg: s.clean(fmt.Errorf("%s: %s: %d attempt(s): %w", s.receiver, target, n, last)), err: last}
	s.log.Warn("notification failed", "receiver", s.receiver, "target", target, "alerts", alerts,
		"attempts", n, "err", err.msg)
	return err
}

// clean renders err without any known secret.
func (s *sender) clean(err error) string {
	msg := err.Error()
	for _, sec := range s.scrub {
		if sec != "" {
			msg = strings.ReplaceAll(msg, sec, "REDACTED")
			if esc := url.QueryEscape(sec); esc != sec {
				msg = strings.ReplaceAll(msg, esc, "REDACTED")
			}
		}
	}
	return msg
}

// scrubbedError is a final delivery error whose message carries no secret.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// backoff is the wait after the n-th failed attempt: InitialBackoff
// doubling up to MaxBackoff, with "equal jitter" (half fixed, half random)
// so that several envpipe replicas do not retry in step.
func backoff(d Delivery, n int) time.Duration {
	b := d.InitialBackoff
	for i := 1; i < n && b < d.MaxBackoff; i++ {
		b *= 2
	}
	if b > d.MaxBackoff {
		b = d.MaxBackoff
	}
	if b <= 1 {
		return b
	}
	half := b / 2
	return half + rand.N(b-half+1)
}

// response is what one POST got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 64 << 10

// post sends body to u. Network errors are transient; the URL in them is
// redacted. The status is left to the caller (see checkStatus).
func (s *sender) post(ctx context.Context, u string, header http.Header, body []byte) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, permanent("bad request: %v", redactErr(err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "envpipe")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, transient(0, "%v", redactErr(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, transient(0, "reading the answer: %v", redactErr(err))
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// checkStatus classifies an HTTP status: 2xx succeeds; 408, 429 and 5xx
// are transient (Retry-After honoured); any other status is permanent.
func checkStatus(r *response) error {
	if r.status >= 200 && r.status < 300 {
		return nil
	}
	msg := fmt.Sprintf("HTTP %d %s", r.status, http.StatusText(r.status))
	if b := snippet(r.body); b != "" {
		msg += ": " + b
	}
	if r.status == http.StatusTooManyRequests || r.status == http.StatusRequestTimeout || r.status >= 500 {
		return transient(retryAfter(r.header.Get("Retry-After")), "%s", msg)
	}
	err := permanent("%s", msg).(*attemptError)
	switch r.status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
	default:
		err.refusesAll = true
	}
	return err
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// snippet is the start of an answer body, on one line, for an error.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 300 {
		s = truncateUTF8(s, 300) + "…"
	}
	return s
}

// redactURL hides what a URL may carry as a secret: userinfo and every
// query value (robot keys, access tokens, signatures).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			return s[:i] + "?REDACTED"
		}
		return s
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// redactErr redacts the URL inside a *url.Error (Go's client errors quote
// the whole request URL, robot key and all).
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		c := *ue
		c.URL = redactURL(c.URL)
		return &c
	}
	return err
}

// authHeader resolves an HTTPAuth to an Authorization header value.
func authHeader(h HTTPAuth) (string, error) {
	if h.BasicAuth != nil {
		pw, err := readSecret("basic_auth.password", h.BasicAuth.PasswordEnv, h.BasicAuth.PasswordFile)
		if err != nil {
			return "", err
		}
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(h.BasicAuth.Username+":"+pw)), nil
	}
	tok, err := readSecret("bearer_token", h.BearerTokenEnv, h.BearerTokenFile)
	if err != nil || tok == "" {
		return "", err
	}
	return "Bearer " + tok, nil
}
