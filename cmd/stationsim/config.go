package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"
)

// Environment variables read for secrets, so they stay off the command line.
const (
	envPassword        = "STATIONSIM_MQTT_PASSWORD"
	envStationPassword = "STATIONSIM_STATION_PASSWORD"
)

// config is everything the command line sets.
type config struct {
	Stations        string
	Broker          string
	Username        string
	Password        string
	PerStationAuth  bool
	StationPassword string
	ClientID        string
	Topic           string
	Interval        time.Duration
	Speed           float64
	Live            bool
	Start           time.Time // zero: now
	Duration        time.Duration
	Count           int64
	Seed            uint64
	Silent          []string
	Faulty          []string
	Episodes        []string
	Batch           int
	Conns           int
	Window          int
	Drain           time.Duration
	LogLevel        slog.Level
	HJ212           hj212Options // HJ 212 mode (hj212.go)

	// Log receives the logs; nil discards them. Not a flag.
	Log *slog.Logger
}

const usageHead = `Usage: stationsim [flags]

Publishes simulated readings for every station of a registry over MQTT
(QoS 1), as the JSON payload of DESIGN.md, each station at its own interval
on a simulated clock. Values are plausible (diurnal PM with rush-hour peaks,
afternoon ozone, Zhuzhou's climate; water sections mostly within GB 3838
Class II with some items near the Class II limit) and the same for the same
-seed, -start and flags. For demos, tests and load.

Examples:
  stationsim -speed 60 -duration 10m
  stationsim -per-station-auth -station-password 'pw-{station}' \
      -silent zz-air-0901 -faulty zz-air-0202:pm10:D \
      -episode 'zz-air-0301:pm25+pm10:2026-11-28T08:00:00+08:00:6h:2.5'
  stationsim -speed 1e6 -count 200000 -conns 4 -batch 10     # load

Flags:
`

const usageTail = `
Scenario syntax (-silent, -faulty and -episode may be repeated, and take
comma-separated lists):
  -silent ID[,ID...]
      These stations never publish (in -per-station-auth mode they do not
      even connect), so envpipe's stale-station alerts fire for them.
  -faulty STATION:PARAMS:FLAG
      Every value of PARAMS from STATION carries the HJ 212 data flag FLAG
      in "flags" (values stay as modelled). FLAG is one of F (stopped),
      M (maintenance), S (manually set), D (fault), C (calibration),
      T (over range), B (communication abnormal).
      e.g. zz-air-0202:pm10:D   zz-wat-xj02:nh3n+tp:M   zz-air-0101:*:C
  -episode STATION:PARAMS:START:DURATION:FACTOR
      Multiplies PARAMS of STATION by FACTOR for readings stamped in
      [START, START+DURATION) of simulated time; overlapping episodes
      multiply.
      START     RFC 3339 time (2026-11-28T08:00:00+08:00), or +DURATION
                after the simulated start (-start), e.g. +30m
      DURATION  Go duration of simulated time: 90m, 6h, 48h
      FACTOR    number above 0: 2.5 raises, 0.5 lowers (e.g. do)
      e.g. zz-air-0301:pm10:2026-11-28T08:00:00+08:00:6h:2.5
           '*:pm25+pm10:+1h:12h:3'   (every air station)
  STATION is a station id or * (every station that measures PARAMS);
  PARAMS is a parameter name, several joined with +, or * (all of the
  station's; -faulty only).

Payload: {"station":ID,"time":RFC 3339 +08:00,"values":{param:number},
"flags":{param:flag}} (flags only when not N); with -batch N, a JSON array
of N consecutive readings of one station. Units are DESIGN.md's canonical
ones (µg/m³, CO mg/m³, water mg/L).

Timing: each station's first reading is stamped with the latest multiple of
its interval (local +08:00 time) at or before -start and sent at once; the
next ones one interval apart, sent when the simulated clock reaches them.
Simulated time runs -speed times as fast as wall time.

Environment: ` + envPassword + ` (for -password), ` + envStationPassword + `
(for -station-password).
`

