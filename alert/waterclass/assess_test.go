package waterclass

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

func TestItemClassBoundaries(t *testing.T) {
	tests := []struct {
		name  string
		item  string
		value float64
		wb    Waterbody
		want  Class
	}{
		{"dissolved oxygen at 7.5 meets Class I", "do", 7.5, River, ClassI},
		{"dissolved oxygen just under 7.5 is Class II", "do", 7.49, River, ClassII},
		{"dissolved oxygen at 2 meets Class V", "do", 2, River, ClassV},
		{"dissolved oxygen under 2 is worse than V", "do", 1.99, River, WorseThanV},
		{"ammonia at the Class I limit is Class I", "nh3n", 0.15, River, ClassI},
		{"ammonia at the Class V limit is Class V", "nh3n", 2.0, River, ClassV},
		{"ammonia above the Class V limit is worse than V", "nh3n", 2.01, River, WorseThanV},
		{"COD at 15 meets Class I because I and II share the limit", "cod", 15, River, ClassI},
		{"pH at 6 meets every class", "ph", 6, River, ClassI},
		{"pH at 9 meets every class", "ph", 9, River, ClassI},
		{"pH under 6 fails every class", "ph", 5.99, River, WorseThanV},
		{"pH over 9 fails every class", "ph", 9.01, River, WorseThanV},
		{"river TP of 0.1 is Class II", "tp", 0.1, River, ClassII},
		{"lake TP of 0.1 is Class IV", "tp", 0.1, Lake, ClassIV},
		{"lake TP of 0.025 is Class II", "tp", 0.025, Lake, ClassII},
		{"lake TP above 0.2 is worse than V", "tp", 0.21, Lake, WorseThanV},
		{"lake total nitrogen of 1.0 is Class III", "tn", 1.0, Lake, ClassIII},
		{"mercury at 0.00005 meets Class I", "hg", 0.00005, River, ClassI},
		{"mercury a hair above 0.00005 is Class III", "hg", 0.000051, River, ClassIII},
		{"mercury read as µg/L by mistake is worse than V", "hg", 0.05, River, WorseThanV},
		{"copper above Class I is Class II up to 1.0", "cu", 1.0, River, ClassII},
		{"fecal coliform at 40000 per litre meets Class V", "fecal_coliform", 40000, River, ClassV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Assess(map[string]float64{tt.item: tt.value}, Options{Waterbody: tt.wb})
			if err != nil {
				t.Fatal(err)
			}
			ir, ok := got.Item(tt.item)
			if !ok {
				t.Fatalf("%s not assessed: %+v", tt.item, got)
			}
			if ir.Class != tt.want || got.Class != tt.want {
				t.Errorf("item class %v, sample class %v; want %v", ir.Class, got.Class, tt.want)
			}
			if !slices.Equal(got.Worst, []string{tt.item}) {
				t.Errorf("Worst = %q", got.Worst)
			}
		})
	}
}

func TestRatiosToTheTargetClassAreAboveOneWhenWorse(t *testing.T) {
	tests := []struct {
		name    string
		item    string
		value   float64
		wb      Waterbody
		target  Class
		ratio   float64
		exceeds bool
	}{
		{"ammonia at the Class II limit has ratio 1 and does not exceed", "nh3n", 0.5, River, ClassII, 1, false},
		{"ammonia at 1.5 times the Class II limit exceeds", "nh3n", 0.75, River, ClassII, 1.5, true},
		{"dissolved oxygen at half the Class II minimum has ratio 2", "do", 3, River, ClassII, 2, true},
		{"dissolved oxygen above the minimum has a ratio under 1", "do", 7.5, River, ClassII, 0.8, false},
		{"dissolved oxygen of zero is infinitely worse", "do", 0, River, ClassIII, math.Inf(1), true},
		{"pH 9 sits on the range's upper end", "ph", 9, River, ClassII, 1, false},
		{"pH 4.5 is 6/4.5 below the range", "ph", 4.5, River, ClassII, 6 / 4.5, true},
		{"pH 7.2 is inside the range, nearer its lower end", "ph", 7.2, River, ClassIII, 6 / 7.2, false},
		{"TP uses the lake limit of the target class", "tp", 0.1, Lake, ClassIII, 2, true},
		{"TP uses the river limit of the target class", "tp", 0.1, River, ClassIII, 0.5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Assess(map[string]float64{tt.item: tt.value}, Options{Waterbody: tt.wb, Target: tt.target})
			if err != nil {
				t.Fatal(err)
			}
			ir, _ := got.Item(tt.item)
			if math.Abs(ir.Ratio-tt.ratio) > 1e-12 && !(math.IsInf(ir.Ratio, 1) && math.IsInf(tt.ratio, 1)) {
				t.Errorf("Ratio = %v, want %v", ir.Ratio, tt.ratio)
			}
			if ir.Exceeds != tt.exceeds {
				t.Errorf("Exceeds = %v, want %v", ir.Exceeds, tt.exceeds)
			}
			if got.MeetsTarget == tt.exceeds {
				t.Errorf("MeetsTarget = %v with a single item exceeding = %v", got.MeetsTarget, tt.exceeds)
			}
		})
	}
}

