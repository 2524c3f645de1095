package hj212srv

import (
	"fmt"
	"net"
	"time"

	"github.com/envpipe/envpipe/ingest/hj212"
)

// Config is the `hj212` section of envpipe.yaml.
type Config struct {
	// Listen is the TCP address stations connect to, e.g. ":9212";
	// "" disables the listener (HJ 212 over MQTT still works).
	Listen string `yaml:"listen"`
	// MaxFrameBytes bounds one frame, "##" to CR LF, over TCP and MQTT.
	MaxFrameBytes int `yaml:"max_frame_bytes"`
	// IdleTimeout closes a connection that has sent no complete frame for
	// this long (garbage does not keep it open).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// WriteTimeout bounds each write of answers to a station.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// MaxConnections bounds the stations connected at once; more are
	// closed as soon as they are accepted.
	MaxConnections int `yaml:"max_connections"`
	// MaxInflight bounds the frames of one connection that are read and not
	// yet answered: beyond it envpipe stops reading that connection.
	MaxInflight int `yaml:"max_inflight"`
	// MaxFramesPerSecond bounds the frames read from one connection per
	// second (a burst of one second's worth is allowed); a faster station
	// is slowed down, not cut off. 0 means no limit.
	MaxFramesPerSecond float64 `yaml:"max_frames_per_second"`

	Backfill BackfillConfig `yaml:"backfill"`
}

// BackfillConfig is `hj212.backfill`: asking TCP stations for the minute and
// hourly data of a gap.
type BackfillConfig struct {
	Enabled bool `yaml:"enabled"`
	// MinGap is the shortest silence that is a gap, whatever the station's
	// interval (a gap is longer than max(3 × interval, min_gap)).
	MinGap time.Duration `yaml:"min_gap"`
	// MaxSpan caps what one request asks for: the newest max_span of the gap.
	MaxSpan time.Duration `yaml:"max_span"`
	// Timeout bounds one request, from sending it to the station's 9012.
	Timeout time.Duration `yaml:"timeout"`
}

// DefaultConfig is used where envpipe.yaml is silent: the listener off.
func DefaultConfig() Config {
	return Config{
		MaxFrameBytes:      hj212.DefaultMaxLen,
		IdleTimeout:        10 * time.Minute,
		WriteTimeout:       10 * time.Second,
		MaxConnections:     1024,
		MaxInflight:        64,
		MaxFramesPerSecond: 100,
		Backfill: BackfillConfig{
			Enabled: true,
			MinGap:  5 * time.Minute,
			MaxSpan: 24 * time.Hour,
			Timeout: 2 * time.Minute,
		},
	}
}

// withDefaults fills the zero fields of c with the defaults (a Config built
// in code rather than loaded and validated).
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = d.MaxFrameBytes
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = d.IdleTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = d.MaxConnections
	}
	if c.MaxInflight <= 0 {
		c.MaxInflight = d.MaxInflight
	}
	if c.Backfill.MinGap <= 0 {
		c.Backfill.MinGap = d.Backfill.MinGap
	}
	if c.Backfill.MaxSpan <= 0 {
		c.Backfill.MaxSpan = d.Backfill.MaxSpan
	}
	if c.Backfill.Timeout <= 0 {
		c.Backfill.Timeout = d.Backfill.Timeout
	}
	return c
}

// Validate returns the problems of c, each naming its key.
func (c Config) Validate() []error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("hj212.%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			bad("listen", "%q is not host:port (e.g. \":9212\"): %v", c.Listen, err)
		}
	}
	if c.MaxFrameBytes < 64 || c.MaxFrameBytes > 1<<20 {
		bad("max_frame_bytes", "%d is not in 64..1048576 (the standard's frames are at most 1036 bytes; 10240 admits every length field)", c.MaxFrameBytes)
	}
	if c.IdleTimeout < time.Second {
		bad("idle_timeout", "%v: must be at least 1s", c.IdleTimeout)
	}
	if c.WriteTimeout < 100*time.Millisecond {
		bad("write_timeout", "%v: must be at least 100ms", c.WriteTimeout)
	}
	if c.MaxConnections < 1 {
		bad("max_connections", "%d: must be at least 1", c.MaxConnections)
	}
	if c.MaxInflight < 1 || c.MaxInflight > 65536 {
		bad("max_inflight", "%d is not in 1..65536", c.MaxInflight)
	}
	if c.MaxFramesPerSecond < 0 {
		bad("max_frames_per_second", "%v: must not be negative (0 = no limit)", c.MaxFramesPerSecond)
	}
	if b := c.Backfill; b.Enabled {
		if b.MinGap < time.Second {
			bad("backfill.min_gap", "%v: must be at least 1s", b.MinGap)
		}
		if b.MaxSpan < time.Minute {
			bad("backfill.max_span", "%v: must be at least 1m", b.MaxSpan)
		}
		if b.Timeout < time.Second {
			bad("backfill.timeout", "%v: must be at least 1s", b.Timeout)
		}
	}
	return errs
}
