package otlp

import (
	"encoding/hex"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tael/tael/ingest/llm"
	"github.com/tael/tael/schema"
)

var spansTable = mustTable(schema.Spans)

// Traces converts an OTLP traces request into a spans batch. Spans with an
// all-zero trace or span id are rejected (counted in Result.Rejected, named in
// Result.Message); the rest convert. (Ids of the wrong length never get here:
// the OTLP decoders fail the whole request on them.) The error is non-nil only
// if the batch fails the schema's validation, which would be a bug here.
func Traces(td ptrace.Traces, o Options) (Result, error) {
	o = o.withDefaults()
	r := &report{unit: "span", maxCount: o.MaxAttributeCount, maxLen: o.MaxAttributeValueLength}
	sb := newSpanBuilder(o.Allocator)
	defer sb.b.Release()
	reserveSpans(sb, td, o.MaxAttributeValueLength)
	c := spanConverter{o: o, r: r, w: newAttrWriter(r), sb: sb}

	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		resAttrs := rs.Resource().Attributes()
		service := serviceName(resAttrs)
		var res *renderedMap
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			ss := sss.At(j)
			scope := validUTF8(ss.Scope().Name())
			spans := ss.Spans()
			for k := range spans.Len() {
				span := spans.At(k)
				switch {
				case span.TraceID().IsEmpty():
					r.reject("with an all-zero trace_id")
					continue
				case span.SpanID().IsEmpty():
					r.reject("with an all-zero span_id")
					continue
				}
				if res == nil {
					res = c.w.collect(resAttrs)
				}
				c.append(span, service, scope, res)
			}
		}
	}
	c.flushLLMNulls()
	batch, err := finish(sb.b, spansTable)
	if err != nil {
		return Result{}, err
	}
	return Result{Batch: batch, Payloads: c.payloads, Rejected: r.rejected, Message: r.message()}, nil
}

type spanConverter struct {
	o        Options
	r        *report
	w        *attrWriter
	sb       *spanBuilder
	payloads []Payload
	// llmNulls counts the spans whose (null) LLM columns are not appended
	// yet; see flushLLMNulls.
	llmNulls int
}

var kindNames = [...]string{
	ptrace.SpanKindUnspecified: "unspecified",
	ptrace.SpanKindInternal:    "internal",
	ptrace.SpanKindServer:      "server",
	ptrace.SpanKindClient:      "client",
	ptrace.SpanKindProducer:    "producer",
	ptrace.SpanKindConsumer:    "consumer",
}

func kindName(k ptrace.SpanKind) string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unspecified"
}

func statusName(c ptrace.StatusCode) string {
	switch c {
	case ptrace.StatusCodeOk:
		return "ok"
	case ptrace.StatusCodeError:
		return "error"
	}
	return "unset"
}

func (c *spanConverter) append(span ptrace.Span, service, scope string, res *renderedMap) {
	sb := c.sb
	traceID, spanID := span.TraceID(), span.SpanID()
	appendHex(sb.traceID, traceID[:])
	appendHex(sb.spanID, spanID[:])
	if p := span.ParentSpanID(); p.IsEmpty() {
		sb.parent.AppendNull()
	} else {
		appendHex(sb.parent, p[:])
	}
	appendStringOrNull(sb.traceState, span.TraceState().AsRaw())
	sb.service.Append(service)
	sb.operation.Append(validUTF8(span.Name()))
	sb.kind.Append(kindName(span.Kind()))
	start, end := timestamp(span.StartTimestamp()), timestamp(span.EndTimestamp())
	sb.start.Append(start)
	sb.end.Append(end)
	sb.duration.Append(float64(end-start) / 1e6)
	sb.status.Append(statusName(span.Status().Code()))
	appendStringOrNull(sb.statusMsg, span.Status().Message())

	events := span.Events()
	f, consumed := llm.Extract(span.Attributes(), events)
	var skip func(string) bool
	if len(consumed.Attributes) > 0 {
		skip = consumed.Attribute
	}
	c.w.appendMap(sb.attrs, span.Attributes(), skip)
	res.appendTo(sb.resource)
	appendStringOrNull(sb.scope, scope)

	if events.Len() == len(consumed.Events) {
		sb.events.AppendNull()
	} else {
		sb.events.Append(true)
		for i := range events.Len() {
			if len(consumed.Events) > 0 && consumed.Event(i) {
				continue
			}
			ev := events.At(i)
			sb.event.Append(true)
			sb.eventTime.Append(timestamp(ev.Timestamp()))
			sb.eventName.Append(validUTF8(ev.Name()))
			c.w.appendMap(sb.eventAttrs, ev.Attributes(), nil)
		}
	}

	links := span.Links()
	if links.Len() == 0 {
		sb.links.AppendNull()
	} else {
		sb.links.Append(true)
		for i := range links.Len() {
			l := links.At(i)
			lt, ls := l.TraceID(), l.SpanID()
			sb.link.Append(true)
			appendHex(sb.linkTraceID, lt[:])
			appendHex(sb.linkSpanID, ls[:])
			c.w.appendMap(sb.linkAttrs, l.Attributes(), nil)
		}
	}

	if !f.IsLLM {
		c.llmNulls++
		return
	}
	c.flushLLMNulls()
	appendStringOrNull(sb.provider, f.Provider)
	appendStringOrNull(sb.model, f.Model)
	appendStringOrNull(sb.llmOperation, f.Operation)
	appendInt(sb.inputTokens, f.InputTokens)
	appendInt(sb.outputTokens, f.OutputTokens)
	appendInt(sb.totalTokens, f.TotalTokens)
	appendFloat(sb.cost, f.CostUSD)
	appendFloat(sb.ttft, f.TTFTMs)
	appendStringOrNull(sb.finishReason, f.FinishReason)
	appendStringOrNull(sb.conversationID, f.ConversationID)
	var prompt, completion string
	if c.o.CaptureLLMContent {
		prompt, completion = validUTF8(f.Prompt), validUTF8(f.Completion)
	}
	c.appendPayload(sb.promptSHA, KindPrompt, prompt, traceID[:], spanID[:])
	c.appendPayload(sb.completionSHA, KindCompletion, completion, traceID[:], spanID[:])
}

