package deploy

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert"
	"github.com/envpipe/envpipe/alert/aqi"
	"github.com/envpipe/envpipe/alert/limits"
)

type grafanaDatasource struct {
	Name           string         `yaml:"name"`
	UID            string         `yaml:"uid"`
	Type           string         `yaml:"type"`
	Access         string         `yaml:"access"`
	URL            string         `yaml:"url"`
	JSONData       map[string]any `yaml:"jsonData"`
	SecureJSONData map[string]any `yaml:"secureJsonData"`
}

func grafanaDatasources(t *testing.T) map[string]grafanaDatasource {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(deployDir(t), "grafana", "provisioning", "datasources", "*.y*ml"))
	if len(files) == 0 {
		t.Fatal("no deploy/grafana/provisioning/datasources/*.yaml")
	}
	out := map[string]grafanaDatasource{}
	for _, f := range files {
		var p struct {
			APIVersion  int                 `yaml:"apiVersion"`
			Datasources []grafanaDatasource `yaml:"datasources"`
		}
		readYAML(t, f, &p)
		if p.APIVersion != 1 {
			t.Errorf("%s: apiVersion %d, want 1", f, p.APIVersion)
		}
		for _, ds := range p.Datasources {
			if ds.UID == "" || ds.Type == "" || ds.Name == "" || ds.URL == "" {
				t.Errorf("%s: data source %+v: name, uid, type and url are required (the dashboards use fixed uids)", f, ds)
			}
			if _, dup := out[ds.UID]; dup {
				t.Errorf("%s: data source uid %s twice", f, ds.UID)
			}
			out[ds.UID] = ds
		}
	}
	return out
}

// grafanaEnvRef matches the $VAR / ${VAR} Grafana expands in provisioning.
var grafanaEnvRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

