package station

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/envpipe/envpipe/ingest"
)

// Bound is a plausibility range for one parameter, inclusive.
type Bound struct {
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
}

// ValidationConfig is the `validation` section of envpipe.yaml.
type ValidationConfig struct {
	MaxPayloadBytes int           `yaml:"max_payload_bytes"`
	MaxReadings     int           `yaml:"max_readings_per_message"`
	MaxFuture       time.Duration `yaml:"max_future"`
	MaxAge          time.Duration `yaml:"max_age"`
	// Bounds override the catalogue's defaults (ingest.Params) per parameter.
	Bounds map[string]Bound `yaml:"bounds"`
}

// DefaultValidation is the validation used when envpipe.yaml is silent.
func DefaultValidation() ValidationConfig {
	return ValidationConfig{
		MaxPayloadBytes: 256 << 10,
		MaxReadings:     1000,
		MaxFuture:       10 * time.Minute,
		// A month covers a station's local buffer replayed after a long outage.
		MaxAge: 31 * 24 * time.Hour,
	}
}

// Validate returns the problems of c, each naming its key.
func (c ValidationConfig) Validate() []error {
	var errs []error
	if c.MaxPayloadBytes <= 0 || c.MaxPayloadBytes > 16<<20 {
		errs = append(errs, fmt.Errorf("validation.max_payload_bytes: %d is not in 1..16777216", c.MaxPayloadBytes))
	}
	if c.MaxReadings <= 0 {
		errs = append(errs, fmt.Errorf("validation.max_readings_per_message: must be positive"))
	}
	if c.MaxFuture < 0 {
		errs = append(errs, fmt.Errorf("validation.max_future: must not be negative"))
	}
	if c.MaxAge <= 0 {
		errs = append(errs, fmt.Errorf("validation.max_age: must be positive"))
	}
	names := make([]string, 0, len(c.Bounds))
	for k := range c.Bounds {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b := c.Bounds[k]
		if _, ok := ingest.Params[k]; !ok {
			errs = append(errs, fmt.Errorf("validation.bounds.%s: unknown parameter", k))
			continue
		}
		if b.Min != nil && b.Max != nil && *b.Min > *b.Max {
			errs = append(errs, fmt.Errorf("validation.bounds.%s: min %v is above max %v", k, *b.Min, *b.Max))
		}
	}
	return errs
}

// Validator checks decoded readings against the registry and the limits.
type Validator struct {
	reg       *Registry
	maxFuture time.Duration
	maxAge    time.Duration
	params    [ingest.NumParams + 1]ingest.Param // the catalogue with configured bounds, by ParamID
	now       func() time.Time
}

// NewValidator builds a validator; now may be nil (time.Now).
func NewValidator(reg *Registry, c ValidationConfig, now func() time.Time) *Validator {
	if now == nil {
		now = time.Now
	}
	v := &Validator{reg: reg, maxFuture: c.MaxFuture, maxAge: c.MaxAge, now: now}
	for name := range ingest.Params {
		id, p, _ := ingest.LookupParam(name)
		if b, ok := c.Bounds[name]; ok {
			if b.Min != nil {
				p.Min = *b.Min
			}
			if b.Max != nil {
				p.Max = *b.Max
			}
		}
		v.params[id] = p
	}
	return v
}

// Check validates r, which claims to come from topicStation ("" when the
// transport does not say). Bad values are removed from r.Values in place and
// reported; the reading is rejected whole when its station or time is wrong
// or no value is left. It returns the station when r is to be kept.
func (v *Validator) Check(r *ingest.Reading, topicStation string, rejects []ingest.Reject) (*Station, []ingest.Reject) {
	st, ok := v.reg.byID[r.Station]
	if !ok {
		return nil, append(rejects, ingest.Reject{Reason: ingest.ReasonUnknownStation, Station: r.Station})
	}
	if topicStation != "" && topicStation != r.Station {
		return nil, append(rejects, ingest.Reject{Reason: ingest.ReasonStationMismatch, Station: r.Station,
			Detail: fmt.Sprintf("published on the topic of %s", topicStation)})
	}
	now := v.now()
	if d := r.Time.Sub(now); d > v.maxFuture {
		return nil, append(rejects, ingest.Reject{Reason: ingest.ReasonTimeFuture, Station: r.Station,
			Detail: fmt.Sprintf("time %s is %s ahead of now", r.Time.Format(time.RFC3339), d.Round(time.Second))})
	}
	if d := now.Sub(r.Time); d > v.maxAge {
		return nil, append(rejects, ingest.Reject{Reason: ingest.ReasonTimeTooOld, Station: r.Station,
			Detail: fmt.Sprintf("time %s is older than %s", r.Time.Format(time.RFC3339), v.maxAge)})
	}
	kept := r.Values[:0]
	for _, val := range r.Values {
		id := val.ParamID()
		p, known := v.params[id], id != 0
		switch {
		case !known || p.Kind != st.Kind:
			rejects = append(rejects, ingest.Reject{Reason: ingest.ReasonWrongKind, Station: r.Station, Param: val.Param,
				Detail: fmt.Sprintf("%s is not measured at %s stations", val.Param, st.Kind)})
		case math.IsNaN(val.V) || math.IsInf(val.V, 0):
			// NaN passes both bound checks below; decoders refuse it, but
			// Check must not rely on every source doing so.
			rejects = append(rejects, ingest.Reject{Reason: ingest.ReasonNotFinite, Station: r.Station, Param: val.Param,
				Detail: fmt.Sprintf("%v is not a finite number", val.V)})
		case val.V < p.Min:
			rejects = append(rejects, ingest.Reject{Reason: ingest.ReasonBelowMin, Station: r.Station, Param: val.Param,
				Detail: fmt.Sprintf("%v is below %v %s", val.V, p.Min, p.Unit)})
		case val.V > p.Max:
			rejects = append(rejects, ingest.Reject{Reason: ingest.ReasonAboveMax, Station: r.Station, Param: val.Param,
				Detail: fmt.Sprintf("%v is above %v %s", val.V, p.Max, p.Unit)})
		default:
			kept = append(kept, val)
		}
	}
	r.Values = kept
	if len(kept) == 0 {
		return nil, rejects
	}
	return st, rejects
}