// flushLLMNulls appends the LLM columns of the non-LLM spans appended since
// the last LLM span: one AppendNulls per column costs less than a dozen
// AppendNull calls per span.
func (c *spanConverter) flushLLMNulls() {
	if c.llmNulls == 0 {
		return
	}
	for _, b := range c.sb.llm {
		b.AppendNulls(c.llmNulls)
	}
	c.llmNulls = 0
}

// appendPayload records text as a payload and appends its sha256 to b, or
// appends null when there is no text.
func (c *spanConverter) appendPayload(b *array.StringBuilder, kind, text string, traceID, spanID []byte) {
	if text == "" {
		b.AppendNull()
		return
	}
	sum := sha256Hex(text)
	b.Append(sum)
	c.payloads = append(c.payloads, Payload{
		SHA256: sum, Kind: kind, Text: text,
		TraceID: hex.EncodeToString(traceID), SpanID: hex.EncodeToString(spanID),
	})
}

func appendInt(b *array.Int64Builder, v *int64) {
	if v == nil {
		b.AppendNull()
		return
	}
	b.Append(*v)
}

func appendFloat(b *array.Float64Builder, v *float64) {
	if v == nil {
		b.AppendNull()
		return
	}
	b.Append(*v)
}

// spanBuilder holds the typed builders of a spans batch.
type spanBuilder struct {
	b                                                      *array.RecordBuilder
	traceID, spanID, parent, traceState                    *array.StringBuilder
	service, operation, kind, status, statusMsg            *array.StringBuilder
	start, end                                             *array.TimestampBuilder
	duration                                               *array.Float64Builder
	attrs, resource                                        *array.MapBuilder
	scope                                                  *array.StringBuilder
	events, links                                          *array.ListBuilder
	event, link                                            *array.StructBuilder
	eventTime                                              *array.TimestampBuilder
	eventName, linkTraceID, linkSpanID                     *array.StringBuilder
	eventAttrs, linkAttrs                                  *array.MapBuilder
	provider, model, llmOperation                          *array.StringBuilder
	inputTokens, outputTokens, totalTokens                 *array.Int64Builder
	cost, ttft                                             *array.Float64Builder
	finishReason, conversationID, promptSHA, completionSHA *array.StringBuilder
	// llm are the LLM columns, appended null together for other spans.
	llm []array.Builder
}

func newSpanBuilder(mem memory.Allocator) *spanBuilder {
	b := array.NewRecordBuilder(mem, spansTable.Schema)
	s := &spanBuilder{b: b}
	str := func(n string) *array.StringBuilder { return column[*array.StringBuilder](b, n) }
	s.traceID, s.spanID, s.parent, s.traceState = str("trace_id"), str("span_id"), str("parent_span_id"), str("trace_state")
	s.service, s.operation, s.kind = str("service"), str("operation"), str("kind")
	s.start = column[*array.TimestampBuilder](b, "start_time")
	s.end = column[*array.TimestampBuilder](b, "end_time")
	s.duration = column[*array.Float64Builder](b, "duration_ms")
	s.status, s.statusMsg = str("status"), str("status_message")
	s.attrs = column[*array.MapBuilder](b, "attributes")
	s.resource = column[*array.MapBuilder](b, "resource")
	s.scope = str("scope_name")
	s.events = column[*array.ListBuilder](b, "events")
	s.event = s.events.ValueBuilder().(*array.StructBuilder)
	s.eventTime = s.event.FieldBuilder(0).(*array.TimestampBuilder)
	s.eventName = s.event.FieldBuilder(1).(*array.StringBuilder)
	s.eventAttrs = s.event.FieldBuilder(2).(*array.MapBuilder)
	s.links = column[*array.ListBuilder](b, "links")
	s.link = s.links.ValueBuilder().(*array.StructBuilder)
	s.linkTraceID = s.link.FieldBuilder(0).(*array.StringBuilder)
	s.linkSpanID = s.link.FieldBuilder(1).(*array.StringBuilder)
	s.linkAttrs = s.link.FieldBuilder(2).(*array.MapBuilder)
	s.provider, s.model, s.llmOperation = str("llm_provider"), str("llm_model"), str("llm_operation")
	s.inputTokens = column[*array.Int64Builder](b, "input_tokens")
	s.outputTokens = column[*array.Int64Builder](b, "output_tokens")
	s.totalTokens = column[*array.Int64Builder](b, "total_tokens")
	s.cost = column[*array.Float64Builder](b, "cost_usd")
	s.ttft = column[*array.Float64Builder](b, "ttft_ms")
	s.finishReason, s.conversationID = str("finish_reason"), str("conversation_id")
	s.promptSHA, s.completionSHA = str("prompt_sha256"), str("completion_sha256")
	s.llm = []array.Builder{s.provider, s.model, s.llmOperation, s.inputTokens, s.outputTokens, s.totalTokens,
		s.cost, s.ttft, s.finishReason, s.conversationID, s.promptSHA, s.completionSHA}
	return s
}
