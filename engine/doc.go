// Package engine owns tael's data directory and is the only way other
// packages read or write it. Every appended batch goes to the write-ahead log
// (engine/wal) and is fsync'd before Append returns, then applied to the hot
// tier (engine/hot), a Badger store of Arrow record batches, or, for
// llm_payloads batches, to the blob store (engine/blob), from which an
// indexer goroutine feeds the full-text index (engine/fts).
//
// Layout of the data directory:
//
//	LOCK    flock'd by the process that has the directory open
//	wal/    segments of the write-ahead log
//	hot/    the Badger hot tier
//	blobs/  the Badger blob store: texts, their references, pending-index marks
//	fts/    the bleve full-text index (rebuildable from blobs/)
//	cold/   Parquet files per table and hour, and MANIFEST, which lists the
//	        live ones (engine/cold)
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
//   - A WAL segment is deleted only after the hot tier and the blob store have
//     been synced with a watermark covering every record in it (checkpoint).
//     Each store keeps its own watermark; Open replays from the lower one.
//   - A WAL record holds the batch in the hot tier's value format
//     (hot.Store.Encode), and the hot tier stores those same bytes: a batch
//     is encoded and compressed once.
//   - A text leaves the blob store's pending-index set only after the
//     full-text index has persisted it, so search results survive a crash;
//     search is eventually consistent (about a second behind appends).
//   - Compaction copies hot rows with time before a cutoff and LSN at or
//     below the applied watermark into Parquet files, then commits the files
//     together with the table's moved mark (Before, LSN) in one manifest
//     write. From that commit on every read skips hot rows the mark covers
//     and reads them from the files; before it, the files are not live (Open
//     deletes them as orphans). A replay after a crash may put covered rows
//     back into the hot tier: they stay hidden, and the next compaction
//     deletes them. Hot rows a mark covers are deleted only once no read
//     that began with an older manifest is open (readers, read.go).
//   - A mirror (the SQL layer's DuckDB copy) sees each applied batch before
//     the watermark passes its LSN, and each manifest change in the same
//     order as readers do; Attach loads it while appends and compactions
//     wait.
//   - Blob GC deletes a text only if no hot or cold span or log row names
//     it and it was not written in the ten minutes before the mark began.
package engine
