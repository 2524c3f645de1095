package units

import (
	"math"
	"testing"
)

func TestConvert(t *testing.T) {
	tests := []struct {
		v        float64
		from, to string
		want     float64
		err      bool
	}{
		{0.35, "mg/m3", "µg/m³", 350, false},
		{0.0071, "g/l", "mg/L", 7.1, false},
		{0.05, "µg/L", "mg/L", 0.00005, false},
		{0.05, "μg/L", "mg/L", 0.00005, false},
		{800, "µg/m³", "mg/m³", 0.8, false},
		{101.3, "kPa", "hPa", 1013, false},
		{101325, "Pa", "hPa", 1013.25, false},
		{1.4, "mS/cm", "µS/cm", 1400, false},
		{20, "℃", "°C", 20, false},
		{12.5, "摄氏度", "°C", 12.5, false},
		{-0.35, "mg/m3", "µg/m³", -350, false},
		{0, "mg/m3", "µg/m³", 0, false},
		{1.7e308, "g/l", "mg/L", math.Inf(1), false},
		{-1.7e308, "g/l", "mg/L", math.Inf(-1), false},
		{5e-324, "ug/l", "mg/L", 0, false},
		{1, "mg/L", "mg/m³", 0, true},
		{1, "furlongs", "mg/L", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.from+"→"+tt.to, func(t *testing.T) {
			got, err := Convert(tt.v, tt.from, tt.to)
			if (err != nil) != tt.err {
				t.Fatalf("err %v, want error %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("Convert(%g %s → %s) = %v, want %v", tt.v, tt.from, tt.to, got, tt.want)
			}
		})
	}
}

// Every decimal with up to 4 decimals in mg/m³ converts to exactly the
// float64 nearest the same digits in µg/m³, and back.
func TestScaleIsExactForDecimals(t *testing.T) {
	mg, _ := Lookup("mg/m3")
	ug, _ := Lookup("µg/m³")
	for i := -20000; i <= 20000; i++ {
		v := float64(i) / 1e4 // nearest float64 to i×10⁻⁴
		if got, _ := Scale(v, mg, ug); got != float64(i)/10 {
			t.Fatalf("%v mg/m³ = %v µg/m³, want %v", v, got, float64(i)/10)
		}
		if got, _ := Scale(float64(i)/10, ug, mg); got != v {
			t.Fatalf("%v µg/m³ = %v mg/m³, want %v", float64(i)/10, got, v)
		}
	}
}

func TestScaleDoesNotAllocate(t *testing.T) {
	mg, _ := Lookup("mg/m3")
	ug, _ := Lookup("µg/m³")
	if n := testing.AllocsPerRun(100, func() { Scale(0.35, mg, ug) }); n != 0 {
		t.Errorf("%v allocs per Scale", n)
	}
}

// Every written spelling is a unit, looked up without folding.
func TestWrittenSpellingsAreCanonical(t *testing.T) {
	for _, s := range written {
		if _, ok := canonical[s]; !ok {
			t.Errorf("%q is not a unit", s)
		}
	}
}
