// Package promql serves PromQL over tael's metrics: a storage.Queryable over
// the engine (Queryable), on which Prometheus's own query engine
// (github.com/prometheus/prometheus/promql) runs, and the Prometheus HTTP API
// (/api/v1/query, query_range, series, labels, label values, metadata, …)
// around it (NewAPI).
//
// # Series and samples
//
// A series is a metrics row's name (as __name__) and every key of its labels
// map; its samples are the rows of its series_id. Prometheus counts time in
// milliseconds and tael in nanoseconds: a row's timestamp is floored to the
// millisecond, and when two rows of a series fall on one millisecond the one
// read last wins (hot rows are read after cold ones). A label whose value is
// empty is no label, as in Prometheus (series whose labels differ only by
// empty values are one series). There are float samples only: no native
// histograms, no start timestamps, no exemplars.
//
// Select asks the engine for the matching series (its series index and the
// cold rollups), then scans the metrics rows of the selected time range and
// keeps those of the selected series. The scan reads every series' rows in
// that range: the engine has no per-series read yet, so a selector matching a
// few series costs as much as one matching all of them.
//
// # HTTP API
//
// NewAPI answers as Prometheus's web/api/v1 does, as far as clients can
// tell: the same parameters and parsing (times as Unix seconds or RFC 3339,
// durations as seconds or 5m), the same JSON envelope and value encoding,
// the same error types and status codes (400 bad_data, 422 execution, 503
// timeout, 499 canceled, 500 internal, 404 not_found). Answers of 1 KiB or
// more are gzip-compressed for clients that accept it. /api/v1/metadata reports the
// metric_type and unit of the rows of the last hour (help is always empty);
// /api/v1/query_exemplars is always empty.
//
// # Rollups
//
// When raw points have been dropped by retention but their 5-minute rollups
// (metrics_5m) remain, Select answers from the rollups: for each series, a
// 5-minute bucket that has a metrics_5m row but no raw point becomes
// synthetic samples stamped at the bucket's last millisecond
// (bucket_start + 5m − 1ms), so that no value is visible before the raw
// sample it stands for. Which column becomes the sample depends on the
// function the selector is the direct argument of (SelectHints.Func, for a
// range selector only; everything else uses last):
//
//	rate, increase, irate   a synthetic counter (see below); when a bucket's
//	                        counter_increase is null the series is not a
//	                        counter: last
//	min_over_time           min
//	max_over_time           max
//	sum_over_time           sum
//	avg_over_time           sum / count
//	count_over_time         count samples, spread evenly over the bucket
//	anything else           last
//
// The synthetic counter is each bucket's last value, except that along a
// stretch of adjacent buckets whose last values do not go down it steps by
// the buckets' counter_increase, counting back from the stretch's last
// value: it meets raw samples before and after it as the real counter did,
// rate sees a reset where the last values show one, and within a stretch
// the resets that 5-minute last values hide are counted too.
//
// Results over rollups are exact for min, max, sum, count and
// avg_over_time over ranges made of whole buckets (a sample exactly on a
// bucket boundary excepted), and approximations otherwise: rate over a
// window holding fewer than two buckets has no result, and rate loses the
// part of a bucket's increase before a reset in it.
//
// A bucket is answered from raw points whenever the series has any raw point
// in it: retention drops whole hours, so a bucket's raw points are either all
// there or all gone.
package promql
