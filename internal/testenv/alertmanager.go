package testenv

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// DefaultAlertmanagerConfig routes every alert to a receiver that sends
// nothing: enough to post alerts and read them back.
const DefaultAlertmanagerConfig = `route:
  receiver: "null"
  group_by: ["alertname"]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: "null"
`

// AM is a running Alertmanager started by Alertmanager.
type AM struct {
	Port int // web API on 127.0.0.1

	Dir         string // temporary directory
	ConfigFile  string
	StoragePath string // silences and notification log (alerts live in memory)
	LogFile     string

	server // Start, Stop, Kill, Restart, Log
	client *http.Client
}

// Alertmanager starts prometheus-alertmanager with configYAML
// (DefaultAlertmanagerConfig if empty), its storage in a temporary
// directory, the web API on a free 127.0.0.1 port and clustering off. It
// returns once /-/ready answers, and stops Alertmanager when the test ends.
func Alertmanager(t testing.TB, configYAML string) *AM {
	t.Helper()
	bin := alertmanagerBinary(t)
	if configYAML == "" {
		configYAML = DefaultAlertmanagerConfig
	}
	dir := t.TempDir()
	am := &AM{
		Dir:         dir,
		ConfigFile:  filepath.Join(dir, "alertmanager.yml"),
		StoragePath: filepath.Join(dir, "data"),
		LogFile:     filepath.Join(dir, "alertmanager.log"),
		client:      &http.Client{Timeout: 30 * time.Second},
	}
	writeFile(t, am.ConfigFile, []byte(configYAML), 0o644)
	if err := os.MkdirAll(am.StoragePath, 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	am.server = server{
		t: t,
		proc: &process{
			name:    "alertmanager",
			bin:     bin,
			logPath: am.LogFile,
		},
		ready: am.readyCheck,
	}
	am.server.register()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		am.Port = FreePort(t)
		am.server.proc.args = []string{
			"--config.file=" + am.ConfigFile,
			"--storage.path=" + am.StoragePath,
			"--web.listen-address=127.0.0.1:" + strconv.Itoa(am.Port),
			"--cluster.listen-address=", // empty: no gossip, no port 9094
			"--log.level=info",
		}
		if err = am.server.startErr(); !addrInUse(err) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return am
}

func alertmanagerBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ALERTMANAGER"); p != "" {
		return Require(t, p)
	}
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, _ := lookBinary(name, []string{"/usr/bin", "/usr/local/bin", filepath.Join(RepoRoot(t), ".tools", "bin")}); p != "" {
			return p
		}
	}
	missing(t, "alertmanager (Debian package prometheus-alertmanager)",
		[]string{"$ALERTMANAGER", "$PATH (prometheus-alertmanager, alertmanager)", "/usr/bin", "/usr/local/bin", "<repo>/.tools/bin"},
		"install it with scripts/install-servers.sh or apt-get install prometheus-alertmanager")
	return ""
}

func (am *AM) readyCheck() error {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(am.URL() + "/-/ready")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /-/ready: %s", resp.Status)
	}
	return nil
}

// URL is the web API, http://127.0.0.1:port (the v2 API is under /api/v2).
func (am *AM) URL() string { return "http://127.0.0.1:" + strconv.Itoa(am.Port) }

// Alert is an alert as GET /api/v2/alerts returns it.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	Status       struct {
		State       string   `json:"state"` // active, suppressed, unprocessed
		SilencedBy  []string `json:"silencedBy"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
	Receivers []struct {
		Name string `json:"name"`
	} `json:"receivers"`
}

// Alerts returns the alerts Alertmanager holds (GET /api/v2/alerts; by
// default the API lists active, silenced and inhibited alerts, not resolved
// ones).
func (am *AM) Alerts() ([]Alert, error) {
	resp, err := am.client.Get(am.URL() + "/api/v2/alerts")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v2/alerts: %s: %s", resp.Status, body)
	}
	var alerts []Alert
	if err := json.Unmarshal(body, &alerts); err != nil {
		return nil, fmt.Errorf("GET /api/v2/alerts: %v", err)
	}
	return alerts, nil
}
