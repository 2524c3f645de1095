package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/envpipe/envpipe/internal/testenv"
)

// proc is envpipe running as a child process (see TestMain).
type proc struct {
	t       *testing.T
	config  string
	httpURL string
	logFile string
	cmd     *exec.Cmd
	starts  int
}

func spawnEnvpipe(t *testing.T, dir, config string, httpPort int, env ...string) *proc {
	p := &proc{t: t, config: config, logFile: filepath.Join(dir, "envpipe.log"),
		httpURL: "http://127.0.0.1:" + strconv.Itoa(httpPort)}
	p.start(env...)
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(p.logFile)
			t.Logf("envpipe log (tail):\n%s", tail(string(b), 4000))
		}
	})
	return p
}

func (p *proc) start(env ...string) {
	p.t.Helper()
	f, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	exe, _ := os.Executable()
	p.cmd = exec.Command(exe, "run", "-config", p.config)
	p.cmd.Env = append(append(os.Environ(), "ENVPIPE_TEST_AS_MAIN=1"), env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = testenv.OwnGroup()
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.starts++
	d := daemon{httpURL: p.httpURL}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, code := d.get("/healthz"); code == 200 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("envpipe child not serving within 20s")
}

func (p *proc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	p.cmd = nil
}

func (p *proc) term() error {
	if p.cmd == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		p.cmd = nil
		return err
	case <-time.After(30 * time.Second):
		p.kill()
		return errors.New("did not stop within 30s of SIGTERM")
	}
}

// reliablePublisher publishes at QoS 1 and republishes whatever failed
// (broker down, connection lost) until the broker acked it: the station's
// side of at-least-once.
//
// It reconnects itself, with a fresh client and a clean session, instead of
// using paho's automatic reconnection: after an automatic reconnect paho's
// resume marks the stored in-flight messages as duplicates while the new
// connection may already be writing those published meanwhile, a data race
// the race detector reports (eclipse-paho/paho.mqtt.golang#703). A clean
// session without auto-reconnect fails the in-flight tokens when the
// connection drops, and publish sends those messages again.
type reliablePublisher struct {
	t      *testing.T
	opts   *paho.ClientOptions
	client paho.Client
	mu     sync.Mutex
	failed int
	// reconnects counts the connections after the first.
	reconnects int
}

func newReliablePublisher(t *testing.T, broker, id string) *reliablePublisher {
	o := paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectTimeout(2 * time.Second).
		SetWriteTimeout(5 * time.Second).SetKeepAlive(5 * time.Second)
	r := &reliablePublisher{t: t, opts: o}
	if err := r.connect(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatalf("publisher connect: %v", err)
	}
	t.Cleanup(func() { r.client.Disconnect(100) })
	return r
}

// connect replaces the client with a connected one, retrying until deadline.
func (r *reliablePublisher) connect(deadline time.Time) error {
	for {
		c := paho.NewClient(r.opts)
		tok := c.Connect()
		tok.Wait() // bounded by the connect timeout: no connect retry
		if tok.Error() == nil {
			if r.client != nil {
				r.reconnects++
			}
			r.client = c
			return nil
		}
		if time.Now().After(deadline) {
			return tok.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// publish sends msgs in windows, retrying each failed message until the
// deadline; pace > 0 spreads the messages over that duration.
func (r *reliablePublisher) publish(msgs [][2]string, pace time.Duration) {
	const window = 200
	deadline := time.Now().Add(3 * time.Minute)
	start := time.Now()
	for i := 0; i < len(msgs); i += window {
		end := min(i+window, len(msgs))
		if pace > 0 {
			due := start.Add(pace * time.Duration(i) / time.Duration(len(msgs)))
			time.Sleep(time.Until(due))
		}
		pending := msgs[i:end]
		for len(pending) > 0 {
			if time.Now().After(deadline) {
				r.t.Errorf("publish: %d messages still failing at the deadline", len(pending))
				return
			}
			if !r.client.IsConnectionOpen() {
				if err := r.connect(deadline); err != nil {
					r.t.Errorf("publish: reconnect: %v", err)
					return
				}
			}
			toks := make([]paho.Token, len(pending))
			for j, m := range pending {
				toks[j] = r.client.Publish(m[0], 1, false, m[1])
			}
			var retry [][2]string
			for j, tok := range toks {
				if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					retry = append(retry, pending[j])
				}
			}
			if len(retry) > 0 {
				r.mu.Lock()
				r.failed += len(retry)
				r.mu.Unlock()
				time.Sleep(200 * time.Millisecond)
			}
			pending = retry
		}
	}
}
