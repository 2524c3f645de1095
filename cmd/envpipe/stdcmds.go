package main

// The "aqi" and "waterclass" subcommands: the standards of alert/aqi and
// alert/waterclass on the command line, for checking a number by hand or a
// file of readings in batch. Every unexported name here starts with "std"
// so as not to collide with the rest of package main.

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/envpipe/envpipe/alert/aqi"
	"github.com/envpipe/envpipe/alert/waterclass"
)

// stdChinaTime is the zone for dates given without an offset: the
// standards' calendars are in China Standard Time.
var stdChinaTime = time.FixedZone("CST", 8*60*60)

const stdAQIUsage = `usage: envpipe aqi [flags] [indicator=value ...]
       envpipe aqi -csv [flags] < readings.csv

Computes the air quality index (AQI) of HJ 633-2012 or HJ 633-2026, hourly
(real-time) or daily, from concentrations in µg/m³ (co in mg/m³).

Values are given as flags (-pm25_24h 80) or as arguments (pm25_24h=80), one
per indicator:
  so2_24h so2_1h no2_24h no2_1h pm10_24h pm10_1h pm25_24h pm25_1h
  co_24h co_1h o3_1h o3_8h
Each report uses only some of them (2012 hourly: so2_1h no2_1h co_1h o3_1h
o3_8h and the 24 h moving means pm10_24h pm25_24h, with so2_24h used when
so2_1h is above 800; 2026 hourly: the six 1 h values; daily: the 24 h means
and the O3 daily maxima); the others are ignored.

With -csv, rows are read from standard input. The header names the columns:
the indicators above, and optionally edition (2012, 2026, auto), report
(hourly, daily) and date (or time; used to resolve auto); other columns
are ignored, empty cells are missing values, and an empty edition, report
or date takes the flag's value.
This is the layout of reference/aqi-vectors.csv.

Output (-o csv) has the columns of aqi-vectors.csv: edition, report, the
inputs, iaqi_<indicator> (empty where the report does not score it), aqi,
level (1-6) and primary (pollutants joined by +, empty when AQI <= 50).
The table (-o table) also shows the category; an IAQI shown as >500 is
above the standard's top breakpoint.

Flags:
`

const stdWaterUsage = `usage: envpipe waterclass [flags] [item=value ...]
       envpipe waterclass -csv [flags] < samples.csv

Computes the GB 3838-2002 class of a surface-water sample with the
single-factor method: each item's best class met (limits inclusive,
dissolved oxygen a lower bound), the worst item decides, 6 = worse than V.

Values are given as flags (-nh3n 0.8) or as arguments (nh3n=0.8), in mg/L
(pH dimensionless, fecal_coliform per litre), one per item; the items
are the flags below. tn is assessed for lakes only.

With -csv, rows are read from standard input; the header names the item
columns, and optionally waterbody (river, lake) and target (I-V) per row;
other columns are ignored and empty cells are missing values. This is the
layout of reference/water-class-vectors.csv.

Output (-o csv) has the columns of water-class-vectors.csv: the items, then
class_<item> for each (1-6, empty if not assessed), class and worst (items
joined by +). With a target class it adds target, meets_target (true or
false), exceeding, and ratio_<item> (value / target limit, DO and pH
mirrored so that above 1 is worse).

Flags:
`

// stdValues collects named numeric inputs given as flags or name=value
// arguments, keeping the text as typed for the output.
type stdValues struct {
	names []string          // accepted names, in output order
	raw   map[string]string // name → text as given
}

func stdNewValues(fs *flag.FlagSet, names []string, unit func(string) string) *stdValues {
	v := &stdValues{names: names, raw: map[string]string{}}
	for _, n := range names {
		fs.Func(n, "value of "+n+" ("+unit(n)+")", func(s string) error { return v.set(n, s) })
	}
	return v
}

func (v *stdValues) set(name, s string) error {
	s = strings.TrimSpace(s)
	if _, err := stdParseFloat(name, s); err != nil {
		return err
	}
	v.raw[name] = s
	return nil
}

// parseArgs takes the name=value arguments left after the flags.
func (v *stdValues) parseArgs(args []string) error {
	for _, a := range args {
		name, val, ok := strings.Cut(a, "=")
		name = strings.TrimSpace(name)
		if !ok || !slices.Contains(v.names, name) {
			return fmt.Errorf("unexpected argument %q (want name=value with one of: %s)", a, strings.Join(v.names, " "))
		}
		if err := v.set(name, val); err != nil {
			return err
		}
	}
	return nil
}

