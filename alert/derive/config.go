package derive

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/envpipe/envpipe/alert/aqi"
)

// Config is the `derive` section of envpipe.yaml.
type Config struct {
	// Enabled turns derivation on (the default) or off.
	Enabled *bool `yaml:"enabled"`
	// Edition pins the HJ 633 edition: "auto" (the default: the edition in
	// force at each hour's or day's start), "2012" or "2026".
	Edition string `yaml:"edition"`
	// Lateness is how long after an hour (or day) ends, on the station's
	// clock (see the package documentation), a reading may still arrive and
	// recompute it. Older readings are stored but derive nothing. 0 turns
	// recomputation off; at most 24h, which bounds the minute data kept.
	Lateness time.Duration `yaml:"lateness"`
	// Location is the zone hours and days are counted in: "Asia/Shanghai"
	// (the default; China Standard Time, taken as the fixed offset UTC+8,
	// which China has kept without daylight saving since 1991, so no tzdata
	// is needed) or a fixed offset such as "UTC", "UTC+8", "+08:00".
	Location string `yaml:"location"`
}

// DefaultLateness is the default Config.Lateness.
const DefaultLateness = 2 * time.Hour

// maxLateness bounds Config.Lateness: the minute data of every hour still
// within lateness is kept in memory.
const maxLateness = 24 * time.Hour

// DefaultConfig is the configuration used when envpipe.yaml is silent.
func DefaultConfig() Config {
	on := true
	return Config{Enabled: &on, Edition: "auto", Lateness: DefaultLateness, Location: "Asia/Shanghai"}
}

// IsEnabled reports whether derivation is on (nil Enabled means on).
func (c Config) IsEnabled() bool { return c.Enabled == nil || *c.Enabled }

// Validate returns the problems of c, each naming its key as derive.<key>.
func (c Config) Validate() []error {
	var errs []error
	if _, err := aqi.ParseEdition(c.Edition); err != nil {
		errs = append(errs, fmt.Errorf("derive.edition: %q is not auto, 2012 or 2026", c.Edition))
	}
	if c.Lateness < 0 || c.Lateness > maxLateness {
		errs = append(errs, fmt.Errorf("derive.lateness: %v is not in 0..%v", c.Lateness, maxLateness))
	}
	if _, err := parseLocation(c.Location); err != nil {
		errs = append(errs, fmt.Errorf("derive.location: %v", err))
	}
	return errs
}

// chinaOffset is China Standard Time, UTC+8.
const chinaOffset = 8 * 60 * 60

// parseLocation turns Config.Location into a fixed zone. Only fixed
// offsets are accepted: hours and days must be 1 h and 24 h long, and the
// machine may lack tzdata.
func parseLocation(s string) (*time.Location, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "", "asia/shanghai", "asia/chongqing", "asia/harbin", "prc", "cst", "china", "beijing":
		return time.FixedZone("CST", chinaOffset), nil
	case "utc", "z", "etc/utc", "gmt":
		return time.UTC, nil
	}
	u := strings.TrimPrefix(strings.TrimPrefix(strings.ToUpper(t), "UTC"), "GMT")
	if u == "" || (u[0] != '+' && u[0] != '-') {
		return nil, fmt.Errorf("%q is not Asia/Shanghai, UTC or a fixed offset such as UTC+8 or +08:00", s)
	}
	sign := 1
	if u[0] == '-' {
		sign = -1
	}
	hs, ms, hasMin := strings.Cut(u[1:], ":")
	if !hasMin && len(hs) == 4 {
		hs, ms, hasMin = hs[:2], hs[2:], true
	}
	h, err := strconv.Atoi(hs)
	if err != nil || h < 0 || h > 14 {
		return nil, fmt.Errorf("%q: bad hour offset", s)
	}
	m := 0
	if hasMin {
		if m, err = strconv.Atoi(ms); err != nil || m < 0 || m > 59 || len(ms) != 2 {
			return nil, fmt.Errorf("%q: bad minute offset", s)
		}
	}
	off := sign * (h*3600 + m*60)
	if off == chinaOffset {
		return time.FixedZone("CST", off), nil
	}
	return time.FixedZone(fmt.Sprintf("UTC%+03d:%02d", sign*h, m), off), nil
}
