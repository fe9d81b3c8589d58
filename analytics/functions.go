package analytics

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/internal/duration"
	"github.com/tael/tael/internal/tablefunc"
	"github.com/tael/tael/schema"
)

// QueryFunc adapts a function to Querier. It lets a Service be made before
// the SQL engine whose table functions (Functions) call it.
type QueryFunc func(ctx context.Context, query string, params []any) (array.RecordReader, error)

// Query calls f.
func (f QueryFunc) Query(ctx context.Context, query string, params []any) (array.RecordReader, error) {
	return f(ctx, query, params)
}

var _ Querier = QueryFunc(nil)

var (
	tString = arrow.BinaryTypes.String
	tInt64  = arrow.PrimitiveTypes.Int64
	tFloat  = arrow.PrimitiveTypes.Float64
)

func col(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: true}
}

// Result schemas of the table functions.
var (
	searchResult = arrow.NewSchema([]arrow.Field{
		col("sha256", tString), col("kind", tString), col("score", tFloat), col("fragment", tString),
		col("trace_id", tString), col("span_id", tString),
	}, nil)
	summaryResult = arrow.NewSchema([]arrow.Field{
		col("window_seconds", tFloat), col("service_filter", tString),
		col("span_count", tInt64), col("trace_count", tInt64), col("error_count", tInt64),
		col("error_rate", tFloat), col("avg_ms", tFloat), col("max_ms", tFloat),
		col("p50_ms", tFloat), col("p95_ms", tFloat), col("p99_ms", tFloat),
		col("log_total", tInt64), col("log_error", tInt64), col("log_warn", tInt64), col("log_info", tInt64), col("log_debug", tInt64),
		col("metric_points", tInt64), col("metric_names", tInt64),
		col("llm_calls", tInt64), col("llm_total_tokens", tInt64), col("llm_cost_usd", tFloat),
		col("report", tString),
	}, nil)
	anomaliesResult = arrow.NewSchema([]arrow.Field{
		col("kind", tString), col("scope", tString), col("subject", tString), col("severity", tString),
		col("current", tFloat), col("baseline", tFloat), col("delta", tFloat), col("message", tString),
	}, nil)
	correlateResult = arrow.NewSchema([]arrow.Field{
		col("source", tString), col("time", schema.Timestamp), col("service", tString), col("name", tString),
		col("trace_id", tString), col("span_id", tString), col("duration_ms", tFloat), col("status", tString),
		col("body", tString), col("value", tFloat), col("labels", schema.Attributes),
	}, nil)
)

// Functions returns the SQL table functions over s: search, summary,
// anomalies and correlate (doc.go lists their columns).
func (s *Service) Functions() []tablefunc.Func {
	return []tablefunc.Func{
		{
			Name:   "search",
			Args:   []tablefunc.Arg{{Name: "text", Type: tString}, {Name: "limit", Type: tInt64, Named: true}},
			Result: searchResult,
			Doc:    "full-text search over prompts, completions and log bodies, best first",
			Call:   s.callSearch,
		},
		{
			Name: "summary",
			// Hides DuckDB's own summary(TABLE).
			Shadows: true,
			Args:    []tablefunc.Arg{{Name: "window", Type: tString}, {Name: "service", Type: tString}},
			Result:  summaryResult,
			Doc:     "spans, logs, metrics and LLM use over the window ending now (NULL service: all)",
			Call:    s.callSummary,
		},
		{
			Name:   "anomalies",
			Args:   []tablefunc.Arg{{Name: "current", Type: tString}, {Name: "baseline", Type: tString}, {Name: "service", Type: tString}},
			Result: anomaliesResult,
			Doc:    "changes of error rate, p95 latency, throughput and LLM cost, current window against the baseline before it",
			Call:   s.callAnomalies,
		},
		{
			Name:   "correlate",
			Args:   []tablefunc.Arg{{Name: "trace_id", Type: tString}},
			Result: correlateResult,
			Doc:    "a trace's spans, logs and its services' metric points, by time",
			Call:   s.callCorrelate,
		},
	}
}

// argString returns args[i] as a string, "" for NULL.
func argString(args []any, i int) string {
	v, _ := args[i].(string)
	return v
}

// argDuration parses args[i] as internal/duration does; NULL and the empty
// string are 0.
func argDuration(args []any, i int, name string) (time.Duration, error) {
	v := argString(args, i)
	if v == "" {
		return 0, nil
	}
	d, err := duration.Parse(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrInvalid, name, err)
	}
	return d, nil
}

func (s *Service) callSearch(ctx context.Context, mem memory.Allocator, args []any) (arrow.RecordBatch, error) {
	n, _ := args[1].(int64)
	if n > MaxLimit {
		n = MaxLimit
	}
	hits, err := s.Search(ctx, argString(args, 0), int(n))
	if err != nil {
		return nil, err
	}
	b := array.NewRecordBuilder(mem, searchResult)
	defer b.Release()
	for _, h := range hits {
		appendStr(b.Field(0), h.SHA256)
		appendStr(b.Field(1), h.Kind)
		b.Field(2).(*array.Float64Builder).Append(h.Score)
		appendStr(b.Field(3), h.Fragment)
		appendStr(b.Field(4), h.TraceID)
		appendStr(b.Field(5), h.SpanID)
	}
	return b.NewRecordBatch(), nil
}

