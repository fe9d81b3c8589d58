package synth

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/schema"
)

// The row types below describe single rows exactly, for tests that build a
// small data set by hand. Empty strings and nil pointers and maps are
// written as NULL (so leave no required column empty); maps are written
// with their keys sorted.

// SpanRow is one row of spans.
type SpanRow struct {
	TraceID, SpanID, ParentSpanID string
	Service, Operation, Kind      string
	Start                         time.Time
	// Duration gives end_time (Start + Duration) and duration_ms.
	Duration      time.Duration
	Status        string // "" means ok
	StatusMessage string
	Attributes    map[string]string
	// LLM columns: set LLMModel to make an LLM span.
	LLMProvider, LLMModel          string
	InputTokens, OutputTokens      int64
	CostUSD                        *float64
	PromptSHA256, CompletionSHA256 string
}

// LogRow is one row of logs. SeverityNumber is derived from Severity.
type LogRow struct {
	Time            time.Time
	TraceID, SpanID string
	Severity        string // trace, debug, info, warn, error or fatal
	Body            string
	Service         string
	Attributes      map[string]string
}

// MetricRow is one row of metrics; series_id is derived from name and labels.
type MetricRow struct {
	Time       time.Time
	Name       string
	Labels     map[string]string
	Service    string
	Value      float64
	MetricType string
	Unit       string
}

// CommentRow is one row of trace_comments.
type CommentRow struct {
	ID, TraceID, SpanID, Author, Body string
	CreatedAt                         time.Time
}

// PayloadRow is one row of llm_payloads. SHA256 must be the text's
// (PayloadSHA256).
type PayloadRow struct {
	SHA256, Kind, Text, TraceID, SpanID string
}

// SpanRows builds a spans batch of rows. The caller releases it.
func SpanRows(mem memory.Allocator, rows []SpanRow) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, mustTable(schema.Spans).Schema)
	defer b.Release()
	for _, r := range rows {
		strOrNull(b.Field(0), r.TraceID)
		strOrNull(b.Field(1), r.SpanID)
		strOrNull(b.Field(2), r.ParentSpanID)
		b.Field(3).AppendNull()
		strOrNull(b.Field(4), r.Service)
		strOrNull(b.Field(5), r.Operation)
		kind := r.Kind
		if kind == "" {
			kind = "internal"
		}
		strOrNull(b.Field(6), kind)
		st := r.Start.UnixNano()
		b.Field(7).(*array.TimestampBuilder).Append(arrow.Timestamp(st))
		b.Field(8).(*array.TimestampBuilder).Append(arrow.Timestamp(st + int64(r.Duration)))
		b.Field(9).(*array.Float64Builder).Append(float64(r.Duration) / 1e6)
		status := r.Status
		if status == "" {
			status = "ok"
		}
		strOrNull(b.Field(10), status)
		strOrNull(b.Field(11), r.StatusMessage)
		sortedMap(b.Field(12).(*array.MapBuilder), r.Attributes)
		sortedMap(b.Field(13).(*array.MapBuilder), map[string]string{"service.name": r.Service})
		strOrNull(b.Field(14), "synth")
		b.Field(15).AppendNull()
		b.Field(16).AppendNull()
		if r.LLMModel == "" {
			for c := 17; c <= 28; c++ {
				b.Field(c).AppendNull()
			}
			continue
		}
		strOrNull(b.Field(17), r.LLMProvider)
		strOrNull(b.Field(18), r.LLMModel)
		strOrNull(b.Field(19), "chat")
		b.Field(20).(*array.Int64Builder).Append(r.InputTokens)
		b.Field(21).(*array.Int64Builder).Append(r.OutputTokens)
		b.Field(22).(*array.Int64Builder).Append(r.InputTokens + r.OutputTokens)
		if r.CostUSD == nil {
			b.Field(23).AppendNull()
		} else {
			b.Field(23).(*array.Float64Builder).Append(*r.CostUSD)
		}
		b.Field(24).AppendNull()
		strOrNull(b.Field(25), "stop")
		b.Field(26).AppendNull()
		strOrNull(b.Field(27), r.PromptSHA256)
		strOrNull(b.Field(28), r.CompletionSHA256)
	}
	return b.NewRecordBatch()
}

