package waterclass

import (
	"fmt"
	"strconv"
	"strings"
)

// Class is a GB 3838-2002 water quality class, 1 (I) to 5 (V), or 6 for
// water worse than Class V (劣V), as envpipe stores it. The zero value
// means no class (nothing was assessed, or no target was given).
type Class int

// The classes, from the most to the least demanding function.
const (
	ClassI     Class = iota + 1 // source waters, national nature reserves
	ClassII                     // first-grade drinking-water source protection zones, …
	ClassIII                    // second-grade drinking-water source protection zones, …
	ClassIV                     // general industrial use, recreation without body contact
	ClassV                      // agricultural use, general landscape
	WorseThanV                  // 劣V: fails Class V; not a class of GB 3838 itself
)

type classInfo struct {
	roman, english, quality, qualityEN string
}

// classes indexes by Class. The qualitative labels are those of the 2011
// assessment method (reference §1.3).
var classes = [...]classInfo{
	{},
	{"I", "I", "优", "excellent"},
	{"II", "II", "优", "excellent"},
	{"III", "III", "良好", "good"},
	{"IV", "IV", "轻度污染", "light pollution"},
	{"V", "V", "中度污染", "moderate pollution"},
	{"劣V", "worse than V", "重度污染", "heavy pollution"},
}

// Valid reports whether c is one of the six classes.
func (c Class) Valid() bool { return c >= ClassI && c <= WorseThanV }

// String returns the class as written in Chinese reports: "I" … "V", "劣V".
func (c Class) String() string {
	if !c.Valid() {
		return fmt.Sprintf("Class(%d)", int(c))
	}
	return classes[c].roman
}

// English returns the class for English text: "I" … "V", "worse than V".
func (c Class) English() string {
	if !c.Valid() {
		return c.String()
	}
	return classes[c].english
}

// Quality returns the assessment label: 优 (I–II), 良好 (III), 轻度污染
// (IV), 中度污染 (V), 重度污染 (劣V).
func (c Class) Quality() string {
	if !c.Valid() {
		return ""
	}
	return classes[c].quality
}

// QualityEN returns the assessment label in English.
func (c Class) QualityEN() string {
	if !c.Valid() {
		return ""
	}
	return classes[c].qualityEN
}

// ParseClass parses a class as configurations and people write it: "II",
// "ii", "Ⅱ", "Class II", "2", and for class 6 "劣V", "劣Ⅴ", "worse than V",
// "VI" or "6".
func ParseClass(s string) (Class, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSpace(strings.TrimPrefix(t, "CLASS"))
	t = strings.TrimSuffix(strings.TrimPrefix(t, "类"), "类")
	// Unicode Roman numerals, which Chinese documents use.
	t = strings.NewReplacer("Ⅰ", "I", "Ⅱ", "II", "Ⅲ", "III", "Ⅳ", "IV", "Ⅴ", "V").Replace(t)
	switch t {
	case "I":
		return ClassI, nil
	case "II":
		return ClassII, nil
	case "III":
		return ClassIII, nil
	case "IV":
		return ClassIV, nil
	case "V":
		return ClassV, nil
	case "劣V", "VI", "WORSE THAN V", "WORSE THAN CLASS V":
		return WorseThanV, nil
	}
	if n, err := strconv.Atoi(t); err == nil && Class(n).Valid() {
		return Class(n), nil
	}
	return 0, fmt.Errorf("waterclass: unknown class %q (want I–V, 劣V or 1–6)", s)
}

// Waterbody is the kind of water a section lies in; it chooses the total
// phosphorus limits and whether total nitrogen is assessed.
type Waterbody int

const (
	// River is the zero value: most monitored sections are on rivers, and
	// GB 3838's general TP column is the river one.
	River Waterbody = iota
	// Lake covers lakes and reservoirs (湖、库).
	Lake
)

func (w Waterbody) String() string {
	switch w {
	case River:
		return "river"
	case Lake:
		return "lake"
	}
	return fmt.Sprintf("Waterbody(%d)", int(w))
}

// ParseWaterbody parses "river" or "lake" (also "reservoir", and the
// Chinese 河流, 湖泊, 水库).
func ParseWaterbody(s string) (Waterbody, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "river", "河流", "河":
		return River, nil
	case "lake", "reservoir", "lake/reservoir", "湖泊", "湖", "水库", "湖库":
		return Lake, nil
	}
	return 0, fmt.Errorf("waterclass: unknown waterbody %q (want river or lake)", s)
}
