// Package hot is tael's hot tier: the recent rows of each appendable table as
// Arrow record batches in a Badger database, one Badger value per batch part,
// with a trace index for spans and a series index for metrics.
//
// # Values
//
// A value is one Arrow IPC stream (the schema, then one batch) behind a
// format byte: 0 for the plain stream, 1 for uvarint length | LZ4 block of
// it, 2 for uvarint length | zstd frame of it (Options.Codec picks). The
// stream is compressed whole, not with IPC body compression: arrow-go
// decompresses IPC bodies buffer by buffer (a new zstd or LZ4 frame reader
// per buffer, a zstd one starting a goroutine each time) and copies the body
// once more, which made full scans of 500,000 spans 1.6× (LZ4: 3.4M against
// 5.4M rows/s) to 2× (zstd: 1.5M against 2.3–3.2M) slower, and zstd values
// 42% bigger (200 against 141 bytes per span), than one block per value
// (BenchmarkScanSpans, BenchmarkApply, 2 cores). Decoding decompresses into one
// allocation from the store's allocator and reads the stream from it
// without copying: the batch's buffers are slices of it.
//
// # Key layout
//
// Integers are big-endian; a bucket is floor(time / BucketWidth) as an int64
// with its sign bit flipped, so byte order is time order.
//
//	'd' | table (1) | bucket (8) | lsn (8) | part (2)    → value (see Values)
//	't' | trace id (16, hex-decoded) | data key (20)     → row numbers (uvarint deltas)
//	'u' | uvarint len | trace id (raw) | data key (20)   → row numbers
//	's' | series id (8)                                  → labels (uvarint len | bytes, name then value)
//	'p' | uvarint len | name | uvarint len | value | series id (8) → empty (a posting)
//	'a' | bucket (8) | series id (8)                     → empty (series activity)
//	'm' | "applied"                                      → watermark LSN (8)
//	'm' | "bucket"                                       → BucketWidth in ns (8)
//
// A time range of one table is one contiguous range of data keys, buckets in
// order, so a Scan is one key range and needs to filter rows only in its first
// and last bucket. A batch whose rows fall into several buckets is split into
// one part per bucket (rows keep their order within it); a part of more than
// 65,536 rows is cut into several values, numbered by the key's part. Trace
// ids of 32 lowercase hex characters (the normal form) are indexed by their 16
// bytes; any other id by its raw bytes under 'u', so the two never collide.
// Postings cover every label of a series including __name__; a series' labels
// and postings are written once, the first time the store sees its id.
//
// # Idempotency and the watermark
//
// Badger does not sync on commit: the WAL in front of the store gives
// durability, and after a crash the engine replays the WAL from the applied
// LSN. Every key Apply writes is derived from (table, bucket, lsn, part) and
// the rows themselves, so applying the same WAL record again rewrites the same
// keys with the same values: no row is ever doubled, and a replay may start
// at any LSN at or below the first record not wholly applied.
//
// Apply writes its values, index entries and the applied key in one Badger
// transaction. When they exceed Badger's transaction limit they are written
// in several, the applied key in the last, so a crash between them leaves
// rows that the replay rewrites (and a reader may see part of such a batch
// until Apply returns). Within them a value precedes its trace index
// entries, so a trace entry never names a missing value, and a series'
// postings precede its labels key, whose presence makes a reopened store
// treat the series as written; Series skips ids whose labels key is not
// written yet. The applied key holds the caller's
// watermark verbatim: the highest LSN the caller knows is wholly applied,
// which may be below the batch's own LSN when batches are applied
// concurrently, and may even go down if two Applies commit out of order
// (harmless: replay starts earlier). Validation (schema, time column) happens
// before any write, so a rejected batch writes nothing.
//
// # Moved rows
//
// Compaction copies hot rows to the cold tier and then publishes a Moved mark
// per table: every row of the table in a bucket wholly before Before and
// applied at an LSN at most LSN now lives in cold files. The store keeps no
// mark; the caller passes one to every read, and readers skip what it hides
// before the rows are deleted. Invariants:
//
//   - Hiding is decided from a data key alone: (bucket b, lsn l) is hidden
//     by m when m.LSN != 0, l <= m.LSN and (b+1)·BucketWidth <= m.Before.
//     Before must be a multiple of BucketWidth (ErrMoved otherwise), so a
//     bucket is hidden whole or not at all, and Scan, ScanBatches and Buckets
//     skip hidden values without reading them. Trace decides from the data
//     key at the end of each trace index key, before reading the row list.
//   - Late data stays visible: a batch applied into a moved bucket after the
//     mark has a higher LSN. The zero Moved hides nothing (WAL LSNs start
//     at 1).
//   - DeleteMoved(table, m) deletes the values m hides, after the trace
//     index entries naming them, and for metrics then the activity keys of
//     the buckets wholly before m.Before, except those of the series of
//     late values (which it rewrites); series labels and postings stay. It
//     goes through Badger write batches, committed in order, so no snapshot
//     holds a trace entry whose value DeleteMoved deleted, and a crash
//     midway leaves only hidden keys, which readers skip; running it again
//     finishes the job, and a run with nothing left deletes nothing.
//   - A reader's snapshot must not lose rows its mark does not hide: the
//     engine must not start DeleteMoved(table, m) before every read of table
//     given an older mark has taken its snapshot (Scan and Trace take theirs
//     before returning). Trace skips an index entry whose value is gone, so
//     a race there drops rows instead of failing.
//   - The activity cache holds no bucket below the highest Before
//     DeleteMoved ran under for metrics, and a metrics Apply in flight when
//     the floor rises finishes first; so an Apply of late data writes its
//     activity keys again, and DeleteMoved's last pass rewrites those of
//     late values that committed while it deleted.
//   - Apply may write hidden keys again (a WAL replay starting below the
//     mark): readers skip them and the next DeleteMoved deletes them. Until
//     then Series, which takes no mark, may also return series for their
//     buckets, as it does for every moved bucket before DeleteMoved.
//
// Deleted values leave garbage in Badger's value log until CollectGarbage
// rewrites the files holding it. Badger counts a file's garbage during LSM
// compactions, so the space may come back only at a later call.
//
// # Bucket granularity
//
// BucketWidth (default 1 minute) is fixed when a store is created. Scan is
// exact: rows outside the range are filtered out of the edge buckets. Series
// restricts to a time range by bucket: a series is returned if it has a point
// in any bucket overlapping the range, even if that point lies outside it.
package hot
