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
var Params = map[string]Param{
	"pm25":         {"pm25", KindAir, "µg/m³", 0, 2000},
	"pm10":         {"pm10", KindAir, "µg/m³", 0, 3000},
	"so2":          {"so2", KindAir, "µg/m³", 0, 5000},
	"no2":          {"no2", KindAir, "µg/m³", 0, 5000},
	"o3":           {"o3", KindAir, "µg/m³", 0, 2000},
	"co":           {"co", KindAir, "mg/m³", 0, 200},
	"temp":         {"temp", KindAir, "°C", -60, 60},
	"rh":           {"rh", KindAir, "%", 0, 100},
	"pressure":     {"pressure", KindAir, "hPa", 500, 1100},
	"wind_speed":   {"wind_speed", KindAir, "m/s", 0, 75},
	"wind_dir":     {"wind_dir", KindAir, "degrees", 0, 360},
	"water_temp":   {"water_temp", KindWater, "°C", -5, 45},
	"ph":           {"ph", KindWater, "", 0, 14},
	"do":           {"do", KindWater, "mg/L", 0, 25},
	"codmn":        {"codmn", KindWater, "mg/L", 0, 200},
	"cod":          {"cod", KindWater, "mg/L", 0, 2000},
	"bod5":         {"bod5", KindWater, "mg/L", 0, 1000},
	"nh3n":         {"nh3n", KindWater, "mg/L", 0, 200},
	"tp":           {"tp", KindWater, "mg/L", 0, 50},
	"tn":           {"tn", KindWater, "mg/L", 0, 200},
	"conductivity": {"conductivity", KindWater, "µS/cm", 0, 100000},
	"turbidity":    {"turbidity", KindWater, "NTU", 0, 10000},
	"chla":         {"chla", KindWater, "µg/L", 0, 5000},
}