func (s *Service) callSummary(ctx context.Context, mem memory.Allocator, args []any) (arrow.RecordBatch, error) {
	w, err := argDuration(args, 0, "window")
	if err != nil {
		return nil, err
	}
	sum, err := s.Summary(ctx, w, argString(args, 1))
	if err != nil {
		return nil, err
	}
	report, err := json.Marshal(sum)
	if err != nil {
		return nil, fmt.Errorf("analytics: summary report: %w", err)
	}
	b := array.NewRecordBuilder(mem, summaryResult)
	defer b.Release()
	f := func(i int, v float64) { b.Field(i).(*array.Float64Builder).Append(v) }
	n := func(i int, v int64) { b.Field(i).(*array.Int64Builder).Append(v) }
	f(0, sum.WindowSeconds)
	if sum.ServiceFilter == nil {
		b.Field(1).AppendNull()
	} else {
		appendStr(b.Field(1), *sum.ServiceFilter)
	}
	t := sum.Traces
	n(2, t.SpanCount)
	n(3, t.TraceCount)
	n(4, t.ErrorCount)
	f(5, t.ErrorRate)
	f(6, t.AvgMS)
	f(7, t.MaxMS)
	f(8, t.P50MS)
	f(9, t.P95MS)
	f(10, t.P99MS)
	n(11, sum.Logs.Total)
	n(12, sum.Logs.Error)
	n(13, sum.Logs.Warn)
	n(14, sum.Logs.Info)
	n(15, sum.Logs.Debug)
	n(16, sum.Metrics.PointCount)
	n(17, sum.Metrics.UniqueNames)
	n(18, sum.LLM.Calls)
	n(19, sum.LLM.TotalTokens)
	f(20, sum.LLM.CostUSD)
	appendStr(b.Field(21), string(report))
	return b.NewRecordBatch(), nil
}

func (s *Service) callAnomalies(ctx context.Context, mem memory.Allocator, args []any) (arrow.RecordBatch, error) {
	cur, err := argDuration(args, 0, "current")
	if err != nil {
		return nil, err
	}
	base, err := argDuration(args, 1, "baseline")
	if err != nil {
		return nil, err
	}
	as, err := s.Anomalies(ctx, cur, base, argString(args, 2))
	if err != nil {
		return nil, err
	}
	b := array.NewRecordBuilder(mem, anomaliesResult)
	defer b.Release()
	for _, a := range as.Anomalies {
		for i, v := range []string{a.Kind, a.Scope, a.Subject, a.Severity} {
			appendStr(b.Field(i), v)
		}
		for i, v := range []float64{a.Current, a.Baseline, a.Delta} {
			b.Field(4 + i).(*array.Float64Builder).Append(v)
		}
		appendStr(b.Field(7), a.Message)
	}
	return b.NewRecordBatch(), nil
}

// timelineItem is one row of correlate().
type timelineItem struct {
	source        string
	rank          int // span, log, metric: the order of items at the same time
	t             time.Time
	service, name string
	traceID, span string
	duration      *float64
	status, body  string
	value         *float64
	labels        map[string]string
}

func (s *Service) callCorrelate(ctx context.Context, mem memory.Allocator, args []any) (arrow.RecordBatch, error) {
	id := argString(args, 0)
	c, err := s.Correlate(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("correlate: trace %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	items := make([]timelineItem, 0, len(c.Spans)+len(c.Logs)+len(c.Metrics))
	for _, sp := range c.Spans {
		d := sp.DurationMS
		items = append(items, timelineItem{source: "span", rank: 0, t: sp.StartTime, service: sp.Service, name: sp.Operation,
			traceID: sp.TraceID, span: sp.SpanID, duration: &d, status: sp.Status, labels: sp.Attributes})
	}
	for _, l := range c.Logs {
		items = append(items, timelineItem{source: "log", rank: 1, t: l.Timestamp, service: l.Service, name: l.Severity,
			traceID: l.TraceID, span: l.SpanID, body: l.Body, labels: l.Attributes})
	}
	for _, m := range c.Metrics {
		v := m.Value
		items = append(items, timelineItem{source: "metric", rank: 2, t: m.Timestamp, service: m.Service, name: m.Name,
			value: &v, labels: m.Labels})
	}
	slices.SortStableFunc(items, func(a, b timelineItem) int {
		return cmp.Or(a.t.Compare(b.t), cmp.Compare(a.rank, b.rank))
	})
	b := array.NewRecordBuilder(mem, correlateResult)
	defer b.Release()
	for _, it := range items {
		appendStr(b.Field(0), it.source)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(it.t.UnixNano()))
		appendStr(b.Field(2), it.service)
		appendStr(b.Field(3), it.name)
		appendOptStr(b.Field(4), it.traceID)
		appendOptStr(b.Field(5), it.span)
		appendOptF64(b.Field(6), it.duration)
		appendOptStr(b.Field(7), it.status)
		appendOptStr(b.Field(8), it.body)
		appendOptF64(b.Field(9), it.value)
		mb := b.Field(10).(*array.MapBuilder)
		mb.Append(true)
		kb, vb := mb.KeyBuilder().(*array.StringBuilder), mb.ItemBuilder().(*array.StringBuilder)
		for _, k := range slices.Sorted(maps.Keys(it.labels)) {
			kb.Append(k)
			vb.Append(it.labels[k])
		}
	}
	return b.NewRecordBatch(), nil
}

func appendStr(b array.Builder, v string) { b.(*array.StringBuilder).Append(v) }

// appendOptStr appends v, or NULL for "".
func appendOptStr(b array.Builder, v string) {
	if v == "" {
		b.AppendNull()
		return
	}
	appendStr(b, v)
}

func appendOptF64(b array.Builder, v *float64) {
	if v == nil {
		b.AppendNull()
		return
	}
	b.(*array.Float64Builder).Append(*v)
}
