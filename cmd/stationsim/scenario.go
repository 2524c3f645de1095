package main

// The scenario: what the user asked to go wrong in the network. Silent
// stations never publish; faulty sensors flag their values; pollution
// episodes multiply a parameter over a span of simulated time.

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// allStations and allParams are the wildcards of -faulty and -episode.
const (
	allStations = "*"
	allParams   = "*"
)

// fault is one -faulty entry: STATION:PARAMS:FLAG.
type fault struct {
	Station string   // station id or "*"
	Params  []string // parameter names, or ["*"]
	Flag    ingest.Flag
}

// episode is one -episode entry: STATION:PARAMS:START:DURATION:FACTOR.
type episode struct {
	Station string
	Params  []string
	// Start is absolute, or, when Relative, an offset from the simulated
	// start held in Offset until resolve is called.
	Start    time.Time
	Offset   time.Duration
	Relative bool
	Duration time.Duration
	Factor   float64
}

// End is the end of the episode (exclusive).
func (e episode) End() time.Time { return e.Start.Add(e.Duration) }

// parseFault parses STATION:PARAMS:FLAG, e.g. zz-air-0202:pm10:D.
func parseFault(s string) (fault, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return fault{}, fmt.Errorf("%q: want STATION:PARAMS:FLAG, e.g. zz-air-0202:pm10:D", s)
	}
	params, err := parseParams(parts[1])
	if err != nil {
		return fault{}, fmt.Errorf("%q: %w", s, err)
	}
	f := strings.ToUpper(strings.TrimSpace(parts[2]))
	if len(f) != 1 || !ingest.ValidFlag(ingest.Flag(f[0])) {
		return fault{}, fmt.Errorf("%q: flag %q is not an HJ 212 flag (F M S D C T B)", s, parts[2])
	}
	if f == "N" {
		return fault{}, fmt.Errorf("%q: flag N is the normal state; a faulty sensor needs F, M, S, D, C, T or B", s)
	}
	st := strings.TrimSpace(parts[0])
	if st == "" {
		return fault{}, fmt.Errorf("%q: missing station", s)
	}
	return fault{Station: st, Params: params, Flag: ingest.Flag(f[0])}, nil
}

// parseEpisode parses STATION:PARAMS:START:DURATION:FACTOR. START is an
// RFC 3339 time, which contains colons itself, or +DURATION after the
// simulated start; it is whatever lies between the second colon and the
// second-to-last one.
func parseEpisode(s string) (episode, error) {
	const want = "want STATION:PARAMS:START:DURATION:FACTOR, e.g. zz-air-0301:pm10:2026-11-28T08:00:00+08:00:6h:2.5"
	first := strings.SplitN(s, ":", 3)
	if len(first) != 3 {
		return episode{}, fmt.Errorf("%q: %s", s, want)
	}
	rest := first[2]
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return episode{}, fmt.Errorf("%q: %s", s, want)
	}
	j := strings.LastIndex(rest[:i], ":")
	if j < 0 {
		return episode{}, fmt.Errorf("%q: %s", s, want)
	}
	start, dur, factor := strings.TrimSpace(rest[:j]), strings.TrimSpace(rest[j+1:i]), strings.TrimSpace(rest[i+1:])

	e := episode{Station: strings.TrimSpace(first[0])}
	if e.Station == "" {
		return episode{}, fmt.Errorf("%q: missing station", s)
	}
	var err error
	if e.Params, err = parseParams(first[1]); err != nil {
		return episode{}, fmt.Errorf("%q: %w", s, err)
	}
	if slices.Contains(e.Params, allParams) {
		return episode{}, fmt.Errorf("%q: an episode names its parameters (e.g. pm25+pm10), not *", s)
	}
	if off, ok := strings.CutPrefix(start, "+"); ok {
		d, err := time.ParseDuration(off)
		if err != nil || d < 0 {
			return episode{}, fmt.Errorf("%q: start %q is not +DURATION (e.g. +30m)", s, start)
		}
		e.Offset, e.Relative = d, true
	} else {
		t, err := time.Parse(time.RFC3339, start)
		if err != nil {
			return episode{}, fmt.Errorf("%q: start %q is not an RFC 3339 time (2026-11-28T08:00:00+08:00) or +DURATION", s, start)
		}
		e.Start = t
	}
	if e.Duration, err = time.ParseDuration(dur); err != nil || e.Duration <= 0 {
		return episode{}, fmt.Errorf("%q: duration %q is not a positive duration (e.g. 6h)", s, dur)
	}
	e.Factor, err = strconv.ParseFloat(factor, 64)
	if err != nil || !(e.Factor > 0) || e.Factor > 1e6 || math.IsInf(e.Factor, 0) {
		return episode{}, fmt.Errorf("%q: factor %q is not a number above 0 (at most 1e6)", s, factor)
	}
	return e, nil
}

