package otlp

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/schema"
)

var payloadsTable = mustTable(schema.LLMPayloads)

// payloadBatch returns ps as an llm_payloads batch, one row per payload in
// order (the engine's blob store deduplicates the texts). An empty
// trace_id or span_id is null. The caller releases the batch.
func payloadBatch(mem memory.Allocator, ps []Payload) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(mem, payloadsTable.Schema)
	defer b.Release()
	b.Reserve(len(ps))
	sha := column[*array.StringBuilder](b, "sha256")
	kind := column[*array.StringBuilder](b, "kind")
	text := column[*array.StringBuilder](b, "text")
	traceID := column[*array.StringBuilder](b, "trace_id")
	spanID := column[*array.StringBuilder](b, "span_id")
	for _, p := range ps {
		sha.Append(p.SHA256)
		kind.Append(p.Kind)
		text.Append(p.Text)
		appendStringOrNull(traceID, p.TraceID)
		appendStringOrNull(spanID, p.SpanID)
	}
	return finish(b, payloadsTable)
}
