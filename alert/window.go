package alert

import (
	"math"
	"math/bits"
	"time"

	"github.com/envpipe/envpipe/alert/limits"
	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/station"
)

// series is one station's parameter in event time: a ring of buckets for
// its rolling windows with each window's totals, and the year-to-date
// accumulator. Only N-flagged values are added.
//
// Memory is bounded by the bucket width, chosen per series (bucketWidth):
// a 24 h window uses 30-minute buckets (48 of them), an 8 h window beside a
// 1 h one 5-minute buckets (96), a 1 h window alone 1-minute ones. A window's mean is over the buckets (cur−size, cur]: it
// covers the window length, give or take the newest bucket's unfilled
// part.
//
// A window's coverage is the time its values span, each value counting
// for the station's reporting interval but no bucket for more than has
// passed: a station reporting faster than its interval is not credited
// more time than its data cover. A bucket of width W holding n values
// covers min(n × interval, W) when interval ≤ W; when interval > W
// (hourly data in 30-minute buckets) a non-empty bucket covers itself and
// the following buckets up to the next non-empty one, at most
// ⌈interval / W⌉ buckets in all (the newest covers them all, past the
// window's end). Each window keeps its covered total beside its sum and
// n; it needs the interval, which the first mean call supplies (covIv;
// until then add keeps no total), and mean recounts the totals when the
// interval changes.
type series struct {
	lastT    time.Time // the latest event time added: the series' clock
	width    int64     // bucket width in seconds
	size     int64     // ring length; the ring is allocated at the first value
	cur      int64     // index of the newest bucket (unix seconds / width)
	curSlot  int64     // ring slot of cur
	curStart int64     // unix seconds at which bucket cur starts
	started  bool
	// covIv is the interval the windows' covered totals count each value
	// for (0: not yet known). If covIv ≤ width, a bucket of covCap or
	// more values covers its whole width; if covIv > width, covSpan is
	// ⌈covIv / width⌉ (else 0).
	covIv   time.Duration
	covCap  int64
	covSpan int64
	// head is bucket cur; its ring slot is unused until advance stores it,
	// so that in-order values do not touch the ring (a cache miss each).
	head bucket
	ring []bucket
	wins []winAcc
	ytd  *ytdAcc
	// Storage for wins and ytd, in the same allocation.
	winsBuf [2]winAcc
	ytdBuf  ytdAcc
}

// bucket is one slot of the ring. It holds no index: slot i always holds
// the one bucket of the window (cur−size, cur] that maps to i (advance
// empties the slots of buckets entering the window), which keeps it at 16
// bytes.
type bucket struct {
	sum float64
	n   int64
}

type winAcc struct {
	window time.Duration
	size   int64 // buckets
	sum    float64
	n      int64
	// covered is the time the window's buckets cover (see series).
	covered time.Duration
}

// ytdAcc accumulates daily means (days of China Standard Time) of the
// current calendar year. A day counts once closed. With strict, as
// alert/derive's compliance figures (pm25_ytd, pm10_ytd) count it, its
// mean is its 24-hour mean, the mean of its valid hourly means, and it
// counts only with limits.MinDayHours of them; an hour is valid with
// limits.MinHourMinutes minutes of data, or with the station's own hourly
// mean. Otherwise its mean is the plain mean of its values.
//
// The open day closes at the station's first value of a later day: a
// value for a closed day, arriving after that, does not enter the
// year-to-date (add refuses it), whereas derive keeps an hour open to
// late readings for derive.lateness after its end.
type ytdAcc struct {
	year     int     // year of the closed days in sumMeans
	dayYear  int     // yearOfDay(day), cached: value runs for every value
	sumMeans float64 // sum of the closed valid days' means
	days     int     // closed valid days
	day      int64   // current (open) day: days since 1970-01-01 CST
	// hours are the open day's (made with the accumulator: a series
	// without a year-to-date does not carry them), but for the latest
	// hour, curHour, which is accumulated in cur: nearly every value is of
	// the latest hour, and cur shares the series' cache lines where the
	// array would be one more cache miss for each (see flush).
	hours   *[24]hourAcc
	cur     hourAcc
	curHour int // -1: none (cur is empty)
	// strict: days close by the validity rule (see ytdStrict).
	strict bool
}

