package llm

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestRender(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain text is verbatim", "Hello\nworld ", "Hello\nworld "},
		{"empty", "", ""},
		{"JSON that is not messages", `{"query": "weather"}`, `{"query": "weather"}`},
		{"JSON scalar", `42`, `42`},
		{"trailing data is not JSON", `[{"role":"user","content":"a"}] x`, `[{"role":"user","content":"a"}] x`},
		{"openai shape", `[{"role":"System","content":"Be brief."},{"role":"user","content":"Hi"}]`, "system: Be brief.\nuser: Hi"},
		{"openai content parts", `[{"role":"user","content":[{"type":"text","text":"Look:"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"what is it?"}]}]`,
			"user: Look:\nwhat is it?"},
		{"openai tool_calls", `[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"add","arguments":"{\"a\":1}"}}]}]`,
			`assistant: tool_call add({"a":1})`},
		{"genai parts", `[{"role":"user","parts":[{"type":"text","content":"a"},{"type":"blob","mime_type":"image/png","content":""},{"type":"text","content":"b"}]}]`,
			"user: a\nb"},
		{"genai tool call with object arguments, sorted keys", `[{"role":"assistant","parts":[{"type":"tool_call","name":"f","arguments":{"z":1,"a":"<&>"}}]}]`,
			`assistant: tool_call f({"a":"<&>","z":1})`},
		{"genai tool response object", `[{"role":"tool","parts":[{"type":"tool_call_response","response":{"temp":22.5}}]}]`, `tool: {"temp":22.5}`},
		{"anthropic tool_use and tool_result", `[{"role":"assistant","content":[{"type":"tool_use","name":"g","input":{"q":"x"}}]},{"role":"user","content":[{"type":"tool_result","content":[{"type":"text","text":"ok"}]}]}]`,
			"assistant: tool_call g({\"q\":\"x\"})\nuser: ok"},
		{"choice shape", `[{"index":0,"message":{"role":"assistant","content":"Yes."},"finish_reason":"stop"}]`, "assistant: Yes."},
		{"single message object", `{"role":"user","content":"Hi"}`, "user: Hi"},
		{"array of strings", `["a","b"]`, "a\nb"},
		{"empty message skipped", `[{"role":"user","content":""},{"role":"user","content":"x"}]`, "user: x"},
		{"array with non-messages stays verbatim", `[{"foo":1}]`, `[{"foo":1}]`},
		{"umlauts and CJK", `[{"role":"user","content":"Größe? 大きさ？"}]`, "user: Größe? 大きさ？"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := render(messagesFromText(tt.in, "")); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNumbers(t *testing.T) {
	tests := []struct {
		name   string
		set    func(m pcommon.Map)
		tokens *int64
		cost   *float64
	}{
		{"int", func(m pcommon.Map) { m.PutInt("gen_ai.usage.input_tokens", 5); m.PutInt("gen_ai.usage.cost", 2) }, ptr[int64](5), ptr(2.0)},
		{"integral double", func(m pcommon.Map) {
			m.PutDouble("gen_ai.usage.input_tokens", 5)
			m.PutDouble("gen_ai.usage.cost", 0.5)
		}, ptr[int64](5), ptr(0.5)},
		{"fractional double is not a count", func(m pcommon.Map) { m.PutDouble("gen_ai.usage.input_tokens", 5.5) }, nil, nil},
		{"huge double is not a count", func(m pcommon.Map) { m.PutDouble("gen_ai.usage.input_tokens", 1e19) }, nil, nil},
		{"decimal strings", func(m pcommon.Map) {
			m.PutStr("gen_ai.usage.input_tokens", " 7 ")
			m.PutStr("gen_ai.usage.cost", "0.25")
		}, ptr[int64](7), ptr(0.25)},
		{"bad strings", func(m pcommon.Map) {
			m.PutStr("gen_ai.usage.input_tokens", "many")
			m.PutStr("gen_ai.usage.cost", "NaN")
		}, nil, nil},
		{"bool is ignored", func(m pcommon.Map) { m.PutBool("gen_ai.usage.input_tokens", true) }, nil, nil},
		{"unusable first source falls through", func(m pcommon.Map) {
			m.PutStr("gen_ai.usage.input_tokens", "x")
			m.PutInt("gen_ai.usage.prompt_tokens", 3)
		}, ptr[int64](3), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := pcommon.NewMap()
			tt.set(m)
			f, _ := Extract(m, ptrace.NewSpanEventSlice())
			if !eq(f.InputTokens, tt.tokens) || !eq(f.CostUSD, tt.cost) {
				t.Errorf("tokens %v cost %v, want %v %v", deref(f.InputTokens), deref(f.CostUSD), deref(tt.tokens), deref(tt.cost))
			}
			if tt.tokens != nil && !eq(f.TotalTokens, tt.tokens) {
				t.Errorf("total %v, want %v", deref(f.TotalTokens), *tt.tokens)
			}
		})
	}
}

func TestFinishReasons(t *testing.T) {
	tests := []struct {
		name string
		set  func(m pcommon.Map)
		want string
	}{
		{"array: first", func(m pcommon.Map) {
			s := m.PutEmptySlice("gen_ai.response.finish_reasons")
			s.AppendEmpty().SetStr("length")
			s.AppendEmpty().SetStr("stop")
		}, "length"},
		{"string", func(m pcommon.Map) { m.PutStr("gen_ai.response.finish_reasons", "stop") }, "stop"},
		{"string holding a JSON array", func(m pcommon.Map) { m.PutStr("gen_ai.response.finish_reasons", `["tool_calls"]`) }, "tool_calls"},
		{"openinference", func(m pcommon.Map) { m.PutStr("llm.finish_reason", "stop") }, "stop"},
		{"from output messages", func(m pcommon.Map) {
			m.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"x"}],"finish_reason":"content_filter"}]`)
		}, "content_filter"},
		{"attribute wins over messages", func(m pcommon.Map) {
			m.PutStr("gen_ai.response.finish_reasons", "stop")
			m.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[],"finish_reason":"length"}]`)
		}, "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := pcommon.NewMap()
			tt.set(m)
			if f, _ := Extract(m, ptrace.NewSpanEventSlice()); f.FinishReason != tt.want {
				t.Errorf("got %q, want %q", f.FinishReason, tt.want)
			}
		})
	}
}