// parseFlags parses the command line. getenv supplies the passwords when
// their flags are not given. Usage and errors go to stderr; -h returns
// flag.ErrHelp.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	cfg := config{}
	fs := flag.NewFlagSet("stationsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
		fmt.Fprint(stderr, usageTail)
		fmt.Fprint(stderr, hj212Usage)
	}
	fs.StringVar(&cfg.Stations, "stations", "configs/stations.yaml", "station registry `file`")
	fs.StringVar(&cfg.Broker, "broker", "tcp://127.0.0.1:1883", "MQTT broker `URL` (tcp://, ssl://, ws://)")
	fs.StringVar(&cfg.Username, "username", "", "MQTT username for the shared connections")
	fs.StringVar(&cfg.Password, "password", "", "MQTT password for the shared connections (default $"+envPassword+")")
	fs.BoolVar(&cfg.PerStationAuth, "per-station-auth", false, "connect each station as its own MQTT user (username = station id), as the broker ACL 'pattern write env/%u/#' requires; -conns is then ignored")
	fs.StringVar(&cfg.StationPassword, "station-password", "", "password of every station user with -per-station-auth; {station} is replaced by the station id (default $"+envStationPassword+")")
	fs.StringVar(&cfg.ClientID, "client-id", "", "MQTT client id `prefix`: the connections are PREFIX-0, PREFIX-1, ... or PREFIX-<station id> (default stationsim-<pid>)")
	fs.StringVar(&cfg.Topic, "topic", "env/{station}/data", "topic `template`; {station} is replaced by the station id")
	fs.DurationVar(&cfg.Interval, "interval", 0, "reporting interval of every station, in simulated time (default: each station's own interval from the registry)")
	fs.Float64Var(&cfg.Speed, "speed", 1, "time speed-up: simulated time advances speed × wall time (60: a 1-minute station publishes every wall second, timestamps one simulated minute apart); a large value such as 1e6 publishes as fast as the broker takes it")
	fs.BoolVar(&cfg.Live, "live", false, "with -start in the past and -speed above 1: once simulated time catches up with the clock, go on in real time (a replay of the past that continues live, as receivers refuse readings from the future)")
	fs.Func("start", "simulated start `time`, RFC 3339, e.g. 2026-11-28T08:00:00+08:00 (default now)", func(s string) error {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return errors.New("not an RFC 3339 time, e.g. 2026-11-28T08:00:00+08:00")
		}
		cfg.Start = t
		return nil
	})
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop after this much wall time (0: no limit)")
	fs.Int64Var(&cfg.Count, "count", 0, "stop after this many messages (0: no limit); without -duration or -count, run until SIGINT/SIGTERM")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed: the same seed, -start and flags give the same readings")
	fs.Func("silent", "stations that never publish, `ID[,ID...]` (see below)", listFlag(&cfg.Silent))
	fs.Func("faulty", "a faulty sensor, `STATION:PARAMS:FLAG`: its values carry that HJ 212 flag (see below)", listFlag(&cfg.Faulty))
	fs.Func("episode", "a pollution episode, `STATION:PARAMS:START:DURATION:FACTOR` (see below)", listFlag(&cfg.Episodes))
	fs.IntVar(&cfg.Batch, "batch", 1, "readings per message: N > 1 sends N consecutive readings of a station as one JSON array")
	fs.IntVar(&cfg.Conns, "conns", 1, "MQTT connections shared by all stations (without -per-station-auth)")
	fs.IntVar(&cfg.Window, "window", 1000, "unacknowledged QoS 1 publishes allowed per connection")
	fs.DurationVar(&cfg.Drain, "drain", 10*time.Second, "at the end, wait this long for outstanding acknowledgements (an interrupt waits at most 300ms)")
	fs.TextVar(&cfg.LogLevel, "log-level", slog.LevelInfo, "log `level`: debug (every message), info, warn, error")

	addHJ212Flags(fs, &cfg.HJ212)

	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if cfg.ClientID == "" {
		cfg.ClientID = fmt.Sprintf("stationsim-%d", os.Getpid())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["password"] {
		cfg.Password = getenv(envPassword)
	}
	if !set["station-password"] {
		cfg.StationPassword = getenv(envStationPassword)
	}
	if cfg.PerStationAuth && (set["username"] || set["password"]) {
		return config{}, errors.New("-username/-password and -per-station-auth exclude each other: with -per-station-auth every station logs in as itself")
	}
	return cfg, cfg.validate()
}

// listFlag appends the comma-separated items of each use of a flag.
func listFlag(dst *[]string) func(string) error {
	return func(s string) error {
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*dst = append(*dst, item)
			}
		}
		return nil
	}
}

// validate checks what can be checked without the registry, all at once.
func (c *config) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Stations == "" {
		bad("-stations: missing")
	}
	if c.Broker == "" {
		bad("-broker: missing")
	}
	if !strings.Contains(c.Topic, "{station}") {
		bad("-topic %q: must contain {station} (envpipe takes the station from the topic)", c.Topic)
	}
	if strings.ContainsAny(c.Topic, "+#") {
		bad("-topic %q: wildcards + and # cannot be published to", c.Topic)
	}
	if c.Interval != 0 && c.Interval < time.Second {
		bad("-interval %v: must be at least 1s (or 0 for each station's own)", c.Interval)
	}
	if !(c.Speed > 0) || math.IsInf(c.Speed, 0) {
		bad("-speed %v: must be a number above 0", c.Speed)
	}
	if c.Duration < 0 {
		bad("-duration %v: must not be negative", c.Duration)
	}
	if c.Count < 0 {
		bad("-count %d: must not be negative", c.Count)
	}
	if c.Batch < 1 {
		bad("-batch %d: must be at least 1", c.Batch)
	}
	if c.Conns < 1 {
		bad("-conns %d: must be at least 1", c.Conns)
	}
	if c.Window < 1 || c.Window > 65535 {
		bad("-window %d: must be 1..65535 (MQTT packet ids)", c.Window)
	}
	if c.Drain < 0 {
		bad("-drain %v: must not be negative", c.Drain)
	}
	if err := c.HJ212.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
