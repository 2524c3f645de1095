package aqi

import "fmt"

// Level is an AQI level (空气质量指数级别) of HJ 633 Table 2, 1 to 6. The
// zero value means no AQI could be computed. Both editions share the
// levels and their colours.
type Level int

// The six levels.
const (
	Level1 Level = iota + 1 // 0–50, 优
	Level2                  // 51–100, 良
	Level3                  // 101–150, 轻度污染
	Level4                  // 151–200, 中度污染
	Level5                  // 201–300, 重度污染
	Level6                  // above 300, 严重污染
)

// Color is a level's display colour, HJ 633 Appendix A (normative).
type Color struct {
	Name    string // Chinese colour name, e.g. 绿
	NameEN  string // English colour name, e.g. green
	R, G, B uint8
	Hex     string // "#RRGGBB", upper case as in the standard
}

type levelInfo struct {
	upper      int // highest AQI of the level; the last level has none
	roman      string
	chinese    string // 一级 …
	category   string // 优 …
	categoryEN string
	color      Color
}

// levels is HJ 633 Table 2 and Table A.1. Index 0 is unused so that a
// Level indexes it directly. The English category names are not defined by
// HJ 633; these are the common convention (see the reference, §3.4).
var levels = [...]levelInfo{
	{},
	{50, "I", "一级", "优", "Excellent", Color{"绿", "green", 0, 228, 0, "#00E400"}},
	{100, "II", "二级", "良", "Good", Color{"黄", "yellow", 255, 255, 0, "#FFFF00"}},
	{150, "III", "三级", "轻度污染", "Lightly polluted", Color{"橙", "orange", 255, 126, 0, "#FF7E00"}},
	{200, "IV", "四级", "中度污染", "Moderately polluted", Color{"红", "red", 255, 0, 0, "#FF0000"}},
	{300, "V", "五级", "重度污染", "Heavily polluted", Color{"紫", "purple", 153, 0, 76, "#99004C"}},
	{-1, "VI", "六级", "严重污染", "Severely polluted", Color{"褐红", "maroon", 126, 0, 35, "#7E0023"}},
}

// LevelOf returns the level of an AQI value. A value on a boundary belongs
// to the lower (better) level: 50 is level 1 and 51 is level 2. Negative
// values, which no computation produces, give the zero Level.
func LevelOf(aqi int) Level {
	if aqi < 0 {
		return 0
	}
	for l := Level1; l < Level6; l++ {
		if aqi <= levels[l].upper {
			return l
		}
	}
	return Level6
}

// Valid reports whether l is one of the six levels.
func (l Level) Valid() bool { return l >= Level1 && l <= Level6 }

// String returns the level as a Roman numeral, as HJ 633 writes it in
// brackets: "I" … "VI".
func (l Level) String() string {
	if !l.Valid() {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levels[l].roman
}

// Chinese returns the level's Chinese name, "一级" … "六级".
func (l Level) Chinese() string { return l.info().chinese }

// Category returns the Chinese category (空气质量指数类别), "优" … "严重污染".
func (l Level) Category() string { return l.info().category }

// CategoryEN returns an English category, "Excellent" … "Severely polluted".
func (l Level) CategoryEN() string { return l.info().categoryEN }

// Color returns the level's colour; the zero Color for an invalid level.
func (l Level) Color() Color { return l.info().color }

// Range returns the AQI range of the level, inclusive; high is -1 for
// level 6, which has no upper end, and both are -1 for an invalid level.
func (l Level) Range() (low, high int) {
	if !l.Valid() {
		return -1, -1
	}
	if l > Level1 {
		low = levels[l-1].upper + 1
	}
	return low, levels[l].upper
}

// Good reports whether a day at this level counts as a good-air day
// (优良天, daily AQI ≤ 100) for the good-days rate.
func (l Level) Good() bool { return l == Level1 || l == Level2 }

func (l Level) info() levelInfo {
	if !l.Valid() {
		return levelInfo{}
	}
	return levels[l]
}
