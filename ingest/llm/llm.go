package llm

import (
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Fields are the typed LLM columns of one span. Empty strings and nil
// pointers mean unknown (a null column).
type Fields struct {
	// IsLLM reports whether the span speaks one of the LLM dialects; when
	// false every other field is empty.
	IsLLM          bool     `json:"is_llm"`
	Provider       string   `json:"provider,omitempty"`
	Model          string   `json:"model,omitempty"`
	Operation      string   `json:"operation,omitempty"`
	InputTokens    *int64   `json:"input_tokens,omitempty"`
	OutputTokens   *int64   `json:"output_tokens,omitempty"`
	TotalTokens    *int64   `json:"total_tokens,omitempty"`
	CostUSD        *float64 `json:"cost_usd,omitempty"`
	TTFTMs         *float64 `json:"ttft_ms,omitempty"`
	FinishReason   string   `json:"finish_reason,omitempty"`
	ConversationID string   `json:"conversation_id,omitempty"`
	// Prompt and Completion are the rendered content (see the package
	// documentation); "" when the span carries none.
	Prompt     string `json:"prompt,omitempty"`
	Completion string `json:"completion,omitempty"`
}

// Consumed names what carried prompt or completion content: the stored span
// must leave these out.
type Consumed struct {
	// Attributes are span attribute keys, in attribute order.
	Attributes []string `json:"attributes,omitempty"`
	// Events are indexes into the span's events, ascending; such an event is
	// dropped whole.
	Events []int `json:"events,omitempty"`
}

// Attribute reports whether the attribute key was consumed.
func (c Consumed) Attribute(key string) bool { return slices.Contains(c.Attributes, key) }

// Event reports whether event i was consumed.
func (c Consumed) Event(i int) bool { return slices.Contains(c.Events, i) }

// Extract reads the LLM fields of a span from its attributes and events. It
// does not modify them.
func Extract(attrs pcommon.Map, events ptrace.SpanEventSlice) (Fields, Consumed) {
	var f Fields
	var c Consumed
	if !isLLM(attrs, events) {
		return f, c
	}
	f.IsLLM = true
	a := spanAttrs{attrs}

	f.Provider = a.firstString("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
	f.Model = a.firstString("gen_ai.response.model", "gen_ai.request.model", "llm.response.model_name",
		"llm.model_name", "llm.request.model_name", "llm.response.model", "llm.request.model")
	f.Operation = a.firstString("gen_ai.operation.name")
	if f.Operation == "" {
		f.Operation = openInferenceOperation(a.firstString("openinference.span.kind"))
	}
	if f.Operation == "" {
		f.Operation = a.firstString("llm.request.type")
	}
	f.InputTokens = a.firstInt("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt", "llm.usage.prompt_tokens")
	f.OutputTokens = a.firstInt("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion", "llm.usage.completion_tokens")
	f.TotalTokens = a.firstInt("gen_ai.usage.total_tokens", "llm.token_count.total", "llm.usage.total_tokens")
	if f.TotalTokens == nil && (f.InputTokens != nil || f.OutputTokens != nil) {
		var t int64
		if f.InputTokens != nil {
			t += *f.InputTokens
		}
		if f.OutputTokens != nil {
			t += *f.OutputTokens
		}
		f.TotalTokens = &t
	}
	f.CostUSD = a.firstFloat("gen_ai.usage.cost", "cost_usd", "llm.cost.total")
	if f.CostUSD == nil {
		p, q := a.firstFloat("llm.cost.prompt"), a.firstFloat("llm.cost.completion")
		if p != nil && q != nil {
			s := *p + *q
			f.CostUSD = &s
		}
	}
	if s := a.firstFloat("gen_ai.response.time_to_first_token", "gen_ai.server.time_to_first_token"); s != nil {
		ms := *s * 1000
		f.TTFTMs = &ms
	} else {
		f.TTFTMs = a.firstFloat("llm.ttft_ms")
	}
	f.FinishReason = finishReason(a)
	f.ConversationID = a.firstString("gen_ai.conversation.id", "session.id")

	prompt, completion, outFinish := content(a, events, &c)
	f.Prompt, f.Completion = render(prompt), render(completion)
	if f.FinishReason == "" {
		f.FinishReason = outFinish
	}
	return f, c
}

func isLLM(attrs pcommon.Map, events ptrace.SpanEventSlice) bool {
	for k := range attrs.All() {
		if strings.HasPrefix(k, "gen_ai.") || strings.HasPrefix(k, "llm.") || k == "openinference.span.kind" {
			return true
		}
	}
	for i := range events.Len() {
		if strings.HasPrefix(events.At(i).Name(), "gen_ai.") {
			return true
		}
	}
	return false
}

func openInferenceOperation(kind string) string {
	switch strings.ToUpper(kind) {
	case "":
		return ""
	case "LLM":
		return "chat"
	case "EMBEDDING":
		return "embeddings"
	case "TOOL":
		return "execute_tool"
	case "AGENT":
		return "invoke_agent"
	}
	return strings.ToLower(kind)
}

func finishReason(a spanAttrs) string {
	if v, ok := a.m.Get("gen_ai.response.finish_reasons"); ok {
		switch v.Type() {
		case pcommon.ValueTypeSlice:
			s := v.Slice()
			for i := range s.Len() {
				if e := s.At(i); e.Type() == pcommon.ValueTypeStr && e.Str() != "" {
					return e.Str()
				}
			}
		case pcommon.ValueTypeStr:
			if r := firstJSONString(v.Str()); r != "" {
				return r
			}
		}
	}
	return a.firstString("llm.finish_reason")
}
