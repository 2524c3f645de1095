package decode

import (
	"testing"
)

// JSON converts units as the HJ 212 path does: the same spellings (kPa,
// mS/cm, ℃, Chinese names) and exact decimal scaling, so that 0.35 mg/m³
// is 350 µg/m³, not 349.99999999999994.
func TestJSONConvertsUnitsLikeHJ212(t *testing.T) {
	const head = `{"station":"a","time":"2026-11-28T09:00:00+08:00",`
	tests := []struct {
		name  string
		param string
		value string
		unit  string
		want  float64
	}{
		{"mg/m3 to µg/m³, exact", "so2", "0.35", "mg/m3", 350},
		{"mg/m³ to µg/m³, exact", "pm25", "0.075", "mg/m³", 75},
		{"µg/m3 to mg/m³ (CO)", "co", "800", "µg/m3", 0.8},
		{"ug/L to mg/L", "nh3n", "500", "ug/L", 0.5},
		{"μg/L (Greek mu) to mg/L", "tp", "50", "μg/L", 0.05},
		{"g/l to mg/L", "do", "0.0071", "g/l", 7.1},
		{"kPa to hPa", "pressure", "101.3", "kPa", 1013},
		{"Pa to hPa", "pressure", "101300", "Pa", 1013},
		{"mS/cm to µS/cm", "conductivity", "1.4", "mS/cm", 1400},
		{"℃ is °C", "temp", "20", "℃", 20},
		{"摄氏度 is °C", "water_temp", "12.5", "摄氏度", 12.5},
		{"毫克/立方米 to µg/m³", "pm10", "0.15", "毫克/立方米", 150},
		{"微克/升 to mg/L", "nh3n", "80", "微克/升", 0.08},
		{"千帕 to hPa", "pressure", "99.5", "千帕", 995},
		{"canonical unit, unchanged", "pm25", "38.2", "µg/m³", 38.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			res := d.JSON([]byte(head + `"values":{"` + tt.param + `":` + tt.value + `},"units":{"` + tt.param + `":"` + tt.unit + `"}}`))
			if len(res.Rejects) != 0 || len(res.Readings) != 1 {
				t.Fatalf("rejects %v readings %+v, want one reading", res.Rejects, res.Readings)
			}
			if v, _ := res.Readings[0].Get(tt.param); v.V != tt.want {
				t.Errorf("%s %s %s = %v, want %v", tt.value, tt.unit, tt.param, v.V, tt.want)
			}
		})
	}
}
