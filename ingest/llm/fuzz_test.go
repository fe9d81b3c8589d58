package llm

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzExtract feeds arbitrary text to the JSON message decoder, as a content
// attribute and as a message event: no panic, and the same input renders the
// same text.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		`[{"role":"user","parts":[{"type":"text","content":"東京"}]}]`,
		`[{"role":"assistant","content":null,"tool_calls":[{"function":{"name":"f","arguments":{"a":[1,2.5e300]}}}]}]`,
		`{"message":{"content":"x"},"finish_reason":"stop"}`,
		`[{"type":"tool_call_response","response":{"a":null}}]`,
		`plain text`, `[]`, `{}`, `[1]`, `[[[[["deep"]]]]]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := pcommon.NewMap()
		m.PutStr("gen_ai.input.messages", s)
		m.PutStr("gen_ai.system_instructions", s)
		m.PutStr("gen_ai.response.finish_reasons", s)
		evs := ptrace.NewSpanEventSlice()
		ev := evs.AppendEmpty()
		ev.SetName("gen_ai.choice")
		ev.Attributes().PutStr("gen_ai.event.content", s)
		a, _ := Extract(m, evs)
		b, _ := Extract(m, evs)
		if a.Prompt != b.Prompt || a.Completion != b.Completion {
			t.Fatalf("not deterministic: %q vs %q", a.Prompt, b.Prompt)
		}
	})
}
