// Package deploy holds only tests: structural checks of the deployment
// files in this directory (docker-compose.yml, k8s/, envpipe/, prometheus/,
// alertmanager/, grafana/). They parse every file, follow every reference
// to another file, service, port, secret or environment variable, and run
// `envpipe check-config` on the envpipe configurations as the container
// would see them. Nothing here starts a container.
package deploy

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/envpipe/envpipe/internal/testenv"
)

// Bind-mount sources the repository does not ship because they hold
// secrets: made by the script named (which docker-compose.yml must tell to
// run first), or, with no script, provided by the operator (docker-compose.yml
// must name the path in a comment).
var notShipped = map[string]string{
	"mosquitto/passwd":     "mosquitto/gen-passwd.sh",
	"alertmanager/secrets": "",
}

// ---------------------------------------------------------------- compose

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string   `yaml:"image"`
	Build       any      `yaml:"build"`
	Command     any      `yaml:"command"`
	Entrypoint  any      `yaml:"entrypoint"`
	Environment any      `yaml:"environment"`
	Volumes     []any    `yaml:"volumes"`
	Ports       []any    `yaml:"ports"`
	DependsOn   any      `yaml:"depends_on"`
	Profiles    []string `yaml:"profiles"`
}

type mount struct {
	source, target string // source: host path relative to deploy/, or a volume name
	bind           bool
}

func (s composeService) mounts(t *testing.T) []mount {
	t.Helper()
	var out []mount
	for _, v := range s.Volumes {
		switch m := v.(type) {
		case string:
			parts := strings.Split(m, ":")
			if len(parts) < 2 {
				t.Errorf("volume %q: want source:target[:mode]", m)
				continue
			}
			out = append(out, mount{source: parts[0], target: parts[1], bind: isHostPath(parts[0])})
		case map[string]any:
			src, _ := m["source"].(string)
			dst, _ := m["target"].(string)
			out = append(out, mount{source: src, target: dst, bind: m["type"] == "bind" || isHostPath(src)})
		}
	}
	return out
}

func isHostPath(s string) bool {
	return strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~")
}

// mountFor returns the host path (relative to deploy/) mounted at the
// container path p, or at a directory containing it.
func (s composeService) mountFor(t *testing.T, p string) (string, bool) {
	for _, m := range s.mounts(t) {
		if !m.bind {
			continue
		}
		if m.target == p {
			return m.source, true
		}
		if rel, err := filepath.Rel(m.target, p); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.Join(m.source, rel), true
		}
	}
	return "", false
}

