package analytics

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tael/tael/schema"
)

// each runs q and calls fn with every batch of its result. The batch is
// valid only during the call.
func (s *Service) each(ctx context.Context, q string, params []any, fn func(rec arrow.RecordBatch) error) error {
	r, err := s.q.Query(ctx, q, params)
	if err != nil {
		return fmt.Errorf("analytics: %w", err)
	}
	defer r.Release()
	for r.Next() {
		if err := fn(r.RecordBatch()); err != nil {
			return err
		}
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("analytics: %w", err)
	}
	return nil
}

// collect runs q and returns its rows, each batch converted by conv; an
// empty list, not nil, when there are none.
func collect[T any](ctx context.Context, s *Service, q string, params []any, conv func(arrow.RecordBatch) []T) ([]T, error) {
	out := []T{}
	err := s.each(ctx, q, params, func(rec arrow.RecordBatch) error {
		out = append(out, conv(rec)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// columns returns the named columns of table, quoted, comma-separated, each
// prefixed with prefix (an alias and a dot, or "").
func columns(table schema.ID, prefix string) string {
	t, err := schema.ByID(table)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	names := make([]string, t.Schema.NumFields())
	for i, f := range t.Schema.Fields() {
		names[i] = prefix + `"` + f.Name + `"`
	}
	return strings.Join(names, ", ")
}

// The accessors below read one value of a result column; SQL NULL reads as
// the zero value. They accept the types DuckDB returns for tael's columns
// and for the aggregates over them.

func str(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return ""
	}
	switch a := a.(type) {
	case *array.String:
		return strings.Clone(a.Value(i))
	case *array.LargeString:
		return strings.Clone(a.Value(i))
	case *array.StringView:
		return strings.Clone(a.Value(i))
	}
	panic(fmt.Sprintf("BUG: column of type %s read as a string", a.DataType()))
}

func i64(a arrow.Array, i int) int64 {
	if a.IsNull(i) {
		return 0
	}
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Uint64:
		return int64(a.Value(i))
	case *array.Uint32:
		return int64(a.Value(i))
	}
	panic(fmt.Sprintf("BUG: column of type %s read as an integer", a.DataType()))
}

func u64(a arrow.Array, i int) uint64 {
	if a.IsNull(i) {
		return 0
	}
	if a, ok := a.(*array.Uint64); ok {
		return a.Value(i)
	}
	return uint64(i64(a, i))
}

func f64(a arrow.Array, i int) float64 {
	if a.IsNull(i) {
		return 0
	}
	if a, ok := a.(*array.Float64); ok {
		return a.Value(i)
	}
	return float64(i64(a, i))
}

// optI64 and optF64 read a nullable value as a pointer.
func optI64(a arrow.Array, i int) *int64 {
	if a.IsNull(i) {
		return nil
	}
	v := i64(a, i)
	return &v
}

func optF64(a arrow.Array, i int) *float64 {
	if a.IsNull(i) {
		return nil
	}
	v := f64(a, i)
	return &v
}

func ts(a arrow.Array, i int) time.Time {
	if a.IsNull(i) {
		return time.Time{}
	}
	t, ok := a.(*array.Timestamp)
	if !ok {
		panic(fmt.Sprintf("BUG: column of type %s read as a timestamp", a.DataType()))
	}
	v := int64(t.Value(i))
	switch t.DataType().(*arrow.TimestampType).Unit {
	case arrow.Second:
		v *= 1e9
	case arrow.Millisecond:
		v *= 1e6
	case arrow.Microsecond:
		v *= 1e3
	}
	return time.Unix(0, v).UTC()
}

// strMap reads a map<utf8, utf8>; a null map reads as an empty one.
func strMap(a arrow.Array, i int) map[string]string {
	out := map[string]string{}
	if a.IsNull(i) {
		return out
	}
	m := a.(*array.Map)
	lo, hi := m.ValueOffsets(i)
	keys, items := m.Keys(), m.Items()
	for j := int(lo); j < int(hi); j++ {
		out[str(keys, j)] = str(items, j)
	}
	return out
}

// strList reads a list<utf8>; a null list reads as an empty one.
func strList(a arrow.Array, i int) []string {
	out := []string{}
	if a.IsNull(i) {
		return out
	}
	l := a.(*array.List)
	lo, hi := l.ValueOffsets(i)
	for j := int(lo); j < int(hi); j++ {
		out = append(out, str(l.ListValues(), j))
	}
	return out
}

// structs calls fn for each element of a list<struct> value with a getter
// of the struct's fields by name.
func structs(a arrow.Array, i int, fn func(field func(name string) (arrow.Array, int))) {
	if a.IsNull(i) {
		return
	}
	l := a.(*array.List)
	st := l.ListValues().(*array.Struct)
	typ := st.DataType().(*arrow.StructType)
	lo, hi := l.ValueOffsets(i)
	for j := int(lo); j < int(hi); j++ {
		if st.IsNull(j) {
			continue
		}
		fn(func(name string) (arrow.Array, int) {
			k, ok := typ.FieldIdx(name)
			if !ok {
				panic(fmt.Sprintf("BUG: struct %s has no field %s", typ, name))
			}
			return st.Field(k), j
		})
	}
}

// record gives access to a batch's columns by name.
type record struct{ arrow.RecordBatch }

func (r record) col(name string) arrow.Array {
	idx := r.Schema().FieldIndices(name)
	if len(idx) != 1 {
		panic(fmt.Sprintf("BUG: result has no column %s", name))
	}
	return r.Column(idx[0])
}

// spansOf reads a batch with the spans table's columns (any order, extra
// columns ignored).
func spansOf(rec arrow.RecordBatch) []Span {
	r := record{rec}
	traceID, spanID, parent, state := r.col("trace_id"), r.col("span_id"), r.col("parent_span_id"), r.col("trace_state")
	service, op, kind := r.col("service"), r.col("operation"), r.col("kind")
	start, end, dur := r.col("start_time"), r.col("end_time"), r.col("duration_ms")
	status, msg, attrs, res, scope := r.col("status"), r.col("status_message"), r.col("attributes"), r.col("resource"), r.col("scope_name")
	events, links := r.col("events"), r.col("links")
	prov, model, llmOp := r.col("llm_provider"), r.col("llm_model"), r.col("llm_operation")
	in, out, total, cost, ttft := r.col("input_tokens"), r.col("output_tokens"), r.col("total_tokens"), r.col("cost_usd"), r.col("ttft_ms")
	finish, conv, psha, csha := r.col("finish_reason"), r.col("conversation_id"), r.col("prompt_sha256"), r.col("completion_sha256")
	spans := make([]Span, rec.NumRows())
	for i := range spans {
		sp := Span{
			TraceID: str(traceID, i), SpanID: str(spanID, i), ParentSpanID: str(parent, i), TraceState: str(state, i),
			Service: str(service, i), Operation: str(op, i), Kind: str(kind, i),
			StartTime: ts(start, i), EndTime: ts(end, i), DurationMS: f64(dur, i),
			Status: str(status, i), StatusMessage: str(msg, i),
			Attributes: strMap(attrs, i), Resource: strMap(res, i), ScopeName: str(scope, i),
			LLMProvider: str(prov, i), LLMModel: str(model, i), LLMOperation: str(llmOp, i),
			InputTokens: optI64(in, i), OutputTokens: optI64(out, i), TotalTokens: optI64(total, i),
			CostUSD: optF64(cost, i), TTFTMS: optF64(ttft, i),
			FinishReason: str(finish, i), ConversationID: str(conv, i),
			PromptSHA256: str(psha, i), CompletionSHA256: str(csha, i),
		}
		structs(events, i, func(f func(string) (arrow.Array, int)) {
			e := SpanEvent{Time: ts(f("time")), Name: str(f("name")), Attributes: strMap(f("attributes"))}
			if len(e.Attributes) == 0 {
				e.Attributes = nil
			}
			sp.Events = append(sp.Events, e)
		})
		structs(links, i, func(f func(string) (arrow.Array, int)) {
			l := SpanLink{TraceID: str(f("trace_id")), SpanID: str(f("span_id")), Attributes: strMap(f("attributes"))}
			if len(l.Attributes) == 0 {
				l.Attributes = nil
			}
			sp.Links = append(sp.Links, l)
		})
		spans[i] = sp
	}
	return spans
}

// logsOf reads a batch with the logs table's columns.
func logsOf(rec arrow.RecordBatch) []Log {
	r := record{rec}
	t, obs, traceID, spanID := r.col("timestamp"), r.col("observed_timestamp"), r.col("trace_id"), r.col("span_id")
	sev, num, text, body, sha := r.col("severity"), r.col("severity_number"), r.col("severity_text"), r.col("body"), r.col("body_sha256")
	service, attrs, res := r.col("service"), r.col("attributes"), r.col("resource")
	logs := make([]Log, rec.NumRows())
	for i := range logs {
		logs[i] = Log{
			Timestamp: ts(t, i), ObservedTimestamp: ts(obs, i), TraceID: str(traceID, i), SpanID: str(spanID, i),
			Severity: str(sev, i), SeverityNumber: int32(i64(num, i)), SeverityText: str(text, i),
			Body: str(body, i), BodySHA256: str(sha, i), Service: str(service, i),
			Attributes: strMap(attrs, i), Resource: strMap(res, i),
		}
	}
	return logs
}

// metricsOf reads a batch with the metrics table's columns.
func metricsOf(rec arrow.RecordBatch) []Metric {
	r := record{rec}
	t, name, labels, service := r.col("timestamp"), r.col("name"), r.col("labels"), r.col("service")
	value, typ, unit := r.col("value"), r.col("metric_type"), r.col("unit")
	pts := make([]Metric, rec.NumRows())
	for i := range pts {
		pts[i] = Metric{
			Timestamp: ts(t, i), Name: str(name, i), Labels: strMap(labels, i), Service: str(service, i),
			Value: f64(value, i), MetricType: str(typ, i), Unit: str(unit, i),
		}
	}
	return pts
}

// commentsOf reads a batch with the trace_comments table's columns.
func commentsOf(rec arrow.RecordBatch) []Comment {
	r := record{rec}
	id, traceID, spanID, author, body, created := r.col("id"), r.col("trace_id"), r.col("span_id"), r.col("author"), r.col("body"), r.col("created_at")
	cs := make([]Comment, rec.NumRows())
	for i := range cs {
		cs[i] = Comment{
			ID: str(id, i), TraceID: str(traceID, i), SpanID: str(spanID, i),
			Author: str(author, i), Body: str(body, i), CreatedAt: ts(created, i),
		}
	}
	return cs
}

// filter builds a WHERE clause of conditions joined by AND, with their
// parameters in order.
type filter struct {
	conds  []string
	params []any
}

// windowFilter returns a filter of rows whose time column lies in [from, to].
func windowFilter(timeCol string, from, to time.Time) *filter {
	return &filter{conds: []string{timeCol + " >= ?", timeCol + " <= ?"}, params: []any{from, to}}
}

// add appends a condition and its parameters.
func (f *filter) add(cond string, params ...any) {
	f.conds = append(f.conds, cond)
	f.params = append(f.params, params...)
}

// sql returns the conditions joined by AND.
func (f *filter) sql() string { return strings.Join(f.conds, " AND ") }

// anys returns ss as parameters.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, v := range ss {
		out[i] = v
	}
	return out
}
