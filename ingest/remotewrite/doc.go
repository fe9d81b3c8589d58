// Package remotewrite receives Prometheus remote-write requests (1.0 and
// 2.0) over HTTP and stores their float samples in the metrics table through
// an ingest.Appender (the engine). flightd mounts NewHandler at
// POST /api/v1/write on --http.
//
// # Protocol
//
// A request is a snappy (block format) protobuf. Content-Type
// application/x-protobuf, alone or with proto=prometheus.WriteRequest, is a
// 1.0 prometheus.WriteRequest (prompb); with
// proto=io.prometheus.write.v2.Request it is a 2.0 request (prompb/io/
// prometheus/write/v2). As in Prometheus's own receiver, a missing
// Content-Type means 1.0 and a missing Content-Encoding means snappy;
// X-Prometheus-Remote-Write-Version is not checked. 1.0 bodies are decoded
// without copying (decode.go), accepting exactly what prompb's generated
// Unmarshal accepts; 2.0 bodies by prompb's generated code. 2.0 answers carry
// X-Prometheus-Remote-Write-Samples-Written (float samples stored) and the
// Histograms- and Exemplars-Written headers (always 0: neither is stored).
//
// # Answers
//
//	204  every sample stored, durably: the engine's Append returned, so the
//	     WAL has fsync'd them
//	400  the body is not snappy, or not the protobuf message its Content-Type
//	     names (nothing is stored); or some series or samples are invalid
//	     (below): the valid ones are stored and the message counts the
//	     others, with an example of each reason. This is the 2.0 spec's
//	     partial write, applied to 1.0 too; Prometheus does not retry 4xx.
//	405  not POST
//	413  the body, or the length its snappy header announces, is beyond
//	     Limits.MaxRequestBytes; checked before anything is decoded
//	415  another Content-Type, proto or Content-Encoding
//	503  the in-flight budget (Limits.MaxInflightBytes, an ingest.Gate) is
//	     full, with Retry-After: 1. Not 429: Prometheus retries a 429 only
//	     with retry_on_http_429: true in its queue_config (by default it
//	     drops the batch), and it retries every 5xx, honouring Retry-After,
//	     so 503 is the answer that makes a sender back off without losing
//	     data.
//	503  the Appender failed (engine closed, disk error): nothing of the
//	     request is acknowledged and the sender retries. If the engine had
//	     split a very large batch and stored a part, the retry stores that
//	     part twice.
//
// Error bodies are plain text, as Prometheus's receiver writes them.
//
// # Rows
//
// Each float sample is one row of the metrics table:
//
//	timestamp    the sample's milliseconds, as nanoseconds
//	name         the __name__ label
//	labels       every other label, sorted by name (labels with an empty
//	             value are left out: Prometheus treats them as absent)
//	service      the job label, else "unknown_service" (ingest/otlp's
//	             default, and the inverse of its job = service.name; a job
//	             "namespace/name" is kept whole)
//	value        the sample's float64, bit for bit: a staleness marker
//	             (value.StaleNaN, 0x7ff0000000000002) stays one
//	metric_type  from the metric family's metadata: counter, gauge,
//	             histogram, summary; unknown without metadata and for gauge
//	             histograms, info and stateset metrics
//	unit         from the metadata, null when empty
//	series_id    schema.SeriesID(name, labels)
//
// Help text is not stored, nor 2.0's start timestamps (created
// timestamps); a unit that is not valid UTF-8 has its bad bytes replaced by
// U+FFFD.
//
// In 2.0 each series carries its metadata. In 1.0 metadata comes by metric
// family name, and Prometheus sends it in requests of its own (every minute
// by default), not with the samples; so the handler remembers the families
// it has seen (up to 65,536, then it starts over) and a request's own
// metadata takes precedence. A sample name finds its family by its exact
// name, else as a component of one: NAME_bucket of histogram NAME, NAME_sum
// and NAME_count of histogram or summary NAME, NAME_total of counter NAME,
// NAME_created of any of those.
//
// A series is invalid, and its samples not stored, without a non-empty
// __name__, with a label name empty or not valid UTF-8, a value not valid
// UTF-8, or a name twice (Prometheus's receiver refuses the same); in 2.0
// also with label or unit references outside the symbols table. A sample
// whose time does not fit int64 nanoseconds (before 1677-09-21 or after
// 2262-04-11) is invalid.
//
// Native histogram samples (1.0 and 2.0) are not stored: the metrics table
// has no histogram column yet. They are dropped, not refused, because
// refusing would make the sender drop the float samples of the same batch
// too; the first time, a warning is logged, and every one is counted in
// tael_remote_write_dropped_total{reason="native_histogram"}. Exemplars are
// dropped likewise (reason "exemplar").
//
// # Metrics
//
//	tael_remote_write_requests_total{code}         requests by HTTP status
//	tael_remote_write_samples_total                samples stored
//	tael_remote_write_dropped_total{reason}        invalid_series,
//	                                               invalid_timestamp,
//	                                               native_histogram, exemplar
//	tael_remote_write_request_duration_seconds     request to answer
package remotewrite
