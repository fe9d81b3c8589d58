// Package engine owns tael's data directory and is the only way other
// packages read or write it. Every appended batch goes to the write-ahead log
// (engine/wal) and is fsync'd before Append returns, then applied to the hot
// tier (engine/hot), a Badger store of Arrow record batches.
//
// Layout of the data directory:
//
//	LOCK   flock'd by the process that has the directory open
//	wal/   segments of the write-ahead log
//	hot/   the Badger hot tier
//
// Invariants:
//   - Acknowledged means durable: Append returns an LSN only after the WAL has
//     fsync'd the record.
//   - Applying a WAL record to the hot tier is idempotent (hot keys derive from
//     the LSN), so replaying a record twice never doubles a row.
//   - The hot tier records an applied watermark W in the same Badger write as
//     the data: every record with LSN <= W is in the hot tier. Records are
//     applied concurrently, so W is the contiguous prefix of applied LSNs, not
//     the newest one. On open the WAL is replayed from W+1.
//   - A WAL segment is deleted only after the hot tier has been synced with a
//     watermark covering every record in it (Checkpoint).
//   - A future step that deletes hot rows (compaction) must only delete rows
//     whose LSN is at or below the synced watermark, or a replay would bring
//     them back.
package engine
