// Package waterclass classifies surface-water samples by GB 3838-2002
// (地表水环境质量标准) with the single-factor method (单因子评价法).
//
// The package is pure: it takes a sample (parameter name → value in the
// canonical unit, mg/L unless stated) and returns classes, the worst items
// and how far each item is from a target class. It does not average
// readings.
//
// # The method
//
//  1. Each item gets the best class (I … V) whose limit its value meets.
//     Limits are inclusive: a value exactly at a limit meets that class, so
//     it belongs to the better class (NH3-N 0.5 mg/L is Class II, 0.51 is
//     Class III). Dissolved oxygen is a lower bound (DO 6 mg/L is Class II,
//     5.99 is Class III); pH has one range, 6 to 9 inclusive, for every
//     class.
//  2. An item that fails the Class V limit is class 6, 劣V ("worse than
//     V"). pH outside 6–9 fails every class, Class V included, so it is 劣V
//     too; GB 3838 does not say so in words, but it follows from the rule.
//  3. The sample's class is the worst class among the items that decide
//     it; the worst items are those at that class, listed alphabetically
//     (when every item is Class I, all of them are).
//
// # Items and their names
//
// The items of GB 3838-2002 Table 1 that have per-class limits, with the
// names envpipe uses (water temperature has no per-class limit and is not
// classified):
//
//	ph              pH (dimensionless), 6–9 for every class
//	do              dissolved oxygen 溶解氧, lower bound; Class I 7.5 mg/L
//	                (the standard also allows 90 % saturation, which a
//	                mg/L reading cannot express)
//	codmn           permanganate index 高锰酸盐指数
//	cod             chemical oxygen demand 化学需氧量
//	bod5            five-day biochemical oxygen demand 五日生化需氧量
//	nh3n            ammonia nitrogen 氨氮
//	tp              total phosphorus 总磷 (as P): river or lake limits
//	tn              total nitrogen 总氮 (as N): lakes and reservoirs only
//	cu              copper 铜
//	zn              zinc 锌
//	fluoride        fluoride 氟化物 (as F⁻)
//	se              selenium 硒
//	as              arsenic 砷
//	hg              mercury 汞
//	cd              cadmium 镉
//	cr6             chromium (VI) 铬（六价）
//	pb              lead 铅
//	cyanide         cyanide 氰化物
//	phenol          volatile phenol 挥发酚
//	petroleum       petroleum 石油类
//	las             anionic surfactant 阴离子表面活性剂
//	sulfide         sulfide 硫化物
//	fecal_coliform  fecal coliform 粪大肠菌群, count/L (个/L)
//
// All limits are in mg/L except fecal coliform. Several HJ 212 metal codes
// default to µg/L: convert before classifying, or a reading is off by a
// factor of 1000.
//
// # Water body
//
// Total phosphorus has river limits and stricter lake/reservoir limits;
// [Options.Waterbody] chooses (the zero value is River). Total nitrogen has
// limits for lakes and reservoirs only: in a river sample it is reported
// as unassessed.
//
// # Which items decide
//
// [SingleFactor] (the default) is GB 3838 §5 read literally: every item
// with a limit decides. [Method2011] follows 《地表水环境质量评价办法（试行）》
// (环办[2011]22号), under which total nitrogen and fecal coliform are
// assessed but only as reference items: they get a class and a ratio, but
// do not decide the sample's class.
//
// # Target class and ratios
//
// With [Options.Target] set, every item also gets its ratio to the target
// class's limit, oriented so that a ratio above 1 is always worse: value ÷
// limit for upper bounds, limit ÷ value for dissolved oxygen, and for pH
// the larger of value ÷ 9 and 6 ÷ value. GB 3838 §5.1 asks for "how many
// times over the limit" an exceeding item is; that is ratio − 1. Whether an
// item exceeds the target is decided by comparing the value with the
// limit, not from the rounded ratio.
//
// # Floating point
//
// Classification compares values with limits and does no arithmetic. A
// float64 parsed from a decimal is the nearest double to it, and rounding
// to nearest is monotonic, so comparing the doubles gives the same answer
// as comparing the decimals (for any two decimals float64 can tell apart),
// equality included: 0.1 mg/L TP meets the river Class II limit of 0.1
// exactly, and 0.1 ÷ 0.1 is exactly 1.
package waterclass
