package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/envpipe/envpipe/internal/testenv"
)

func promtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(testenv.Require(t, "promtool"), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		return
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), strings.TrimSpace(string(out)))
}

// TestDeployPrometheusRules runs promtool on envpipe's self-alert rules and
// their unit tests (CI=true: a missing promtool fails).
func TestDeployPrometheusRules(t *testing.T) {
	dir := filepath.Join(deployDir(t), "prometheus")
	promtool(t, dir, "check", "rules", "envpipe-rules.yml")
	promtool(t, dir, "test", "rules", "envpipe-rules.test.yml")
	promtool(t, dir, "check", "config", "--syntax-only", "prometheus.yml")
}

// promVarRef is a Grafana variable reference in a PromQL expression.
var promVarRef = regexp.MustCompile(`\$\{?(\w+)(?::\w+)?\}?|\[\[\w+(?::\w+)?\]\]`)

// TestDeployDashboardPromQLParses has promtool parse every PromQL expression
// of the dashboards (panel targets, variable queries, annotations), with
// Grafana's variables replaced by plausible values, as recording rules.
func TestDeployDashboardPromQLParses(t *testing.T) {
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	where := map[string]string{}
	dss := grafanaDatasources(t)
	isProm := func(ref any) bool { return dss[str(ref, "uid")].Type == "prometheus" }
	add := func(w, expr string) {
		expr = strings.TrimSpace(expr)
		if m := regexp.MustCompile(`^label_values\((.*),\s*\w+\s*\)$`).FindStringSubmatch(expr); m != nil {
			expr = m[1]
		} else if regexp.MustCompile(`^label_values\(\s*\w+\s*\)$`).MatchString(expr) {
			return
		} else if m := regexp.MustCompile(`^query_result\((.*)\)$`).FindStringSubmatch(expr); m != nil {
			expr = m[1]
		}
		expr = promVarRef.ReplaceAllStringFunc(expr, func(v string) string {
			switch strings.Trim(v, "${}[]") {
			case "__rate_interval", "__interval", "interval", "__range":
				return "5m"
			case "__interval_ms", "__range_ms":
				return "300000"
			case "__range_s":
				return "300"
			}
			return ".+"
		})
		name := fmt.Sprintf("dashboard:expr_%d", len(rules)+1)
		where[name] = w
		rules = append(rules, rule{name, expr})
	}
	for _, d := range loadDashboards(t) {
		for _, p := range d.panels() {
			for _, tg := range list(p, "targets") {
				ds := get(tg, "datasource")
				if ds == nil {
					ds = get(p, "datasource")
				}
				if isProm(ds) {
					add(fmt.Sprintf("%s panel %s target %s", d.file, str(p, "id"), str(tg, "refId")), str(tg, "expr"))
				}
			}
		}
		for _, v := range list(d.m, "templating", "list") {
			if str(v, "type") == "query" && isProm(get(v, "datasource")) {
				q := str(v, "query", "query")
				if q == "" {
					q = str(v, "query")
				}
				add(fmt.Sprintf("%s variable %s", d.file, str(v, "name")), q)
			}
		}
		for _, a := range list(d.m, "annotations", "list") {
			if isProm(get(a, "datasource")) {
				add(fmt.Sprintf("%s annotation %s", d.file, str(a, "name")), str(a, "expr"))
			}
		}
	}
	if len(rules) == 0 {
		t.Fatal("no PromQL in the dashboards")
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboards", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboards-rules.yml")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.Require(t, "promtool"), "check", "rules", file)
	out, err := cmd.CombinedOutput()
	if err != nil {
		w, _ := json.MarshalIndent(where, "", "  ")
		t.Errorf("promtool check rules (dashboard expressions): %v\n%s\nrecord names:\n%s", err, out, w)
		return
	}
	t.Logf("%d dashboard expressions parse", len(rules))
}
