package otlp

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Defaults for Options.
const (
	// DefaultMaxAttributeCount is the OpenTelemetry SDKs' default attribute
	// count limit (OTEL_ATTRIBUTE_COUNT_LIMIT), so well-behaved senders never
	// hit it.
	DefaultMaxAttributeCount = 128
	// DefaultMaxAttributeValueLength matches the 8 KiB kept of a log body
	// (logs.body): prompt and completion text never counts against it, since
	// it is taken out of the attributes first.
	DefaultMaxAttributeValueLength = 8 << 10
	// MaxBodyBytes is how much of a log body the logs table keeps (DESIGN.md:
	// "body (first 8 KiB)"); a longer body goes to the blob store whole.
	MaxBodyBytes = 8 << 10
)

// Options configure a conversion.
type Options struct {
	// Allocator for the returned batch. Nil means memory.DefaultAllocator.
	Allocator memory.Allocator
	// CaptureLLMContent keeps prompt and completion text: it is returned as
	// Payloads and its sha256 set on the span. When false no content is kept
	// at all (no Payloads, null sha256 columns, and GenAI content log events
	// lose their body and content attributes); in both cases the content is
	// removed from the stored span attributes and events.
	CaptureLLMContent bool
	// MaxAttributeCount is the most attributes kept per map (span, resource,
	// event, link, log record; metric labels are never limited); later ones
	// are dropped. Zero means DefaultMaxAttributeCount; negative means no
	// limit.
	MaxAttributeCount int
	// MaxAttributeValueLength is the most bytes kept of an attribute value's
	// text (cut on a UTF-8 boundary; log bodies and metric labels are never
	// cut by it). Zero means DefaultMaxAttributeValueLength; negative means
	// no limit.
	MaxAttributeValueLength int
	// Now is the clock used for a log record that has neither a timestamp nor
	// an observed timestamp. Nil means time.Now.
	Now func() time.Time
}

// DefaultOptions returns the options flightd starts with: content capture on
// (tael's LLM payload search needs it) and the default limits.
func DefaultOptions() Options {
	return Options{
		CaptureLLMContent:       true,
		MaxAttributeCount:       DefaultMaxAttributeCount,
		MaxAttributeValueLength: DefaultMaxAttributeValueLength,
	}
}

func (o Options) withDefaults() Options {
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	if o.MaxAttributeCount == 0 {
		o.MaxAttributeCount = DefaultMaxAttributeCount
	}
	if o.MaxAttributeValueLength == 0 {
		o.MaxAttributeValueLength = DefaultMaxAttributeValueLength
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Payload kinds (llm_payloads.kind).
const (
	KindPrompt     = "prompt"
	KindCompletion = "completion"
	KindLogBody    = "log_body"
)

// Payload is text for the blob store and the full-text index: one row of
// llm_payloads.
type Payload struct {
	// SHA256 is the lowercase hex sha256 of Text, as set on the row that
	// refers to it (spans.prompt_sha256, spans.completion_sha256,
	// logs.body_sha256).
	SHA256 string `json:"sha256"`
	// Kind is KindPrompt, KindCompletion or KindLogBody.
	Kind string `json:"kind"`
	Text string `json:"text"`
	// TraceID and SpanID are lowercase hex, "" when the row has none.
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
}

// Result is one converted request.
type Result struct {
	// Batch holds the converted rows in the table's schema; nil when no row
	// was converted. The caller releases it.
	Batch arrow.RecordBatch
	// Payloads are the texts the rows refer to by sha256, in row order. The
	// same text may appear more than once (one per row).
	Payloads []Payload
	// Rejected counts the items (spans, log records, metric data points) that
	// were not converted: OTLP partial_success rejected_spans,
	// rejected_log_records or rejected_data_points.
	Rejected int64
	// Message explains rejections and what the limits dropped or cut; ""
	// when nothing was. It is the OTLP partial_success error_message (OTLP
	// allows a message with nothing rejected, as a warning).
	Message string
}
