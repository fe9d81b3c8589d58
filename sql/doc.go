// Package sql is tael's Arrow Flight SQL server: the front door for JDBC,
// ADBC, Grafana's Flight SQL data source and `flightd sql`.
//
// The Server embeds flightsql.BaseServer (as arrow-go's example SQLite
// server does) and answers from three places: SQL runs on a Backend (the
// DuckDB engine in sql/duck), bulk ingest appends through an Ingester (the
// engine), and catalog metadata (GetTables, GetDbSchemas, …) comes from the
// fixed table list in package schema, not from DuckDB.
//
// # Invariants
//
//   - Only this package turns errors into gRPC status codes (errors.go); the
//     Backend and Ingester return wrapped Go errors.
//   - Results are streamed batch by batch from the Backend's reader to the
//     client; a result is never held whole in memory. A query's reader holds
//     one of the Backend's connections until its stream ends.
//   - Every FlightInfo for a statement or a prepared statement has exactly
//     one endpoint, whose ticket this package encodes (ticket.go). A ticket
//     is self-contained for statements (it carries the SQL), so any
//     connection may redeem it; decoding rejects anything malformed.
//   - Every query runs under a timeout: Options.QueryTimeout, lowered by the
//     session's "timeout" option or the call's gRPC deadline. Each running
//     query is registered under its ticket's id so CancelFlightInfo can stop
//     it.
//   - Server-side state is bounded: prepared statements, sessions, Handshake
//     tokens and cancel marks expire when idle and are capped in number
//     (lru.go).
//   - tael's SQL is read-only except INSERT INTO trace_comments (the Backend
//     enforces it) and bulk ingest into spans, logs, metrics and
//     trace_comments (ingest.go).
package sql