// stdTable is a CSV file read into memory: the inputs are small, and
// reading all of it first lets a bad row stop the command before any
// output is written.
type stdTable struct {
	head []string       // column names, lower case, in file order
	col  map[string]int // column name → index of its first occurrence
	rows [][]string
}

func stdReadCSV(r io.Reader) (*stdTable, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a short row's missing cells read as empty (see cell)
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errors.New("empty input: want a header line")
	}
	t := &stdTable{col: map[string]int{}}
	for i, h := range recs[0] {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		t.head = append(t.head, h)
		if _, dup := t.col[h]; !dup {
			t.col[h] = i
		}
	}
	t.rows = recs[1:]
	return t, nil
}

// cell returns the trimmed cell of a column, "" if the column or the cell
// is missing.
func (t *stdTable) cell(row []string, name string) string {
	i, ok := t.col[name]
	if !ok || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}

// stdParseTime accepts a date (2026-03-01), a local time without offset
// (2026-03-01T08:00, China Standard Time) or RFC 3339.
func stdParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, stdChinaTime); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD or an RFC 3339 time", s)
}

// stdParseFloat parses a concentration. NaN and infinities are refused:
// the packages would treat them as missing or out of range, which is not
// what someone typing them means.
func stdParseFloat(name, s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s: %q is not a number", name, s)
	}
	// Every input (concentrations, pH, counts) is 0 or more: a negative
	// one is a typo, not something to classify.
	if v < 0 {
		return 0, fmt.Errorf("%s: %q is negative", name, s)
	}
	return v, nil
}

func stdWriteCSV(w io.Writer, head []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(head); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// stdWriteTable writes left-aligned columns two spaces apart. Not
// text/tabwriter: it counts a Chinese character as one column where a
// terminal shows two, and the categories and 劣V are Chinese.
func stdWriteTable(w io.Writer, head []string, rows [][]string) error {
	all := append([][]string{head}, rows...)
	widths := make([]int, len(head))
	for _, r := range all {
		for i, c := range r {
			widths[i] = max(widths[i], stdDisplayWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range all {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-stdDisplayWidth(c)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// stdDisplayWidth is the number of terminal columns s takes: two for
// Chinese characters and full-width forms, one for anything else.
func stdDisplayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r),
			r >= 0x3000 && r <= 0x303F, // CJK punctuation (（）are below)
			r >= 0xFF01 && r <= 0xFF60: // full-width forms
			n += 2
		default:
			n++
		}
	}
	return n
}

// stdParseFlags parses a subcommand's flags and returns the exit code to
// use when parsing ends the command (help: 0, bad flags: 2).
func stdParseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

// stdAQIRow is one computation of the aqi command, with its inputs as
// given.
type stdAQIRow struct {
	raw map[string]string
	res aqi.Result
}

// cmdAQI is "envpipe aqi".
func cmdAQI(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("aqi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	edition := fs.String("edition", "auto", "HJ 633 edition: 2012, 2026 or auto (by -date)")
	report := fs.String("report", "hourly", "report: hourly (real-time) or daily")
	date := fs.String("date", "", "date or time of the values, for -edition auto (default now)")
	fromCSV := fs.Bool("csv", false, "read rows from standard input as CSV")
	out := fs.String("o", "table", "output format: table or csv")
	var names []string
	for _, ind := range aqi.Indicators() {
		names = append(names, string(ind))
	}
	vals := stdNewValues(fs, names, func(n string) string {
		if strings.HasPrefix(n, "co_") {
			return "mg/m³"
		}
		return "µg/m³"
	})
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), stdAQIUsage)
		fs.PrintDefaults()
	}
	if code, ok := stdParseFlags(fs, args); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "envpipe aqi: "+format+"\n", a...)
		return 2
	}
	if *out != "table" && *out != "csv" {
		return fail("-o %q: want table or csv", *out)
	}
	defEd, err := aqi.ParseEdition(*edition)
	if err != nil {
		return fail("%v", err)
	}
	defRep, err := aqi.ParseReport(*report)
	if err != nil {
		return fail("%v", err)
	}
	defTime := time.Now()
	if *date != "" {
		if defTime, err = stdParseTime(*date); err != nil {
			return fail("-date: %v", err)
		}
	}

	var rows []stdAQIRow
	if *fromCSV {
		if fs.NArg() > 0 || len(vals.raw) > 0 {
			return fail("-csv reads values from standard input; do not give values as well")
		}
		t, err := stdReadCSV(stdin)
		if err != nil {
			return fail("reading CSV: %v", err)
		}
		for i, rec := range t.rows {
			row, err := stdAQIFromCSV(t, rec, defEd, defRep, defTime)
			if err != nil {
				return fail("line %d: %v", i+2, err)
			}
			rows = append(rows, row)
		}
	} else {
		if err := vals.parseArgs(fs.Args()); err != nil {
			return fail("%v", err)
		}
		if len(vals.raw) == 0 {
			fs.Usage()
			return 2
		}
		row, err := stdAQICompute(defEd.Resolve(defTime), defRep, vals.raw)
		if err != nil {
			return fail("%v", err)
		}
		rows = append(rows, row)
	}

	if *out == "csv" {
		err = stdAQIWriteCSV(stdout, rows)
	} else {
		err = stdAQIWriteTable(stdout, rows)
	}
	if err != nil {
		return fail("%v", err)
	}
	return 0
}

