package aqi

import (
	"fmt"
	"testing"
)

func TestLevelOfPutsBoundariesInTheBetterLevel(t *testing.T) {
	tests := []struct {
		aqi  int
		want Level
	}{
		{0, Level1}, {1, Level1}, {50, Level1},
		{51, Level2}, {100, Level2},
		{101, Level3}, {150, Level3},
		{151, Level4}, {200, Level4},
		{201, Level5}, {300, Level5},
		{301, Level6}, {500, Level6}, {999, Level6},
		{-1, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("AQI %d is level %v", tt.aqi, tt.want), func(t *testing.T) {
			if got := LevelOf(tt.aqi); got != tt.want {
				t.Errorf("LevelOf(%d) = %v, want %v", tt.aqi, got, tt.want)
			}
		})
	}
}

func TestLevelsCarryTheStandardsNamesAndColours(t *testing.T) {
	tests := []struct {
		level               Level
		roman, zh, cat, hex string
		r, g, b             uint8
		low, high           int
		good                bool
	}{
		{Level1, "I", "一级", "优", "#00E400", 0, 228, 0, 0, 50, true},
		{Level2, "II", "二级", "良", "#FFFF00", 255, 255, 0, 51, 100, true},
		{Level3, "III", "三级", "轻度污染", "#FF7E00", 255, 126, 0, 101, 150, false},
		{Level4, "IV", "四级", "中度污染", "#FF0000", 255, 0, 0, 151, 200, false},
		{Level5, "V", "五级", "重度污染", "#99004C", 153, 0, 76, 201, 300, false},
		{Level6, "VI", "六级", "严重污染", "#7E0023", 126, 0, 35, 301, -1, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("level %s is %s in %s", tt.roman, tt.cat, tt.hex), func(t *testing.T) {
			l := tt.level
			c := l.Color()
			if l.String() != tt.roman || l.Chinese() != tt.zh || l.Category() != tt.cat {
				t.Errorf("names = %s %s %s", l.String(), l.Chinese(), l.Category())
			}
			if c.Hex != tt.hex || c.R != tt.r || c.G != tt.g || c.B != tt.b {
				t.Errorf("colour = %+v", c)
			}
			// The hex and RGB forms must describe the same colour.
			if hex := fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B); hex != c.Hex {
				t.Errorf("hex %s does not match RGB %s", c.Hex, hex)
			}
			if low, high := l.Range(); low != tt.low || high != tt.high {
				t.Errorf("Range = %d..%d, want %d..%d", low, high, tt.low, tt.high)
			}
			if l.Good() != tt.good {
				t.Errorf("Good = %v", l.Good())
			}
			if l.CategoryEN() == "" || c.Name == "" || c.NameEN == "" {
				t.Errorf("missing names: %q %+v", l.CategoryEN(), c)
			}
		})
	}
}

func TestAnInvalidLevelHasNoNames(t *testing.T) {
	var l Level
	if l.Valid() || l.Category() != "" || l.Color() != (Color{}) {
		t.Errorf("zero Level = %v %q %+v", l.Valid(), l.Category(), l.Color())
	}
	if low, high := Level(7).Range(); low != -1 || high != -1 {
		t.Errorf("Level(7).Range = %d..%d", low, high)
	}
}