func TestAssessSample(t *testing.T) {
	tests := []struct {
		name       string
		sample     map[string]float64
		opt        Options
		class      Class
		worst      []string
		meets      bool
		exceeding  []string
		unassessed []string
	}{
		{
			name:   "the worst item decides and ties are listed alphabetically",
			sample: map[string]float64{"do": 5, "nh3n": 1.0, "cod": 10, "ph": 7},
			opt:    Options{Target: ClassII},
			class:  ClassIII, worst: []string{"do", "nh3n"}, exceeding: []string{"do", "nh3n"},
		},
		{
			name:   "a sample that meets its target says so",
			sample: map[string]float64{"do": 6, "nh3n": 0.5, "tp": 0.1, "codmn": 4},
			opt:    Options{Target: ClassII},
			class:  ClassII, worst: []string{"codmn", "do", "nh3n", "tp"}, meets: true,
		},
		{
			name:   "total nitrogen in a river is not assessed",
			sample: map[string]float64{"tn": 5, "nh3n": 0.1},
			opt:    Options{Waterbody: River},
			class:  ClassI, worst: []string{"nh3n"}, unassessed: []string{"tn"},
		},
		{
			name:   "total nitrogen in a lake decides by GB 3838",
			sample: map[string]float64{"tn": 5, "nh3n": 0.1},
			opt:    Options{Waterbody: Lake, Target: ClassIII},
			class:  WorseThanV, worst: []string{"tn"}, exceeding: []string{"tn"},
		},
		{
			name:   "total nitrogen in a lake is only a reference item under the 2011 method",
			sample: map[string]float64{"tn": 5, "fecal_coliform": 50000, "nh3n": 0.1},
			opt:    Options{Waterbody: Lake, Target: ClassIII, Method: Method2011},
			class:  ClassI, worst: []string{"nh3n"}, meets: true,
		},
		{
			name:   "parameters without a limit and NaN values are listed as unassessed",
			sample: map[string]float64{"water_temp": 18, "conductivity": 300, "do": math.NaN(), "cod": 16},
			opt:    Options{},
			class:  ClassIII, worst: []string{"cod"}, unassessed: []string{"conductivity", "do", "water_temp"},
		},
		{
			name:       "a sample with nothing to assess has no class and meets no target",
			sample:     map[string]float64{"turbidity": 4},
			opt:        Options{Target: ClassV},
			unassessed: []string{"turbidity"},
		},
		{
			name:   "a pH outside 6–9 makes the sample worse than V",
			sample: map[string]float64{"ph": 9.5, "do": 8},
			opt:    Options{Target: ClassV},
			class:  WorseThanV, worst: []string{"ph"}, exceeding: []string{"ph"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Assess(tt.sample, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got.Class != tt.class {
				t.Errorf("Class = %v, want %v", got.Class, tt.class)
			}
			if !slices.Equal(got.Worst, tt.worst) {
				t.Errorf("Worst = %q, want %q", got.Worst, tt.worst)
			}
			if got.MeetsTarget != tt.meets {
				t.Errorf("MeetsTarget = %v, want %v", got.MeetsTarget, tt.meets)
			}
			if !slices.Equal(got.Exceeding, tt.exceeding) {
				t.Errorf("Exceeding = %q, want %q", got.Exceeding, tt.exceeding)
			}
			if !slices.Equal(got.Unassessed, tt.unassessed) {
				t.Errorf("Unassessed = %q, want %q", got.Unassessed, tt.unassessed)
			}
		})
	}
}

func TestItemsComeInTableOrderWithoutATargetRatio(t *testing.T) {
	got, _ := Assess(map[string]float64{"tp": 0.1, "ph": 7, "do": 8}, Options{})
	var names []string
	for _, ir := range got.Items {
		names = append(names, ir.Item)
		if !math.IsNaN(ir.Ratio) || ir.Exceeds || ir.Limit != (Bound{}) {
			t.Errorf("%s without a target: %+v", ir.Item, ir)
		}
	}
	if want := []string{"ph", "do", "tp"}; !slices.Equal(names, want) {
		t.Errorf("Items order = %q, want %q", names, want)
	}
}

func TestAssessRejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
	}{
		{"an unknown water body", Options{Waterbody: 7}},
		{"worse than V as a target", Options{Target: WorseThanV}},
		{"a negative target", Options{Target: -1}},
		{"an unknown method", Options{Method: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if _, err := Assess(map[string]float64{"do": 8}, tt.opt); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestLimitLookups(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name  string
		item  string
		class Class
		wb    Waterbody
		want  Bound
		ok    bool
		rng   bool // a range: no approach level
	}{
		{"Class II ammonia is at most 0.5", "nh3n", ClassII, River, Bound{math.Inf(-1), 0.5}, true, false},
		{"Class I dissolved oxygen is at least 7.5", "do", ClassI, River, Bound{7.5, inf}, true, false},
		{"pH is 6 to 9 for Class V too", "ph", ClassV, Lake, Bound{6, 9}, true, true},
		{"Class III lake TP is at most 0.05", "tp", ClassIII, Lake, Bound{math.Inf(-1), 0.05}, true, false},
		{"Class II mercury is at most 0.00005", "hg", ClassII, River, Bound{math.Inf(-1), 0.00005}, true, false},
		{"river total nitrogen has no limit", "tn", ClassII, River, Bound{}, false, false},
		{"worse than V has no limit", "cod", WorseThanV, River, Bound{}, false, false},
		{"an unknown item has no limit", "chla", ClassII, Lake, Bound{}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Limit(tt.item, tt.class, tt.wb)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Limit = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
			if got.IsRange() != tt.rng {
				t.Errorf("%+v.IsRange() = %v, want %v", got, got.IsRange(), tt.rng)
			}
		})
	}
}

// Every item's limits must be nested, each class's range inside the next
// one's: the single-factor method relies on "meets class c" implying
// "meets every worse class".
func TestLimitsAreNestedFromClassIToV(t *testing.T) {
	seen := map[string]bool{}
	for _, it := range Items() {
		if seen[it.Name] {
			t.Errorf("duplicate item %s", it.Name)
		}
		seen[it.Name] = true
		for _, wb := range []Waterbody{River, Lake} {
			prev, ok := Limit(it.Name, ClassI, wb)
			if !ok {
				if !it.LakeOnly || wb != River {
					t.Errorf("%s %v: no Class I limit", it.Name, wb)
				}
				continue
			}
			for c := ClassII; c <= ClassV; c++ {
				b, _ := Limit(it.Name, c, wb)
				if b.Lo > prev.Lo || b.Hi < prev.Hi {
					t.Errorf("%s %v: class %v %+v is stricter than class %v %+v", it.Name, wb, c, b, c-1, prev)
				}
				prev = b
			}
		}
	}
	if len(seen) != 23 {
		t.Errorf("%d items, want the 23 of GB 3838 Table 1 with per-class limits", len(seen))
	}
}

func TestClassNamesAndParsing(t *testing.T) {
	names := []struct {
		c                        Class
		str, en, quality, qualEN string
	}{
		{ClassI, "I", "I", "优", "excellent"},
		{ClassII, "II", "II", "优", "excellent"},
		{ClassIII, "III", "III", "良好", "good"},
		{ClassIV, "IV", "IV", "轻度污染", "light pollution"},
		{ClassV, "V", "V", "中度污染", "moderate pollution"},
		{WorseThanV, "劣V", "worse than V", "重度污染", "heavy pollution"},
	}
	for _, tt := range names {
		t.Run(fmt.Sprintf("class %d is written %s", int(tt.c), tt.str), func(t *testing.T) {
			if tt.c.String() != tt.str || tt.c.English() != tt.en || tt.c.Quality() != tt.quality || tt.c.QualityEN() != tt.qualEN {
				t.Errorf("%q %q %q %q", tt.c.String(), tt.c.English(), tt.c.Quality(), tt.c.QualityEN())
			}
			for _, s := range []string{tt.str, tt.en, fmt.Sprint(int(tt.c))} {
				if got, err := ParseClass(s); got != tt.c || err != nil {
					t.Errorf("ParseClass(%q) = %v, %v", s, got, err)
				}
			}
		})
	}
	parses := []struct {
		in   string
		want Class
	}{
		{"ii", ClassII}, {"Ⅲ", ClassIII}, {"Class IV", ClassIV}, {" 劣Ⅴ ", WorseThanV},
		{"VI", WorseThanV}, {"Ⅱ类", ClassII}, {"worse than class V", WorseThanV},
	}
	for _, tt := range parses {
		t.Run(fmt.Sprintf("%q parses as %v", tt.in, tt.want), func(t *testing.T) {
			if got, err := ParseClass(tt.in); got != tt.want || err != nil {
				t.Errorf("ParseClass(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
	for _, bad := range []string{"", "0", "7", "VII", "A"} {
		if got, err := ParseClass(bad); err == nil {
			t.Errorf("ParseClass(%q) = %v, want an error", bad, got)
		}
	}
	if Class(0).Quality() != "" || Class(0).Valid() {
		t.Error("the zero Class has a label")
	}
}

func TestParseWaterbody(t *testing.T) {
	tests := []struct {
		in   string
		want Waterbody
		ok   bool
	}{
		{"river", River, true}, {"Lake", Lake, true}, {"reservoir", Lake, true}, {"水库", Lake, true},
		{"sea", 0, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q is %v", tt.in, tt.want), func(t *testing.T) {
			got, err := ParseWaterbody(tt.in)
			if got != tt.want || (err == nil) != tt.ok {
				t.Errorf("ParseWaterbody(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}
