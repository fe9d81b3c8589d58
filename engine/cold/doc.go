// Package cold is tael's cold tier: immutable, sorted, zstd-compressed Parquet
// files per table and hour, and a MANIFEST that says which of them are live.
// Compaction writes files from hot-tier rows (Write) and publishes them
// (Commit); readers take a Manifest and scan its files (Scan, Trace, or
// DuckDB's own Parquet reader); retention drops whole hours (DropBefore);
// removed files are deleted after a grace period (CollectGarbage).
//
// # Files
//
// Under the store's directory:
//
//	MANIFEST                                         the live files (JSON, below)
//	<table>/date=YYYY-MM-DD/hour=HH/<id>.parquet     one Write each (UTC hour)
//	quarantine/<path of a damaged file>              moved there by Open
//
// <id> is 26 characters of Crockford base32 (48 bits of Unix milliseconds, 80
// random bits), so names sort by creation time and never collide. A file's
// rows all lie in its hour (by the table's time column), sorted by the
// table's sort key. The Arrow schema is stored in the file (ARROW:schema),
// so Arrow readers get maps and lists back; times are stored without a
// zone and relabelled timestamp[ns, UTC] on reading (see zone.go).
//
// MANIFEST is {"format": 1, "crc32c": <CRC32C of the manifest bytes>,
// "manifest": {"version", "files": [{"table" (by name), "path", "hour",
// "min_time", "max_time", "rows", "bytes"}], "moved": {<table>: {"before",
// "lsn"}}, "garbage": [{"path", "removed"}]}}.
//
// # Invariants
//
//   - A file is live exactly when the current MANIFEST lists it. Readers use
//     a Manifest, never a directory listing; a published Manifest is never
//     modified.
//   - A file is complete and durable before any manifest names it: Write
//     writes <id>.tmp, fsyncs it, renames it to <id>.parquet and fsyncs the
//     directory, and only then returns the File that Commit may add. Files
//     are never modified after that.
//   - Each Commit replaces the MANIFEST whole: MANIFEST.tmp, fsync, rename,
//     fsync of the directory. Versions grow by one. A crash leaves the old
//     or the new version, never a mix; Open deletes the *.tmp files and the
//     Parquet files the MANIFEST lists neither as live nor as garbage
//     (written but never committed), so a
//     crash at any step leaves every row exactly once — provided the caller
//     commits a table's files together with its Moved watermark, which tells
//     the engine which hot rows the cold files now hold.
//   - Moved only grows (Commit rejects a lower Before or LSN).
//   - A removed file becomes Garbage stamped with the clock's time and is
//     deleted only once Options.GCGrace has passed, so a reader of an older
//     Manifest (DuckDB among them) can finish; it is deleted before the
//     manifest forgets it, so a crash in between leaves a harmless entry.
//   - Open checks every live file (its size and Parquet footer, and that it
//     holds its table's columns); a damaged one is moved to quarantine and
//     removed from the manifest, and reported by Quarantined and at Error.
//     A MANIFEST that does not parse or fails its checksum is an error
//     (ErrCorruptManifest): it is the only record of which files are live.
//   - If the directory fsync after a rename fails, the new version is
//     published but may not survive a crash; the store then refuses every
//     change with ErrFailed until it is reopened.
//
// # Sort order
//
// spans (trace_id, start_time); logs (service, timestamp); metrics
// (name, series_id, timestamp); metrics_5m (series_id, bucket_start);
// trace_comments (trace_id, created_at). Ties keep their input order.
//
// Metrics sort by name first so that a row group holds few metric names and
// its name statistics say which (ScanNames skips the others): a PromQL
// selector of one metric then decodes about that metric's share of each
// file. Files written before sorted by series_id alone; ScanNames reads them
// correctly, only without skipping.
//
// For spans both candidate orders were measured with OpenTelemetry-SDK-like
// spans (otel_test.go: 10 services, 50 operations, traces of 1 to 40 spans,
// random ids), 2 million of them in four files of 500,000 (BenchmarkTraceLookup,
// BenchmarkScanSpans, BenchmarkWriteSpans). The machine has 2 cores shared
// with other jobs (load average 2 to 8 during the runs), so wall times are
// noisy; CPU per operation is the steadier number. Default layout (4,096-row
// row groups, 64 KiB pages):
//
//	                                trace_id order   service order
//	bytes per span                  47.7             47.8
//	Trace lookup CPU                5.9–6.6 ms       21.7 ms
//	Trace lookup p50 / p99          5.4 / 12.5–21 ms 18.6 / 68 ms
//	full scan, all columns (CPU)    2.37 µs/row      2.10 µs/row
//	scan of 3 flat columns          15.0M rows/s     15.9M rows/s
//	Write, 200,000 spans (CPU)      6.0 µs/span      6.3 µs/span
//
// and with 16,384-row row groups: 46.0 against 45.8 bytes per span, lookups
// 12.3 against 56.8 ms of CPU, full scans 1.88 against 1.62 µs per row.
// trace_id order wins: sorted row groups have narrow trace_id min/max
// statistics, so a lookup reads about one row group per file that holds the
// trace (its bloom filter rules out the others), and a trace's rows are
// adjacent, so only they are decoded; in service order every row group whose
// bloom filter says maybe is decoded whole. Size and scans are nearly the
// same: service and operation are dictionary-encoded either way, and time
// ranges prune by partition and file MinTime/MaxTime, not by row-group
// statistics (which span the hour in both orders).
//
// # Layout and encodings
//
// Row groups and pages (tableLayouts in write.go): spans use 4,096-row row
// groups and 64 KiB pages, the others 65,536-row row groups and 1 MiB pages.
// For spans in trace_id order (same data set as above):
//
//	row group / page     bytes/span   lookup CPU   lookup p50 / p99   scan CPU
//	4,096 / 64 KiB       47.7         5.9–6.6 ms   5.4 / 12.5–21 ms   2.37 µs/row
//	4,096 / 1 MiB        46.5         7.0 ms       6.4 / 24.6 ms      2.11 µs/row
//	8,192 / 64 KiB       46.5         8.2 ms       7.8 / 30.6 ms      1.89 µs/row
//	16,384 / 64 KiB      46.0         12.3 ms      11.2 / 26 ms       1.88 µs/row
//	65,536 / 64 KiB      45.6         38.7 ms      35.0 / 87.5 ms     1.72 µs/row
//
// A lookup decodes the nested columns of the trace's row group from its
// start (see Reading), so its cost grows with the row group; smaller pages
// cut the flat columns' share. Among 10 million spans (20 files over five
// hours, TAEL_BENCH_SPANS=10000000) the default layout took 5.2 ms of CPU
// per lookup, p50 4.8 ms and p99 24.9 ms of wall time at load average 3.4 on
// the 2 cores: files without the trace cost only cached statistics and
// bloom filter checks. The footer costs 0.9 bytes per span at
// 4,096-row row groups. Metrics (2,000 realistic series, an hour of 15 s
// samples, BenchmarkWriteMetrics) take 3.73 bytes per sample at 16,384 rows
// and 64 KiB pages, 3.43 at 65,536 rows and 1 MiB pages, 3.08 with zstd
// level 3 as well.
//
// Every column is zstd-compressed (level 1 for spans, logs and comments,
// which are written most; level 3 for metrics and rollups: 10% smaller).
// Low-cardinality strings — service, operation, kind, status, scope, names,
// severities, metric_type, unit, llm_*, and the keys and values of every
// attribute map — are dictionary-encoded: turning dictionaries off for map
// entries cost 8 bytes per span for 25% faster writes. Identifiers and
// hashes (span_id, parent_span_id, link ids, sha256s, log span_id and body)
// are not: they are written DELTA_LENGTH_BYTE_ARRAY, 1.7 bytes per span
// smaller than PLAIN. Timestamps are DELTA_BINARY_PACKED (which needs
// dictionary encoding off; arrow-go allows DELTA_BINARY_PACKED and
// BYTE_STREAM_SPLIT for integers, BYTE_STREAM_SPLIT for floats,
// DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY for strings, and falls back
// to PLAIN when a dictionary outgrows its page): 6.4 bytes per metric
// timestamp PLAIN, 1.7 delta. spans.duration_ms is BYTE_STREAM_SPLIT (7.4
// against 8.0 bytes); metric values stay PLAIN (BYTE_STREAM_SPLIT lost, 1.50
// against 1.42; a dictionary lost too, 2.26). Statistics are written for
// top-level columns except span ids, and a page index with them; spans.
// trace_id has a bloom filter per row group (1% false positives, sized by
// the row group's distinct trace ids). The writer records the sort key as
// the row groups' sorting columns.
//
// # Reading
//
// Scan prunes files by MinTime/MaxTime and row groups by time-column
// statistics, decodes one row group at a time (columns in parallel) and
// filters rows to the range. Trace checks each spans file's row groups
// against their cached trace_id statistics and bloom filters, reads the
// trace_id column of the survivors with the Parquet library's value reader
// (no Arrow strings built), and then decodes only the matching rows: flat
// columns from those rows on (skipping to them with the offset index),
// nested columns (maps, lists) from the start of the row group, because
// arrow-go v18.8.0 cannot skip to a row inside a page of a repeated column
// (its columnChunkReader.skipRows consumes the repetition levels of the
// whole page; TestTraceOTel caught the misaligned maps). Footers are cached
// (footerCacheBytes).
//
// Decoded arrays come from the Go heap, not Options.Allocator: arrow-go
// v18.8.0's DELTA_BINARY_PACKED decoder allocates a 64-byte buffer per
// column chunk and never frees it (deltaBitPackDecoder.deltaBitWidths).
//
// # Rollup
//
// Rollup groups metrics samples by (series_id, bucket_start), where
// bucket_start = floor(timestamp / 5m) * 5m. Within a series, samples are
// ordered by timestamp, ties by input order (batch, then row). For each
// bucket: min and max of the values (NaN samples are skipped unless all
// are NaN), sum, count, last = the value of the last sample in that order
// (the latest; of equal times the later row), and name, labels, service
// and metric_type of that last sample. counter_increase is null unless that
// metric_type is "counter"; then, with v[0..n) the bucket's values in order
// and inc(a, b) = b-a if b >= a, else b (a reset: the counter restarted
// from zero and counted up to b), it is
//
//	sum of inc(v[i-1], v[i]) for i in 1..n-1
//	+ inc(p, v[0]) if the series' previous sample in the input, p, has a
//	  timestamp in the preceding bucket [bucket_start-5m, bucket_start)
//
// so increases across a bucket boundary count in the later bucket, and
// summing counter_increase over consecutive buckets gives the increase over
// the whole span; a gap of a bucket or more loses the increase across it.
// Only the samples passed to one Rollup call are seen: a caller that rolls
// up batch by batch should pass the previous bucket's last sample along.
// Output rows are sorted by (bucket_start, series_id).
//
// # Write throughput
//
// Writing spans is bound by arrow-go's Parquet encoder, mostly its
// dictionary encoding, which hashes every string value again (about 3.5 µs
// of CPU per OTel-like span in pqarrow.FileWriter.Write, of about 6 µs per
// span for a whole Write). Write sorts once, then gathers each row group's
// rows in sorted order in one goroutine while the previous row group is
// encoded in another; pqarrow's API cannot encode the columns of one file
// in parallel. BenchmarkWriteSpans, 200,000 spans per Write: 146,000–201,000
// synth spans/s and 158,000–161,000 OTel-like spans/s for one Write,
// 186,000–270,000 for two concurrent Writes (two partitions), at 5.6–6.7 µs
// of CPU per span — short of 500,000 spans/s on 2 cores.
package cold
