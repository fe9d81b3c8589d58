// Package schema defines tael's tables as Arrow schemas, once, for every layer:
// the receivers build record batches with them, the engine checks appended
// batches against them and stores them, and the SQL and PromQL layers read
// them back.
//
// Invariants a reader must know:
//   - Times are timestamp[ns, tz=UTC]; strings are plain utf8 (never string
//     views); attributes are map<utf8, utf8>.
//   - A table's ID is stable on disk (it is written into WAL records and hot
//     tier keys): never renumber a table, only add new ones.
//   - Only tables with a TimeColumn can be appended to the engine; metrics_5m
//     is written by compaction and llm_payloads is served from the blob store.
package schema
