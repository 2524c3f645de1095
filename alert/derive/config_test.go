package derive

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/envpipe/envpipe/ingest/station"
)

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	if errs := c.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if !c.IsEnabled() || c.Lateness != 2*time.Hour || c.Edition != "auto" || c.Location != "Asia/Shanghai" {
		t.Fatalf("defaults: %+v", c)
	}
	if !(Config{}).IsEnabled() {
		t.Error("nil Enabled must mean enabled")
	}
}

func TestConfigValidateNamesKeys(t *testing.T) {
	off := false
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string // substring of the only error; "" = valid
	}{
		{"pin 2012", func(c *Config) { c.Edition = "2012" }, ""},
		{"pin HJ 633-2026", func(c *Config) { c.Edition = "HJ 633-2026" }, ""},
		{"bad edition", func(c *Config) { c.Edition = "2019" }, "derive.edition"},
		{"negative lateness", func(c *Config) { c.Lateness = -time.Second }, "derive.lateness"},
		{"huge lateness", func(c *Config) { c.Lateness = 25 * time.Hour }, "derive.lateness"},
		{"zero lateness", func(c *Config) { c.Lateness = 0 }, ""},
		{"utc", func(c *Config) { c.Location = "UTC" }, ""},
		{"UTC+8", func(c *Config) { c.Location = "UTC+8" }, ""},
		{"+05:30", func(c *Config) { c.Location = "+05:30" }, ""},
		{"IANA zone with DST", func(c *Config) { c.Location = "Europe/Berlin" }, "derive.location"},
		{"bad offset", func(c *Config) { c.Location = "UTC+8:7" }, "derive.location"},
		{"disabled", func(c *Config) { c.Enabled = &off }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			errs := c.Validate()
			if tc.want == "" {
				if len(errs) > 0 {
					t.Fatal(errs)
				}
				return
			}
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tc.want+":") {
				t.Fatalf("errors %v, want one starting with %s:", errs, tc.want)
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	c := DefaultConfig()
	if err := yaml.Unmarshal([]byte("edition: \"2012\"\nlateness: 90m\nlocation: UTC+8\nenabled: false\n"), &c); err != nil {
		t.Fatal(err)
	}
	if c.Edition != "2012" || c.Lateness != 90*time.Minute || c.Location != "UTC+8" || c.IsEnabled() {
		t.Fatalf("%+v", c)
	}
}

func TestLocationOffsets(t *testing.T) {
	for in, want := range map[string]int{
		"Asia/Shanghai": 8 * 3600, "": 8 * 3600, "UTC+8": 8 * 3600, "+08:00": 8 * 3600, "UTC+0800": 8 * 3600,
		"UTC": 0, "UTC-3": -3 * 3600, "+05:30": 5*3600 + 1800,
	} {
		loc, err := parseLocation(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if _, off := time.Unix(0, 0).In(loc).Zone(); off != want {
			t.Errorf("%q: offset %d, want %d", in, off, want)
		}
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := New(Config{Edition: "x"}, nil, func([]byte) {}, nil); err == nil {
		t.Error("bad config accepted")
	}
	if _, err := New(DefaultConfig(), nil, nil, nil); err == nil {
		t.Error("nil emit accepted")
	}
	bad := waterStation("w", "VI", "river")
	if _, err := New(DefaultConfig(), nil, func([]byte) {}, nil); err != nil {
		t.Error(err)
	}
	if _, err := New(DefaultConfig(), []*station.Station{bad}, func([]byte) {}, nil); err == nil {
		t.Error("water station with target class VI accepted")
	}
}
