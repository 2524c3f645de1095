package wal

import (
	"os"
	"slices"
)

// minReadChunk is the least Read fetches from disk at once, so that a small
// maxBytes still costs one pread per call rather than one per record.
const minReadChunk = 16 << 10

// trimEvery is the window, in reads, over which readBuf measures what a
// batch needs: about three seconds at a steady inflow, where the influx
// writer reads about five times a second.
const trimEvery = 16

// trimSlack is what the mapped buffer keeps resident beyond the largest
// read of a window, so that reads that vary a little do not fault the same
// pages in and out.
const trimSlack = 64 << 10

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
// batch_max_bytes, and a slow write makes the next batch larger, where a
// steady inflow needs a fraction of that. Every trimEvery reads, what the
// largest of them did not need is given back: mapped pages with madvise; a
// heap buffer, or the records' index (24 bytes a record, about a megabyte
// for a batch of 4 MiB of single readings), once it is over four times the
// need. So the memory of the batch in hand follows the last few seconds,
// not the largest batch since the process started.
type readBuf struct {
	mem     []byte // the mapping, or nil
	noMap   bool   // mapping is unavailable or failed: use heap
	touched int    // bytes of mem that may be resident
	heap    []byte // for reads larger than mem, or without one
	recs    [][]byte
	// The current window: reads so far, the largest read and index.
	reads, needBytes, needRecs int
}

// get returns a buffer of n bytes; its contents are undefined.
func (b *readBuf) get(n int) []byte {
	if b.mem == nil && !b.noMap {
		mem, err := mapAnon(readReserve)
		b.mem, b.noMap = mem, err != nil
	}
	b.needBytes = max(b.needBytes, n)
	if b.reads++; b.reads >= trimEvery {
		b.trim()
	}
	if n <= len(b.mem) {
		b.heap = nil
		b.touched = max(b.touched, n)
		return b.mem[:n]
	}
	b.heap = slices.Grow(b.heap[:0], n)[:n]
	return b.heap
}

// index returns the records' index for the read in progress, emptied.
func (b *readBuf) index() [][]byte { return b.recs[:0] }

// setIndex keeps the index of the read just made.
func (b *readBuf) setIndex(recs [][]byte) {
	b.recs = recs
	b.needRecs = max(b.needRecs, len(recs))
}

// trim gives back what the window's reads did not need and starts a new
// window.
func (b *readBuf) trim() {
	if keep := pageAlign(b.needBytes + trimSlack); b.touched > keep && releasePages(b.mem[keep:b.touched]) == nil {
		b.touched = keep
	}
	if c := cap(b.heap); c > 4*minReadChunk && c > 4*b.needBytes {
		b.heap = nil
	}
	if c := cap(b.recs); c > 256 && c > 4*b.needRecs {
		b.recs = nil
	}
	b.reads, b.needBytes, b.needRecs = 0, 0, 0
}

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
