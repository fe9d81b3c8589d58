package llm

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// contentKeys are the attributes that carry prompt or completion content.
var contentKeys = map[string]bool{
	"gen_ai.input.messages":      true,
	"gen_ai.output.messages":     true,
	"gen_ai.system_instructions": true,
	"gen_ai.prompt":              true,
	"gen_ai.completion":          true,
	"gen_ai.tool.call.arguments": true,
	"gen_ai.tool.call.result":    true,
	"llm.input_messages":         true,
	"llm.output_messages":        true,
	"llm.prompts":                true,
	"llm.choices":                true,
	"input.value":                true,
	"output.value":               true,
}

// contentPrefixes are the flattened lists that carry content.
var contentPrefixes = []string{
	"gen_ai.prompt.", "gen_ai.completion.",
	"llm.input_messages.", "llm.output_messages.", "llm.prompts.", "llm.choices.",
}

// IsContentKey reports whether an attribute key carries prompt or completion
// content on an LLM span.
func IsContentKey(key string) bool {
	if contentKeys[key] {
		return true
	}
	for _, p := range contentPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// Event directions: whether a content event holds prompt or completion
// messages, or (operation details) both.
const (
	input = iota + 1
	output
	both
)

// contentEvents maps the names of content events to their direction and the
// default role of their message.
var contentEvents = map[string]struct {
	dir  int
	role string
}{
	"gen_ai.system.message":                     {input, "system"},
	"gen_ai.user.message":                       {input, "user"},
	"gen_ai.assistant.message":                  {input, "assistant"},
	"gen_ai.tool.message":                       {input, "tool"},
	"gen_ai.choice":                             {output, "assistant"},
	"gen_ai.content.prompt":                     {input, ""},
	"gen_ai.content.completion":                 {output, ""},
	"gen_ai.client.inference.operation.details": {both, ""},
}

// IsContentEvent reports whether an event (on a span, or as a log record's
// event name) carries prompt or completion content.
func IsContentEvent(name string) bool {
	_, ok := contentEvents[name]
	return ok
}

// content gathers the prompt and completion messages, recording what it
// consumed. finish is the first finish reason among the completion messages.
func content(a spanAttrs, events ptrace.SpanEventSlice, c *Consumed) (prompt, completion []message, finish string) {
	for k := range a.m.All() {
		if IsContentKey(k) {
			c.Attributes = append(c.Attributes, k)
		}
	}
	var evIn, evOut []message
	for i := range events.Len() {
		ev := events.At(i)
		ce, ok := contentEvents[ev.Name()]
		if !ok {
			continue
		}
		c.Events = append(c.Events, i)
		attrs := ev.Attributes()
		switch ev.Name() {
		case "gen_ai.content.prompt":
			evIn = append(evIn, attrMessages(attrs, "gen_ai.prompt", "")...)
		case "gen_ai.content.completion":
			evOut = append(evOut, attrMessages(attrs, "gen_ai.completion", "")...)
		case "gen_ai.client.inference.operation.details":
			evIn = append(evIn, genAIInput(attrs)...)
			evOut = append(evOut, attrMessages(attrs, "gen_ai.output.messages", "")...)
		default:
			m, ok := eventMessage(attrs, ce.role)
			if !ok {
				continue
			}
			if ce.dir == input {
				evIn = append(evIn, m)
			} else {
				evOut = append(evOut, m)
			}
		}
	}

	promptSources := []func() []message{
		func() []message { return genAIInput(a.m) },
		func() []message { return evIn },
		func() []message { return openLLMetryMessages(a.m, "gen_ai.prompt.") },
		func() []message { return attrMessages(a.m, "gen_ai.prompt", "") },
		func() []message { return openInferenceMessages(a.m, "llm.input_messages.") },
		func() []message { return openInferenceList(a.m, "llm.prompts", "prompt.text") },
		func() []message { return attrMessages(a.m, "input.value", "") },
		func() []message { return attrMessages(a.m, "gen_ai.tool.call.arguments", "") },
	}
	completionSources := []func() []message{
		func() []message { return attrMessages(a.m, "gen_ai.output.messages", "") },
		func() []message { return evOut },
		func() []message { return openLLMetryMessages(a.m, "gen_ai.completion.") },
		func() []message { return attrMessages(a.m, "gen_ai.completion", "") },
		func() []message { return openInferenceMessages(a.m, "llm.output_messages.") },
		func() []message { return openInferenceList(a.m, "llm.choices", "completion.text") },
		func() []message { return attrMessages(a.m, "output.value", "") },
		func() []message { return attrMessages(a.m, "gen_ai.tool.call.result", "") },
	}
	prompt = first(promptSources)
	completion = first(completionSources)
	for _, m := range completion {
		if m.finish != "" {
			finish = m.finish
			break
		}
	}
	return prompt, completion, finish
}

// first returns the messages of the first source that has text.
func first(sources []func() []message) []message {
	for _, s := range sources {
		if ms := s(); hasText(ms) {
			return ms
		}
	}
	return nil
}

func attrMessages(attrs pcommon.Map, key, defRole string) []message {
	if v, ok := attrs.Get(key); ok {
		return messagesFromValue(v, defRole)
	}
	return nil
}

// genAIInput reads gen_ai.system_instructions (one system message) and
// gen_ai.input.messages.
func genAIInput(attrs pcommon.Map) []message {
	var out []message
	if v, ok := attrs.Get("gen_ai.system_instructions"); ok {
		var text string
		switch v.Type() {
		case pcommon.ValueTypeStr:
			if j, ok := parseJSON(v.Str()); ok {
				text = partsText(j)
			} else {
				text = v.Str()
			}
		case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
			text = partsText(v.AsRaw())
		default:
			text = v.AsString()
		}
		out = append(out, message{role: "system", text: text})
	}
	return append(out, attrMessages(attrs, "gen_ai.input.messages", "")...)
}

// eventMessage reads a gen_ai.*.message or gen_ai.choice event: the JSON in
// gen_ai.event.content, else the event's own attributes, as a message object.
func eventMessage(attrs pcommon.Map, defRole string) (message, bool) {
	var obj any
	if v, ok := attrs.Get("gen_ai.event.content"); ok {
		switch v.Type() {
		case pcommon.ValueTypeStr:
			j, ok := parseJSON(v.Str())
			if !ok {
				return message{role: defRole, text: v.Str()}, true
			}
			obj = j
		case pcommon.ValueTypeMap:
			obj = v.Map().AsRaw()
		default:
			return message{role: defRole, text: v.AsString()}, true
		}
	} else {
		obj = attrs.AsRaw()
	}
	o, ok := obj.(map[string]any)
	if !ok {
		return message{}, false
	}
	return messageFromObject(o, defRole)
}
