package station

import "testing"

func TestSlotsAnswerOnlyForTheStationTheyHold(t *testing.T) {
	a, b := &Station{ID: "a", Index: 1}, &Station{ID: "b", Index: 1} // b is not from a registry
	var s Slots[int]
	if _, ok := s.Get(a); ok {
		t.Fatal("empty slots answered")
	}
	if !s.Put(a, 10) {
		t.Fatal("Put into a free slot refused")
	}
	if v, ok := s.Get(a); !ok || v != 10 {
		t.Errorf("Get(a) = %d, %v", v, ok)
	}
	if _, ok := s.Get(b); ok {
		t.Error("b answered from a's slot")
	}
	if s.Put(b, 20) {
		t.Error("b took a's slot")
	}
	a2 := &Station{ID: "a", Index: 1} // a loaded again
	if !s.Put(a2, 30) {
		t.Error("a station of the same ID was refused its slot")
	}
	if v, ok := s.Get(a2); !ok || v != 30 {
		t.Errorf("Get(a2) = %d, %v", v, ok)
	}
	for _, i := range []int{-1, maxSlots} {
		if st := (&Station{ID: "x", Index: i}); s.Put(st, 1) {
			t.Errorf("Index %d took a slot", i)
		} else if _, ok := s.Get(st); ok {
			t.Errorf("Index %d answered", i)
		}
	}
}