// ytdStrict reports whether st's year-to-date of param closes its days
// by the validity rule, as derive's compliance figures do: for pm25 and
// pm10 (the only year-to-date figures derive writes) of an air station
// reporting at least hourly. derive applies the rule to any air station,
// but one reporting less often never has 20 valid hours a day, so derive
// has no figure for it to agree with, and a strict ytd_mean rule would
// never fire; there, as for other parameters and for water sections
// (every 4 h), a day is the plain mean of its values.
func ytdStrict(st *station.Station, param string) bool {
	return st.Kind == ingest.KindAir && (param == "pm25" || param == "pm10") && st.Interval <= time.Hour
}

// hourAcc is one hour of the open day: the sum and number of its values
// and the minutes they cover; with hourMean in mask, sum is the station's
// own mean of the hour, which stands for the hour.
type hourAcc struct {
	sum  float64
	n    int64
	mask uint64 // bit m: minute m covered
}

// A value's cover, as add takes it, is what it covers of its hour for the
// year-to-date: the low bits of a minute mask that add shifts to the
// value's minute ((1<<k)−1 for a station reporting every k minutes,
// k ≤ 60), hourMean for the station's own mean of the hour, or 0 for a
// value that does not enter the year-to-date (a daily mean).
const (
	hourMean    = uint64(1) << 63
	minutesMask = uint64(1)<<60 - 1
)

// coverOf is the cover of the values of a station reporting every
// interval, in a reading of period p.
func coverOf(interval time.Duration, p ingest.Period) uint64 {
	switch p {
	case ingest.PeriodHour:
		return hourMean
	case ingest.PeriodDay:
		return 0
	}
	// As alert/derive counts it: the interval from the value's time, in
	// whole minutes (rounded up), at most the hour.
	k := min(max(int64((interval+time.Minute-1)/time.Minute), 1), 60)
	return uint64(1)<<k - 1
}

// The bucket width keeps memory small and means precise: the longest
// window is cut into at least minBucketsLongest buckets (a 24 h window into
// 30-minute ones) and every window into at least minBucketsAny (a 1 h window
// beside an 8 h one into 5-minute ones).
const (
	minBucketsLongest = 48
	minBucketsAny     = 12
)

// bucketWidth picks the widest bucket (in seconds) that divides every
// window into whole buckets within those bounds.
func bucketWidth(windows []time.Duration) int64 {
	var longest int64
	for _, w := range windows {
		longest = max(longest, int64(w/time.Minute))
	}
	for _, m := range []int64{60, 30, 20, 15, 10, 5, 3, 2} {
		ok := longest/m >= minBucketsLongest
		for _, w := range windows {
			wm := int64(w / time.Minute)
			if wm%m != 0 || wm/m < minBucketsAny {
				ok = false
				break
			}
		}
		if ok {
			return m * 60
		}
	}
	return 60
}

// newSeries makes a series for the given windows (possibly none) and, if
// ytd, a year-to-date accumulator.
func newSeries(windows []time.Duration, ytd bool) *series {
	s := &series{}
	s.init(windows, ytd)
	return s
}