// parseParams parses "pm25", "pm25+pm10" or "*".
func parseParams(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, "+") {
		p = strings.TrimSpace(p)
		switch {
		case p == allParams:
			if strings.Count(s, "+") > 0 {
				return nil, errors.New("* cannot be combined with named parameters")
			}
		case p == "":
			return nil, fmt.Errorf("empty parameter in %q", s)
		default:
			if _, ok := ingest.Params[p]; !ok {
				return nil, fmt.Errorf("unknown parameter %q", p)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// scenario is the validated set of silent stations, faults and episodes.
type scenario struct {
	silent   map[string]bool
	faults   []fault
	episodes []episode
}

// newScenario parses the -silent, -faulty and -episode entries, checks them
// against the registry (every station must exist and measure the named
// parameters) and resolves relative episode starts against simStart. It
// returns every problem at once.
func newScenario(reg *station.Registry, silent, faults, episodes []string, simStart time.Time) (*scenario, error) {
	sc := &scenario{silent: map[string]bool{}}
	var errs []error
	for _, id := range silent {
		if _, ok := reg.Lookup(id); !ok {
			errs = append(errs, fmt.Errorf("-silent: unknown station %q", id))
			continue
		}
		sc.silent[id] = true
	}
	for _, s := range faults {
		f, err := parseFault(s)
		if err == nil {
			err = checkTarget(reg, f.Station, f.Params)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("-faulty %s: %w", s, err))
			continue
		}
		sc.faults = append(sc.faults, f)
	}
	for _, s := range episodes {
		e, err := parseEpisode(s)
		if err == nil {
			err = checkTarget(reg, e.Station, e.Params)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("-episode %s: %w", s, err))
			continue
		}
		if e.Relative {
			e.Start = simStart.Add(e.Offset)
		}
		sc.episodes = append(sc.episodes, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return sc, nil
}

// checkTarget checks that station (or, for "*", some station) exists and
// that the model simulates every named parameter for it.
func checkTarget(reg *station.Registry, id string, params []string) error {
	var targets []*station.Station
	if id == allStations {
		targets = reg.All()
	} else {
		st, ok := reg.Lookup(id)
		if !ok {
			return fmt.Errorf("unknown station %q", id)
		}
		targets = []*station.Station{st}
	}
	for _, p := range params {
		if p == allParams {
			continue
		}
		found := false
		for _, st := range targets {
			if slices.Contains(simulatedParams(st), p) {
				found = true
				break
			}
		}
		if !found {
			if id == allStations {
				return fmt.Errorf("no station simulates %q", p)
			}
			return fmt.Errorf("station %s (%s) does not simulate %q", id, targets[0].Kind, p)
		}
	}
	return nil
}

// Silent reports whether station id never publishes.
func (sc *scenario) Silent(id string) bool { return sc.silent[id] }

// Apply multiplies the values of st at t by every episode in force (episodes
// that overlap multiply) and sets the flags of faulty sensors; a later
// -faulty entry overrides an earlier one. Values changed by an episode are
// rounded again to the published precision.
func (sc *scenario) Apply(st *station.Station, t time.Time, vals []ingest.Value) {
	for _, e := range sc.episodes {
		if t.Before(e.Start) || !t.Before(e.End()) || !matchStation(e.Station, st.ID) {
			continue
		}
		for i := range vals {
			if slices.Contains(e.Params, vals[i].Param) {
				vals[i].V = roundValue(vals[i].Param, vals[i].V*e.Factor)
			}
		}
	}
	for _, f := range sc.faults {
		if !matchStation(f.Station, st.ID) {
			continue
		}
		for i := range vals {
			if f.Params[0] == allParams || slices.Contains(f.Params, vals[i].Param) {
				vals[i].Flag = f.Flag
			}
		}
	}
}

func matchStation(pattern, id string) bool { return pattern == allStations || pattern == id }
