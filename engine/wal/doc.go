// Package wal is tael's write-ahead log: a segmented, append-only, durable
// log of opaque records, each one payload (an Arrow IPC stream, to the
// engine) and a one-byte table id. It is the durability point of the
// database: Append returns only once its record is fsync'd, so an
// acknowledged record survives kill -9 and power loss.
//
// # Files
//
// A WAL is a directory of segment files named %020d.wal after the LSN (log
// sequence number) of their first record, so that lexical order is LSN
// order. Other files in the directory are ignored. All integers are
// little-endian.
//
// Segment header, 16 bytes:
//
//	0   7  magic "TAELWAL"
//	7   1  format version (1)
//	8   8  LSN of the segment's first record; equals the file name
//
// Then records, back to back, each a 20-byte header and the payload:
//
//	0   4  CRC32C (Castagnoli) of bytes 4 .. 20+length, i.e. of every
//	       header field after this one and the payload
//	4   4  payload length in bytes (at most 1 GiB)
//	8   8  LSN
//	16  1  table id
//	17  3  reserved, zero
//	20  n  payload
//
// # Invariants
//
//   - LSNs are contiguous: each record's LSN is one more than the record
//     before it, within a segment and across segments; a segment's first
//     record has the LSN in its name. Records are in LSN order in the files.
//   - Only the last segment (the active one) is ever written. A segment
//     is closed (sealed) by the record that brings its size to
//     Options.SegmentSize, so it exceeds that by less than one record.
//     Sealed segments end exactly at a record boundary and are never
//     modified again, only removed whole by Checkpoint, oldest first.
//   - A record is acknowledged only after the write and the fsync covering
//     it succeeded. Appends are group committed: one writer goroutine drains
//     every queued request, writes them with one write call (in chunks of a
//     few MiB) and one fsync, then answers all of them.
//   - A failed write or fsync acknowledges nothing of its group. The active
//     segment is truncated back to where the group began and fsync'd; the
//     failed records' LSNs are given to the next records. If that repair
//     also fails, the WAL is failed: every later Append returns ErrFailed.
//   - A new segment is created with its header written and fsync'd, and the
//     directory fsync'd, before any record goes into it.
//
// # Recovery
//
// Open checks the header of every segment and reads the last segment in
// full. A crash can only damage the end of the last segment (the previous
// segments were fsync'd before it was created), so Open repairs exactly
// that: a last record whose header or payload is cut short, whose length
// runs past the end of the file, whose checksum fails with nothing (or only
// zero bytes) after it, or a zero-filled tail, is truncated away, fsync'd
// and logged at Warn level. A last segment shorter than its header is
// rewritten as an empty segment. Any other damage — a checksum failure
// followed by more data, an LSN out of sequence, a bad header, an
// impossible length with valid records after it — is a *CorruptionError
// (errors.Is(err, ErrCorrupt)) naming the file and the byte offset, and is
// never skipped silently. Replay verifies every record it reads the same
// way.
package wal
