// Package analytics answers the questions people ask of their telemetry most
// often — trace search and lookup, services, logs, metrics, comments,
// full-text search, summary, anomalies and correlate — with one definition
// each, served alike by the REST API, the SQL table functions and the
// command line.
//
// Aggregations and listings run as SQL over the same hot ∪ cold views Flight
// SQL serves (a Querier, the sql/duck DB in flightd), always with ?
// parameters and always with a predicate on the table's time column, which
// prunes both the hot rows and the cold files. Trace lookup (engine.Trace),
// full-text search (engine.Search), blobs (engine.Blob) and comment appends
// (engine.Append) go through the engine.
//
// # Arguments
//
// A trace id is 32 hex digits in either case and is used in lowercase; a
// span id (of a comment) 16. A status is unset, ok or error; a severity
// trace, debug, info, warn, error or fatal; a metric type gauge, counter,
// histogram, summary or unknown. A comment needs a non-empty author and body,
// the body at most 64 KiB. A limit of 0 means the default of its call, one
// above MaxLimit means MaxLimit, a negative one is invalid; a window must
// be neither negative nor above 100 years. A bad argument is an error wrapping ErrInvalid that
// names the field; a trace or blob that does not exist is ErrNotFound.
//
// # Windows
//
// A window of length w is [now − w, now], both ends included, with now =
// Options.Clock(): spans by start_time, logs and metric points by
// timestamp. Traces, Logs, Metrics and Summary default to DefaultLast (1h),
// Services to 24h.
//
// # Definitions
//
// Traces: a trace is listed when one of its spans with start_time in the
// window matches every filter (service exact, operation substring, span
// duration_ms within min/max, status, every attributes[k] = v, and — when
// Text is set — the trace_id is among the trace ids of engine.Search(Text,
// 1000) hits). Each listed trace is reported whole over the same window:
// root = the span with empty parent_span_id (else the earliest; ties by
// start_time, then span_id), start_time = min start, duration_ms = (max end −
// min start) in ms, span_count, error_count (status = 'error'), services
// sorted. Newest start first (then trace_id), at most Limit (default
// DefaultTraces).
//
// Trace: every span of the trace, hot and cold, whatever its time, by
// start_time, then span_id.
//
// Services(last): per service over the window (0 → 24h): span_count,
// error_count, error_rate = errors/spans, avg_ms, p95_ms (quantile_cont),
// distinct operations, last_seen = max start_time; by span_count desc, then
// name.
//
// Logs: records in the window matching every filter of LogFilter: service
// exact; severity a minimum (trace < debug < info < warn < error < fatal, on
// the severity column, so error returns error and fatal); body containing
// BodyContains, case-insensitively; trace_id. Newest first (ties by service,
// span_id, body), at most Limit (default DefaultRows).
//
// Metrics: points in the window matching every filter of MetricFilter
// (service, name and metric_type exact). Newest first (ties by name,
// series_id), at most Limit (default DefaultRows).
//
// Comments: for one trace, its comments oldest first (by created_at, then
// id), at most limit (0: MaxLimit); for all (traceID ""), the newest limit
// (default DefaultRows), returned oldest first. trace_comments is small, so
// these queries have no time predicate. AddComment stores one row with a
// random 128-bit id in hex and created_at = Clock().
//
// Search: engine.Search's hits, best first, at most limit (default
// DefaultRows); a query the index cannot parse is ErrInvalid.
//
// Summary(window, service): over the window (0 → 1h), and service = ? when
// service is set (service_filter is null when it is not). traces: over
// spans with start_time in the window; trace_count = distinct trace_id;
// error_rate = error_count/span_count (0 when none); avg, max and the
// p50/p95/p99 percentiles of duration_ms, exact (quantile_cont); all zero
// when there are no spans. top_services: the top 10 services by span_count
// (then name), each with its error_count and error_rate.
// top_error_operations: the top 10 (service, operation) with error_count > 0
// by error_count (then span_count desc, service, operation). logs: the
// window's records by severity (error includes fatal, debug includes
// trace; same service filter). metrics: point_count and count(distinct
// name) in the window (same service filter). llm: spans with llm_model not
// null, per model (model, provider — the alphabetically first if several —,
// calls, input/output/total token sums, cost sum, error_count, avg_ms)
// sorted by cost desc, then calls desc, then model, plus totals over the
// models. The span part is one SQL statement reading the window's spans
// once; logs and metrics one each. Empty lists are [] in JSON, not null.
//
// Anomalies(current, baseline, service): the current window is [now−current,
// now], the baseline [now−current−baseline, now−current) — it ends where the
// current one begins. Defaults if 0: current 15m, baseline 1h. Per service
// (and, for LLM, per llm_model; with service set, only that service's
// spans), the windows are compared:
//
//   - error_rate: flagged when both windows have ≥ 5 spans and current −
//     baseline ≥ 0.05; severity critical if Δ ≥ 0.25, warning if Δ ≥ 0.10,
//     else info.
//   - latency_p95 (quantile_cont 0.95 of duration_ms): both windows ≥ 5
//     spans, ratio current/baseline ≥ 1.5 and current − baseline ≥ 25 ms;
//     critical if ratio ≥ 3, warning if ≥ 2, else info. Delta = current −
//     baseline (ms). A baseline p95 of 0 makes the ratio infinite.
//   - throughput_drop / throughput_spike: rates in spans per second (windows
//     differ in length). Drop: baseline ≥ 20 spans and current rate ≤ 0.5 ×
//     baseline rate; critical if ≤ 0.1× (including zero), warning if ≤
//     0.25×, else info. Spike: current ≥ 20 spans and current rate ≥ 2 ×
//     baseline rate (and baseline ≥ 5 spans, so a new service is not a
//     spike); critical ≥ 10×, warning ≥ 5×, else info. Services seen only in
//     the baseline count as current 0 (a drop).
//   - token_cost_spike (scope model): LLM spans per model, cost_usd per
//     second (if the model has no cost in both windows, total_tokens per
//     second); both windows ≥ 5 LLM spans and ratio ≥ 2; critical ≥ 10×,
//     warning ≥ 5×, else info. A baseline rate of 0 with a current one
//     above 0 makes the ratio infinite (critical).
//
// current, baseline and delta are the compared quantities (error rates as
// fractions, p95 in ms, rates per second for throughput and cost). message
// is one English sentence with the numbers, e.g. "error rate of checkout
// rose from 2.0% to 31.0% (15 of 48 spans)". Anomalies are sorted critical,
// warning, info, then by kind, scope, subject. No baseline data means no
// anomaly: no rule divides by zero, and no infinity reaches the JSON (an
// infinite ratio only sets the severity and reads "∞×" in the message).
//
// Correlate(traceID): the spans from engine.Trace (ErrNotFound when none),
// by start_time, then span_id; services sorted; start = min start, end =
// max end, duration, error_count; the logs with trace_id = ? in [start −
// CorrelateMargin, end + CorrelateMargin] (at most MaxCorrelateLogs, by
// timestamp); the metric points with service IN (the trace's services) in
// the same widened range (at most MaxCorrelatePts, by timestamp, name).
//
// TailSpans/TailLogs(cursor): a live tail polls the SQL mirror's hot rows,
// whose _lsn column is the WAL record that wrote them, for the records from
// cursor up to the engine's applied watermark (records finish applying out
// of order; below the watermark none is missing), oldest first. Records are
// never split: those taken are the ones that begin within the first limit
// matching rows (so a poll returns at least one whole record, possibly more
// than limit rows), and the next cursor is the LSN after the last one
// returned. Cursor 0 means "start from now": no rows, and the cursor after
// the watermark. A tail sees only hot rows: one that falls behind by more
// than the hot window misses rows compaction moved meanwhile.
//
// # SQL table functions
//
// Functions returns them for sql/duck's Options.Functions. Arguments that
// are durations accept what REST does (internal/duration: "30s", "5m",
// "1h", "7d", bare seconds); NULL or the empty string means the default,
// and a NULL or empty service means all.
//
//	search(text VARCHAR, "limit" := BIGINT)
//	  sha256, kind VARCHAR, score DOUBLE, fragment, trace_id, span_id VARCHAR
//	summary(window VARCHAR, service VARCHAR), one row:
//	  window_seconds DOUBLE, service_filter VARCHAR (NULL for all),
//	  span_count, trace_count, error_count BIGINT,
//	  error_rate, avg_ms, max_ms, p50_ms, p95_ms, p99_ms DOUBLE,
//	  log_total, log_error, log_warn, log_info, log_debug,
//	  metric_points, metric_names, llm_calls, llm_total_tokens BIGINT,
//	  llm_cost_usd DOUBLE, report VARCHAR (the Summary as REST's JSON)
//	anomalies(current VARCHAR, baseline VARCHAR, service VARCHAR)
//	  kind, scope, subject, severity VARCHAR, current, baseline, delta DOUBLE,
//	  message VARCHAR
//	correlate(trace_id VARCHAR), one row per item of the timeline, by time
//	(spans, then logs, then metric points at the same instant):
//	  source VARCHAR ('span', 'log' or 'metric'), time TIMESTAMP,
//	  service, name VARCHAR (operation, severity or metric name),
//	  trace_id, span_id VARCHAR, duration_ms DOUBLE and status VARCHAR (spans),
//	  body VARCHAR (logs), value DOUBLE (metrics),
//	  labels MAP(VARCHAR, VARCHAR) (span and log attributes, metric labels)
//
// correlate of an unknown trace fails with "correlate: trace … not found".
package analytics
