package wal

import (
	"os"
	"slices"
)

// minReadChunk is the least Read fetches from disk at once, so that a small
// maxBytes still costs one pread per call rather than one per record.
const minReadChunk = 16 << 10

// shrinkAfter is how many small reads in a row give back the memory of a
// large read (see readBuf): at a steady inflow the influx writer reads
// about five times a second.
const shrinkAfter = 16

// readReserve is the address space the read buffer reserves where it can
// live outside Go's heap: a batch of up to 25 MB (batch_max_bytes plus a
// quarter) or a record of MaxRecordSize. Only pages a read touches become
// resident. Larger reads fall back to the heap.
const readReserve = 32 << 20

// readBuf is the memory of the batch that Read hands out and the caller
// holds until its next Read: the bytes read from the segment, and the
// records' index into them.
//
// Where the platform allows (mapAnon), it is one anonymous mapping outside
// Go's heap. The batch in hand, which is the one part of the process's
// memory that varies with InfluxDB's pace (a slow write makes the next
// batch larger), then neither counts twice in the GC's heap goal nor makes
// the heap look for, and map, a new run of pages each time it grows.
//
// A backlog (after an InfluxDB outage or a restart) reads batches of up to
// batch_max_bytes where a steady inflow needs a fraction of that. Once
// shrinkAfter reads in a row have needed a quarter of the buffer or less,
// the rest is given back (madvise or, on the heap, the GC), and so is the
// index (24 bytes a record: about a megabyte for a batch of 4 MiB of
// single readings), so that one backlog does not hold its peak for the life
// of the process.
type readBuf struct {
	mem     []byte // the mapping, or nil
	noMap   bool   // mapping is unavailable or failed: use heap
	touched int    // bytes of mem that may be resident
	heap    []byte // for reads larger than mem, or without one
	small   int    // reads in a row that needed a quarter or less
	recs    [][]byte
}

// get returns a buffer of n bytes; its contents are undefined.
func (b *readBuf) get(n int) []byte {
	if b.mem == nil && !b.noMap {
		mem, err := mapAnon(readReserve)
		b.mem, b.noMap = mem, err != nil
	}
	if n <= len(b.mem) {
		b.heap = nil
		if b.shrink(b.touched, n) {
			b.recs = nil
			if keep := pageAlign(n); keep < b.touched && releasePages(b.mem[keep:b.touched]) == nil {
				b.touched = keep
			}
		}
		b.touched = max(b.touched, n)
		return b.mem[:n]
	}
	if b.shrink(cap(b.heap), n) {
		b.heap, b.recs = nil, nil
	}
	b.heap = slices.Grow(b.heap[:0], n)[:n]
	return b.heap
}

// shrink counts a read of n bytes from a buffer of size bytes and reports
// whether shrinkAfter reads in a row have now needed a quarter of it or
// less.
func (b *readBuf) shrink(size, n int) bool {
	if size <= 4*minReadChunk || n > size/4 {
		b.small = 0
		return false
	}
	if b.small++; b.small < shrinkAfter {
		return false
	}
	b.small = 0
	return true
}

// held reports how many bytes the buffer may keep resident.
func (b *readBuf) held() int { return b.touched + cap(b.heap) }

// free unmaps the buffer; slices from get must no longer be in use.
func (b *readBuf) free() error {
	mem := b.mem
	b.mem, b.touched, b.heap, b.recs = nil, 0, nil, nil
	if mem == nil {
		return nil
	}
	return unmap(mem)
}

var pageSize = os.Getpagesize()

func pageAlign(n int) int { return (n + pageSize - 1) &^ (pageSize - 1) }
