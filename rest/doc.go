// Package rest serves tael's REST API: the questions of package analytics
// (trace search and lookup, services, logs, metrics, comments, full-text
// search, blobs, summary, anomalies, correlate) as JSON over HTTP under
// /api/v1/, and live tails of spans and logs as Server-Sent Events.
//
// Invariants a reader must know:
//
//   - Every answer but a blob's text and a live tail is JSON with
//     Content-Type application/json; every error is {"error": "…"} with a
//     status that says whose fault it was: 400 for bad input (an unknown
//     query parameter included, so a typo is not silently ignored), 404 for
//     a trace or blob that does not exist, 413 for an oversized body, 503
//     when the request ran out of time, 500 for the rest (logged).
//   - Lists are never null: an empty answer is [].
//   - The routes are Go 1.22 method patterns; they are more specific than
//     the Prometheus API's catch-all /api/v1/ on the same mux, so both
//     share a port. /api/v1/traces/live wins over /api/v1/traces/{id}
//     because a literal segment is more specific than a wildcard.
//   - A live tail ends when its client goes away or Close is called (on
//     server shutdown), so http.Server.Shutdown does not wait for it.
package rest
