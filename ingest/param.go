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

var paramIDs = func() map[string]ParamID {
	m := make(map[string]ParamID, len(catalogue))
	for i, p := range catalogue {
		m[p.Name] = ParamID(i + 1)
	}
	return m
}()

// LookupParam returns the ID and description of the named parameter.
func LookupParam(name string) (ParamID, Param, bool) {
	id, ok := paramIDs[name]
	if !ok {
		return 0, Param{}, false
	}
	return id, catalogue[id-1], true
}

// ParamID returns the ID of v's parameter (0 if it is not in the
// catalogue): the one its decoder set, else looked up by name.
func (v *Value) ParamID() ParamID {
	if v.PID != 0 {
		return v.PID
	}
	return paramIDs[v.Param]
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
