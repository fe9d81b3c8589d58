// Package sqlbench holds end-to-end benchmarks of tael's SQL path: spans
// compacted to Parquet, served by the Flight SQL server over loopback from
// the embedded DuckDB, and read by arrow-go's Flight SQL client. The same
// queries also run in a plain DuckDB reading the same Parquet files, so the
// benchmarks show what tael's layers (the view over hot rows and cold files,
// Flight SQL, gRPC, Arrow IPC) cost on top of DuckDB itself.
//
// The data set is built once per process: TAEL_BENCH_SPANS spans (default
// 1,000,000; bench/README.md records 10,000,000) spread over 24 hours,
// appended through the engine in batches and compacted to the cold tier
// before the server starts, so every row is read from Parquet.
//
//	go test -tags duckdb_arrow -run '^$' -bench . -benchtime 5x ./bench/sqlbench/
//	TAEL_BENCH_SPANS=10000000 bash bench/run.sh sql
package sqlbench