func stdAQIFromCSV(t *stdTable, rec []string, defEd aqi.Edition, defRep aqi.Report, defTime time.Time) (stdAQIRow, error) {
	ed, rep := defEd, defRep
	var err error
	if s := t.cell(rec, "edition"); s != "" {
		if ed, err = aqi.ParseEdition(s); err != nil {
			return stdAQIRow{}, err
		}
	}
	if s := t.cell(rec, "report"); s != "" {
		if rep, err = aqi.ParseReport(s); err != nil {
			return stdAQIRow{}, err
		}
	}
	at := defTime
	s := t.cell(rec, "date")
	if s == "" {
		s = t.cell(rec, "time") // the name readings use (DESIGN.md)
	}
	if s != "" {
		if at, err = stdParseTime(s); err != nil {
			return stdAQIRow{}, err
		}
	}
	raw := map[string]string{}
	for _, ind := range aqi.Indicators() {
		if s := t.cell(rec, string(ind)); s != "" {
			raw[string(ind)] = s
		}
	}
	return stdAQICompute(ed.Resolve(at), rep, raw)
}

func stdAQICompute(ed aqi.Edition, rep aqi.Report, raw map[string]string) (stdAQIRow, error) {
	in := aqi.Inputs{}
	for name, s := range raw {
		v, err := stdParseFloat(name, s)
		if err != nil {
			return stdAQIRow{}, err
		}
		in[aqi.Indicator(name)] = v
	}
	res, err := aqi.Compute(ed, rep, in)
	if err != nil {
		return stdAQIRow{}, err
	}
	return stdAQIRow{raw: raw, res: res}, nil
}

func stdAQIWriteCSV(w io.Writer, rows []stdAQIRow) error {
	head := []string{"edition", "report"}
	for _, ind := range aqi.Indicators() {
		head = append(head, string(ind))
	}
	for _, ind := range aqi.Indicators() {
		head = append(head, "iaqi_"+string(ind))
	}
	head = append(head, "aqi", "level", "primary")
	var out [][]string
	for _, r := range rows {
		rec := []string{r.res.Edition.String(), r.res.Report.String()}
		for _, ind := range aqi.Indicators() {
			rec = append(rec, r.raw[string(ind)])
		}
		for _, ind := range aqi.Indicators() {
			s := ""
			if v, ok := r.res.IAQI[ind]; ok {
				s = strconv.Itoa(v)
			}
			rec = append(rec, s)
		}
		aqiS, levelS := "", ""
		if r.res.OK() {
			aqiS, levelS = strconv.Itoa(r.res.AQI), strconv.Itoa(int(r.res.Level))
		}
		rec = append(rec, aqiS, levelS, strings.Join(r.res.Primary, "+"))
		out = append(out, rec)
	}
	return stdWriteCSV(w, head, out)
}

func stdAQIWriteTable(w io.Writer, rows []stdAQIRow) error {
	// Only the indicators some row scores get a column.
	var inds []aqi.Indicator
	for _, ind := range aqi.Indicators() {
		if slices.ContainsFunc(rows, func(r stdAQIRow) bool { _, ok := r.res.IAQI[ind]; return ok }) {
			inds = append(inds, ind)
		}
	}
	head := []string{"edition", "report", "aqi", "level"}
	for _, ind := range inds {
		head = append(head, "iaqi_"+string(ind))
	}
	head = append(head, "primary", "category")
	var out [][]string
	for _, r := range rows {
		rec := []string{r.res.Edition.String(), r.res.Report.String(), "-", "-"}
		if r.res.OK() {
			rec[2], rec[3] = strconv.Itoa(r.res.AQI), r.res.Level.String()
		}
		for _, ind := range inds {
			s := "-"
			if v, ok := r.res.IAQI[ind]; ok {
				s = strconv.Itoa(v)
				if slices.Contains(r.res.OutOfRange, ind) ||
					(ind == aqi.SO2Mean1h && slices.Contains(r.res.OutOfRange, aqi.SO2Mean24h)) {
					s = ">" + s
				}
			}
			rec = append(rec, s)
		}
		primary, category := "-", "-"
		if len(r.res.Primary) > 0 {
			primary = strings.Join(r.res.Primary, "+")
		}
		if r.res.OK() {
			category = r.res.Level.Category() + " (" + r.res.Level.CategoryEN() + ", " + r.res.Level.Color().Hex + ")"
		}
		out = append(out, append(rec, primary, category))
	}
	return stdWriteTable(w, head, out)
}

