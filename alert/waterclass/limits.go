package waterclass

import "math"

// Bound is the range a value must lie in to meet a class, inclusive at
// both ends; an open end is −Inf or +Inf.
type Bound struct {
	Lo, Hi float64
}

// Contains reports whether v meets the bound. Limits are inclusive: a value
// equal to a limit meets it. NaN meets nothing.
func (b Bound) Contains(v float64) bool { return v >= b.Lo && v <= b.Hi }

// IsRange reports whether both ends are finite: a range item (pH 6–9),
// the same for every class. A value inside a range is not nearer to
// failing for being nearer an end, so a range has no approach level: the
// ratio passes 0.9 at ordinary values (pH 8.1, 6.67).
func (b Bound) IsRange() bool { return !math.IsInf(b.Lo, -1) && !math.IsInf(b.Hi, 1) && b != (Bound{}) }

// Ratio returns how v compares with the bound, oriented so that 1 is on
// the limit and above 1 is worse: v ÷ Hi for an upper bound, Lo ÷ v for a
// lower bound (dissolved oxygen), the larger of the two for a range (pH).
// A non-positive value under a lower bound gives +Inf. A zero Bound gives
// NaN.
func (b Bound) Ratio(v float64) float64 {
	hasLo, hasHi := !math.IsInf(b.Lo, -1), !math.IsInf(b.Hi, 1)
	if b == (Bound{}) || !hasLo && !hasHi {
		return math.NaN()
	}
	r := math.Inf(-1)
	if hasHi {
		r = v / b.Hi
	}
	if hasLo {
		lo := math.Inf(1)
		if v > 0 {
			lo = b.Lo / v
		}
		r = math.Max(r, lo)
	}
	return r
}

// Item describes one classified item of GB 3838-2002 Table 1.
type Item struct {
	Name    string // envpipe's parameter name, e.g. "nh3n"
	Chinese string
	English string
	Unit    string
	// LakeOnly is true for an item GB 3838 limits only in lakes and
	// reservoirs (total nitrogen).
	LakeOnly bool
	// Reference is true for an item the 2011 assessment method reports
	// without letting it decide the class (total nitrogen, fecal coliform).
	Reference bool
}

type kind int

const (
	upper     kind = iota // value ≤ limit
	lower                 // value ≥ limit (dissolved oxygen)
	rangeKind             // lo ≤ value ≤ hi, the same for every class (pH)
)

type itemLimits struct {
	Item
	kind kind
	// limits per class I … V. For rangeKind, limits[0] and limits[1] are
	// the range's ends.
	limits [5]float64
	// lake holds the lake/reservoir limits where they differ (TP).
	lake *[5]float64
}

