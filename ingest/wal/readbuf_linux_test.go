package wal

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/envpipe/envpipe/internal/resident"
)

// inMemory counts the pages of b (page-aligned) that are in memory.
func inMemory(t *testing.T, b []byte) int {
	t.Helper()
	n, _, err := resident.Pages(unsafe.Pointer(&b[0]), uintptr(len(b)))
	if err != nil {
		t.Fatal(err)
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
	if n, want := inMemory(t, b.mem[:big]), big/pageSize; n != want {
		t.Fatalf("%d of the read's %d pages resident, want all", n, want)
	}
	if n := inMemory(t, b.mem[big:big+1<<20]); n != 0 {
		t.Fatalf("%d pages resident beyond the read, want 0", n)
	}

	// The big read opened the first window; the second, of small reads
	// only, ends with the 2×trimEvery-th read and gives the pages back.
	keep := pageAlign(1000 + trimSlack)
	for i := 2; i <= 2*trimEvery; i++ {
		if n, want := inMemory(t, b.mem[keep:big]), (big-keep)/pageSize; n != want {
			t.Fatalf("before read %d, %d of the %d pages beyond the small reads' need are resident, want all", i, n, want)
		}
		b.get(1000)
	}
	if n := inMemory(t, b.mem[keep:big]); n != 0 {
		t.Fatalf("after a window of small reads %d pages beyond their need are still resident", n)
	}
	if h := b.held(); h != keep {
		t.Fatalf("held() = %d after the release, want %d", h, keep)
	}

	// A read larger than the reservation uses the heap.
	if huge := b.get(readReserve + 1); len(huge) != readReserve+1 || cap(b.heap) < readReserve+1 {
		t.Fatalf("a read of %d bytes got %d bytes (heap %d)", readReserve+1, len(huge), cap(b.heap))
	}
	if err := b.free(); err != nil || b.mem != nil {
		t.Fatalf("free = %v, mapping %p", err, b.mem)
	}
}

// TestReadBufferFollowsTheRecentNeed: at a steady inflow reads alternate
// between a group commit's worth and a flush interval's; one slow write
// makes one large batch. Its pages go back at the end of the next window
// although no run of small reads ever comes.
func TestReadBufferFollowsTheRecentNeed(t *testing.T) {
	var b readBuf
	defer b.free()
	const small, steady, slow = 2 << 10, 300 << 10, 3 << 20
	read := func(i int) {
		n := small
		switch {
		case i == 5:
			n = slow
		case i%2 == 1:
			n = steady
		}
		buf := b.get(n)
		for j := 0; j < len(buf); j += pageSize {
			buf[j] = 1
		}
	}
	for i := range trimEvery {
		read(i)
	}
	if h := b.held(); h < slow {
		t.Fatalf("held() = %d in the window of the slow batch, want ≥ %d", h, slow)
	}
	for i := range trimEvery {
		read(trimEvery + i)
	}
	want := pageAlign(steady + trimSlack)
	if h := b.held(); h != want {
		t.Fatalf("held() = %d after a window of steady reads, want %d", h, want)
	}
	if n := inMemory(t, b.mem[want:slow]); n != 0 {
		t.Fatalf("%d pages of the slow batch are still resident", n)
	}
}
