package schema

import (
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ID identifies a table on disk. Values are persisted: never change them.
type ID uint8

// Table IDs.
const (
	Spans         ID = 1
	Logs          ID = 2
	Metrics       ID = 3
	Metrics5m     ID = 4
	TraceComments ID = 5
	LLMPayloads   ID = 6
)

// ErrUnknownTable is returned when a table name or ID names no table.
var ErrUnknownTable = errors.New("schema: unknown table")

// ErrUnknownColumn is returned by Project for a column its table does not
// have.
var ErrUnknownColumn = errors.New("schema: unknown column")

// ErrSchemaMismatch is returned when a record batch does not have its table's
// columns (names and types, in order).
var ErrSchemaMismatch = errors.New("schema: batch does not match table schema")

// Table describes one of tael's tables.
type Table struct {
	ID     ID
	Name   string
	Schema *arrow.Schema
	// TimeColumn is the column that orders and partitions the table by time.
	// Empty means the table is not stored in the engine's time-ordered tiers.
	TimeColumn string
	// TimeIndex is the index of TimeColumn in Schema, or -1.
	TimeIndex int
}

// Appendable reports whether batches of this table go through the engine's
// WAL and hot tier.
func (t *Table) Appendable() bool { return t.TimeIndex >= 0 && t.ID != Metrics5m }

// Check reports whether s has t's columns: the same names and types in the
// same order. Field nullability and metadata are not compared.
func (t *Table) Check(s *arrow.Schema) error {
	want := t.Schema.Fields()
	got := s.Fields()
	if len(got) != len(want) {
		return fmt.Errorf("%w: table %s has %d columns, batch has %d", ErrSchemaMismatch, t.Name, len(want), len(got))
	}
	for i := range want {
		if got[i].Name != want[i].Name {
			return fmt.Errorf("%w: table %s column %d is %q, batch has %q", ErrSchemaMismatch, t.Name, i, want[i].Name, got[i].Name)
		}
		if !arrow.TypeEqual(got[i].Type, want[i].Type) {
			return fmt.Errorf("%w: table %s column %q is %s, batch has %s", ErrSchemaMismatch, t.Name, want[i].Name, want[i].Type, got[i].Type)
		}
	}
	return nil
}

var (
	// Timestamp is the type of every time column.
	Timestamp = &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	// Attributes is the type of every key/value attribute column.
	Attributes = arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)

	utf8    = arrow.BinaryTypes.String
	i32     = arrow.PrimitiveTypes.Int32
	i64     = arrow.PrimitiveTypes.Int64
	u64     = arrow.PrimitiveTypes.Uint64
	float64 = arrow.PrimitiveTypes.Float64
)

func field(name string, t arrow.DataType, nullable bool) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: nullable}
}

// SpanEvent is the element type of spans.events.
var SpanEvent = arrow.StructOf(
	field("time", Timestamp, false),
	field("name", utf8, false),
	field("attributes", Attributes, true),
)

// SpanLink is the element type of spans.links.
var SpanLink = arrow.StructOf(
	field("trace_id", utf8, false),
	field("span_id", utf8, false),
	field("attributes", Attributes, true),
)

var spansSchema = arrow.NewSchema([]arrow.Field{
	field("trace_id", utf8, false),
	field("span_id", utf8, false),
	field("parent_span_id", utf8, true),
	field("trace_state", utf8, true),
	field("service", utf8, false),
	field("operation", utf8, false),
	field("kind", utf8, false),
	field("start_time", Timestamp, false),
	field("end_time", Timestamp, false),
	field("duration_ms", float64, false),
	field("status", utf8, false),
	field("status_message", utf8, true),
	field("attributes", Attributes, true),
	field("resource", Attributes, true),
	field("scope_name", utf8, true),
	field("events", arrow.ListOf(SpanEvent), true),
	field("links", arrow.ListOf(SpanLink), true),
	field("llm_provider", utf8, true),
	field("llm_model", utf8, true),
	field("llm_operation", utf8, true),
	field("input_tokens", i64, true),
	field("output_tokens", i64, true),
	field("total_tokens", i64, true),
	field("cost_usd", float64, true),
	field("ttft_ms", float64, true),
	field("finish_reason", utf8, true),
	field("conversation_id", utf8, true),
	field("prompt_sha256", utf8, true),
	field("completion_sha256", utf8, true),
}, nil)

var logsSchema = arrow.NewSchema([]arrow.Field{
	field("timestamp", Timestamp, false),
	field("observed_timestamp", Timestamp, true),
	field("trace_id", utf8, true),
	field("span_id", utf8, true),
	field("severity", utf8, false),
	field("severity_number", i32, false),
	field("severity_text", utf8, true),
	field("body", utf8, true),
	field("body_sha256", utf8, true),
	field("service", utf8, false),
	field("attributes", Attributes, true),
	field("resource", Attributes, true),
}, nil)

