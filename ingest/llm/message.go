package llm

import (
	"bytes"
	"encoding/json"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// message is one chat message: a role (lowercase, may be empty) and its text.
// finish is the finish reason an output message carried; it is not rendered.
type message struct {
	role, text, finish string
}

// render writes messages as the package documentation specifies.
func render(msgs []message) string {
	var b strings.Builder
	for _, m := range msgs {
		if m.text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		if m.role != "" {
			b.WriteString(m.role)
			b.WriteString(": ")
		}
		b.WriteString(m.text)
	}
	return b.String()
}

// hasText reports whether any message has text.
func hasText(msgs []message) bool {
	for _, m := range msgs {
		if m.text != "" {
			return true
		}
	}
	return false
}

// messagesFromValue reads a content attribute: JSON (in a string, or a
// structured value) that looks like messages, else one message holding the
// value verbatim.
func messagesFromValue(v pcommon.Value, defRole string) []message {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return nil
	case pcommon.ValueTypeStr:
		return messagesFromText(v.Str(), defRole)
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		if ms, ok := messagesFromAny(v.AsRaw(), defRole); ok {
			return ms
		}
	}
	return []message{{role: defRole, text: v.AsString()}}
}

func messagesFromText(s, defRole string) []message {
	if v, ok := parseJSON(s); ok {
		if ms, ok := messagesFromAny(v, defRole); ok {
			return ms
		}
	}
	if s == "" {
		return nil
	}
	return []message{{role: defRole, text: s}}
}

// messagesFromAny reads decoded JSON as messages: an array of strings and
// message objects, or one message object.
func messagesFromAny(v any, defRole string) ([]message, bool) {
	switch v := v.(type) {
	case []any:
		out := make([]message, 0, len(v))
		for _, e := range v {
			switch e := e.(type) {
			case string:
				out = append(out, message{role: defRole, text: e})
			case map[string]any:
				m, ok := messageFromObject(e, defRole)
				if !ok {
					return nil, false
				}
				out = append(out, m)
			default:
				return nil, false
			}
		}
		return out, true
	case map[string]any:
		if m, ok := messageFromObject(v, defRole); ok {
			return []message{m}, true
		}
	}
	return nil, false
}

// messageFromObject reads one message object; ok is false when o has none of
// the keys a message has.
func messageFromObject(o map[string]any, defRole string) (message, bool) {
	finish, _ := o["finish_reason"].(string)
	if inner, ok := o["message"]; ok { // a choice: {"message": {...}, "finish_reason": ...}
		switch in := inner.(type) {
		case map[string]any:
			m, _ := messageFromObject(in, defRole)
			if m.finish == "" {
				m.finish = finish
			}
			return m, true
		case string:
			return message{role: strings.ToLower(defRole), text: in, finish: finish}, true
		}
	}
	role, _ := o["role"].(string)
	parts, hasParts := o["parts"]
	content, hasContent := o["content"]
	text, hasText := o["text"]
	calls, hasCalls := o["tool_calls"]
	if role == "" && !hasParts && !hasContent && !hasText && !hasCalls {
		return message{}, false
	}
	if role == "" {
		role = defRole
	}
	var texts []string
	switch {
	case hasParts:
		texts = append(texts, partsText(parts))
	case hasContent:
		texts = append(texts, partsText(content))
	case hasText:
		texts = append(texts, partsText(text))
	}
	if cs, ok := calls.([]any); ok {
		for _, c := range cs {
			if c, ok := c.(map[string]any); ok {
				texts = append(texts, toolCallText(c))
			}
		}
	}
	return message{role: strings.ToLower(role), text: joinNonEmpty(texts), finish: finish}, true
}

// partsText renders a message's content: a string, one part, or an array of
// parts.
func partsText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []any:
		texts := make([]string, 0, len(v))
		for _, e := range v {
			texts = append(texts, partsText(e))
		}
		return joinNonEmpty(texts)
	case map[string]any:
		return partText(v)
	}
	return jsonText(v)
}

func partText(p map[string]any) string {
	typ, _ := p["type"].(string)
	switch typ {
	case "tool_call", "tool_use", "function_call":
		return toolCallText(p)
	case "tool_call_response", "tool_result", "function_call_output":
		for _, k := range []string{"response", "content", "output", "result"} {
			if x, ok := p[k]; ok {
				return valueText(x)
			}
		}
		return ""
	}
	for _, k := range []string{"content", "text"} {
		if s, ok := p[k].(string); ok {
			return s
		}
	}
	return ""
}

// toolCallText renders a tool call as "tool_call NAME(ARGUMENTS)".
func toolCallText(c map[string]any) string {
	name, _ := c["name"].(string)
	var args any
	for _, k := range []string{"arguments", "input", "args"} {
		if a, ok := c[k]; ok {
			args = a
			break
		}
	}
	if fn, ok := c["function"].(map[string]any); ok {
		name, _ = fn["name"].(string)
		args = fn["arguments"]
	}
	return "tool_call " + name + "(" + argText(args) + ")"
}

func argText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	return jsonText(v)
}

// valueText renders a tool response: text when it has some, else its JSON.
func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case []any, map[string]any:
		if s := partsText(x); s != "" {
			return s
		}
	}
	return jsonText(v)
}

// jsonText is compact JSON with sorted object keys and no HTML escaping.
func jsonText(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func joinNonEmpty(texts []string) string {
	n := 0
	for _, t := range texts {
		if t != "" {
			texts[n] = t
			n++
		}
	}
	return strings.Join(texts[:n], "\n")
}
