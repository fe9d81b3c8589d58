package analytics

import (
	"encoding/json"
	"math"
	"time"
)

// The JSON field names below are part of tael's REST contract (tools written
// for the Rust tael read them): change them only with the REST docs.

// Span is one span as the REST API returns it. LLM fields are omitted when the
// span is not an LLM span.
type Span struct {
	TraceID       string            `json:"trace_id"`
	SpanID        string            `json:"span_id"`
	ParentSpanID  string            `json:"parent_span_id"`
	TraceState    string            `json:"trace_state,omitempty"`
	Service       string            `json:"service"`
	Operation     string            `json:"operation"`
	Kind          string            `json:"kind"`
	StartTime     time.Time         `json:"start_time"`
	EndTime       time.Time         `json:"end_time"`
	DurationMS    float64           `json:"duration_ms"`
	Status        string            `json:"status"`
	StatusMessage string            `json:"status_message,omitempty"`
	Attributes    map[string]string `json:"attributes"`
	Resource      map[string]string `json:"resource"`
	ScopeName     string            `json:"scope_name,omitempty"`
	Events        []SpanEvent       `json:"events,omitempty"`
	Links         []SpanLink        `json:"links,omitempty"`

	LLMProvider      string   `json:"llm_provider,omitempty"`
	LLMModel         string   `json:"llm_model,omitempty"`
	LLMOperation     string   `json:"llm_operation,omitempty"`
	InputTokens      *int64   `json:"input_tokens,omitempty"`
	OutputTokens     *int64   `json:"output_tokens,omitempty"`
	TotalTokens      *int64   `json:"total_tokens,omitempty"`
	CostUSD          *float64 `json:"cost_usd,omitempty"`
	TTFTMS           *float64 `json:"ttft_ms,omitempty"`
	FinishReason     string   `json:"finish_reason,omitempty"`
	ConversationID   string   `json:"conversation_id,omitempty"`
	PromptSHA256     string   `json:"prompt_sha256,omitempty"`
	CompletionSHA256 string   `json:"completion_sha256,omitempty"`
}