func (s composeService) list(v any) []string {
	switch x := v.(type) {
	case string:
		return strings.Fields(x)
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// env returns the service's environment, compose-interpolated in an empty
// environment (a fresh checkout without .env).
func (s composeService) env(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch e := s.Environment.(type) {
	case map[string]any:
		for k, v := range e {
			if v == nil {
				out[k] = ""
				continue
			}
			out[k] = composeInterpolate(fmt.Sprint(v))
		}
	case []any:
		for _, kv := range e {
			k, v, _ := strings.Cut(fmt.Sprint(kv), "=")
			out[k] = composeInterpolate(v)
		}
	}
	return out
}

var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}`)

// composeInterpolate resolves ${VAR:-default} and ${VAR-default} with no
// variable set; ${VAR} and ${VAR:?err} become "".
func composeInterpolate(s string) string {
	return composeVar.ReplaceAllStringFunc(s, func(m string) string {
		sm := composeVar.FindStringSubmatch(m)
		if sm[2] == ":-" || sm[2] == "-" {
			return sm[3]
		}
		return ""
	})
}

func deployDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(testenv.RepoRoot(t), "deploy")
}

func loadCompose(t *testing.T) (composeFile, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(deployDir(t), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml: no services")
	}
	return c, raw
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestDeployComposeFileReferences(t *testing.T) {
	c, raw := loadCompose(t)
	dd := deployDir(t)

	// Every ${VAR} has a default or says it is required.
	for _, m := range composeVar.FindAllStringSubmatch(string(raw), -1) {
		switch m[2] {
		case ":-", "-", ":?", "?":
		default:
			t.Errorf("docker-compose.yml: %s has no default: write ${%s:-default} or ${%s:?why it is required}", m[0], m[1], m[1])
		}
	}
	if n := strings.Count(string(raw), "${") - len(composeVar.FindAllString(string(raw), -1)); n != 0 {
		t.Errorf("docker-compose.yml: %d ${...} references compose cannot parse", n)
	}

	for name, s := range c.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s: neither image nor build", name)
		}
		switch b := s.Build.(type) {
		case string:
			checkBuild(t, name, filepath.Join(dd, b), "Dockerfile")
		case map[string]any:
			ctx, _ := b["context"].(string)
			df, _ := b["dockerfile"].(string)
			if df == "" {
				df = "Dockerfile"
			}
			checkBuild(t, name, filepath.Join(dd, ctx), df)
		}
		for _, m := range s.mounts(t) {
			if !m.bind {
				if _, ok := c.Volumes[m.source]; !ok {
					t.Errorf("service %s: volume %q is not declared under volumes:", name, m.source)
				}
				continue
			}
			if strings.HasPrefix(m.source, "/") || strings.HasPrefix(m.source, "~") {
				t.Errorf("service %s: bind mount %q: use a path relative to deploy/", name, m.source)
				continue
			}
			rel := filepath.Clean(m.source)
			if gen, ok := notShipped[rel]; ok && !exists(filepath.Join(dd, rel)) {
				switch {
				case gen != "" && !exists(filepath.Join(dd, gen)):
					t.Errorf("service %s: %s is generated by %s, which does not exist", name, rel, gen)
				case gen != "" && !strings.Contains(string(raw), gen):
					t.Errorf("docker-compose.yml: mounts %s but does not say to run %s first", rel, gen)
				case gen == "" && strings.Count(string(raw), rel) < 2:
					t.Errorf("docker-compose.yml: mounts %s (not in the repository) without a comment saying what to put there", rel)
				}
				continue
			}
			if !exists(filepath.Join(dd, rel)) {
				t.Errorf("service %s: bind mount source %s does not exist (relative to deploy/)", name, m.source)
			}
			if !path.IsAbs(m.target) {
				t.Errorf("service %s: mount target %q is not absolute", name, m.target)
			}
		}
		for _, dep := range dependsOn(s.DependsOn) {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("service %s: depends_on %s: no such service", name, dep)
			}
		}
	}
}

func checkBuild(t *testing.T, svc, ctx, dockerfile string) {
	t.Helper()
	if fi, err := os.Stat(ctx); err != nil || !fi.IsDir() {
		t.Errorf("service %s: build context %s is not a directory", svc, ctx)
		return
	}
	if !exists(filepath.Join(ctx, dockerfile)) {
		t.Errorf("service %s: %s not found in the build context %s", svc, dockerfile, ctx)
	}
}

func dependsOn(v any) []string {
	switch d := v.(type) {
	case []any:
		var out []string
		for _, x := range d {
			out = append(out, fmt.Sprint(x))
		}
		return out
	case map[string]any:
		var out []string
		for k := range d {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	return nil
}

// envpipeService returns the compose service running `envpipe run`, and the
// container path of its config.
func envpipeService(t *testing.T, c composeFile) (string, composeService, string) {
	t.Helper()
	for name, s := range c.Services {
		args := s.list(s.Command)
		if len(args) > 0 && args[0] == "run" {
			if i := slices.Index(args, "-config"); i >= 0 && i+1 < len(args) {
				return name, s, args[i+1]
			}
			return name, s, "/etc/envpipe/envpipe.yaml" // the Dockerfile's CMD
		}
	}
	t.Fatal("docker-compose.yml: no service runs `envpipe run`")
	return "", composeService{}, ""
}

// envpipeEnvNames returns the environment variables an envpipe config makes
// envpipe read: ${VAR} references without a default, every *_env key's
// value, and the defaults for the broker password and the InfluxDB token
// when the config names no other source.
func envpipeEnvNames(t *testing.T, file string) []string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`).FindAllStringSubmatch(string(raw), -1) {
		if m[2] == "" {
			set[m[1]] = true
		}
	}
	var tree map[string]any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && strings.HasSuffix(k, "_env") && s != "" {
					set[s] = true
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(tree)
	section := func(name string) map[string]any { m, _ := tree[name].(map[string]any); return m }
	if m := section("mqtt"); m["password_env"] == nil && m["password_file"] == nil {
		set["ENVPIPE_MQTT_PASSWORD"] = true
	}
	if m := section("influxdb"); m["token_env"] == nil && m["token_file"] == nil {
		set["ENVPIPE_INFLUX_TOKEN"] = true
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestDeployComposeEnvpipeEnvironment(t *testing.T) {
	c, _ := loadCompose(t)
	name, s, cfgPath := envpipeService(t, c)
	host, ok := s.mountFor(t, cfgPath)
	if !ok {
		t.Fatalf("service %s: %s is not mounted", name, cfgPath)
	}
	env := s.env(t)
	for _, v := range envpipeEnvNames(t, filepath.Join(deployDir(t), host)) {
		if env[v] == "" {
			t.Errorf("service %s: envpipe reads $%s (%s), which the service's environment does not set", name, v, host)
		}
	}
	for _, v := range []string{"ENVPIPE_MQTT_PASSWORD", "ENVPIPE_INFLUX_TOKEN"} {
		if _, ok := env[v]; !ok {
			t.Errorf("service %s: %s not in environment", name, v)
		}
	}
}

// TestDeployComposeCrossReferences checks what one service's file says
// about another: Prometheus scrapes envpipe where it listens and loads rule
// files that are mounted; Alertmanager targets exist.
func TestDeployComposeCrossReferences(t *testing.T) {
	c, _ := loadCompose(t)
	dd := deployDir(t)
	_, es, cfgPath := envpipeService(t, c)
	host, _ := es.mountFor(t, cfgPath)
	var ecfg struct {
		HTTP struct {
			Listen string `yaml:"listen"`
		} `yaml:"http"`
	}
	readYAML(t, filepath.Join(dd, host), &ecfg)
	_, envpipePort, err := net.SplitHostPort(ecfg.HTTP.Listen)
	if err != nil {
		t.Fatalf("%s: http.listen %q: %v", host, ecfg.HTTP.Listen, err)
	}

	ps, ok := c.Services["prometheus"]
	if !ok {
		t.Fatal("the compose file has no prometheus service")
	}
	promCfg, ok := ps.mountFor(t, "/etc/prometheus/prometheus.yml")
	if !ok {
		t.Fatal("prometheus: /etc/prometheus/prometheus.yml not mounted")
	}
	var pc struct {
		RuleFiles []string `yaml:"rule_files"`
		Alerting  struct {
			Alertmanagers []struct {
				StaticConfigs []struct {
					Targets []string `yaml:"targets"`
				} `yaml:"static_configs"`
			} `yaml:"alertmanagers"`
		} `yaml:"alerting"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, filepath.Join(dd, promCfg), &pc)
	for _, rf := range pc.RuleFiles {
		p := rf
		if !path.IsAbs(p) {
			p = path.Join("/etc/prometheus", p)
		}
		h, ok := ps.mountFor(t, p)
		if !ok {
			t.Errorf("prometheus.yml: rule file %s is not mounted into the prometheus service", rf)
		} else if !exists(filepath.Join(dd, h)) {
			t.Errorf("prometheus.yml: rule file %s: %s does not exist", rf, h)
		}
	}
	checkTarget := func(what, target string) (string, string) {
		h, p, err := net.SplitHostPort(target)
		if err != nil {
			t.Errorf("%s: target %q: %v", what, target, err)
			return "", ""
		}
		if h != "localhost" {
			if _, ok := c.Services[h]; !ok {
				t.Errorf("%s: target %s: no compose service %s", what, target, h)
			}
		}
		return h, p
	}
	scrapesEnvpipe := false
	for _, sc := range pc.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				h, p := checkTarget("prometheus.yml job "+sc.JobName, tg)
				if h == "envpipe" {
					scrapesEnvpipe = true
					if p != envpipePort {
						t.Errorf("prometheus.yml scrapes envpipe:%s but envpipe listens on %s", p, ecfg.HTTP.Listen)
					}
					if sc.JobName != "envpipe" {
						t.Errorf("prometheus.yml: envpipe's job is %q; the rules and dashboards use job=\"envpipe\"", sc.JobName)
					}
				}
			}
		}
	}
	if !scrapesEnvpipe {
		t.Error("prometheus.yml does not scrape envpipe")
	}
	for _, am := range pc.Alerting.Alertmanagers {
		for _, st := range am.StaticConfigs {
			for _, tg := range st.Targets {
				checkTarget("prometheus.yml alertmanagers", tg)
			}
		}
	}
}

// TestDeployAlertmanagerConfig checks deploy/alertmanager once it exists:
// it parses (amtool check-config), is mounted where the image reads it, and
// every file it reads (passwords, tokens, templates) is mounted into the
// alertmanager service.
func TestDeployAlertmanagerConfig(t *testing.T) {
	dd := deployDir(t)
	file := filepath.Join(dd, "alertmanager", "alertmanager.yml")
	if !exists(file) {
		t.Fatal("deploy/alertmanager/alertmanager.yml is missing")
	}
	amtool := testenv.Require(t, "amtool")
	if out, err := exec.Command(amtool, "check-config", file).CombinedOutput(); err != nil {
		t.Errorf("amtool check-config: %v\n%s", err, out)
	}
	c, _ := loadCompose(t)
	s, ok := c.Services["alertmanager"]
	if !ok {
		t.Fatal("docker-compose.yml: no alertmanager service")
	}
	if _, ok := s.mountFor(t, "/etc/alertmanager/alertmanager.yml"); !ok {
		t.Error("alertmanager: /etc/alertmanager/alertmanager.yml (the image's --config.file) is not mounted")
	}
	var tree any
	readYAML(t, file, &tree)
	var files []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && (strings.HasSuffix(k, "_file") || k == "ca_file" || k == "cert_file" || k == "key_file") {
					files = append(files, s)
				}
				if k == "templates" {
					for _, tp := range asList(e) {
						files = append(files, tp)
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(tree)
	sort.Strings(files)
	for _, f := range slices.Compact(files) {
		if !path.IsAbs(f) {
			f = path.Join("/etc/alertmanager", f)
		}
		if _, ok := s.mountFor(t, f); !ok {
			t.Errorf("alertmanager.yml reads %s, but docker-compose.yml mounts nothing there into the alertmanager service", f)
		}
	}
}

func asList(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			out = append(out, fmt.Sprint(e))
		}
	}
	return out
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// ---------------------------------------------------------------- envpipe check-config

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
	buildOut  []byte
)

// envpipeBinary builds cmd/envpipe once for the package's tests.
func envpipeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "envpipe-deploy-test-")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "envpipe")
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if !exists(gobin) {
			gobin = "go"
		}
		cmd := exec.Command(gobin, "build", "-o", buildBin, "./cmd/envpipe")
		cmd.Dir = testenv.RepoRoot(t)
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/envpipe: %v\n%s", buildErr, buildOut)
	}
	return buildBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildBin != "" {
		os.RemoveAll(filepath.Dir(buildBin))
	}
	os.Exit(code)
}

// checkConfig runs `envpipe check-config` on cfg with exactly env (plus
// PATH and HOME).
func checkConfig(t *testing.T, cfg string, env map[string]string) {
	t.Helper()
	cmd := exec.Command(envpipeBinary(t), "check-config", "-config", cfg)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("envpipe check-config -config %s: %v\n%s", cfg, err, out.String())
		return
	}
	t.Logf("%s", strings.TrimSpace(out.String()))
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDeployComposeEnvpipeConfigChecks lays out /etc/envpipe as the
// container sees it — the image's configs/ (Dockerfile: COPY configs/
// /etc/envpipe/) with the compose mounts over it — and runs check-config
// there with the service's environment.
func TestDeployComposeEnvpipeConfigChecks(t *testing.T) {
	c, _ := loadCompose(t)
	name, s, cfgPath := envpipeService(t, c)
	root := testenv.RepoRoot(t)
	dd := deployDir(t)
	fsRoot := t.TempDir()
	cfgDir := path.Dir(cfgPath)
	if df, err := os.ReadFile(filepath.Join(root, "Dockerfile")); err == nil &&
		regexp.MustCompile(`(?m)^COPY\s+configs/\s+`+regexp.QuoteMeta(cfgDir)+`/?\s*$`).Match(df) {
		files, _ := filepath.Glob(filepath.Join(root, "configs", "*"))
		for _, f := range files {
			copyFile(t, f, filepath.Join(fsRoot, cfgDir, filepath.Base(f)))
		}
	}
	for _, m := range s.mounts(t) {
		if !m.bind || !strings.HasPrefix(m.target, cfgDir+"/") {
			continue
		}
		src := filepath.Join(dd, m.source)
		if fi, err := os.Stat(src); err == nil && !fi.IsDir() {
			copyFile(t, src, filepath.Join(fsRoot, m.target))
		}
	}
	cfg := filepath.Join(fsRoot, cfgPath)
	if !exists(cfg) {
		t.Fatalf("service %s: %s is neither mounted nor in the image", name, cfgPath)
	}
	checkConfig(t, cfg, s.env(t))
}

// ---------------------------------------------------------------- kubernetes

type k8sDoc struct {
	file string
	m    map[string]any
}

func (d k8sDoc) kind() string { s, _ := d.m["kind"].(string); return s }
func (d k8sDoc) name() string { return str(d.m, "metadata", "name") }

func str(m any, keys ...string) string {
	for _, k := range keys {
		mm, ok := m.(map[string]any)
		if !ok {
			return ""
		}
		m = mm[k]
	}
	if m == nil {
		return ""
	}
	return fmt.Sprint(m)
}

func get(m any, keys ...string) any {
	for _, k := range keys {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[k]
	}
	return m
}

func list(m any, keys ...string) []any { l, _ := get(m, keys...).([]any); return l }

// k8sManifests parses every YAML file of deploy/k8s that holds Kubernetes
// objects (the envpipe config, which has no apiVersion, is not one).
func k8sManifests(t *testing.T) []k8sDoc {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(deployDir(t), "k8s", "*.y*ml"))
	var out []k8sDoc
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		var docs []map[string]any
		for {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				if err.Error() == "EOF" {
					break
				}
				t.Fatalf("%s: %v", f, err)
			}
			if m != nil {
				docs = append(docs, m)
			}
		}
		if len(docs) > 0 && docs[0]["apiVersion"] == nil && docs[0]["kind"] == nil {
			continue // not a manifest (envpipe-config.yaml)
		}
		for i, m := range docs {
			d := k8sDoc{file: filepath.Base(f), m: m}
			if str(m, "apiVersion") == "" || d.kind() == "" || d.name() == "" {
				t.Errorf("%s document %d: apiVersion, kind and metadata.name are required", d.file, i+1)
			}
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		t.Fatal("no Kubernetes manifests in deploy/k8s")
	}
	return out
}

// k8sConfigMapFiles reads the documented `kubectl create configmap NAME
// --from-file=...` command of the manifests: key → file (relative to the
// repository root).
func k8sConfigMapFiles(t *testing.T, name string) map[string]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(deployDir(t), "k8s", "*.y*ml"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		var text strings.Builder
		for _, line := range strings.Split(string(raw), "\n") {
			if l := strings.TrimSpace(line); strings.HasPrefix(l, "#") {
				text.WriteString(strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(l, "#")), `\`) + " ")
			} else {
				text.WriteString("\n")
			}
		}
		for _, line := range strings.Split(text.String(), "\n") {
			i := strings.Index(line, "kubectl create configmap "+name+" ")
			if i < 0 {
				continue
			}
			out := map[string]string{}
			for _, m := range regexp.MustCompile(`--from-file=(?:([^=\s]+)=)?(\S+)`).FindAllStringSubmatch(line[i:], -1) {
				key := m[1]
				if key == "" {
					key = filepath.Base(m[2])
				}
				out[key] = m[2]
			}
			return out
		}
	}
	return nil
}

func TestDeployK8sManifests(t *testing.T) {
	docs := k8sManifests(t)
	root := testenv.RepoRoot(t)
	dd := deployDir(t)

	secrets := map[string]map[string]bool{}
	for _, d := range docs {
		if d.kind() == "Secret" {
			keys := map[string]bool{}
			for _, sec := range []string{"data", "stringData"} {
				if m, ok := d.m[sec].(map[string]any); ok {
					for k := range m {
						keys[k] = true
					}
				}
			}
			secrets[d.name()] = keys
		}
	}

	var ecfg struct {
		HTTP struct {
			Listen string `yaml:"listen"`
		} `yaml:"http"`
		WAL struct {
			Dir string `yaml:"dir"`
		} `yaml:"wal"`
	}
	envpipeCfg := filepath.Join(dd, "k8s", "envpipe-config.yaml")
	readYAML(t, envpipeCfg, &ecfg)
	_, httpPort, _ := net.SplitHostPort(ecfg.HTTP.Listen)

	workloads := 0
	for _, d := range docs {
		switch d.kind() {
		case "StatefulSet", "Deployment", "DaemonSet":
		default:
			continue
		}
		workloads++
		where := d.file + " " + d.kind() + "/" + d.name()
		spec := get(d.m, "spec")
		podLabels, _ := get(spec, "template", "metadata", "labels").(map[string]any)
		sel, _ := get(spec, "selector", "matchLabels").(map[string]any)
		for k, v := range sel {
			if podLabels[k] != v {
				t.Errorf("%s: selector %s=%v does not match the pod labels", where, k, v)
			}
		}
		pod := get(spec, "template", "spec")
		volumes := map[string]any{}
		for _, v := range list(pod, "volumes") {
			volumes[str(v, "name")] = v
		}
		claims := map[string]bool{}
		for _, v := range list(spec, "volumeClaimTemplates") {
			claims[str(v, "metadata", "name")] = true
		}
		if str(pod, "securityContext", "runAsNonRoot") != "true" {
			t.Errorf("%s: securityContext.runAsNonRoot is not true (the image runs as nonroot)", where)
		}
		for _, c := range list(pod, "containers") {
			cw := where + " container " + str(c, "name")
			ports := map[string]string{}
			for _, p := range list(c, "ports") {
				ports[str(p, "name")] = str(p, "containerPort")
				ports[str(p, "containerPort")] = str(p, "containerPort")
			}
			for probe, want := range map[string]string{"readinessProbe": "/readyz?exclude=influxdb", "livenessProbe": "/healthz"} {
				if got := str(c, probe, "httpGet", "path"); got != want {
					t.Errorf("%s: %s.httpGet.path = %q, want %s", cw, probe, got, want)
				}
				port := str(c, probe, "httpGet", "port")
				if ports[port] != httpPort {
					t.Errorf("%s: %s port %q is not envpipe's http port %s (http.listen %s)", cw, probe, port, httpPort, ecfg.HTTP.Listen)
				}
			}
			for _, rk := range []string{"requests", "limits"} {
				for _, res := range []string{"cpu", "memory"} {
					if str(c, "resources", rk, res) == "" {
						t.Errorf("%s: resources.%s.%s is not set", cw, rk, res)
					}
				}
			}
			env := map[string]string{}
			for _, e := range list(c, "env") {
				n := str(e, "name")
				switch {
				case get(e, "value") != nil:
					env[n] = k8sExpand(str(e, "value"), env)
				case get(e, "valueFrom", "secretKeyRef") != nil:
					sn, key := str(e, "valueFrom", "secretKeyRef", "name"), str(e, "valueFrom", "secretKeyRef", "key")
					if keys, ok := secrets[sn]; !ok {
						t.Errorf("%s: env %s: secret %s is not in deploy/k8s (not even as an example)", cw, n, sn)
					} else if !keys[key] {
						t.Errorf("%s: env %s: secret %s has no key %s", cw, n, sn, key)
					}
					env[n] = "secret-from-" + sn
				case get(e, "valueFrom", "fieldRef") != nil:
					env[n] = d.name() + "-0"
				default:
					t.Errorf("%s: env %s has neither value nor valueFrom", cw, n)
				}
			}
			args := asList(get(c, "args"))
			cfgPath := "/etc/envpipe/envpipe.yaml"
			if i := slices.Index(args, "-config"); i >= 0 && i+1 < len(args) {
				cfgPath = args[i+1]
			}
			if len(args) == 0 || args[0] != "run" {
				t.Errorf("%s: args %q do not start with run", cw, args)
			}
			walMounted, cfgMounted := false, false
			cm := ""
			for _, vm := range list(c, "volumeMounts") {
				mp, vn := str(vm, "mountPath"), str(vm, "name")
				vol, isVol := volumes[vn]
				if !isVol && !claims[vn] {
					t.Errorf("%s: volumeMount %s: no volume or volumeClaimTemplate %s", cw, mp, vn)
				}
				if rel, err := filepath.Rel(mp, ecfg.WAL.Dir); err == nil && !strings.HasPrefix(rel, "..") {
					walMounted = true
					if !claims[vn] && get(vol, "persistentVolumeClaim") == nil {
						t.Errorf("%s: the WAL (%s) is on volume %s, which is not a persistent volume claim", cw, ecfg.WAL.Dir, vn)
					}
				}
				if mp == path.Dir(cfgPath) {
					cfgMounted = true
					cm = str(vol, "configMap", "name")
				}
			}
			if !walMounted {
				t.Errorf("%s: no volume holds the WAL directory %s", cw, ecfg.WAL.Dir)
			}
			if !cfgMounted || cm == "" {
				t.Errorf("%s: no ConfigMap volume mounted at %s (the -config directory)", cw, path.Dir(cfgPath))
				continue
			}
			// The ConfigMap as the documented kubectl command makes it.
			files := k8sConfigMapFiles(t, cm)
			if files == nil {
				t.Errorf("%s: deploy/k8s documents no `kubectl create configmap %s --from-file=...` command", cw, cm)
				continue
			}
			dir := t.TempDir()
			for key, f := range files {
				src := filepath.Join(root, f)
				if !exists(src) {
					t.Errorf("configmap %s: --from-file %s does not exist", cm, f)
					continue
				}
				copyFile(t, src, filepath.Join(dir, key))
			}
			cfgFile := filepath.Join(dir, path.Base(cfgPath))
			if !exists(cfgFile) {
				t.Errorf("configmap %s has no key %s (the -config file)", cm, path.Base(cfgPath))
				continue
			}
			for _, v := range envpipeEnvNames(t, cfgFile) {
				if env[v] == "" {
					t.Errorf("%s: envpipe reads $%s, which the container's env does not set", cw, v)
				}
			}
			t.Run("check-config", func(t *testing.T) { checkConfig(t, cfgFile, env) })
		}
	}
	if workloads == 0 {
		t.Error("deploy/k8s has no workload (StatefulSet or Deployment)")
	}

	// Services select pods that exist, on ports the pods name.
	for _, d := range docs {
		if d.kind() != "Service" {
			continue
		}
		sel, _ := get(d.m, "spec", "selector").(map[string]any)
		matched := false
		for _, w := range docs {
			labels, _ := get(w.m, "spec", "template", "metadata", "labels").(map[string]any)
			ok := len(sel) > 0
			for k, v := range sel {
				if labels[k] != v {
					ok = false
				}
			}
			if !ok {
				continue
			}
			matched = true
			ports := map[string]bool{}
			for _, c := range list(w.m, "spec", "template", "spec", "containers") {
				for _, p := range list(c, "ports") {
					ports[str(p, "name")] = true
					ports[str(p, "containerPort")] = true
				}
			}
			for _, p := range list(d.m, "spec", "ports") {
				if tp := str(p, "targetPort"); tp != "" && !ports[tp] {
					t.Errorf("%s Service/%s: targetPort %s is not a port of %s", d.file, d.name(), tp, w.name())
				}
			}
		}
		if !matched {
			t.Errorf("%s Service/%s: its selector matches no workload", d.file, d.name())
		}
	}
}

// k8sExpand expands $(VAR) from the variables defined before, as the
// kubelet does.
func k8sExpand(s string, env map[string]string) string {
	return regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := env[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// hostPort returns host and port of a URL ("" port: the scheme's default).
func hostPort(t *testing.T, raw string) (string, string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("url %q: %v", raw, err)
	}
	return u.Hostname(), u.Port()
}