var metricsSchema = arrow.NewSchema([]arrow.Field{
	field("timestamp", Timestamp, false),
	field("name", utf8, false),
	field("labels", Attributes, true),
	field("service", utf8, false),
	field("value", float64, false),
	field("metric_type", utf8, false),
	field("unit", utf8, true),
	field("series_id", u64, false),
}, nil)

var metrics5mSchema = arrow.NewSchema([]arrow.Field{
	field("bucket_start", Timestamp, false),
	field("series_id", u64, false),
	field("name", utf8, false),
	field("labels", Attributes, true),
	field("service", utf8, false),
	field("min", float64, false),
	field("max", float64, false),
	field("sum", float64, false),
	field("count", i64, false),
	field("last", float64, false),
	field("counter_increase", float64, true),
}, nil)

var traceCommentsSchema = arrow.NewSchema([]arrow.Field{
	field("id", utf8, false),
	field("trace_id", utf8, false),
	field("span_id", utf8, true),
	field("author", utf8, true),
	field("body", utf8, false),
	field("created_at", Timestamp, false),
}, nil)

var llmPayloadsSchema = arrow.NewSchema([]arrow.Field{
	field("sha256", utf8, false),
	field("kind", utf8, false),
	field("text", utf8, false),
	field("trace_id", utf8, true),
	field("span_id", utf8, true),
}, nil)

var tables = []*Table{
	newTable(Spans, "spans", spansSchema, "start_time"),
	newTable(Logs, "logs", logsSchema, "timestamp"),
	newTable(Metrics, "metrics", metricsSchema, "timestamp"),
	newTable(Metrics5m, "metrics_5m", metrics5mSchema, "bucket_start"),
	newTable(TraceComments, "trace_comments", traceCommentsSchema, "created_at"),
	newTable(LLMPayloads, "llm_payloads", llmPayloadsSchema, ""),
}

func newTable(id ID, name string, s *arrow.Schema, timeCol string) *Table {
	t := &Table{ID: id, Name: name, Schema: s, TimeColumn: timeCol, TimeIndex: -1}
	if timeCol != "" {
		idx := s.FieldIndices(timeCol)
		if len(idx) != 1 {
			panic(fmt.Sprintf("BUG: table %s has no time column %s", name, timeCol))
		}
		t.TimeIndex = idx[0]
	}
	return t
}

// Project returns the indexes and schema of the named columns of t, in
// that order; nil names every column.
func (t *Table) Project(columns []string) ([]int, *arrow.Schema, error) {
	if columns == nil {
		cols := make([]int, t.Schema.NumFields())
		for i := range cols {
			cols[i] = i
		}
		return cols, t.Schema, nil
	}
	cols := make([]int, len(columns))
	fields := make([]arrow.Field, len(columns))
	for i, name := range columns {
		idx := t.Schema.FieldIndices(name)
		if len(idx) != 1 {
			return nil, nil, fmt.Errorf("%w: table %s has no column %q", ErrUnknownColumn, t.Name, name)
		}
		cols[i] = idx[0]
		fields[i] = t.Schema.Field(idx[0])
	}
	return cols, arrow.NewSchema(fields, nil), nil
}

// Tables returns every table, in ID order. The result must not be modified.
func Tables() []*Table { return tables }

// ByName returns the table with the given name.
func ByName(name string) (*Table, error) {
	for _, t := range tables {
		if t.Name == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownTable, name)
}

// ByID returns the table with the given ID.
func ByID(id ID) (*Table, error) {
	for _, t := range tables {
		if t.ID == id {
			return t, nil
		}
	}
	return nil, fmt.Errorf("%w: id %d", ErrUnknownTable, id)
}

// String returns the table's name.
func (id ID) String() string {
	if t, err := ByID(id); err == nil {
		return t.Name
	}
	return fmt.Sprintf("table(%d)", uint8(id))
}

// ErrInvalidBatch is returned by Validate for a batch whose values break the
// table's rules (today: a null in the time column).
var ErrInvalidBatch = errors.New("schema: invalid batch")

// Validate checks rec against the table: its columns (Check), and that the
// time column, if any, has no nulls and no math.MaxInt64 (the end of
// TimeRange, which no half-open range contains).
func (t *Table) Validate(rec arrow.RecordBatch) error {
	if err := t.Check(rec.Schema()); err != nil {
		return err
	}
	if t.TimeIndex < 0 {
		return nil
	}
	col := rec.Column(t.TimeIndex)
	if n := col.NullN(); n > 0 {
		return fmt.Errorf("%w: table %s: %d null values in time column %s", ErrInvalidBatch, t.Name, n, t.TimeColumn)
	}
	for i, v := range col.(*array.Timestamp).TimestampValues() {
		if v == math.MaxInt64 {
			return fmt.Errorf("%w: table %s: row %d: time column %s is the largest timestamp, which is reserved", ErrInvalidBatch, t.Name, i, t.TimeColumn)
		}
	}
	return nil
}
