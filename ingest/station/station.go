// Package station holds the station registry: who may send data, what each
// station measures, and the tags its readings carry in InfluxDB.
package station

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/hj212"
)

// Station is one monitoring station or water section.
type Station struct {
	ID       string        `yaml:"id"`
	Name     string        `yaml:"name"`
	Kind     ingest.Kind   `yaml:"kind"`
	County   string        `yaml:"county"`
	Lat      float64       `yaml:"lat"`
	Lon      float64       `yaml:"lon"`
	Interval time.Duration `yaml:"interval"`

	// HJ 212: the frame's MN identifies the station; the password must
	// match, and is required with an MN.
	HJ212MN       string            `yaml:"hj212_mn,omitempty"`
	HJ212Password string            `yaml:"hj212_password,omitempty"`
	HJ212Units    map[string]string `yaml:"hj212_units,omitempty"`
	// HJ212SwappedCRC accepts the byte-swapped Modbus CRC some devices send.
	HJ212SwappedCRC bool `yaml:"hj212_swapped_crc,omitempty"`

	// Water sections only.
	River       string `yaml:"river,omitempty"`
	Section     string `yaml:"section,omitempty"`
	Waterbody   string `yaml:"waterbody,omitempty"`    // river | lake
	TargetClass string `yaml:"target_class,omitempty"` // I..V
	// DrinkingSource marks drinking-water sources, held to 100 % compliance.
	DrinkingSource bool `yaml:"drinking_source,omitempty"`

	// Index is the station's position in its registry (set by New), so
	// that the stages a reading passes keep their per-station state in
	// slices instead of hashing the station for every reading. A station
	// not from a registry has 0: users check that the slot holds it.
	Index int `yaml:"-"`
}

// TargetClassNum returns the target class as 1..5 (0 when unset).
func (s *Station) TargetClassNum() int {
	return classNum(s.TargetClass)
}

func classNum(c string) int {
	switch c {
	case "I":
		return 1
	case "II":
		return 2
	case "III":
		return 3
	case "IV":
		return 4
	case "V":
		return 5
	}
	return 0
}

// Registry is the set of known stations, looked up by id or HJ 212 MN.
type Registry struct {
	list []*Station
	byID map[string]*Station
	byMN map[string]*Station
}

// file is the on-disk shape of stations.yaml.
type file struct {
	Stations []*Station `yaml:"stations"`
	// Ranges generate numbered stations (load tests, benchmarks).
	Ranges []Range `yaml:"ranges"`
}

// Range generates stations <prefix><n> for n in [from, to], n zero-padded to
// digits, all alike otherwise (kind, county, interval, ...).
type Range struct {
	Prefix  string `yaml:"prefix"`
	From    int    `yaml:"from"`
	To      int    `yaml:"to"`
	Digits  int    `yaml:"digits"`
	Station `yaml:",inline"`
}

const maxRangeStations = 1_000_000

func expand(ranges []Range) ([]*Station, []error) {
	var out []*Station
	var errs []error
	for i, r := range ranges {
		if r.To < r.From || r.From < 0 || r.To-r.From >= maxRangeStations {
			errs = append(errs, fmt.Errorf("ranges[%d]: from %d to %d is not a range of at most %d stations", i, r.From, r.To, maxRangeStations))
			continue
		}
		if r.ID != "" {
			errs = append(errs, fmt.Errorf("ranges[%d].id: ranges generate ids from prefix; remove id", i))
			continue
		}
		for n := r.From; n <= r.To; n++ {
			s := r.Station
			s.ID = fmt.Sprintf("%s%0*d", r.Prefix, r.Digits, n)
			if s.Name == "" {
				s.Name = s.ID
			}
			out = append(out, &s)
		}
	}
	return out, errs
}

// idPattern is what a station id may contain. Anything else could break out
// of an InfluxDB tag or an MQTT topic level.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidID reports whether id is safe to use as a tag value and topic level.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Load reads and validates a stations file. It returns every problem found,
// each naming the key and what is wrong; the caller adds the file name.
func Load(path string) (*Registry, []error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{err}
	}
	return Parse(data)
}

// Parse decodes and validates stations YAML, rejecting unknown keys.
func Parse(data []byte) (*Registry, []error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var errs []error
	if err := dec.Decode(&f); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				errs = append(errs, errors.New(e))
			}
		} else {
			return nil, []error{err}
		}
	}
	gen, gerrs := expand(f.Ranges)
	errs = append(errs, gerrs...)
	r, verrs := New(append(f.Stations, gen...))
	return r, append(errs, verrs...)
}

