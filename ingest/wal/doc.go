// Package wal is envpipe's crash-safe write-ahead log.
//
// Each MQTT message is appended as one opaque record (in practice the
// InfluxDB line protocol for that message) and the message is acknowledged to
// the broker only once its record is on stable storage. A single consumer
// (the InfluxDB writer) reads durable records from the checkpoint onwards,
// writes them in batches and then commits a new checkpoint; segments wholly
// before the checkpoint are deleted. The design follows VictoriaMetrics'
// lib/persistentqueue: a FIFO of checksummed records that recovers from a torn
// tail and counts what it had to drop.
//
// # Files
//
// All files live in one directory owned by one process (enforced with an
// advisory lock on the file "lock" where the platform supports flock):
//
//	NNNNNNNNNNNNNNNNNNNN.seg  segment, named by its zero-padded uint64 id
//	checkpoint                committed read position (see below)
//	checkpoint.tmp            transient; removed at Open
//	lock                      advisory lock file
//
// Segment ids increase by one for every new segment. A segment holds nothing
// but back-to-back records; a record never spans two segments, so every
// segment can be validated on its own.
//
// # Record format
//
// All integers are little endian.
//
//	offset  size  field
//	0       4     payload length n, 1 ≤ n ≤ MaxRecordSize
//	4       4     CRC-32C (Castagnoli) of bytes [8, 16+n): timestamp and payload
//	8       8     append time, Unix nanoseconds (int64)
//	16      n     payload
//
// A zero length is never valid, which lets recovery stop at a zero-filled
// tail (what some file systems leave after a crash while extending a file).
// The length is not covered by the CRC, but a corrupted length makes the CRC
// cover the wrong bytes and therefore fails it too.
//
// # Checkpoint format
//
// The checkpoint file is exactly 24 bytes:
//
//	offset  size  field
//	0       4     magic "WCP1"
//	4       8     segment id (uint64)
//	12      8     offset within the segment (int64, ≥ 0)
//	20      4     CRC-32C of bytes [0, 20)
//
// It is replaced atomically: write checkpoint.tmp, fsync it, rename it over
// checkpoint, fsync the directory. Segments are deleted only after the new
// checkpoint is durable.
//
// # Invariants
//
//   - Group commit: Append only copies the record into the pending group.
//     One committer goroutine swaps the pending group for an empty one (double
//     buffering), writes it with a single write and fsyncs it, so a steady
//     producer shares one fsync among all records appended while the previous
//     fsync was running. A group is split only where it crosses a segment
//     boundary.
//   - Rotation: once the active segment has reached Options.SegmentSize the
//     next record goes to a new segment; the directory is fsynced after the
//     segment is created, before any record in it is acknowledged. A segment
//     therefore exceeds SegmentSize by less than one record.
//   - Durability order: a done callback reports success only after the
//     record's bytes and, for a new segment, the directory entry have been
//     fsynced. Callbacks run on the committer goroutine in append order.
//   - Read returns only fsynced records, in append order, across segment
//     boundaries, and re-verifies each record's CRC. It reads into one
//     buffer, on Linux a mapping outside Go's heap whose unneeded pages are
//     given back every few reads (readBuf), so that the batch in hand, the
//     part of the process's memory that varies with InfluxDB's pace, does
//     not move the GC's heap goal.
//   - A failed write or fsync fails the records of that write (their done
//     gets the error), the segment is truncated back to its last durable size
//     on a best-effort basis and the next group starts a new segment: bytes
//     that might be torn are never followed by acknowledged records in the
//     same segment. Failed records may still reappear after a restart if the
//     kernel did persist them; redelivery is harmless downstream.
//   - Recovery at Open: segments wholly before the checkpoint are deleted.
//     Every other segment is scanned; at its first incomplete or invalid
//     record (bad length, short read, CRC mismatch) it is truncated and
//     fsynced, the dropped bytes are added to Stats.TruncatedBytes and one
//     warning is logged. Records before that point survive, and so do later
//     segments. A missing or corrupt checkpoint means reading from the first
//     segment: redelivering data is harmless, losing it is not.
//   - Concurrency: any number of goroutines may Append; Read and Commit are
//     meant for a single consumer (they are serialised internally). Stats,
//     Checkpoint, Head and Notify are safe from anywhere.
//   - Backpressure: the unwritten bytes are those from the checkpoint to the
//     head, including records not yet fsynced. With Options.MaxSize > 0 an
//     Append that would take them past MaxSize waits until Commit frees
//     space; a record is always admitted into an otherwise empty log, so a
//     single record larger than MaxSize cannot wedge the producer.
package wal
