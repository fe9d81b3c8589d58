// Package otlp receives OTLP over gRPC and HTTP (Receiver) and converts
// decoded OTLP requests (pdata) into Arrow record batches in tael's table
// schemas (package schema): Traces into spans, Logs into logs, Metrics into
// metrics. The conversion functions do no networking and no storage; the
// Receiver decodes a request, converts it, appends Result.Payloads (as an
// llm_payloads batch, the engine's blob store) and then Result.Batch to an
// ingest.Appender, and answers with Result.Rejected and Result.Message as
// the OTLP partial_success.
//
// Invariants a reader must know:
//   - Every batch passes schema.ByID(…).Validate and uses the schema
//     package's types exactly; a request with no convertible row gives a nil
//     Batch.
//   - Every string written is valid UTF-8: OTLP decoders do not check it, so
//     invalid bytes become U+FFFD.
//   - Prompt and completion text (package ingest/llm decides what that is) is
//     never in a stored attribute or event, whatever CaptureLLMContent says.
//
// # Receiver
//
// One Receiver serves both transports (RegisterGRPC, HTTPHandler) with one
// ingest.Gate, as the OTLP specification (opentelemetry-proto
// docs/specification.md) says:
//   - A request is answered OK only after its rows are durable (Append
//     returns after the WAL's fsync). Payloads are appended before the rows
//     that refer to them, so no stored row names a text that is not stored;
//     a failure between the two leaves unreferenced texts, which blob GC
//     removes.
//   - A full success leaves partial_success unset; rejected items, or a
//     Result.Message alone (a warning), set it. A request that converted
//     nothing but had rejections is still a success with partial_success.
//   - A request refused (bad data, too large, overloaded, engine
//     unavailable) stores nothing: the gate and the decoder run before any
//     append. Overload and an unavailable engine are retryable (HTTP 429 and
//     503 with Retry-After, gRPC RESOURCE_EXHAUSTED and UNAVAILABLE with
//     RetryInfo); everything else is not.
//   - The gate counts the decompressed request body; HTTP refuses at once,
//     before reading the body, when the gate is full.
//
// # Spans
//
// service is the resource's service.name (any value type, as text), else
// "unknown_service". trace_id, span_id, parent_span_id and the link ids are
// lowercase hex (32 and 16 characters); parent_span_id, trace_state,
// status_message and scope_name are null when empty. kind is unspecified,
// internal, server, client, producer or consumer (an unknown value is
// unspecified); status is unset, ok or error (unknown: unset). duration_ms is
// (end − start) in milliseconds, negative if the sender's end precedes its
// start. events and links are null when there are none (after content events
// are removed). A time from math.MaxInt64 nanoseconds on (2262) is clamped
// to math.MaxInt64 − 1, the largest timestamp the engine stores.
//
// A span whose trace_id or span_id is all zeros is rejected. An id of the
// wrong length cannot reach this package: the pdata decoders fail the whole
// request on it, and the receiver answers that as a bad request.
//
// For an LLM span (llm.Extract) the LLM columns are set and every content
// attribute and content event is left out of attributes and events. With
// CaptureLLMContent the rendered prompt and completion are returned as
// payloads (kinds "prompt" and "completion") with their sha256 in
// prompt_sha256 and completion_sha256; without it those columns are null and
// no text is returned. For other spans the LLM columns are null.
//
// # Logs
//
// timestamp is time_unix_nano, else observed_time_unix_nano, else the
// conversion time (Options.Now); observed_timestamp, trace_id, span_id and
// severity_text are null when unset. severity is normalised from
// severity_number (1–4 trace, 5–8 debug, 9–12 info, 13–16 warn, 17–20 error,
// 21–24 fatal); when the number is 0 or out of range, from severity_text if
// it names a level (case-insensitive, trailing digits ignored: trace, debug,
// info, notice, warn, warning, error, err, fatal, critical, panic and a few
// more; see severityWords), else info. severity_number is stored as sent.
//
// body is rendered like an attribute value (below), null when the body is
// unset. A body longer than MaxBodyBytes (8 KiB) is cut to its first 8 KiB on
// a UTF-8 boundary, body_sha256 is the sha256 of the whole rendered body, and
// the whole body is returned as a "log_body" payload. The limit on attribute
// value length does not apply to the body.
//
// A log record's event_name, when set, is stored as the attribute
// "event.name" unless the record has one. A GenAI content event
// (llm.IsContentEvent: gen_ai.user.message, gen_ai.choice, …) keeps its body
// and attributes only with CaptureLLMContent; without it the body is null and
// the content attributes (llm.IsContentKey) are dropped.
//
// # Metrics
//
// Each OTLP data point becomes the samples Prometheus's own OTLP receiver
// would store with its default settings (translation strategy
// UnderscoreEscapingWithSuffixes, no delta support, explicit histograms as
// classic histograms), one row per sample; an exponential histogram, which
// it stores as a native histogram, becomes a classic histogram here (see
// "Exponential histograms"). name comes from
// github.com/prometheus/otlptranslator's MetricNamer with suffixes: dots to
// underscores, the unit as a suffix (s → _seconds, By → _bytes, "1" and
// {annotations} add nothing) and _total on monotonic sums. unit is the
// Prometheus unit (UnitNamer), null when empty.
//
//	gauge                     one row, metric_type gauge
//	sum, cumulative monotonic one row, metric_type counter (name ends _total)
//	sum, cumulative otherwise one row, metric_type gauge
//	histogram, cumulative     NAME_bucket{le} (cumulative counts; the le="+Inf"
//	                          bucket is the count, an explicit +Inf bound is
//	                          skipped), NAME_sum (only when the point has a sum),
//	                          NAME_count; metric_type histogram
//	exponential histogram,    a classic histogram: NAME_bucket{le}, NAME_sum
//	cumulative                (only when the point has a sum), NAME_count;
//	                          metric_type histogram (see below)
//	summary                   NAME{quantile}, NAME_sum, NAME_count; metric_type
//	                          summary
//
// Rejected, each data point counted once in Result.Rejected: sums, histograms
// and exponential histograms with delta or unspecified temporality
// (Prometheus refuses them unless delta support is enabled), exponential
// histograms that cannot be converted (below), data points with no timestamp
// (Prometheus would store them at 1970; here they would land in a partition
// retention drops at once), and points whose metric name or an attribute name
// cannot be translated.
//
// # Exponential histograms
//
// Prometheus's receiver stores an exponential histogram as a native
// histogram; the metrics table holds float samples only, so each point
// becomes a classic histogram instead, named as the other histograms are
// (otlptranslator, no _total): NAME_sum when the point has a sum, NAME_count,
// and NAME_bucket samples whose le values rise strictly and whose values are
// cumulative counts, ending with le="+Inf" = count. With base =
// 2^(2^-scale), positive bucket i holds (base^i, base^(i+1)] and negative
// bucket i holds [-base^(i+1), -base^i), as in the OTLP data model. The
// buckets, from the lowest value up:
//
//	negative buckets   highest index first, each le = -base^i (its upper end)
//	zero bucket        le = zero_threshold (0 when unset, negative or NaN),
//	                   always present, counting zero_count
//	positive buckets   lowest index first, each le = base^(i+1)
//	le="+Inf"          the point's count
//
// Rules, in the order they apply:
//   - A scale outside -10…20 (the range the OTLP data model allows) is
//     rejected. Prometheus's receiver also rejects -10…-5, which native
//     histograms cannot hold; classic buckets can.
//   - Empty buckets at either end of the positive and of the negative range
//     are dropped (their le would repeat a neighbour's count); empty buckets
//     between others stay, so a series' le set does not flicker.
//   - A scale above 8 is lowered to 8, as Prometheus's receiver lowers it to
//     its finest native histogram schema. Then, while the positive and
//     negative buckets together number more than 160, the scale is lowered
//     by one more: bucket i becomes bucket i>>1 (floor), merging pairs, as
//     Prometheus's native_histogram_bucket_limit does. 160 is the OTel SDKs'
//     default maximum size for this aggregation, so a default SDK histogram
//     of one sign keeps the scale it was sent with. A point therefore has at
//     most 162 NAME_bucket samples (160, the zero bucket's, le="+Inf"). One
//     that still has more than 160 at scale -10 is rejected.
//   - base^x is computed as Prometheus computes native histogram bucket
//     boundaries (its table of 2^(i/2^scale) for scales 1 to 8), so a
//     boundary has the same value here as in Prometheus and client_golang;
//     le is formatted like an explicit bound (strconv 'f', shortest).
//     base^x = 2^1024 is math.MaxFloat64, as there.
//   - A bucket whose boundary is not above the previous le (a positive bucket
//     inside the zero bucket's range, a boundary that underflows to 0) shares
//     the previous le; a bucket whose boundary is beyond the float range has
//     no le. Either way its count is in the next le's cumulative count.
//
// min, max and exemplars are not stored. A point flagged "no recorded value"
// stores the stale marker in every sample, as for explicit histograms.
// Quantiles over the lowest populated bucket interpolate from the zero
// bucket's le (usually 0), not from that bucket's lower boundary: classic
// buckets have no lower boundaries.
//
// labels are the data point's attributes with names translated by
// otlptranslator's LabelNamer (dots to underscores, "key_" before a leading
// digit); attributes are taken in name order and values of names that
// translate alike are joined with ";"; an attribute named __name__ is
// ignored and empty values are dropped, as in Prometheus. Then job is the
// resource's service.namespace + "/" + service.name (service.name alone
// without a namespace; unset without a name) and instance its
// service.instance.id, both replacing attributes of those names; le and
// quantile are added last. Resource attributes become no other label (there
// is no target_info series) and no scope labels are added. labels never holds
// __name__; series_id is schema.SeriesID(name, labels). A point flagged "no
// recorded value" stores Prometheus's stale marker (StaleNaN) as its value.
// The attribute limits do not apply to metrics: a label is part of a series'
// identity and is never cut.
//
// # Attribute values
//
// Attributes, resources and event and link attributes are map<utf8, utf8>.
// Values are rendered as text: a string as it is; an int in decimal; a double
// as the shortest decimal that reads back the same, JSON style (1e21 and
// 1e-7 in exponent form), with NaN, Infinity and -Infinity spelled so; a bool
// as true or false; bytes as standard base64 (with padding); an array or map
// as compact JSON, map keys in their OTLP order, nested strings and bytes as
// JSON strings, nested NaN/±Inf as the strings "NaN", "Infinity",
// "-Infinity", an empty nested value as null; an empty value as "".
//
// A repeated key keeps its first value. Beyond Options.MaxAttributeCount
// (default 128) attributes per map the rest are dropped, and a value whose
// text is longer than Options.MaxAttributeValueLength (default 8 KiB) is cut
// on a UTF-8 boundary (a cut JSON value is no longer valid JSON). Both are
// counted in Result.Message; neither rejects the item. The limits apply
// after the LLM fields and content are taken out, so they never cut a
// prompt.
package otlp