// New builds a registry from stations, validating each.
func New(list []*Station) (*Registry, []error) {
	r := &Registry{byID: map[string]*Station{}, byMN: map[string]*Station{}}
	var errs []error
	bad := func(i int, key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("stations[%d].%s: %s", i, key, fmt.Sprintf(format, a...)))
	}
	if len(list) == 0 {
		errs = append(errs, errors.New("stations: no stations defined"))
	}
	for i, s := range list {
		if s == nil {
			bad(i, "", "empty entry")
			continue
		}
		switch {
		case s.ID == "":
			bad(i, "id", "missing")
		case !ValidID(s.ID):
			bad(i, "id", "%q may contain only letters, digits, '_', '.', '-' (max 64)", s.ID)
		case r.byID[s.ID] != nil:
			bad(i, "id", "%q is defined twice", s.ID)
		}
		switch s.Kind {
		case ingest.KindAir:
		case ingest.KindWater:
			if s.TargetClassNum() == 0 {
				bad(i, "target_class", "%q is not one of I, II, III, IV, V", s.TargetClass)
			}
			switch s.Waterbody {
			case "":
				s.Waterbody = "river"
			case "river", "lake":
			default:
				bad(i, "waterbody", "%q is not river or lake", s.Waterbody)
			}
			if s.River == "" {
				bad(i, "river", "missing for a water section")
			}
			if s.Section == "" {
				s.Section = s.Name
			}
		case "":
			bad(i, "kind", "missing (air or water)")
		default:
			bad(i, "kind", "%q is not air or water", s.Kind)
		}
		if s.Kind == ingest.KindAir && (s.River != "" || s.TargetClass != "") {
			bad(i, "river", "air stations have no river or target_class")
		}
		if s.County == "" {
			bad(i, "county", "missing")
		}
		if s.Lat < -90 || s.Lat > 90 {
			bad(i, "lat", "%v is out of range", s.Lat)
		}
		if s.Lon < -180 || s.Lon > 180 {
			bad(i, "lon", "%v is out of range", s.Lon)
		}
		if s.Interval == 0 {
			s.Interval = time.Minute
		} else if s.Interval < time.Second {
			bad(i, "interval", "%v is shorter than 1s", s.Interval)
		}
		if s.HJ212MN != "" {
			if strings.ContainsAny(s.HJ212MN, ";,&=\r\n") || len(s.HJ212MN) > 64 {
				bad(i, "hj212_mn", "%q is not a valid MN", s.HJ212MN)
			} else if o := r.byMN[s.HJ212MN]; o != nil {
				bad(i, "hj212_mn", "%q is already used by %s", s.HJ212MN, o.ID)
			}
			// Frames carry PW and it must match: without a password every
			// frame of the station would be refused as hj212_bad_password.
			if s.HJ212Password == "" {
				bad(i, "hj212_password", "station %q has hj212_mn %q: hj212_password missing (the PW its frames carry)", s.ID, s.HJ212MN)
			}
		}
		// A mistyped code or unit would otherwise only show as values
		// dropped at run time. One key at a time, to report every one.
		for _, code := range slices.Sorted(maps.Keys(s.HJ212Units)) {
			if err := hj212.CheckUnits(map[string]string{code: s.HJ212Units[code]}); err != nil {
				errs = append(errs, fmt.Errorf("stations[%d].hj212_units.%s: station %q: %w", i, code, s.ID, err))
			}
		}
		if s.ID != "" && r.byID[s.ID] == nil {
			r.byID[s.ID] = s
			s.Index = len(r.list)
			r.list = append(r.list, s)
			if s.HJ212MN != "" && r.byMN[s.HJ212MN] == nil {
				r.byMN[s.HJ212MN] = s
			}
		}
	}
	return r, errs
}

// Lookup returns the station with the given id.
func (r *Registry) Lookup(id string) (*Station, bool) {
	s, ok := r.byID[id]
	return s, ok
}

// LookupMN returns the station whose hj212_mn is mn.
func (r *Registry) LookupMN(mn string) (*Station, bool) {
	s, ok := r.byMN[mn]
	return s, ok
}

// All returns the stations in file order.
func (r *Registry) All() []*Station { return r.list }

// Len is the number of stations.
func (r *Registry) Len() int { return len(r.list) }
