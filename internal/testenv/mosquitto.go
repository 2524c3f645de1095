package testenv

import (
	"bufio"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// MosquittoConfig is the shipped broker configuration, relative to the
// repository root. Tests run with it, overriding only what must differ.
const MosquittoConfig = "deploy/mosquitto/mosquitto.conf"

// MosquittoACL is the shipped ACL file, relative to the repository root.
const MosquittoACL = "deploy/mosquitto/acl"

// MosquittoOptions says how a test broker differs from the shipped one.
// The zero value is an anonymous broker without ACL and without TLS.
type MosquittoOptions struct {
	// Users maps username to password. They are written to a password file
	// (mosquitto_passwd's PBKDF2-SHA512 format). With users, anonymous
	// clients are refused unless Anonymous is set.
	Users map[string]string
	// Anonymous allows clients without credentials. It is implied when
	// Users is empty.
	Anonymous bool
	// ACL enables the shipped ACL file deploy/mosquitto/acl
	// (pattern write env/%u/#; user envpipe reads env/#), used in place.
	ACL bool
	// ACLText, if set, is written to a file and used as the ACL instead of
	// the shipped one (implies ACL).
	ACLText string
	// TLS adds a TLS listener on another free port, with a throwaway CA,
	// server certificate and client certificate (see Broker's *File fields
	// and TLSConfig).
	TLS bool
	// RequireClientCert makes the TLS listener demand a client certificate
	// signed by the throwaway CA (require_certificate true).
	RequireClientCert bool
	// Extra holds global configuration lines appended to the generated
	// config. A line whose option takes a single value replaces that
	// option's lines from the shipped config (e.g. "max_queued_messages 10",
	// "persistence false"); multi-valued options (log_type, log_dest, ...)
	// are added.
	Extra []string
}

// Broker is a running Mosquitto started by Mosquitto.
type Broker struct {
	Port    int // plain MQTT listener on 127.0.0.1
	TLSPort int // TLS listener on 127.0.0.1, 0 without TLS

	Dir          string // the broker's temporary directory
	DataDir      string // persistence_location
	ConfigFile   string // generated mosquitto.conf
	LogFile      string // broker log (stdout and stderr)
	PasswordFile string // "" without users
	ACLFile      string // "" without ACL

	// TLS material, PEM files ("" without TLS). The client certificate's
	// common name is "envpipe".
	CAFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile string

	opts   MosquittoOptions
	root   string
	certs  *certSet
	server // Start, Stop, Kill, Restart, Log
}

// Mosquitto starts a broker configured from deploy/mosquitto/mosquitto.conf
// with the listeners on free 127.0.0.1 ports, persistence in a temporary
// directory, "user root" and the log in a file. It returns once the
// listeners accept connections, and stops the broker when the test ends.
func Mosquitto(t testing.TB, opts MosquittoOptions) *Broker {
	t.Helper()
	bin := mosquittoBinary(t)
	root := RepoRoot(t)
	dir := t.TempDir()
	b := &Broker{
		Dir:        dir,
		DataDir:    filepath.Join(dir, "data"),
		ConfigFile: filepath.Join(dir, "mosquitto.conf"),
		LogFile:    filepath.Join(dir, "mosquitto.log"),
		opts:       opts,
		root:       root,
	}
	if err := os.MkdirAll(b.DataDir, 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if len(opts.Users) > 0 {
		b.PasswordFile = filepath.Join(dir, "passwd")
		writeFile(t, b.PasswordFile, passwordFile(t, opts.Users), 0o600)
	}
	switch {
	case opts.ACLText != "":
		b.ACLFile = filepath.Join(dir, "acl")
		writeFile(t, b.ACLFile, []byte(opts.ACLText), 0o644)
	case opts.ACL:
		b.ACLFile = filepath.Join(root, MosquittoACL)
	}
	if opts.TLS {
		certDir := filepath.Join(dir, "certs")
		if err := os.MkdirAll(certDir, 0o755); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		cs, err := genCerts(certDir, "envpipe")
		if err != nil {
			t.Fatalf("testenv: generate TLS certificates: %v", err)
		}
		b.certs = cs
		b.CAFile, b.ServerCertFile, b.ServerKeyFile = cs.CAFile, cs.ServerCertFile, cs.ServerKeyFile
		b.ClientCertFile, b.ClientKeyFile = cs.ClientCertFile, cs.ClientKeyFile
	}

	b.server = server{
		t: t,
		proc: &process{
			name:    "mosquitto",
			bin:     bin,
			args:    []string{"-c", b.ConfigFile},
			logPath: b.LogFile,
		},
		ready: b.ready,
	}
	b.server.register()

	// A port taken between FreePort and the bind is retried on new ports.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		b.Port = FreePort(t)
		if opts.TLS {
			b.TLSPort = FreePort(t)
		}
		writeFile(t, b.ConfigFile, b.config(t), 0o644)
		if err = b.server.startErr(); !addrInUse(err) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mosquittoBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MOSQUITTO"); p != "" {
		return Require(t, p)
	}
	dirs := []string{"/usr/sbin", "/usr/local/sbin", "/sbin"}
	p, tried := lookBinary("mosquitto", dirs)
	if p == "" {
		missing(t, "mosquitto (Debian package mosquitto)", append([]string{"$MOSQUITTO"}, tried...),
			"install it with scripts/install-servers.sh or apt-get install mosquitto mosquitto-clients")
	}
	return p
}

func (b *Broker) ready() error {
	if err := dialable(b.Addr()); err != nil {
		return err
	}
	if b.TLSPort != 0 {
		return dialable(b.TLSAddr())
	}
	return nil
}

// URL is the plain listener, tcp://127.0.0.1:port (paho's form).
func (b *Broker) URL() string { return "tcp://" + b.Addr() }

// Addr is the plain listener's host:port.
func (b *Broker) Addr() string { return "127.0.0.1:" + strconv.Itoa(b.Port) }

// TLSURL is the TLS listener, ssl://127.0.0.1:port (paho's form). It fails
// the test if the broker has no TLS listener.
func (b *Broker) TLSURL() string {
	b.server.t.Helper()
	return "ssl://" + b.TLSAddr()
}

// TLSAddr is the TLS listener's host:port.
func (b *Broker) TLSAddr() string {
	b.server.t.Helper()
	if b.TLSPort == 0 {
		b.server.t.Fatal("testenv: broker started without MosquittoOptions.TLS")
	}
	return "127.0.0.1:" + strconv.Itoa(b.TLSPort)
}

// TLSConfig returns a client configuration trusting the throwaway CA and
// presenting the client certificate.
func (b *Broker) TLSConfig() *tls.Config {
	b.server.t.Helper()
	if b.certs == nil {
		b.server.t.Fatal("testenv: broker started without MosquittoOptions.TLS")
	}
	return &tls.Config{
		RootCAs:      b.certs.pool,
		Certificates: []tls.Certificate{b.certs.client},
		ServerName:   "127.0.0.1",
		MinVersion:   tls.VersionTLS12,
	}
}

// Options whose value replaces a previous one. Anything else (log_type,
// log_dest, include_dir, plugins, bridges) may appear several times.
var mosquittoMultiValued = map[string]bool{
	"log_type": true, "log_dest": true, "include_dir": true, "listener": true,
	"auth_plugin": true, "plugin": true, "connection": true, "address": true,
	"addresses": true, "topic": true,
}

// Options that belong to the listener above them.
var mosquittoListenerKeys = map[string]bool{
	"bind_interface": true, "http_dir": true, "max_connections": true, "max_qos": true,
	"max_topic_alias": true, "mount_point": true, "protocol": true, "socket_domain": true,
	"use_username_as_clientid": true, "websockets_headers_size": true,
	"cafile": true, "capath": true, "certfile": true, "keyfile": true, "ciphers": true,
	"ciphers_tls1.3": true, "crlfile": true, "dhparamfile": true, "require_certificate": true,
	"tls_engine": true, "tls_engine_kpass_sha1": true, "tls_keyform": true, "tls_version": true,
	"use_identity_as_username": true, "use_subject_as_username": true, "psk_hint": true,
}

// Listener options carried from the shipped plain listener to the test
// listeners: its limits and behaviour, not its sockets or certificates.
var mosquittoListenerCarried = map[string]bool{
	"max_connections": true, "max_qos": true, "max_topic_alias": true, "mount_point": true,
	"use_username_as_clientid": true,
}

// Global options that the test must set itself.
var mosquittoOverridden = map[string]bool{
	"persistence_location": true, "log_dest": true, "user": true, "password_file": true,
	"acl_file": true, "allow_anonymous": true, "pid_file": true, "port": true,
	"bind_address": true, "include_dir": true, "psk_file": true,
}

// config builds the broker configuration from the shipped file.
func (b *Broker) config(t testing.TB) []byte {
	t.Helper()
	shipped := filepath.Join(b.root, MosquittoConfig)
	f, err := os.Open(shipped)
	if err != nil {
		t.Fatalf("testenv: the shipped broker config: %v", err)
	}
	defer f.Close()

	var global []string // kept global lines
	type block struct {
		plain bool // no certificate, no PSK
		body  []string
	}
	var blocks []*block // listener blocks in file order
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key := strings.Fields(line)[0]
		switch {
		case key == "listener":
			blocks = append(blocks, &block{plain: true})
		case len(blocks) > 0 && mosquittoListenerKeys[key]:
			cur := blocks[len(blocks)-1]
			cur.body = append(cur.body, line)
			if key == "certfile" || key == "psk_hint" {
				cur.plain = false
			}
		case mosquittoOverridden[key]:
			// set below
		default:
			global = append(global, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("testenv: read %s: %v", shipped, err)
	}
	var carried []string // listener lines carried over from the first plain listener
	for _, bl := range blocks {
		if !bl.plain {
			continue
		}
		for _, x := range bl.body {
			if mosquittoListenerCarried[strings.Fields(x)[0]] {
				carried = append(carried, x)
			}
		}
		break
	}

	anonymous := b.opts.Anonymous || len(b.opts.Users) == 0
	lines := append([]string(nil), global...)
	lines = append(lines,
		"persistence_location "+b.DataDir,
		"log_dest stderr",
		"user root",
		"allow_anonymous "+strconv.FormatBool(anonymous),
	)
	if b.PasswordFile != "" {
		lines = append(lines, "password_file "+b.PasswordFile)
	}
	if b.ACLFile != "" {
		lines = append(lines, "acl_file "+b.ACLFile)
	}
	for _, x := range b.opts.Extra {
		x = strings.TrimSpace(x)
		if x == "" || strings.HasPrefix(x, "#") {
			continue
		}
		key := strings.Fields(x)[0]
		if !mosquittoMultiValued[key] {
			kept := lines[:0]
			for _, l := range lines {
				if strings.Fields(l)[0] != key {
					kept = append(kept, l)
				}
			}
			lines = kept
		}
		lines = append(lines, x)
	}

	var out strings.Builder
	fmt.Fprintf(&out, "# Generated by internal/testenv for %s from %s.\n", t.Name(), shipped)
	fmt.Fprintf(&out, "# Listeners, persistence_location, log_dest, user, password_file,\n# acl_file and allow_anonymous are the test's; the rest is shipped.\n")
	for _, l := range lines {
		out.WriteString(l + "\n")
	}
	fmt.Fprintf(&out, "\nlistener %d 127.0.0.1\n", b.Port)
	for _, l := range carried {
		out.WriteString(l + "\n")
	}
	if b.TLSPort != 0 {
		fmt.Fprintf(&out, "\nlistener %d 127.0.0.1\n", b.TLSPort)
		for _, l := range carried {
			out.WriteString(l + "\n")
		}
		fmt.Fprintf(&out, "cafile %s\ncertfile %s\nkeyfile %s\ntls_version tlsv1.2\nrequire_certificate %t\n",
			b.CAFile, b.ServerCertFile, b.ServerKeyFile, b.opts.RequireClientCert)
	}
	return []byte(out.String())
}

// passwordFile renders users in the format mosquitto_passwd writes for
// Mosquitto 2.0: username:$7$<iterations>$<salt>$<PBKDF2-HMAC-SHA512>.
func passwordFile(t testing.TB, users map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(users))
	for u := range users {
		if u == "" || strings.ContainsAny(u, ":\n\r") {
			t.Fatalf("testenv: invalid MQTT username %q", u)
		}
		names = append(names, u)
	}
	sort.Strings(names)
	var out strings.Builder
	for _, u := range names {
		const iterations = 101 // mosquitto_passwd's default
		salt := make([]byte, 12)
		if _, err := rand.Read(salt); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		hash, err := pbkdf2.Key(sha512.New, users[u], salt, iterations, sha512.Size)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		fmt.Fprintf(&out, "%s:$7$%d$%s$%s\n", u, iterations,
			base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(hash))
	}
	return []byte(out.String())
}
