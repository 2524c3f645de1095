package station

// Slots keeps one value per station by Station.Index, for state that every
// reading looks up: an index instead of hashing the station. A station not
// from a registry has Index 0 like the registry's first: a slot answers
// only for the station it holds, and Put does not take a slot held by
// another station, so its user keeps such stations in a map beside.
type Slots[T any] struct {
	s []slot[T]
}

type slot[T any] struct {
	st *Station
	v  T
}

// maxSlots bounds the slice against a station with a wild Index.
const maxSlots = 1 << 20

// Get returns the value put for st.
func (s *Slots[T]) Get(st *Station) (T, bool) {
	if i := st.Index; uint(i) < uint(len(s.s)) && s.s[i].st == st {
		return s.s[i].v, true
	}
	var zero T
	return zero, false
}

// Put sets st's value and reports whether it could: the slot is free, or
// holds st or a station of st's ID (the same station, loaded again).
func (s *Slots[T]) Put(st *Station, v T) bool {
	i := st.Index
	if i < 0 || i >= maxSlots {
		return false
	}
	if i >= len(s.s) {
		s.s = append(s.s, make([]slot[T], i+1-len(s.s))...)
	}
	if o := s.s[i].st; o != nil && o != st && o.ID != st.ID {
		return false
	}
	s.s[i] = slot[T]{st, v}
	return true
}
