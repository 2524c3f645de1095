package ingest

// Param describes one parameter envpipe accepts: which kind of station
// measures it, its canonical unit, and the default plausibility bounds used
// by validation (configurable per deployment).
type Param struct {
	Name string
	Kind Kind
	Unit string
	Min  float64 // physical minimum: below it a value is impossible
	Max  float64 // plausibility maximum: above it the sensor is wrong
}

// Params is the catalogue of DESIGN.md's "Parameters and canonical units".
var Params = func() map[string]Param {
	m := make(map[string]Param, len(catalogue))
	for _, p := range catalogue {
		m[p.Name] = p
	}
	return m
}()

// ParamID numbers the catalogue's parameters from 1 so that the stages
// after decoding index arrays instead of hashing names for every value;
// 0 means not set.
type ParamID uint8

// NumParams is the number of parameters in the catalogue: IDs run from 1
// to NumParams.
const NumParams = len(catalogue)

// LookupParam returns the ID and description of the named parameter.
func LookupParam(name string) (ParamID, Param, bool) {
	id := paramID(name)
	if id == 0 {
		return 0, Param{}, false
	}
	return id, catalogue[id-1], true
}

// paramID is the catalogue's index of name plus one (0: none), as a switch,
// which costs a decoder less than hashing the name for every value
// (TestParamIDsFollowTheCatalogue keeps it in step with the catalogue).
func paramID(name string) ParamID {
	switch name {
	case "pm25":
		return 1
	case "pm10":
		return 2
	case "so2":
		return 3
	case "no2":
		return 4
	case "o3":
		return 5
	case "co":
		return 6
	case "temp":
		return 7
	case "rh":
		return 8
	case "pressure":
		return 9
	case "wind_speed":
		return 10
	case "wind_dir":
		return 11
	case "water_temp":
		return 12
	case "ph":
		return 13
	case "do":
		return 14
	case "codmn":
		return 15
	case "cod":
		return 16
	case "bod5":
		return 17
	case "nh3n":
		return 18
	case "tp":
		return 19
	case "tn":
		return 20
	case "conductivity":
		return 21
	case "turbidity":
		return 22
	case "chla":
		return 23
	}
	return 0
}

// ParamID returns the ID of v's parameter (0 if it is not in the
// catalogue): the one its decoder set, else looked up by name.
func (v *Value) ParamID() ParamID {
	if v.PID != 0 {
		return v.PID
	}
	return paramID(v.Param)
}

var catalogue = [...]Param{
	{"pm25", KindAir, "µg/m³", 0, 2000},
	{"pm10", KindAir, "µg/m³", 0, 3000},
	{"so2", KindAir, "µg/m³", 0, 5000},
	{"no2", KindAir, "µg/m³", 0, 5000},
	{"o3", KindAir, "µg/m³", 0, 2000},
	{"co", KindAir, "mg/m³", 0, 200},
	{"temp", KindAir, "°C", -60, 60},
	{"rh", KindAir, "%", 0, 100},
	{"pressure", KindAir, "hPa", 500, 1100},
	{"wind_speed", KindAir, "m/s", 0, 75},
	{"wind_dir", KindAir, "degrees", 0, 360},
	{"water_temp", KindWater, "°C", -5, 45},
	{"ph", KindWater, "", 0, 14},
	{"do", KindWater, "mg/L", 0, 25},
	{"codmn", KindWater, "mg/L", 0, 200},
	{"cod", KindWater, "mg/L", 0, 2000},
	{"bod5", KindWater, "mg/L", 0, 1000},
	{"nh3n", KindWater, "mg/L", 0, 200},
	{"tp", KindWater, "mg/L", 0, 50},
	{"tn", KindWater, "mg/L", 0, 200},
	{"conductivity", KindWater, "µS/cm", 0, 100000},
	{"turbidity", KindWater, "NTU", 0, 10000},
	{"chla", KindWater, "µg/L", 0, 5000},
}