// stdWaterRow is one sample of the waterclass command.
type stdWaterRow struct {
	raw map[string]string
	wb  waterclass.Waterbody
	res waterclass.Result
}

// cmdWaterClass is "envpipe waterclass".
func cmdWaterClass(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("waterclass", flag.ContinueOnError)
	fs.SetOutput(stderr)
	waterbody := fs.String("waterbody", "river", "water body: river or lake (lake covers reservoirs; chooses the TP limits, enables TN)")
	target := fs.String("target", "", "target class I-V: adds each item's ratio to its limit and whether the sample meets it")
	method := fs.String("method", "gb3838", "gb3838 (every item decides) or 2011 (tn and fecal_coliform only reported, per 环办[2011]22号)")
	fromCSV := fs.Bool("csv", false, "read samples from standard input as CSV")
	out := fs.String("o", "table", "output format: table or csv")
	var names []string
	units := map[string]string{}
	for _, it := range waterclass.Items() {
		names = append(names, it.Name)
		units[it.Name] = it.Unit
	}
	vals := stdNewValues(fs, names, func(n string) string {
		if units[n] == "" {
			return "dimensionless"
		}
		return units[n]
	})
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), stdWaterUsage)
		fs.PrintDefaults()
	}
	if code, ok := stdParseFlags(fs, args); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "envpipe waterclass: "+format+"\n", a...)
		return 2
	}
	if *out != "table" && *out != "csv" {
		return fail("-o %q: want table or csv", *out)
	}
	var opt waterclass.Options
	var err error
	if opt.Waterbody, err = waterclass.ParseWaterbody(*waterbody); err != nil {
		return fail("%v", err)
	}
	if *target != "" {
		if opt.Target, err = stdParseTarget(*target); err != nil {
			return fail("-target: %v", err)
		}
	}
	switch strings.ToLower(*method) {
	case "gb3838", "single-factor":
		opt.Method = waterclass.SingleFactor
	case "2011":
		opt.Method = waterclass.Method2011
	default:
		return fail("-method %q: want gb3838 or 2011", *method)
	}

	var rows []stdWaterRow
	items := names // the item columns of the output
	withWaterbody, withTarget := false, opt.Target != 0
	if *fromCSV {
		if fs.NArg() > 0 || len(vals.raw) > 0 {
			return fail("-csv reads values from standard input; do not give values as well")
		}
		t, err := stdReadCSV(stdin)
		if err != nil {
			return fail("reading CSV: %v", err)
		}
		// Keep the input's item columns in the input's order.
		items = nil
		for _, n := range t.head {
			if slices.Contains(names, n) && !slices.Contains(items, n) {
				items = append(items, n)
			}
		}
		if len(items) == 0 {
			return fail("the CSV header names no GB 3838 item (want some of: %s)", strings.Join(names, " "))
		}
		_, withWaterbody = t.col["waterbody"]
		if _, ok := t.col["target"]; ok {
			withTarget = true
		}
		for i, rec := range t.rows {
			row, err := stdWaterFromCSV(t, rec, items, opt)
			if err != nil {
				return fail("line %d: %v", i+2, err)
			}
			rows = append(rows, row)
		}
	} else {
		if err := vals.parseArgs(fs.Args()); err != nil {
			return fail("%v", err)
		}
		if len(vals.raw) == 0 {
			fs.Usage()
			return 2
		}
		items = nil
		for _, n := range names {
			if _, ok := vals.raw[n]; ok {
				items = append(items, n)
			}
		}
		row, err := stdWaterAssess(vals.raw, opt)
		if err != nil {
			return fail("%v", err)
		}
		rows = append(rows, row)
	}

	if *out == "csv" {
		err = stdWaterWriteCSV(stdout, rows, items, withWaterbody, withTarget)
	} else {
		err = stdWaterWriteTable(stdout, rows, items, withTarget)
	}
	if err != nil {
		return fail("%v", err)
	}
	return 0
}

// stdParseTarget parses a target class, refusing 劣V, which no section is
// held to.
func stdParseTarget(s string) (waterclass.Class, error) {
	c, err := waterclass.ParseClass(s)
	if err != nil {
		return 0, err
	}
	if c == waterclass.WorseThanV {
		return 0, fmt.Errorf("%q is not a target class (want I-V)", s)
	}
	return c, nil
}