// table is GB 3838-2002 Table 1, items 2–24 (water temperature has no
// per-class limit). Source: reference/standards.md §1.2.
var table = []itemLimits{
	{Item{"ph", "pH 值", "pH", "", false, false}, rangeKind, [5]float64{6, 9}, nil},
	{Item{"do", "溶解氧", "dissolved oxygen", "mg/L", false, false}, lower, [5]float64{7.5, 6, 5, 3, 2}, nil},
	{Item{"codmn", "高锰酸盐指数", "permanganate index", "mg/L", false, false}, upper, [5]float64{2, 4, 6, 10, 15}, nil},
	{Item{"cod", "化学需氧量", "chemical oxygen demand", "mg/L", false, false}, upper, [5]float64{15, 15, 20, 30, 40}, nil},
	{Item{"bod5", "五日生化需氧量", "five-day biochemical oxygen demand", "mg/L", false, false}, upper, [5]float64{3, 3, 4, 6, 10}, nil},
	{Item{"nh3n", "氨氮", "ammonia nitrogen", "mg/L", false, false}, upper, [5]float64{0.15, 0.5, 1.0, 1.5, 2.0}, nil},
	{Item{"tp", "总磷", "total phosphorus (as P)", "mg/L", false, false}, upper, [5]float64{0.02, 0.1, 0.2, 0.3, 0.4},
		&[5]float64{0.01, 0.025, 0.05, 0.1, 0.2}},
	{Item{"tn", "总氮", "total nitrogen (as N)", "mg/L", true, true}, upper, [5]float64{0.2, 0.5, 1.0, 1.5, 2.0}, nil},
	{Item{"cu", "铜", "copper", "mg/L", false, false}, upper, [5]float64{0.01, 1.0, 1.0, 1.0, 1.0}, nil},
	{Item{"zn", "锌", "zinc", "mg/L", false, false}, upper, [5]float64{0.05, 1.0, 1.0, 2.0, 2.0}, nil},
	{Item{"fluoride", "氟化物", "fluoride (as F⁻)", "mg/L", false, false}, upper, [5]float64{1.0, 1.0, 1.0, 1.5, 1.5}, nil},
	{Item{"se", "硒", "selenium", "mg/L", false, false}, upper, [5]float64{0.01, 0.01, 0.01, 0.02, 0.02}, nil},
	{Item{"as", "砷", "arsenic", "mg/L", false, false}, upper, [5]float64{0.05, 0.05, 0.05, 0.1, 0.1}, nil},
	{Item{"hg", "汞", "mercury", "mg/L", false, false}, upper, [5]float64{0.00005, 0.00005, 0.0001, 0.001, 0.001}, nil},
	{Item{"cd", "镉", "cadmium", "mg/L", false, false}, upper, [5]float64{0.001, 0.005, 0.005, 0.005, 0.01}, nil},
	{Item{"cr6", "铬（六价）", "chromium (VI)", "mg/L", false, false}, upper, [5]float64{0.01, 0.05, 0.05, 0.05, 0.1}, nil},
	{Item{"pb", "铅", "lead", "mg/L", false, false}, upper, [5]float64{0.01, 0.01, 0.05, 0.05, 0.1}, nil},
	{Item{"cyanide", "氰化物", "cyanide", "mg/L", false, false}, upper, [5]float64{0.005, 0.05, 0.2, 0.2, 0.2}, nil},
	{Item{"phenol", "挥发酚", "volatile phenol", "mg/L", false, false}, upper, [5]float64{0.002, 0.002, 0.005, 0.01, 0.1}, nil},
	{Item{"petroleum", "石油类", "petroleum", "mg/L", false, false}, upper, [5]float64{0.05, 0.05, 0.05, 0.5, 1.0}, nil},
	{Item{"las", "阴离子表面活性剂", "anionic surfactant", "mg/L", false, false}, upper, [5]float64{0.2, 0.2, 0.2, 0.3, 0.3}, nil},
	{Item{"sulfide", "硫化物", "sulfide", "mg/L", false, false}, upper, [5]float64{0.05, 0.1, 0.2, 0.5, 1.0}, nil},
	{Item{"fecal_coliform", "粪大肠菌群", "fecal coliform", "count/L", false, true}, upper, [5]float64{200, 2000, 10000, 20000, 40000}, nil},
}

// byName indexes table.
var byName = func() map[string]*itemLimits {
	m := make(map[string]*itemLimits, len(table))
	for i := range table {
		m[table[i].Name] = &table[i]
	}
	return m
}()

// Items returns the classified items in the order of GB 3838 Table 1.
func Items() []Item {
	out := make([]Item, len(table))
	for i, it := range table {
		out[i] = it.Item
	}
	return out
}

// Limit returns the bound a value of item must meet to be of class c in
// the given water body. It returns false for an unknown item, a class
// outside I–V, or total nitrogen in a river (which GB 3838 does not limit).
func Limit(item string, c Class, wb Waterbody) (Bound, bool) {
	it, ok := byName[item]
	if !ok || c < ClassI || c > ClassV || (wb != River && wb != Lake) {
		return Bound{}, false
	}
	return it.bound(c, wb)
}

func (it *itemLimits) bound(c Class, wb Waterbody) (Bound, bool) {
	if it.LakeOnly && wb != Lake {
		return Bound{}, false
	}
	limits := &it.limits
	if wb == Lake && it.lake != nil {
		limits = it.lake
	}
	switch it.kind {
	case lower:
		return Bound{Lo: limits[c-1], Hi: math.Inf(1)}, true
	case rangeKind:
		return Bound{Lo: limits[0], Hi: limits[1]}, true
	default:
		return Bound{Lo: math.Inf(-1), Hi: limits[c-1]}, true
	}
}

// classOf returns the best class whose limit v meets, or WorseThanV.
func (it *itemLimits) classOf(v float64, wb Waterbody) Class {
	for c := ClassI; c <= ClassV; c++ {
		if b, _ := it.bound(c, wb); b.Contains(v) {
			return c
		}
	}
	return WorseThanV
}