// LogRows builds a logs batch of rows. The caller releases it.
func LogRows(mem memory.Allocator, rows []LogRow) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, mustTable(schema.Logs).Schema)
	defer b.Release()
	for _, r := range rows {
		t := r.Time.UnixNano()
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(t))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t + int64(time.Millisecond)))
		strOrNull(b.Field(2), r.TraceID)
		strOrNull(b.Field(3), r.SpanID)
		num := int32(0)
		for _, s := range severities {
			if s.name == r.Severity {
				num = s.num
			}
		}
		strOrNull(b.Field(4), r.Severity)
		b.Field(5).(*array.Int32Builder).Append(num)
		strOrNull(b.Field(6), r.Severity)
		strOrNull(b.Field(7), r.Body)
		b.Field(8).AppendNull()
		strOrNull(b.Field(9), r.Service)
		sortedMap(b.Field(10).(*array.MapBuilder), r.Attributes)
		sortedMap(b.Field(11).(*array.MapBuilder), map[string]string{"service.name": r.Service})
	}
	return b.NewRecordBatch()
}

// MetricRows builds a metrics batch of rows. The caller releases it.
func MetricRows(mem memory.Allocator, rows []MetricRow) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, mustTable(schema.Metrics).Schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(r.Time.UnixNano()))
		strOrNull(b.Field(1), r.Name)
		sortedMap(b.Field(2).(*array.MapBuilder), r.Labels)
		strOrNull(b.Field(3), r.Service)
		b.Field(4).(*array.Float64Builder).Append(r.Value)
		strOrNull(b.Field(5), r.MetricType)
		strOrNull(b.Field(6), r.Unit)
		b.Field(7).(*array.Uint64Builder).Append(schema.SeriesID(r.Name, r.Labels))
	}
	return b.NewRecordBatch()
}

// CommentRows builds a trace_comments batch of rows. The caller releases it.
func CommentRows(mem memory.Allocator, rows []CommentRow) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, mustTable(schema.TraceComments).Schema)
	defer b.Release()
	for _, r := range rows {
		strOrNull(b.Field(0), r.ID)
		strOrNull(b.Field(1), r.TraceID)
		strOrNull(b.Field(2), r.SpanID)
		strOrNull(b.Field(3), r.Author)
		strOrNull(b.Field(4), r.Body)
		b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(r.CreatedAt.UnixNano()))
	}
	return b.NewRecordBatch()
}

// PayloadRows builds an llm_payloads batch of rows. The caller releases it.
func PayloadRows(mem memory.Allocator, rows []PayloadRow) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, mustTable(schema.LLMPayloads).Schema)
	defer b.Release()
	for _, r := range rows {
		for i, v := range []string{r.SHA256, r.Kind, r.Text, r.TraceID, r.SpanID} {
			b.Field(i).(*array.StringBuilder).Append(v)
		}
	}
	return b.NewRecordBatch()
}

// PayloadSHA256 returns the hex sha256 of text, the key of an llm_payloads
// row.
func PayloadSHA256(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:])
}

// strOrNull appends v, or NULL for "".
func strOrNull(b array.Builder, v string) {
	if v == "" {
		b.AppendNull()
		return
	}
	b.(*array.StringBuilder).Append(v)
}

// sortedMap appends m with its keys sorted; nil appends NULL.
func sortedMap(mb *array.MapBuilder, m map[string]string) {
	if m == nil {
		mb.AppendNull()
		return
	}
	kv := make([]string, 0, 2*len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kv = append(kv, k, m[k])
	}
	appendMap(mb, kv...)
}
