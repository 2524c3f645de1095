package main

// HJ 212 mode: the stations that have an hj212_mn speak HJ 212 instead of
// JSON, over MQTT (one frame per message on env/{station}/hj212) or over TCP
// straight to envpipe's HJ 212 listener. Each station is a field unit
// (package fieldunit): it keeps its minute and hourly history and, over
// TCP, answers envpipe's 2051/2061 history requests from it, so that an
// outage (-hj212-outage) is filled in once the station is back.

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/station"
)

// hj212Options are the HJ 212 mode's flags.
type hj212Options struct {
	Mode    string   // "" (JSON mode), "mqtt" or "tcp"
	Addr    string   // envpipe's HJ 212 listener (tcp)
	Topic   string   // topic template (mqtt)
	Uploads []string // CNs each station uploads: 2011, 2051, 2061
	Outages []string // STATION:START:DURATION
}

const hj212Usage = `
HJ 212 mode (-hj212 mqtt|tcp): only the stations with an hj212_mn take part,
as HJ 212-2017 field units (Flag=5: every upload asks for an answer).
At each reading a station uploads real-time data (2011) and minute data
(2051), and at the end of each hour the hour's means (2061); -hj212-uploads
picks which. It keeps all of it as history. Over TCP it connects to
-hj212-addr, counts envpipe's 9014 (stored) and 9011 (refused) answers, and
answers envpipe's history requests (2051/2061 with BeginTime/EndTime) from
its history; over MQTT it publishes one frame per message to -hj212-topic.
  -hj212-outage STATION:START:DURATION
      The station is off line for DURATION of simulated time from START
      (RFC 3339, or +DURATION after -start) but keeps measuring: over TCP it
      disconnects and reconnects afterwards, and envpipe asks it for what
      it missed. STATION may be *.
      e.g. zz-air-0601:+30m:30m
`

// addHJ212Flags registers the HJ 212 flags on fs.
func addHJ212Flags(fs *flag.FlagSet, o *hj212Options) {
	o.Topic = "env/{station}/hj212"
	o.Addr = "127.0.0.1:9212"
	o.Uploads = []string{hj212.CNRealtime, hj212.CNMinute, hj212.CNHourly}
	fs.StringVar(&o.Mode, "hj212", "", "speak HJ 212 instead of JSON, over `mqtt|tcp`, for the stations that have an hj212_mn (see HJ 212 mode below)")
	fs.StringVar(&o.Addr, "hj212-addr", o.Addr, "envpipe's HJ 212 TCP listener `host:port` (-hj212 tcp)")
	fs.StringVar(&o.Topic, "hj212-topic", o.Topic, "topic `template` of HJ 212 frames (-hj212 mqtt); {station} is replaced by the station id")
	fs.Func("hj212-uploads", "`CNs` each station uploads, comma-separated, of 2011 (real-time), 2051 (minute), 2061 (hourly) (default 2011,2051,2061)", func(s string) error {
		o.Uploads = nil
		return listFlag(&o.Uploads)(s)
	})
	fs.Func("hj212-outage", "an outage, `STATION:START:DURATION`: the station keeps measuring off line (see HJ 212 mode below)", listFlag(&o.Outages))
}

// validate checks the flags that need no registry.
func (o hj212Options) validate() error {
	if o.Mode == "" {
		if len(o.Outages) > 0 {
			return errors.New("-hj212-outage needs -hj212 mqtt or -hj212 tcp")
		}
		return nil
	}
	var errs []error
	switch o.Mode {
	case "mqtt":
		if !strings.Contains(o.Topic, "{station}") || strings.ContainsAny(o.Topic, "+#") {
			errs = append(errs, fmt.Errorf("-hj212-topic %q: must contain {station} and no wildcard", o.Topic))
		}
	case "tcp":
		if o.Addr == "" {
			errs = append(errs, errors.New("-hj212-addr: missing"))
		}
	default:
		errs = append(errs, fmt.Errorf("-hj212 %q: must be mqtt or tcp", o.Mode))
	}
	if len(o.Uploads) == 0 {
		errs = append(errs, errors.New("-hj212-uploads: at least one of 2011, 2051, 2061"))
	}
	for _, cn := range o.Uploads {
		if cn != hj212.CNRealtime && cn != hj212.CNMinute && cn != hj212.CNHourly {
			errs = append(errs, fmt.Errorf("-hj212-uploads: %q is not 2011, 2051 or 2061", cn))
		}
	}
	for _, s := range o.Outages {
		if _, err := parseOutage(s, time.Time{}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (o hj212Options) uploads(cn string) bool {
	for _, u := range o.Uploads {
		if u == cn {
			return true
		}
	}
	return false
}

// outage is one -hj212-outage: [Start, Start+Duration) of simulated time.
type outage struct {
	Station  string
	Start    time.Time
	Duration time.Duration
}

// parseOutage parses STATION:START:DURATION; START is an RFC 3339 time
// (with colons of its own) or +DURATION after simStart.
func parseOutage(s string, simStart time.Time) (outage, error) {
	const want = "want STATION:START:DURATION, e.g. zz-air-0601:+30m:30m"
	st, rest, ok := strings.Cut(s, ":")
	i := strings.LastIndex(rest, ":")
	if !ok || i < 0 || strings.TrimSpace(st) == "" {
		return outage{}, fmt.Errorf("-hj212-outage %q: %s", s, want)
	}
	o := outage{Station: strings.TrimSpace(st)}
	start, dur := strings.TrimSpace(rest[:i]), strings.TrimSpace(rest[i+1:])
	if off, ok := strings.CutPrefix(start, "+"); ok {
		d, err := time.ParseDuration(off)
		if err != nil || d < 0 {
			return outage{}, fmt.Errorf("-hj212-outage %q: start %q is not +DURATION (e.g. +30m)", s, start)
		}
		o.Start = simStart.Add(d)
	} else {
		t, err := time.Parse(time.RFC3339, start)
		if err != nil {
			return outage{}, fmt.Errorf("-hj212-outage %q: start %q is not an RFC 3339 time or +DURATION", s, start)
		}
		o.Start = t
	}
	d, err := time.ParseDuration(dur)
	if err != nil || d <= 0 {
		return outage{}, fmt.Errorf("-hj212-outage %q: duration %q is not a positive duration (e.g. 30m)", s, dur)
	}
	o.Duration = d
	return o, nil
}

// outages are the parsed -hj212-outage entries, checked against the
// registry.
type outages []outage

func newOutages(reg *station.Registry, specs []string, simStart time.Time) (outages, error) {
	var out outages
	var errs []error
	for _, s := range specs {
		o, err := parseOutage(s, simStart)
		if err == nil && o.Station != allStations {
			if st, ok := reg.Lookup(o.Station); !ok {
				err = fmt.Errorf("-hj212-outage %q: unknown station %q", s, o.Station)
			} else if st.HJ212MN == "" {
				err = fmt.Errorf("-hj212-outage %q: station %s has no hj212_mn", s, o.Station)
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, o)
	}
	return out, errors.Join(errs...)
}

// offline reports whether station id is in an outage at simulated time t.
func (os outages) offline(id string, t time.Time) bool {
	for _, o := range os {
		if (o.Station == allStations || o.Station == id) && !t.Before(o.Start) && t.Before(o.Start.Add(o.Duration)) {
			return true
		}
	}
	return false
}

// systemCode is the HJ 212 ST of a station: 22 ambient air, 21 surface
// water.
func systemCode(st *station.Station) string {
	if st.Kind == ingest.KindWater {
		return "21"
	}
	return "22"
}