func TestDeployGrafanaProvisioning(t *testing.T) {
	dd := deployDir(t)
	c, _ := loadCompose(t)
	g, ok := c.Services["grafana"]
	if !ok {
		t.Fatal("docker-compose.yml: no grafana service")
	}
	env := g.env(t)

	// Mounted where Grafana reads provisioning, from this directory.
	prov, ok := g.mountFor(t, "/etc/grafana/provisioning")
	if !ok || filepath.Clean(prov) != filepath.Join("grafana", "provisioning") {
		t.Errorf("grafana: /etc/grafana/provisioning is mounted from %q, want ./grafana/provisioning", prov)
	}

	// Every variable of the provisioning files is set for the container.
	provFiles, _ := filepath.Glob(filepath.Join(dd, "grafana", "provisioning", "*", "*.y*ml"))
	for _, f := range provFiles {
		raw, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			for _, m := range grafanaEnvRef.FindAllStringSubmatch(line, -1) {
				if env[m[1]] == "" {
					t.Errorf("%s uses $%s, which the grafana service's environment does not set", filepath.Base(f), m[1])
				}
			}
		}
	}

	dss := grafanaDatasources(t)
	var influx, prom *grafanaDatasource
	for _, ds := range dss {
		ds := ds
		h, p := hostPort(t, ds.URL)
		if _, ok := c.Services[h]; !ok {
			t.Errorf("data source %s: url %s: no compose service %s", ds.UID, ds.URL, h)
		} else if !slices.Contains(dependsOn(g.DependsOn), h) {
			t.Errorf("grafana does not depend_on %s (data source %s)", h, ds.UID)
		}
		switch ds.Type {
		case "influxdb":
			influx = &ds
			if p != "8086" {
				t.Errorf("influxdb data source on port %q, want 8086", p)
			}
		case "prometheus":
			prom = &ds
			if p != "9090" {
				t.Errorf("prometheus data source on port %q, want 9090", p)
			}
		}
	}
	if influx == nil || prom == nil {
		t.Fatal("want one influxdb and one prometheus data source")
	}

	// InfluxQL against InfluxDB 2 through the DBRP mapping of dbrp.sh, with
	// the token envpipe writes with.
	db, _ := influx.JSONData["dbName"].(string)
	dbrp, err := os.ReadFile(filepath.Join(dd, "influxdb", "dbrp.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if db == "" || !strings.Contains(string(dbrp), "--db "+db+" ") {
		t.Errorf("influxdb data source: jsonData.dbName %q is not the database dbrp.sh maps (--db)", db)
	}
	if v, _ := influx.JSONData["version"].(string); v != "" && v != "InfluxQL" {
		t.Errorf("influxdb data source: version %q, the dashboards are InfluxQL", v)
	}
	if influx.JSONData["httpHeaderName1"] != "Authorization" {
		t.Error("influxdb data source: jsonData.httpHeaderName1 must be Authorization (InfluxDB 2 token)")
	}
	hv, _ := influx.SecureJSONData["httpHeaderValue1"].(string)
	m := regexp.MustCompile(`^Token \$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$`).FindStringSubmatch(hv)
	if m == nil {
		t.Errorf("influxdb data source: secureJsonData.httpHeaderValue1 = %q, want \"Token $VAR\"", hv)
	} else {
		_, es, _ := envpipeService(t, c)
		if env[m[1]] == "" || env[m[1]] != es.env(t)["ENVPIPE_INFLUX_TOKEN"] {
			t.Errorf("grafana's $%s (%q) is not the token envpipe writes with (%q)", m[1], env[m[1]], es.env(t)["ENVPIPE_INFLUX_TOKEN"])
		}
	}
	if ti, _ := prom.JSONData["timeInterval"].(string); ti != "" {
		var pc struct {
			Global struct {
				ScrapeInterval string `yaml:"scrape_interval"`
			} `yaml:"global"`
		}
		readYAML(t, filepath.Join(dd, "prometheus", "prometheus.yml"), &pc)
		if ti != pc.Global.ScrapeInterval {
			t.Errorf("prometheus data source timeInterval %s != prometheus.yml scrape_interval %s", ti, pc.Global.ScrapeInterval)
		}
	}

	// The dashboard provider reads the directory compose mounts from
	// grafana/dashboards.
	files, _ := filepath.Glob(filepath.Join(dd, "grafana", "provisioning", "dashboards", "*.y*ml"))
	if len(files) == 0 {
		t.Fatal("no deploy/grafana/provisioning/dashboards/*.yaml")
	}
	for _, f := range files {
		var p struct {
			APIVersion int `yaml:"apiVersion"`
			Providers  []struct {
				Name    string `yaml:"name"`
				Type    string `yaml:"type"`
				Options struct {
					Path string `yaml:"path"`
				} `yaml:"options"`
			} `yaml:"providers"`
		}
		readYAML(t, f, &p)
		if p.APIVersion != 1 || len(p.Providers) == 0 {
			t.Errorf("%s: want apiVersion 1 and a provider", f)
		}
		for _, pr := range p.Providers {
			if pr.Type != "file" {
				t.Errorf("%s: provider %s: type %q, want file", f, pr.Name, pr.Type)
			}
			host, ok := g.mountFor(t, pr.Options.Path)
			if !ok {
				t.Errorf("%s: provider %s reads %s, which is not mounted into grafana", f, pr.Name, pr.Options.Path)
				continue
			}
			if filepath.Clean(host) != filepath.Join("grafana", "dashboards") {
				t.Errorf("%s: provider %s reads %s, mounted from %s, want ./grafana/dashboards", f, pr.Name, pr.Options.Path, host)
			}
			if js, _ := filepath.Glob(filepath.Join(dd, host, "*.json")); len(js) == 0 {
				t.Errorf("%s: no dashboards in %s", f, host)
			}
		}
	}
}

type dashboardFile struct {
	file string
	raw  []byte
	m    map[string]any
}

func loadDashboards(t *testing.T) []dashboardFile {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(deployDir(t), "grafana", "dashboards", "*.json"))
	if len(files) == 0 {
		t.Fatal("no dashboards in deploy/grafana/dashboards")
	}
	var out []dashboardFile
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		out = append(out, dashboardFile{filepath.Base(f), raw, m})
	}
	return out
}

func (d dashboardFile) panels() []any {
	var out []any
	var walk func([]any)
	walk = func(l []any) {
		for _, p := range l {
			out = append(out, p)
			walk(list(p, "panels"))
		}
	}
	walk(list(d.m, "panels"))
	return out
}

func (d dashboardFile) panel(id string) any {
	for _, p := range d.panels() {
		if str(p, "id") == id {
			return p
		}
	}
	return nil
}

func (d dashboardFile) variable(name string) any {
	for _, v := range list(d.m, "templating", "list") {
		if str(v, "name") == name {
			return v
		}
	}
	return nil
}