// init makes the zero series s one for the given windows and ytd.
func (s *series) init(windows []time.Duration, ytd bool) {
	s.wins = s.winsBuf[:0]
	if len(windows) > 0 {
		s.width = bucketWidth(windows)
		var maxSize int64
		for _, w := range windows {
			size := int64(w/time.Second) / s.width
			s.wins = append(s.wins, winAcc{window: w, size: size})
			maxSize = max(maxSize, size)
		}
		// Allocated at the first value: a registry of thousands of
		// stations costs nothing for those that never report.
		s.size = maxSize
	}
	if ytd {
		s.ytdBuf = ytdAcc{day: -1 << 62, hours: new([24]hourAcc), curHour: -1}
		s.ytd = &s.ytdBuf
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (s *series) ensureRing() {
	if s.ring == nil && s.size > 0 {
		s.ring = make([]bucket, s.size)
		// Written through at once. Go hands out memory fresh from the OS
		// without writing it, and a ring is written one slot per bucket
		// width, so its pages would become resident one by one over the
		// first day: resident memory would creep for a day (about 5 MB
		// at 1 000 stations with the shipped rules) instead of reaching
		// its level at the first reading, where a memory limit can be
		// sized against it. clear does not check whether the memory is
		// already zero; it stores.
		clear(s.ring)
	}
}

// setCur makes idx the newest bucket.
func (s *series) setCur(idx int64) {
	s.cur, s.curStart = idx, idx*s.width
	s.curSlot = ((idx % s.size) + s.size) % s.size
}

// slot is the bucket of idx, which must be in the window (cur−size, cur].
func (s *series) slot(idx int64) *bucket {
	if idx == s.cur {
		return &s.head
	}
	i := s.curSlot - (s.cur - idx)
	if i < 0 {
		i += s.size
	}
	return &s.ring[i]
}

// bucketAt is the bucket in ring slot i.
func (s *series) bucketAt(i int) *bucket {
	if int64(i) == s.curSlot {
		return &s.head
	}
	return &s.ring[i]
}

// age is how many buckets slot i is behind cur.
func (s *series) age(i int) int64 {
	a := s.curSlot - int64(i)
	if a < 0 {
		a += s.size
	}
	return a
}

// add adds one N value at event time t, which covers cover of its hour
// for the year-to-date (see hourMean). It returns false when t is too old
// for every window and for the year-to-date.
func (s *series) add(t time.Time, v float64, cover uint64) bool {
	used := false
	if s.lastT.IsZero() || t.After(s.lastT) {
		s.lastT = t
	}
	if s.size > 0 {
		s.ensureRing()
		sec := t.Unix()
		idx := s.cur
		if d := sec - s.curStart; !s.started || d < 0 || d >= s.width {
			idx = floorDiv(sec, s.width)
		}
		if !s.started {
			s.setCur(idx)
			s.started = true
		}
		if idx > s.cur {
			s.advance(idx)
		}
		if idx > s.cur-s.size {
			b := s.slot(idx)
			dc := s.covers(b.n+1) - s.covers(b.n)
			if b.n == 0 && s.covSpan > 0 {
				s.spanAdd(idx)
			}
			b.sum += v
			b.n++
			for i := range s.wins {
				if w := &s.wins[i]; idx > s.cur-w.size {
					w.sum += v
					w.n++
					w.covered += dc
				}
			}
			used = true
		}
	}
	if s.ytd != nil && cover != 0 && s.ytd.add(t, v, cover) {
		used = true
	}
	return used
}

// advance moves the newest bucket to idx and recomputes every window's
// totals from the ring (exact: no drift from running subtraction).
func (s *series) advance(idx int64) {
	s.ring[s.curSlot] = s.head
	from := max(s.cur+1, idx-s.size+1)
	s.setCur(idx)
	// The slots of the buckets entering the window hold ones leaving it.
	for j := from; j <= idx; j++ {
		*s.slot(j) = bucket{}
	}
	s.recompute()
}

// recompute sums each window's buckets afresh, in ring order as always
// (the same float rounding): the window's slots are the range ending at
// curSlot, wrapped.
func (s *series) recompute() {
	s.ring[s.curSlot] = s.head // the ring holds head only while summing
	for j := range s.wins {
		w := &s.wins[j]
		lo := s.curSlot - w.size + 1
		if lo >= 0 {
			w.sum, w.n, w.covered = s.sumBuckets(0, 0, 0, s.ring[lo:s.curSlot+1])
		} else {
			w.sum, w.n, w.covered = s.sumBuckets(0, 0, 0, s.ring[:s.curSlot+1])
			w.sum, w.n, w.covered = s.sumBuckets(w.sum, w.n, w.covered, s.ring[lo+s.size:])
		}
		if s.covSpan > 0 {
			w.covered = s.spanCovered(w.size)
		}
	}
}

func (s *series) sumBuckets(sum float64, n int64, cov time.Duration, bs []bucket) (float64, int64, time.Duration) {
	for i := range bs {
		if b := &bs[i]; b.n != 0 {
			sum += b.sum
			n += b.n
			cov += s.covers(b.n)
		}
	}
	return sum, n, cov
}

// covers is the time a bucket of n values covers when covIv ≤ width:
// min(n × covIv, width). It is the whole width, whatever n, while covIv
// is unknown or covSpan applies (covCap 0), so that add's increments are 0.
func (s *series) covers(n int64) time.Duration {
	if n >= s.covCap {
		return time.Duration(s.width) * time.Second
	}
	return time.Duration(n) * s.covIv
}

// spanCovered is the time covered by the newest size buckets when
// covIv > width: each non-empty bucket covers the buckets up to the next
// non-empty one, at most covSpan.
func (s *series) spanCovered(size int64) time.Duration {
	var c int64
	next := s.cur + s.covSpan // none: the newest covers covSpan
	for k := s.cur; k > s.cur-size; k-- {
		if s.slot(k).n != 0 {
			c += min(s.covSpan, next-k)
			next = k
		}
	}
	return time.Duration(c) * time.Duration(s.width) * time.Second
}

// spanAdd updates the covered totals when covIv > width and bucket idx,
// empty until now, gets its first value: idx now covers up to the next
// non-empty bucket q, and the previous non-empty bucket p only up to idx.
// Buckets more than covSpan away change nothing.
func (s *series) spanAdd(idx int64) {
	k := s.covSpan
	p, hasP := int64(0), false
	for j := idx - 1; j >= max(idx-k+1, s.cur-s.size+1); j-- {
		if s.slot(j).n != 0 {
			p, hasP = j, true
			break
		}
	}
	q := idx + k // none within covSpan
	for j := idx + 1; j <= min(idx+k-1, s.cur); j++ {
		if s.slot(j).n != 0 {
			q = j
			break
		}
	}
	own, dp := min(k, q-idx), int64(0)
	if hasP {
		dp = (idx - p) - min(k, q-p)
	}
	width := time.Duration(s.width) * time.Second
	for i := range s.wins {
		w := &s.wins[i]
		if idx <= s.cur-w.size {
			continue
		}
		d := own
		if hasP && p > s.cur-w.size {
			d += dp
		}
		w.covered += time.Duration(d) * width
	}
}

// setInterval makes the windows' covered totals count each value for iv
// and recounts them from the ring (the sums are left as they are).
func (s *series) setInterval(iv time.Duration) {
	width := time.Duration(s.width) * time.Second
	s.covIv, s.covCap, s.covSpan = iv, 0, 0
	if iv <= width {
		s.covCap = int64(width / iv) // n × iv ≥ width from covCap on
		if width%iv != 0 {
			s.covCap++
		}
	} else {
		s.covSpan = int64(iv / width)
		if iv%width != 0 {
			s.covSpan++
		}
		// Beyond the ring the newest bucket covers every window anyway
		// (and the totals stay far from overflow).
		s.covSpan = min(s.covSpan, s.size)
	}
	for j := range s.wins {
		w := &s.wins[j]
		if s.covSpan > 0 {
			w.covered = s.spanCovered(w.size)
			continue
		}
		w.covered = 0
		for k := s.cur - w.size + 1; k <= s.cur; k++ {
			if b := s.slot(k); b.n != 0 {
				w.covered += s.covers(b.n)
			}
		}
	}
}

// mean returns the rolling mean over window, and the share of the window
// its values cover (see series) when each counts for interval (the
// station's reporting interval; 1 minute if not positive).
func (s *series) mean(window, interval time.Duration) (mean, coverage float64, ok bool) {
	for i := range s.wins {
		w := &s.wins[i]
		if w.window != window {
			continue
		}
		if w.n == 0 {
			return 0, 0, false
		}
		if interval <= 0 {
			interval = time.Minute
		}
		if interval != s.covIv {
			s.setInterval(interval)
		}
		cov := float64(w.covered) / float64(w.window)
		return w.sum / float64(w.n), min(cov, 1), true
	}
	return 0, 0, false
}

// dayOf is the China Standard Time day of t, in days since 1970-01-01.
func dayOf(t time.Time) int64 { return floorDiv(t.Unix()+8*3600, 86400) }

// yearOfDay is the calendar year of a dayOf day.
func yearOfDay(day int64) int { return time.Unix(day*86400, 0).UTC().Year() }

// add adds a value covering cover (see hourMean); it returns false for a
// value of a day already closed.
func (y *ytdAcc) add(t time.Time, v float64, cover uint64) bool {
	d := dayOf(t)
	switch {
	case d < y.day:
		return false
	case d > y.day:
		y.closeDay()
		y.day = d
		y.dayYear = yearOfDay(d)
		clear(y.hours[:])
	}
	sec := t.Unix() + 8*3600 - d*86400 // into the CST day
	hour, minute := int(sec/3600), sec%3600/60
	h := &y.cur
	switch {
	case hour > y.curHour:
		y.flush()
		y.curHour = hour
	case hour < y.curHour:
		h = &y.hours[hour] // late for its hour: rare
	}
	h.add(v, cover, minute)
	return true
}

// add adds a value covering cover (see hourMean) at minute of the hour.
func (h *hourAcc) add(v float64, cover uint64, minute int64) {
	switch {
	case cover == hourMean:
		h.sum, h.n, h.mask = v, 1, hourMean
	case h.mask&hourMean == 0:
		h.sum += v
		h.n++
		h.mask |= cover << minute & minutesMask
	}
}

// merge adds src, values that came after h's, to h, as add would have.
func (h *hourAcc) merge(src *hourAcc) {
	switch {
	case src.n == 0:
	case src.mask&hourMean != 0:
		*h = *src
	case h.mask&hourMean == 0:
		h.sum += src.sum
		h.n += src.n
		h.mask |= src.mask
	}
}

// flush moves cur into hours, so that hours hold the whole open day.
func (y *ytdAcc) flush() {
	if y.curHour >= 0 {
		y.hours[y.curHour].merge(&y.cur)
		y.cur, y.curHour = hourAcc{}, -1
	}
}

// dayMean is the open day's mean: with strict its 24-hour mean, if it
// has enough valid hours; otherwise the plain mean of its values, if any.
func (y *ytdAcc) dayMean() (float64, bool) {
	y.flush()
	if !y.strict {
		m := y.plainMean()
		return m, !math.IsNaN(m)
	}
	sum, n := 0.0, 0
	for i := range y.hours {
		h := &y.hours[i]
		if h.n > 0 && (h.mask == hourMean || bits.OnesCount64(h.mask) >= limits.MinHourMinutes) {
			sum += h.sum / float64(h.n)
			n++
		}
	}
	if n < limits.MinDayHours {
		return 0, false
	}
	return sum / float64(n), true
}

func (y *ytdAcc) closeDay() {
	mean, ok := y.dayMean()
	if !ok {
		return
	}
	if yr := y.dayYear; yr != y.year {
		y.year, y.sumMeans, y.days = yr, 0, 0
	}
	y.sumMeans += mean
	y.days++
}

// value is the year-to-date mean: the mean of the daily means of the
// closed valid days of the year of the open day; ok is false when there
// are none. The open day does not count: one hour of it would weigh as
// much as a whole day.
func (y *ytdAcc) value() (mean float64, days int, ok bool) {
	if y.year != y.dayYear || y.days == 0 {
		return 0, 0, false
	}
	return y.sumMeans / float64(y.days), y.days, true
}

// plainMean is the mean of the open day's values (NaN without any); a
// station's own hourly mean counts as one value.
func (y *ytdAcc) plainMean() float64 {
	y.flush()
	sum, n := 0.0, int64(0)
	for i := range y.hours {
		sum += y.hours[i].sum
		n += y.hours[i].n
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// openMean is the open day's mean so far (NaN without any values): with
// strict the mean of its hourly means, else plainMean. It is what an
// alert that the year's end ends shows as its value.
func (y *ytdAcc) openMean() float64 {
	y.flush()
	if !y.strict {
		return y.plainMean()
	}
	sum, n := 0.0, 0
	for i := range y.hours {
		if h := &y.hours[i]; h.n > 0 {
			sum += h.sum / float64(h.n)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}
