package hj212

import (
	"fmt"
	"maps"
	"slices"

	"github.com/envpipe/envpipe/ingest"
)

// Factor is one pollutant or meteorological code of HJ 212 and what envpipe
// makes of it.
type Factor struct {
	Code string // HJ 212-2017 code ("a34004") or HJ/T 212-2005 code ("011")
	Name string // what it measures, as the standard names it
	// Param is the envpipe parameter the code feeds, "" if none. A Param
	// missing from ingest.Params (the GB 3838 metals and other items, for
	// now) makes its values ReasonUnsupportedFactor problems until it is
	// added there with its canonical unit.
	Param string
	// Unit is the unit the code's values are in unless the station's Units
	// override it.
	Unit string
}

// factors holds only codes standards.md §4.10 documents, with its numbers.
//
// Air: the unit is the one ambient stations actually send (µg/m³, CO mg/m³),
// not the source-emission default of HJ 212-2017 Table B.2 (mg/m³ for gases,
// ng/m³ for particulate), as §4.10 says; a station that sends Table B.2 units
// needs a Units override. Water: the Table B.1 default, including the
// metals Table B.1 puts in µg/L while GB 3838 states limits in mg/L.
//
// The HJ/T 212-2005 codes (02, 03, 04 for air; 001, 010, 011, 060, 065, 072,
// 101, 550 for water) share their 2017 code's unit: the reference gives no
// 2005 units. Chlorophyll-a (chla) has no documented code and is not mapped.
var factors = func() map[string]Factor {
	m := make(map[string]Factor)
	add := func(code, code2005, name, param, unit string) {
		m[code] = Factor{code, name, param, unit}
		if code2005 != "" {
			m[code2005] = Factor{code2005, name, param, unit}
		}
	}
	const (
		ugm3 = "µg/m³"
		mgm3 = "mg/m³"
		mgL  = "mg/L"
		ugL  = "µg/L"
	)
	// Ambient air and meteorology (ST=22).
	add("a34004", "", "PM2.5", "pm25", ugm3)
	add("a34002", "", "PM10", "pm10", ugm3)
	add("a34001", "", "TSP", "tsp", ugm3)
	add("a21026", "02", "SO2", "so2", ugm3)
	add("a21004", "", "NO2", "no2", ugm3)
	add("a21002", "03", "NOx", "nox", ugm3)
	add("a21005", "04", "CO", "co", mgm3)
	add("a05024", "", "O3", "o3", ugm3)
	add("a01001", "", "air temperature", "temp", "°C")
	add("a01002", "", "relative humidity", "rh", "%")
	add("a01006", "", "air pressure", "pressure", "kPa")
	add("a01007", "", "wind speed", "wind_speed", "m/s")
	add("a01008", "", "wind direction", "wind_dir", "degrees")

	// Surface water (ST=21).
	add("w01010", "", "water temperature", "water_temp", "°C")
	add("w01001", "001", "pH", "ph", "")
	add("w01009", "", "dissolved oxygen", "do", mgL)
	add("w01014", "", "conductivity", "conductivity", "µS/cm")
	add("w01003", "", "turbidity", "turbidity", "NTU")
	add("w01019", "", "permanganate index (CODMn)", "codmn", mgL)
	add("w01018", "011", "COD (CODCr)", "cod", mgL)
	add("w01017", "010", "BOD5", "bod5", mgL)
	add("w21003", "060", "ammonia nitrogen", "nh3n", mgL)
	add("w21011", "101", "total phosphorus", "tp", mgL)
	add("w21001", "065", "total nitrogen", "tn", mgL)

	// The other GB 3838 items. Which code of a total/dissolved pair a station
	// sends is its choice, so both feed one parameter.
	add("w20122", "", "total copper", "cu", mgL)
	add("w20138", "", "copper", "cu", mgL)
	add("w20123", "", "total zinc", "zn", mgL)
	add("w20139", "", "zinc", "zn", mgL)
	add("w21017", "072", "fluoride", "fluoride", mgL)
	add("w20128", "", "total selenium", "se", ugL)
	add("w20140", "", "selenium", "se", mgL)
	add("w20119", "", "total arsenic", "as", ugL)
	add("w20141", "", "arsenic", "as", mgL)
	add("w20111", "", "total mercury", "hg", ugL)
	add("w20142", "", "mercury", "hg", ugL)
	add("w20115", "", "total cadmium", "cd", ugL)
	add("w20143", "", "cadmium", "cd", ugL)
	add("w20117", "", "hexavalent chromium", "cr6", ugL)
	add("w20120", "", "total lead", "pb", ugL)
	add("w20144", "", "lead", "pb", mgL)
	add("w21016", "", "cyanide", "cyanide", mgL)
	add("w23002", "", "volatile phenol", "phenol", mgL)
	add("w22001", "", "petroleum", "petroleum", mgL)
	add("w19002", "", "anionic surfactant (LAS)", "las", mgL)
	add("w21019", "", "sulfide", "sulfide", mgL)
	add("w02003", "550", "fecal coliform", "fecal_coliform", "个/L")
	return m
}()

// LookupFactor returns what envpipe knows of a factor code.
func LookupFactor(code string) (Factor, bool) {
	f, ok := factors[code]
	return f, ok
}

// Factors returns every known factor, sorted by code.
func Factors() []Factor {
	return slices.SortedFunc(maps.Values(factors), func(a, b Factor) int {
		switch {
		case a.Code < b.Code:
			return -1
		case a.Code > b.Code:
			return 1
		}
		return 0
	})
}

// CheckUnits validates a station's unit overrides (factor code → unit) when
// the configuration is loaded, so that a typo fails at start-up rather than
// dropping values: every code must be known and its unit convertible to its
// parameter's canonical unit.
func CheckUnits(units map[string]string) error {
	for _, code := range slices.Sorted(maps.Keys(units)) {
		f, ok := factors[code]
		if !ok {
			return fmt.Errorf("hj212: unit for unknown factor code %q", code)
		}
		p, ok := ingest.Params[f.Param]
		if !ok {
			// Validate the spelling at least; the parameter is not ingested yet.
			if _, ok := lookupUnit(units[code]); !ok {
				return fmt.Errorf("hj212: factor %s: unknown unit %q", code, units[code])
			}
			continue
		}
		if _, err := ConvertUnit(1, units[code], p.Unit); err != nil {
			return fmt.Errorf("hj212: factor %s (%s): %w", code, f.Param, err)
		}
	}
	return nil
}
