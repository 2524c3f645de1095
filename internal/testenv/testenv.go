// Package testenv starts real servers for integration tests: Mosquitto,
// InfluxDB OSS 1.8 and Alertmanager, each on free 127.0.0.1 ports with a
// temporary configuration and data directory, stopped when the test ends.
//
//	func TestIngest(t *testing.T) {
//		broker := testenv.Mosquitto(t, testenv.MosquittoOptions{
//			Users: map[string]string{"envpipe": "pw", "zz-air-0101": "pw"},
//			ACL:   true, // the shipped deploy/mosquitto/acl
//		})
//		influx := testenv.InfluxDB(t)
//		// ... run envpipe against broker.URL() and influx.URL() ...
//		broker.Restart() // same port, same persistence directory
//		if n := influx.Count("air", "pm25"); n != 10 {
//			t.Fatalf("stored %d readings, want 10", n)
//		}
//	}
//
// A missing server binary skips the test, unless the environment says
// CI=true: then it fails (see Require). scripts/install-servers.sh installs
// all of them.
//
// Every server runs in its own process group with its output in a log file
// in the test's temporary directory; the last lines of that log are printed
// when the test fails or the server does not come up. Only processes started
// here are ever signalled; they also die with the test binary (a -timeout
// panic leaves no server behind).
//
// Methods that can fail (Start, Restart, Count, ...) fail the test that
// started the server, so call them from that test's goroutine.
//
// StartTimeout (20 s; TESTENV_START_TIMEOUT) bounds every start.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long a server may take to become ready. The
// environment variable TESTENV_START_TIMEOUT (a Go duration) overrides it.
var StartTimeout = 20 * time.Second

// StopTimeout bounds how long Stop waits after SIGTERM before it sends
// SIGKILL.
var StopTimeout = 15 * time.Second

func startTimeout() time.Duration {
	if s := os.Getenv("TESTENV_START_TIMEOUT"); s != "" {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			return d
		}
	}
	return StartTimeout
}

// InCI reports whether the environment variable CI is set to a true value
// ("true", "1", ...). In CI a missing server is a failure, not a skip.
func InCI() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && v
}

// Integration marks t as a test against real servers. `go test -short`
// skips it on a developer's machine; with CI=true it always runs, so that
// a CI job given -short cannot pass without the servers having been used.
func Integration(t testing.TB) {
	t.Helper()
	if testing.Short() && !InCI() {
		t.Skip("integration test (short mode; CI=true runs it)")
	}
}

var (
	repoRootOnce sync.Once
	repoRootDir  string
	repoRootErr  error
)

// RepoRoot returns the directory holding the module's go.mod, found by
// walking up from the working directory (go test runs a package's tests in
// the package directory).
func RepoRoot(t testing.TB) string {
	t.Helper()
	repoRootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			repoRootErr = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				repoRootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				repoRootErr = errors.New("no go.mod in the working directory or any parent")
				return
			}
			dir = parent
		}
	})
	if repoRootErr != nil {
		t.Fatalf("testenv: repository root: %v", repoRootErr)
	}
	return repoRootDir
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on right now.
//
// Ports are picked at random below the kernel's ephemeral range (usually
// 32768-60999), so the outgoing connections of other tests, which take their
// local ports from that range, cannot occupy the port between FreePort and
// the server's bind, nor while a server is down during Restart.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatalf("testenv: no free port: %v", err)
	}
	return p
}

var (
	portMu   sync.Mutex
	portUsed = map[int]bool{} // handed out by this process
)

func freePort() (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	lo, hi := 10000, ephemeralLow()
	if hi-lo >= 2000 {
		for range 200 {
			p := lo + rand.IntN(hi-lo)
			if portUsed[p] {
				continue
			}
			if l, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
				l.Close()
				portUsed[p] = true
				return p, nil
			}
		}
	}
	// Fall back to a kernel-chosen port.
	for range 20 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portUsed[p] {
			portUsed[p] = true
			return p, nil
		}
	}
	return 0, errors.New("every port tried was taken")
}

// ephemeralLow returns the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 1024 {
				return n
			}
		}
	}
	return 32768
}

// Require returns the absolute path of the executable bin: a path, or a name
// looked up in PATH, then in /usr/local/sbin, /usr/sbin and /sbin (often not
// in a non-root PATH), then in <repo>/.tools/bin. When it is missing, the test
// fails if CI=true and is skipped otherwise.
func Require(t testing.TB, bin string) string {
	t.Helper()
	if strings.ContainsRune(bin, '/') {
		if isExecutable(bin) {
			p, _ := filepath.Abs(bin)
			return p
		}
		missing(t, bin, []string{bin}, "")
		return ""
	}
	dirs := []string{"/usr/local/sbin", "/usr/sbin", "/sbin", filepath.Join(RepoRoot(t), ".tools", "bin")}
	p, tried := lookBinary(bin, dirs)
	if p == "" {
		missing(t, bin, tried, "")
	}
	return p
}

// lookBinary finds name in PATH, then in dirs. It returns the path found
// (or "") and the places it tried.
func lookBinary(name string, dirs []string) (string, []string) {
	tried := []string{"$PATH"}
	if p, err := exec.LookPath(name); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs, tried
		}
		return p, tried
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		tried = append(tried, p)
		if isExecutable(p) {
			return p, tried
		}
	}
	return "", tried
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func missing(t testing.TB, what string, tried []string, hint string) {
	t.Helper()
	if hint == "" {
		hint = "run scripts/install-servers.sh (as root) to install the test servers"
	}
	msg := fmt.Sprintf("testenv: %s not found (looked in %s); %s", what, strings.Join(tried, ", "), hint)
	if InCI() {
		t.Fatalf("%s [CI=true: a missing server is a failure]", msg)
	}
	t.Skipf("%s [skipping; with CI=true this fails]", msg)
}

