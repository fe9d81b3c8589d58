// Package ingest holds what every receiver shares: the engine-facing
// interface receivers write through, request size limits, reading request
// bodies (gzip included) within those limits, and the admission gate that
// turns an engine falling behind into "retry later" answers instead of
// unbounded memory.
//
// Receivers live in sub-packages (ingest/otlp, ingest/remotewrite); they
// import this package and the engine's schema, never each other.
package ingest
