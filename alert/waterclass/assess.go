package waterclass

import (
	"fmt"
	"math"
	"slices"
)

// Method chooses which items decide a sample's class.
type Method int

const (
	// SingleFactor is GB 3838-2002 §5: every item with a limit decides.
	SingleFactor Method = iota
	// Method2011 is 环办[2011]22号: total nitrogen and fecal coliform are
	// reference items that get a class but do not decide.
	Method2011
)

// Monitoring is the method of envpipe's own figures and alerts: the one
// China's section assessments use (standards.md §1.3), in which a lake's
// total nitrogen, nearly always above Class III, is reported beside the
// class instead of deciding it.
const Monitoring = Method2011

// Options configures an assessment. The zero value assesses a river
// sample by GB 3838 without a target class.
type Options struct {
	Waterbody Waterbody
	// Target is the class the section is held to (I–V); zero for none.
	// With a target, each item gets its limit and ratio, and the result
	// says whether the sample meets it.
	Target Class
	Method Method
}

// ItemResult is the assessment of one item of a sample.
type ItemResult struct {
	Item  string
	Value float64
	Class Class
	// Decides is false for an item that is reported but does not decide
	// the sample's class (reference items under Method2011).
	Decides bool

	// With a target class: the target's limit, the value's ratio to it
	// (above 1 is worse, see Bound.Ratio) and whether the item is worse
	// than the target. Without one: the zero Bound, NaN and false.
	Limit   Bound
	Ratio   float64
	Exceeds bool
}

// Result is the assessment of a sample.
type Result struct {
	// Class is the worst class among the deciding items; 0 when no
	// deciding item could be assessed.
	Class Class
	// Worst lists the deciding items at Class, alphabetically.
	Worst []string
	// Items holds every assessed item, in the order of GB 3838 Table 1.
	Items []ItemResult

	Target Class
	// MeetsTarget is true when a target is set and Class is no worse.
	MeetsTarget bool
	// Exceeding lists the deciding items worse than the target,
	// alphabetically.
	Exceeding []string

	// Unassessed lists, alphabetically, the sample's parameters that got
	// no class: names without a GB 3838 limit (water_temp, conductivity,
	// …), NaN values, and total nitrogen in a river.
	Unassessed []string
}

// Item returns the assessment of one item, if it was assessed.
func (r Result) Item(name string) (ItemResult, bool) {
	i := slices.IndexFunc(r.Items, func(it ItemResult) bool { return it.Item == name })
	if i < 0 {
		return ItemResult{}, false
	}
	return r.Items[i], true
}

// Assess classifies a sample, a map from parameter name (see the package
// documentation) to value. It fails only on invalid options.
func Assess(sample map[string]float64, opt Options) (Result, error) {
	if opt.Waterbody != River && opt.Waterbody != Lake {
		return Result{}, fmt.Errorf("waterclass: invalid waterbody %v", opt.Waterbody)
	}
	if opt.Target != 0 && (opt.Target < ClassI || opt.Target > ClassV) {
		return Result{}, fmt.Errorf("waterclass: invalid target class %v (want I–V)", opt.Target)
	}
	if opt.Method != SingleFactor && opt.Method != Method2011 {
		return Result{}, fmt.Errorf("waterclass: invalid method %d", opt.Method)
	}

	res := Result{Target: opt.Target}
	for name, v := range sample {
		it, ok := byName[name]
		if !ok || math.IsNaN(v) || (it.LakeOnly && opt.Waterbody != Lake) {
			res.Unassessed = append(res.Unassessed, name)
		}
	}
	slices.Sort(res.Unassessed)

	for i := range table {
		it := &table[i]
		v, ok := sample[it.Name]
		if !ok || math.IsNaN(v) || (it.LakeOnly && opt.Waterbody != Lake) {
			continue
		}
		ir := ItemResult{
			Item:    it.Name,
			Value:   v,
			Class:   it.classOf(v, opt.Waterbody),
			Decides: opt.Method == SingleFactor || !it.Reference,
			Ratio:   math.NaN(),
		}
		if opt.Target != 0 {
			ir.Limit, _ = it.bound(opt.Target, opt.Waterbody)
			ir.Ratio = ir.Limit.Ratio(v)
			ir.Exceeds = ir.Class > opt.Target
		}
		res.Items = append(res.Items, ir)
		if ir.Decides && ir.Class > res.Class {
			res.Class = ir.Class
		}
	}

	for _, ir := range res.Items {
		if !ir.Decides {
			continue
		}
		if ir.Class == res.Class {
			res.Worst = append(res.Worst, ir.Item)
		}
		if ir.Exceeds {
			res.Exceeding = append(res.Exceeding, ir.Item)
		}
	}
	slices.Sort(res.Worst)
	slices.Sort(res.Exceeding)
	res.MeetsTarget = opt.Target != 0 && res.Class != 0 && res.Class <= opt.Target
	return res, nil
}