func stdWaterFromCSV(t *stdTable, rec []string, items []string, opt waterclass.Options) (stdWaterRow, error) {
	var err error
	if s := t.cell(rec, "waterbody"); s != "" {
		if opt.Waterbody, err = waterclass.ParseWaterbody(s); err != nil {
			return stdWaterRow{}, err
		}
	}
	if s := t.cell(rec, "target"); s != "" {
		if opt.Target, err = stdParseTarget(s); err != nil {
			return stdWaterRow{}, err
		}
	}
	raw := map[string]string{}
	for _, n := range items {
		if s := t.cell(rec, n); s != "" {
			raw[n] = s
		}
	}
	return stdWaterAssess(raw, opt)
}

func stdWaterAssess(raw map[string]string, opt waterclass.Options) (stdWaterRow, error) {
	sample := map[string]float64{}
	for name, s := range raw {
		v, err := stdParseFloat(name, s)
		if err != nil {
			return stdWaterRow{}, err
		}
		sample[name] = v
	}
	res, err := waterclass.Assess(sample, opt)
	if err != nil {
		return stdWaterRow{}, err
	}
	return stdWaterRow{raw: raw, wb: opt.Waterbody, res: res}, nil
}

func stdWaterWriteCSV(w io.Writer, rows []stdWaterRow, items []string, withWaterbody, withTarget bool) error {
	var head []string
	if withWaterbody {
		head = append(head, "waterbody")
	}
	head = append(head, items...)
	for _, n := range items {
		head = append(head, "class_"+n)
	}
	head = append(head, "class", "worst")
	if withTarget {
		head = append(head, "target", "meets_target", "exceeding")
		for _, n := range items {
			head = append(head, "ratio_"+n)
		}
	}
	var out [][]string
	for _, r := range rows {
		var rec []string
		if withWaterbody {
			rec = append(rec, r.wb.String())
		}
		for _, n := range items {
			rec = append(rec, r.raw[n])
		}
		for _, n := range items {
			s := ""
			if ir, ok := r.res.Item(n); ok {
				s = strconv.Itoa(int(ir.Class))
			}
			rec = append(rec, s)
		}
		class := ""
		if r.res.Class != 0 {
			class = strconv.Itoa(int(r.res.Class))
		}
		rec = append(rec, class, strings.Join(r.res.Worst, "+"))
		if withTarget {
			if r.res.Target == 0 {
				rec = append(rec, "", "", "")
			} else {
				rec = append(rec, r.res.Target.String(), strconv.FormatBool(r.res.MeetsTarget), strings.Join(r.res.Exceeding, "+"))
			}
			for _, n := range items {
				s := ""
				if ir, ok := r.res.Item(n); ok && r.res.Target != 0 {
					s = strconv.FormatFloat(ir.Ratio, 'f', 3, 64)
				}
				rec = append(rec, s)
			}
		}
		out = append(out, rec)
	}
	return stdWriteCSV(w, head, out)
}

func stdWaterWriteTable(w io.Writer, rows []stdWaterRow, items []string, withTarget bool) error {
	head := []string{"class"}
	if withTarget {
		head = append(head, "target", "meets")
	}
	head = append(head, items...)
	head = append(head, "worst", "quality")
	var out [][]string
	for _, r := range rows {
		rec := []string{"-"}
		if r.res.Class != 0 {
			rec[0] = r.res.Class.String()
		}
		if withTarget {
			if r.res.Target == 0 {
				rec = append(rec, "-", "-")
			} else {
				meets := "no"
				if r.res.MeetsTarget {
					meets = "yes"
				}
				rec = append(rec, r.res.Target.String(), meets)
			}
		}
		for _, n := range items {
			ir, ok := r.res.Item(n)
			if !ok {
				rec = append(rec, "-")
				continue
			}
			// value, class and, against a target, the ratio to its limit.
			s := r.raw[n] + " " + ir.Class.String()
			if r.res.Target != 0 {
				s += " x" + strconv.FormatFloat(ir.Ratio, 'f', 3, 64)
			}
			rec = append(rec, s)
		}
		worst, quality := "-", "-"
		if len(r.res.Worst) > 0 {
			worst = strings.Join(r.res.Worst, "+")
		}
		if r.res.Class != 0 {
			quality = r.res.Class.Quality() + " (" + r.res.Class.QualityEN() + ")"
		}
		out = append(out, append(rec, worst, quality))
	}
	return stdWriteTable(w, head, out)
}