var knownPanelTypes = map[string]bool{"row": true, "timeseries": true, "stat": true, "table": true, "geomap": true,
	"state-timeline": true, "gauge": true, "bargauge": true, "barchart": true, "text": true}

func TestDeployDashboardsStructure(t *testing.T) {
	dss := grafanaDatasources(t)
	dashboards := loadDashboards(t)
	uids := map[string]string{}
	titles := map[string]string{}
	for _, d := range dashboards {
		uid, title := str(d.m, "uid"), str(d.m, "title")
		if !regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`).MatchString(uid) {
			t.Errorf("%s: uid %q is not a fixed uid (1-40 of a-z A-Z 0-9 _ -)", d.file, uid)
		}
		if title == "" {
			t.Errorf("%s: no title", d.file)
		}
		if f, dup := uids[uid]; dup {
			t.Errorf("%s and %s share uid %s", f, d.file, uid)
		}
		if f, dup := titles[title]; dup {
			t.Errorf("%s and %s share title %q", f, d.file, title)
		}
		uids[uid], titles[title] = d.file, d.file
		if get(d.m, "id") != nil {
			t.Errorf("%s: id must be null for provisioning", d.file)
		}
		if v, _ := get(d.m, "schemaVersion").(float64); v < 36 {
			t.Errorf("%s: schemaVersion %v, want ≥ 36 (datasource references by uid)", d.file, v)
		}
		if str(d.m, "time", "from") == "" || str(d.m, "time", "to") == "" {
			t.Errorf("%s: no default time range", d.file)
		}
		if !slices.Contains(asList(get(d.m, "tags")), "envpipe") {
			t.Errorf("%s: not tagged envpipe (the dashboards link each other by that tag)", d.file)
		}
		if strings.Contains(string(d.raw), "${DS_") || strings.Contains(string(d.raw), "__inputs") {
			t.Errorf("%s: an export for sharing (${DS_...} inputs); provisioning needs the data source uids", d.file)
		}

		// Every data source reference is a provisioned uid of the right type.
		var walk func(where string, v any)
		walk = func(where string, v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					if k == "datasource" {
						checkDatasourceRef(t, d.file+" "+where, e, dss)
					}
					walk(where, e)
				}
			case []any:
				for _, e := range x {
					walk(where, e)
				}
			}
		}
		walk("", d.m)

		// Panels: unique ids, known types, queries with refIds.
		ids := map[string]bool{}
		for _, p := range d.panels() {
			id, typ := str(p, "id"), str(p, "type")
			where := fmt.Sprintf("%s panel %s %q", d.file, id, str(p, "title"))
			if id == "" || ids[id] {
				t.Errorf("%s: missing or duplicate id", where)
			}
			ids[id] = true
			if !knownPanelTypes[typ] {
				t.Errorf("%s: panel type %q", where, typ)
			}
			if get(p, "gridPos") == nil {
				t.Errorf("%s: no gridPos", where)
			}
			if typ == "row" {
				continue
			}
			if str(p, "datasource", "uid") == "" {
				t.Errorf("%s: no panel datasource", where)
			}
			targets := list(p, "targets")
			if len(targets) == 0 {
				t.Errorf("%s: no queries", where)
			}
			refs := map[string]bool{}
			for _, tg := range targets {
				ref := str(tg, "refId")
				if ref == "" || refs[ref] {
					t.Errorf("%s: missing or duplicate refId %q", where, ref)
				}
				refs[ref] = true
				checkQueryText(t, where+" "+ref, tg, dss)
			}
		}
		for _, a := range list(d.m, "annotations", "list") {
			if str(a, "builtIn") == "1" {
				continue
			}
			q := a
			if tg := get(a, "target"); tg != nil && get(a, "datasource", "type") == "influxdb" {
				q = tg
			}
			if get(q, "datasource") == nil {
				q.(map[string]any)["datasource"] = get(a, "datasource")
			}
			checkQueryText(t, fmt.Sprintf("%s annotation %q", d.file, str(a, "name")), q, dss)
		}
		for _, v := range list(d.m, "templating", "list") {
			if str(v, "type") == "query" && get(v, "datasource") == nil {
				t.Errorf("%s variable %s: no datasource", d.file, str(v, "name"))
			}
		}
	}

	// envpipe's alerts link to these dashboards: generatorURL =
	// grafana_url + grafana_dashboards[kind] + ?var-station=…&var-param=….
	byUID := map[string]dashboardFile{}
	for _, d := range dashboards {
		byUID[str(d.m, "uid")] = d
	}
	for kind, p := range alert.DefaultConfig().Dashboards {
		m := regexp.MustCompile(`^/d/([^/?]+)`).FindStringSubmatch(p)
		if m == nil {
			t.Errorf("alert.DefaultConfig().Dashboards[%s] = %q is not /d/<uid>/...", kind, p)
			continue
		}
		d, ok := byUID[m[1]]
		if !ok {
			t.Errorf("alerts of %s stations link to dashboard uid %s, which deploy/grafana/dashboards does not have", kind, m[1])
			continue
		}
		for _, v := range []string{"station", "param"} {
			if d.variable(v) == nil {
				t.Errorf("%s: no variable %s, which alert links set (var-%s)", d.file, v, v)
			}
		}
	}
}

func checkDatasourceRef(t *testing.T, where string, ref any, dss map[string]grafanaDatasource) {
	t.Helper()
	switch r := ref.(type) {
	case map[string]any:
		uid, typ := str(r, "uid"), str(r, "type")
		if typ == "grafana" || typ == "datasource" || uid == "-- Grafana --" {
			return
		}
		ds, ok := dss[uid]
		if !ok {
			t.Errorf("%s: data source uid %q is not provisioned", where, uid)
		} else if typ != "" && typ != ds.Type {
			t.Errorf("%s: data source %s has type %s, not %s", where, uid, ds.Type, typ)
		}
	case nil:
	default:
		t.Errorf("%s: data source reference %v: use {type, uid}", where, ref)
	}
}

func checkQueryText(t *testing.T, where string, q any, dss map[string]grafanaDatasource) {
	t.Helper()
	typ := dss[str(q, "datasource", "uid")].Type
	switch typ {
	case "influxdb":
		text := str(q, "query")
		if str(q, "rawQuery") != "true" || text == "" {
			t.Errorf("%s: InfluxQL targets must be raw queries (rawQuery: true, query)", where)
		}
		if !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(text)), "SHOW") && !strings.Contains(text, "$timeFilter") {
			t.Errorf("%s: no $timeFilter in %q", where, text)
		}
	case "prometheus":
		if str(q, "expr") == "" {
			t.Errorf("%s: no expr", where)
		}
	}
}

// TestDeployDashboardsCarryTheStandards checks the figures the dashboards
// show against the packages that compute alerts: plan targets and GB 3095
// 24-hour limits as threshold lines, HJ 633 level colours, the 83 %
// good-days target.
func TestDeployDashboardsCarryTheStandards(t *testing.T) {
	byUID := map[string]dashboardFile{}
	for _, d := range loadDashboards(t) {
		byUID[str(d.m, "uid")] = d
	}
	air, ok := byUID["envpipe-air"]
	if !ok {
		t.Fatal("no dashboard envpipe-air")
	}
	thresholds := func(p any, path ...string) []float64 {
		var out []float64
		for _, s := range list(p, path...) {
			if v, ok := get(s, "value").(float64); ok {
				out = append(out, v)
			}
		}
		sort.Float64s(out)
		return out
	}
	at2012 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	at2026 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct{ id, param string }{{"4", "pm25"}, {"5", "pm10"}} {
		p := air.panel(c.id)
		if p == nil {
			t.Errorf("air dashboard: no panel %s (%s)", c.id, c.param)
			continue
		}
		got := thresholds(p, "fieldConfig", "defaults", "thresholds", "steps")
		plan, _ := limits.Limit(limits.ZhuzhouPlan, c.param, limits.Annual, limits.GradeII, at2026)
		d2012, _ := limits.Limit(limits.GB3095v2012, c.param, limits.Mean24h, limits.GradeII, at2012)
		d2026, _ := limits.Limit(limits.GB3095v2026Transitional, c.param, limits.Mean24h, limits.GradeII, at2026)
		if want := []float64{plan, d2026, d2012}; !slices.Equal(got, want) {
			t.Errorf("air panel %s (%s): threshold lines %v, want plan %v, GB 3095-2026 24 h %v, GB 3095-2012 24 h %v", c.id, c.param, got, plan, d2026, d2012)
		}
		if str(p, "fieldConfig", "defaults", "custom", "thresholdsStyle", "mode") != "line" {
			t.Errorf("air panel %s: thresholds are not drawn as lines", c.id)
		}
	}
	// AQI colours: thresholds at each level's lower bound, mappings of level.
	want := map[string]string{}
	for l := aqi.Level(1); l <= 6; l++ {
		low, _ := l.Range()
		if l == 1 {
			low = 0
		}
		want[fmt.Sprint(low)] = l.Color().Hex
	}
	for _, id := range []string{"1", "2"} {
		p := air.panel(id)
		got := map[string]string{}
		for _, s := range list(p, "fieldConfig", "defaults", "thresholds", "steps") {
			v := str(s, "value")
			if v == "" {
				v = "0"
			}
			got[v] = strings.ToUpper(str(s, "color"))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("air panel %s: AQI thresholds %v, want HJ 633 levels %v", id, got, want)
		}
	}
	for l := aqi.Level(1); l <= 6; l++ {
		if !strings.Contains(string(air.raw), l.Category()) {
			t.Errorf("air dashboard: level %d is not named %s anywhere", l, l.Category())
		}
	}
	for _, v := range []string{"county", "station"} {
		if air.variable(v) == nil {
			t.Errorf("air dashboard: no %s variable", v)
		}
	}
	if water, ok := byUID["envpipe-water"]; !ok {
		t.Error("no dashboard envpipe-water")
	} else {
		for _, v := range []string{"river", "section", "station"} {
			if water.variable(v) == nil {
				t.Errorf("water dashboard: no %s variable", v)
			}
		}
	}
	comp, ok := byUID["envpipe-compliance"]
	if !ok {
		t.Fatal("no dashboard envpipe-compliance")
	}
	gd, _ := limits.GoodDaysTarget(limits.ZhuzhouPlan)
	if got := thresholds(comp.panel("3"), "fieldConfig", "defaults", "thresholds", "steps"); !slices.Equal(got, []float64{gd}) {
		t.Errorf("compliance panel 3: good-days threshold %v, want %v", got, gd)
	}
	for id, p := range map[string]string{"1": "pm25", "2": "pm10"} {
		plan, _ := limits.Limit(limits.ZhuzhouPlan, p, limits.Annual, limits.GradeII, at2026)
		if got := thresholds(comp.panel(id), "fieldConfig", "defaults", "thresholds", "steps"); !slices.Equal(got, []float64{plan}) {
			t.Errorf("compliance panel %s: %s threshold %v, want %v", id, p, got, plan)
		}
	}
}

// TestDeployPrometheusRuleLinks checks the links of the Prometheus
// self-alerts to the dashboards (STYLE 14): an annotation with a Grafana
// URL must name an existing dashboard uid and, with viewPanel, one of its
// panels.
func TestDeployPrometheusRuleLinks(t *testing.T) {
	byUID := map[string]dashboardFile{}
	for _, d := range loadDashboards(t) {
		byUID[str(d.m, "uid")] = d
	}
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, filepath.Join(deployDir(t), "prometheus", "envpipe-rules.yml"), &rf)
	links, alerts := 0, 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			for k, v := range r.Annotations {
				m := regexp.MustCompile(`/d/([A-Za-z0-9_-]+)[^\s"]*`).FindStringSubmatch(v)
				if m == nil {
					continue
				}
				links++
				d, ok := byUID[m[1]]
				if !ok {
					t.Errorf("rule %s annotation %s links to dashboard %s, which does not exist", r.Alert, k, m[1])
					continue
				}
				u, err := url.Parse(strings.ReplaceAll(strings.ReplaceAll(m[0], "{{", ""), "}}", ""))
				if err != nil {
					t.Errorf("rule %s annotation %s: %v", r.Alert, k, err)
					continue
				}
				if vp := u.Query().Get("viewPanel"); vp != "" && d.panel(vp) == nil {
					t.Errorf("rule %s annotation %s: dashboard %s has no panel %s", r.Alert, k, m[1], vp)
				}
			}
		}
	}
	if links < alerts {
		t.Errorf("%d of %d Prometheus alerts link to a dashboard panel (deploy/grafana/README.md lists the panel of each)", links, alerts)
	}
}