func TestNotLLM(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("http.method", "GET")
	m.PutStr("input.value", "x")
	m.PutStr("gen_ai", "no dot")
	evs := ptrace.NewSpanEventSlice()
	evs.AppendEmpty().SetName("exception")
	f, c := Extract(m, evs)
	if f != (Fields{}) || len(c.Attributes) != 0 || len(c.Events) != 0 {
		t.Errorf("got %+v %+v", f, c)
	}
}

func TestEventOnlySpan(t *testing.T) {
	// A content event alone makes an LLM span.
	evs := ptrace.NewSpanEventSlice()
	ev := evs.AppendEmpty()
	ev.SetName("gen_ai.user.message")
	ev.Attributes().PutStr("content", "Hi")
	choice := evs.AppendEmpty()
	choice.SetName("gen_ai.choice")
	choice.Attributes().PutInt("index", 0)
	choice.Attributes().PutStr("finish_reason", "stop")
	msg := choice.Attributes().PutEmptyMap("message")
	msg.PutStr("content", "Hello")
	m := pcommon.NewMap()
	f, c := Extract(m, evs)
	want := Fields{IsLLM: true, Prompt: "user: Hi", Completion: "assistant: Hello", FinishReason: "stop"}
	if f != want || len(c.Events) != 2 || !c.Event(0) || !c.Event(1) {
		t.Errorf("got %+v %+v", f, c)
	}
	if evs.Len() != 2 || ev.Attributes().Len() != 1 {
		t.Error("Extract modified its input")
	}
}

func TestIndexedEdgeCases(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("gen_ai.prompt.x.content", "not an index")               // consumed, not rendered
	m.PutStr("gen_ai.prompt.-1.content", "negative")                  // consumed, not rendered
	m.PutStr("gen_ai.prompt.99999999999999999999.content", "too big") // consumed, not rendered
	m.PutStr("gen_ai.prompt.3", "no field")                           // consumed, not rendered
	m.PutStr("gen_ai.prompt.2.content", "second")
	m.PutStr("gen_ai.prompt.0.content", "first")
	f, c := Extract(m, ptrace.NewSpanEventSlice())
	if f.Prompt != "first\nsecond" || len(c.Attributes) != 6 {
		t.Errorf("prompt %q consumed %v", f.Prompt, c.Attributes)
	}
}

func ptr[T any](v T) *T { return &v }

func eq[T comparable](a, b *T) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
