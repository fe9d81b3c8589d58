// Package duck is tael's SQL engine: an embedded, in-memory DuckDB in which
// each of tael's tables is a view over two parts, its hot rows and its cold
// Parquet files.
//
// # Hot rows
//
// The engine's hot tier is mirrored into DuckDB tables in the schema _hot,
// one per table, each with the table's columns and a hidden _lsn column (the
// WAL record that wrote the row). The engine feeds every applied batch to
// Applied before it acknowledges the append, so a row is visible to SQL once
// its append returns. Batches go in through DuckDB's Arrow-to-data-chunk
// conversion and its appender (duckdb_data_chunk_from_arrow +
// duckdb_append_data_chunk), the path DESIGN.md measured at about 850,000
// rows/s; duckdb_arrow_scan (RegisterView) is never used: it ignores
// projections and filters (DuckDB issue #17012).
//
// Times are stored as TIMESTAMP_NS: Arrow's timestamp[ns, UTC] would become
// DuckDB's TIMESTAMP WITH TIME ZONE, which holds microseconds.
//
// # Cold files and the views
//
// When compaction publishes a new set of cold files for a table, Cold
// replaces the table's view (a UNION ALL of its _hot table and
// read_parquet over the live files) and deletes the hot rows the files now
// hold (time before the moved mark and _lsn at or below its LSN), in one
// DuckDB transaction: a query sees either the old view and rows or the new
// ones, so no row is missed or doubled. DuckDB's filter pushdown prunes both
// sides on the time column (zone maps in memory, row-group statistics in
// Parquet).
//
// # Sealed
//
// SQL is read-only: only SELECT-like statements (SELECT, SHOW, DESCRIBE,
// EXPLAIN, information_schema queries) run, one statement at a time, and
// INSERT INTO trace_comments goes through the engine's durable append path
// (Options.Append). External access is disabled except for reading the cold
// directory, extensions cannot be installed or loaded, and the
// configuration is locked before the first user query.
//
// # Results
//
// Query results stream chunk by chunk from DuckDB's streaming result, in
// tael's result types: strings as utf8 (never string views) and every
// timestamp as timestamp[ns, UTC]. A query is interrupted when its context
// ends.
//
// # Table functions
//
// Each tablefunc.Func in Options.Functions is registered before the
// configuration is locked, through DuckDB's C API table functions
// (functions.go), in DuckDB's system catalog: every connection sees it,
// as name(…) or main.name(…) (not tael.main.name). Go callbacks, exported
// to C, serve DuckDB: bind reads the arguments and declares the result
// columns but never calls Call, since every statement is bound when
// prepared; init (one thread) calls Call; the scan copies the batch into
// DuckDB's vectors 2048 rows at a time (vectors.go); the batch is released
// when DuckDB deletes the init data. Values DuckDB keeps are pinned
// cgo.Handles. DuckDB gives init no client context, so bind records the
// statement's connection id, and run maps each connection id to the
// context of the query running on it until the result is released: Call
// gets that context, marked as inside a call. A query run with a marked
// context (a Call querying the views) takes its connection from a small
// pool of its own, and one a level deeper a new connection, so a Call
// never waits for a connection its own query holds, however many queries
// call functions at once.
package duck