// process is one server process: started in its own process group, output
// appended to a log file, reaped by a goroutine.
type process struct {
	name    string
	bin     string
	args    []string
	env     []string // nil: inherit
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when the current process has exited
	err    error         // its Wait result
	starts int
}

func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !isClosed(p.done) {
		return fmt.Errorf("%s is already running (pid %d)", p.name, p.cmd.Process.Pid)
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.starts++
	fmt.Fprintf(f, "=== testenv: start #%d of %s at %s: %s %s\n", p.starts, p.name,
		time.Now().Format(time.RFC3339Nano), p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Dir = filepath.Dir(p.logPath)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = OwnGroup()
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	f.Close() // the child has its own descriptor
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// running reports whether the process is alive, and returns its exit
// channel.
func (p *process) state() (cmd *exec.Cmd, done chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.done
}

func (p *process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *process) alive() bool {
	cmd, done := p.state()
	return cmd != nil && !isClosed(done)
}

// stop sends sig to the process group and waits up to timeout for the
// process to exit, then kills the group. It reports whether the process
// exited on sig alone.
func (p *process) stop(sig syscall.Signal, timeout time.Duration) bool {
	cmd, done := p.state()
	if cmd == nil || isClosed(done) {
		return true
	}
	signalGroup(cmd, sig)
	select {
	case <-done:
		return true
	case <-time.After(timeout):
	}
	if !isClosed(done) {
		signalGroup(cmd, syscall.SIGKILL)
	}
	<-done
	return false
}

func (p *process) pid() int {
	cmd, _ := p.state()
	if cmd == nil {
		return 0
	}
	return cmd.Process.Pid
}

func isClosed(c chan struct{}) bool {
	if c == nil {
		return true
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// waitReady polls ready until it returns nil, the process exits or the start
// timeout passes.
func (p *process) waitReady(ready func() error) error {
	deadline := time.Now().Add(startTimeout())
	_, done := p.state()
	var last error
	for {
		if isClosed(done) {
			return fmt.Errorf("%s exited during start-up (%v)", p.name, p.exitErr())
		}
		if last = ready(); last == nil {
			// A server that fails to bind exits at once; make sure the port
			// we reached is ours by checking the process is still there.
			time.Sleep(30 * time.Millisecond)
			if isClosed(done) {
				return fmt.Errorf("%s exited during start-up (%v)", p.name, p.exitErr())
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v: %v", p.name, startTimeout(), last)
		}
		select {
		case <-done:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logTail returns the last n lines of the process's log file.
func (p *process) logTail(n int) string {
	return tailFile(p.logPath, n)
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	const maxBytes = 16 << 10
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// server is what the three servers share: a process, its test, its start
// readiness check and its clean-up.
type server struct {
	t     testing.TB
	proc  *process
	ready func() error
	after func() error // run once ready (e.g. create the database); may be nil
}

func (s *server) register() {
	s.t.Cleanup(func() {
		s.proc.stop(syscall.SIGTERM, StopTimeout)
		if s.t.Failed() {
			s.t.Logf("testenv: last lines of the %s log (%s):\n%s", s.proc.name, s.proc.logPath, s.proc.logTail(60))
		}
	})
}

// startErr starts the process and waits until it is ready; on failure it
// kills what it started and returns an error carrying the log tail.
func (s *server) startErr() error {
	s.t.Helper()
	t0 := time.Now()
	if err := s.proc.start(); err != nil {
		return fmt.Errorf("testenv: start %s: %v", s.proc.name, err)
	}
	err := s.proc.waitReady(s.ready)
	if err == nil && s.after != nil {
		err = s.after()
	}
	if err != nil {
		s.proc.stop(syscall.SIGKILL, StopTimeout)
		return fmt.Errorf("testenv: %v\n--- last lines of %s ---\n%s", err, s.proc.logPath, s.proc.logTail(40))
	}
	if testing.Verbose() {
		s.t.Logf("testenv: %s ready in %v (pid %d)", s.proc.name, time.Since(t0).Round(time.Millisecond), s.proc.pid())
	}
	return nil
}

// The servers' lifecycle, promoted to Broker, Influx and AM, which embed
// server.

// Start starts a stopped server again on the same ports, configuration and
// data (an Alertmanager has forgotten its alerts, which live in memory).
func (s *server) Start() {
	s.t.Helper()
	if err := s.startErr(); err != nil {
		s.t.Fatal(err)
	}
}

// Stop stops the server with SIGTERM (Mosquitto writes its persistence
// file on the way out) and waits for it; SIGKILL after StopTimeout.
func (s *server) Stop() {
	s.t.Helper()
	if !s.proc.stop(syscall.SIGTERM, StopTimeout) {
		s.t.Logf("testenv: %s did not stop within %v of SIGTERM; killed", s.proc.name, StopTimeout)
	}
}

// Kill stops the server with SIGKILL, like a crash: a broker loses what
// arrived since its last autosave.
func (s *server) Kill() { s.proc.stop(syscall.SIGKILL, StopTimeout) }

// Pid is the server process's id, 0 when it is not running: for reading
// its CPU and memory from /proc.
func (s *server) Pid() int { return s.proc.pid() }

// Restart is Stop then Start.
func (s *server) Restart() { s.t.Helper(); s.Stop(); s.Start() }

// Log returns the server's log so far.
func (s *server) Log() string {
	data, _ := os.ReadFile(s.proc.logPath)
	return string(data)
}

// dialable reports whether something accepts TCP connections at addr.
func dialable(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// addrInUse reports whether a start failure looks like a port collision,
// worth retrying on other ports.
func addrInUse(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "address already in use")
}

func writeFile(t testing.TB, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}
