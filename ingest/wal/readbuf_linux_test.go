package wal

import (
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

// resident counts the pages of b (page-aligned) that are in memory.
func resident(t *testing.T, b []byte) int {
	t.Helper()
	vec := make([]byte, (len(b)+pageSize-1)/pageSize)
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// TestReadBufferLivesOutsideTheHeap: on Linux a batch read does not grow
// Go's heap, only the pages it touches become resident, and after a
// backlog the pages beyond what small reads need go back to the kernel.
func TestReadBufferLivesOutsideTheHeap(t *testing.T) {
	var b readBuf
	defer b.free()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const big = 8 << 20
	buf := b.get(big)
	for i := range buf {
		buf[i] = 1
	}
	runtime.ReadMemStats(&after)
	if b.mem == nil {
		t.Fatal("no mapping: the read buffer is on the heap")
	}
	if grew := int64(after.HeapSys) - int64(before.HeapSys); grew >= big/2 {
		t.Fatalf("an %d-byte read grew the heap by %d bytes", big, grew)
	}
	if n, want := resident(t, b.mem[:big]), big/pageSize; n != want {
		t.Fatalf("%d of the read's %d pages resident, want all", n, want)
	}
	if n := resident(t, b.mem[big:big+1<<20]); n != 0 {
		t.Fatalf("%d pages resident beyond the read, want 0", n)
	}

	for i := range shrinkAfter {
		if n := resident(t, b.mem[pageSize:big]); n != big/pageSize-1 {
			t.Fatalf("after %d small reads %d pages beyond the first are resident, want all %d", i, n, big/pageSize-1)
		}
		b.get(1000)
	}
	if n := resident(t, b.mem[pageSize:big]); n != 0 {
		t.Fatalf("after %d small reads %d pages beyond the first are still resident", shrinkAfter, n)
	}
	if h := b.held(); h != pageSize {
		t.Fatalf("held() = %d after the release, want one page (%d)", h, pageSize)
	}

	// A read larger than the reservation uses the heap.
	if huge := b.get(readReserve + 1); len(huge) != readReserve+1 || cap(b.heap) < readReserve+1 {
		t.Fatalf("a read of %d bytes got %d bytes (heap %d)", readReserve+1, len(huge), cap(b.heap))
	}
	if err := b.free(); err != nil || b.mem != nil {
		t.Fatalf("free = %v, mapping %p", err, b.mem)
	}
}