// SpanEvent is one event of a span.
type SpanEvent struct {
	Time       time.Time         `json:"time"`
	Name       string            `json:"name"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// SpanLink is one link of a span.
type SpanLink struct {
	TraceID    string            `json:"trace_id"`
	SpanID     string            `json:"span_id"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// TraceFilter selects traces: a trace is listed when one of its spans in the
// window matches every set field.
type TraceFilter struct {
	Last          time.Duration     // window ending now; 0 means the default (1h)
	Service       string            // exact
	Operation     string            // substring, case-sensitive
	MinDurationMS *float64          // span duration ≥
	MaxDurationMS *float64          // span duration ≤
	Status        string            // unset, ok or error
	Attributes    map[string]string // attributes[k] = v, all of them
	Text          string            // full-text query over the trace's prompts, completions and log bodies
	Limit         int               // 0 means the default (20); capped at MaxLimit
}

// TraceSummary is one row of a trace search: the trace as a whole, not only
// the matching span.
type TraceSummary struct {
	TraceID       string    `json:"trace_id"`
	RootService   string    `json:"root_service"`
	RootOperation string    `json:"root_operation"`
	StartTime     time.Time `json:"start_time"`
	DurationMS    float64   `json:"duration_ms"`
	SpanCount     int64     `json:"span_count"`
	ErrorCount    int64     `json:"error_count"`
	Services      []string  `json:"services"`
}

// Trace is every span of one trace, ordered by start time.
type Trace struct {
	TraceID string `json:"trace_id"`
	Spans   []Span `json:"spans"`
}

// ServiceInfo is one service seen in the window.
type ServiceInfo struct {
	Name       string    `json:"name"`
	SpanCount  int64     `json:"span_count"`
	ErrorCount int64     `json:"error_count"`
	ErrorRate  float64   `json:"error_rate"`
	AvgMS      float64   `json:"avg_ms"`
	P95MS      float64   `json:"p95_ms"`
	Operations int64     `json:"operations"`
	LastSeen   time.Time `json:"last_seen"`
}

// LogFilter selects log records, newest first.
type LogFilter struct {
	Last         time.Duration // 0 means 1h
	Service      string
	Severity     string // minimum severity: trace, debug, info, warn, error, fatal
	BodyContains string // case-insensitive substring
	TraceID      string
	Limit        int // 0 means 100; capped at MaxLimit
}

// Log is one log record.
type Log struct {
	Timestamp         time.Time         `json:"timestamp"`
	ObservedTimestamp time.Time         `json:"observed_timestamp"`
	TraceID           string            `json:"trace_id,omitempty"`
	SpanID            string            `json:"span_id,omitempty"`
	Severity          string            `json:"severity"`
	SeverityNumber    int32             `json:"severity_number"`
	SeverityText      string            `json:"severity_text,omitempty"`
	Body              string            `json:"body"`
	BodySHA256        string            `json:"body_sha256,omitempty"`
	Service           string            `json:"service"`
	Attributes        map[string]string `json:"attributes"`
	Resource          map[string]string `json:"resource"`
}

// MetricFilter selects metric points, newest first.
type MetricFilter struct {
	Last       time.Duration // 0 means 1h
	Service    string
	Name       string // exact
	MetricType string // gauge, counter, histogram, summary, unknown
	Limit      int    // 0 means 100; capped at MaxLimit
}

// Metric is one metric point.
type Metric struct {
	Timestamp  time.Time         `json:"timestamp"`
	Name       string            `json:"name"`
	Labels     map[string]string `json:"labels"`
	Service    string            `json:"service"`
	Value      float64           `json:"value"`
	MetricType string            `json:"metric_type"`
	Unit       string            `json:"unit,omitempty"`
}

// Comment is a note attached to a trace (table trace_comments).
type Comment struct {
	ID        string    `json:"id"`
	TraceID   string    `json:"trace_id"`
	SpanID    string    `json:"span_id,omitempty"`
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// NewComment is what a client posts.
type NewComment struct {
	SpanID string `json:"span_id,omitempty"`
	Author string `json:"author"`
	Body   string `json:"body"`
}

// SearchHit is one full-text match: a stored text and a row that refers to it.
type SearchHit struct {
	SHA256   string  `json:"sha256"`
	Kind     string  `json:"kind"` // prompt, completion or log_body
	Score    float64 `json:"score"`
	Fragment string  `json:"fragment"`
	TraceID  string  `json:"trace_id,omitempty"`
	SpanID   string  `json:"span_id,omitempty"`
}

// Summary answers "how is it going": spans, logs, metrics and LLM use over
// the window ending now.
type Summary struct {
	WindowSeconds      float64           `json:"window_seconds"`
	ServiceFilter      *string           `json:"service_filter"` // null when all services
	Traces             TraceStats        `json:"traces"`
	TopServices        []ServiceCount    `json:"top_services"`
	TopErrorOperations []OperationErrors `json:"top_error_operations"`
	Logs               LogCounts         `json:"logs"`
	Metrics            MetricCounts      `json:"metrics"`
	LLM                LLMUsage          `json:"llm"`
}

// TraceStats are span statistics; percentiles are exact (linear
// interpolation between the closest ranks, DuckDB's quantile_cont). Zero
// when there are no spans.
type TraceStats struct {
	SpanCount  int64   `json:"span_count"`
	TraceCount int64   `json:"trace_count"`
	ErrorCount int64   `json:"error_count"`
	ErrorRate  float64 `json:"error_rate"`
	AvgMS      float64 `json:"avg_ms"`
	MaxMS      float64 `json:"max_ms"`
	P50MS      float64 `json:"p50_ms"`
	P95MS      float64 `json:"p95_ms"`
	P99MS      float64 `json:"p99_ms"`
}

// ServiceCount is one of the busiest services (at most 10).
type ServiceCount struct {
	Service    string  `json:"service"`
	SpanCount  int64   `json:"span_count"`
	ErrorCount int64   `json:"error_count"`
	ErrorRate  float64 `json:"error_rate"`
}

// OperationErrors is one of the operations with the most errors (at most 10).
type OperationErrors struct {
	Service    string `json:"service"`
	Operation  string `json:"operation"`
	ErrorCount int64  `json:"error_count"`
	SpanCount  int64  `json:"span_count"`
}

// LogCounts counts log records by severity: error includes fatal, debug
// includes trace.
type LogCounts struct {
	Total int64 `json:"total"`
	Error int64 `json:"error"`
	Warn  int64 `json:"warn"`
	Info  int64 `json:"info"`
	Debug int64 `json:"debug"`
}

// MetricCounts counts metric points and distinct metric names.
type MetricCounts struct {
	PointCount  int64 `json:"point_count"`
	UniqueNames int64 `json:"unique_names"`
}

// LLMUsage is LLM use by model, most expensive first.
type LLMUsage struct {
	Calls        int64        `json:"calls"`
	InputTokens  int64        `json:"input_tokens"`
	OutputTokens int64        `json:"output_tokens"`
	TotalTokens  int64        `json:"total_tokens"`
	CostUSD      float64      `json:"cost_usd"`
	Models       []ModelUsage `json:"models"`
}

// ModelUsage is one model's calls, tokens and cost.
type ModelUsage struct {
	Model        string  `json:"model"`
	Provider     string  `json:"provider"`
	Calls        int64   `json:"calls"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	TotalTokens  int64   `json:"total_tokens"`
	CostUSD      float64 `json:"cost_usd"`
	ErrorCount   int64   `json:"error_count"`
	AvgMS        float64 `json:"avg_ms"`
}

// Anomalies compares the current window with the baseline window that ends
// where the current one begins.
type Anomalies struct {
	WindowSeconds   float64   `json:"window_seconds"`
	BaselineSeconds float64   `json:"baseline_seconds"`
	ServiceFilter   *string   `json:"service_filter"`
	Anomalies       []Anomaly `json:"anomalies"`
}

// Anomaly is one finding. Kind is error_rate, latency_p95, throughput_drop,
// throughput_spike or token_cost_spike; Scope is service or model.
type Anomaly struct {
	Kind     string  `json:"kind"`
	Scope    string  `json:"scope"`
	Subject  string  `json:"subject"`
	Severity string  `json:"severity"` // info, warning or critical
	Current  float64 `json:"current"`
	Baseline float64 `json:"baseline"`
	Delta    float64 `json:"delta"`
	Message  string  `json:"message"`
}

// Correlation is everything known about one trace: its spans (hot and cold),
// the logs carrying its trace id, and the metric points of its services
// within its time range widened by CorrelateMargin on each side.
type Correlation struct {
	TraceID    string    `json:"trace_id"`
	SpanCount  int64     `json:"span_count"`
	Services   []string  `json:"services"`
	StartTime  time.Time `json:"start_time"`
	EndTime    time.Time `json:"end_time"`
	DurationMS float64   `json:"duration_ms"`
	ErrorCount int64     `json:"error_count"`
	Spans      []Span    `json:"spans"`
	Logs       []Log     `json:"logs"`
	Metrics    []Metric  `json:"metrics"`
}

// MarshalJSON writes a value that is not finite (a Prometheus stale marker,
// an OTLP point with no recorded value) as null: JSON has no NaN or
// infinity.
func (m Metric) MarshalJSON() ([]byte, error) {
	type plain Metric
	if !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
		return json.Marshal(plain(m))
	}
	return json.Marshal(struct {
		plain
		Value *float64 `json:"value"`
	}{plain: plain(m)})
}

// UnmarshalJSON reads a null value back as NaN.
func (m *Metric) UnmarshalJSON(b []byte) error {
	type plain Metric
	var v struct {
		plain
		Value *float64 `json:"value"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*m = Metric(v.plain)
	m.Value = math.NaN()
	if v.Value != nil {
		m.Value = *v.Value
	}
	return nil
}
