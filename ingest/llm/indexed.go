package llm

import (
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// entry is one element of a flattened list attribute: the attributes
// PREFIX.N.REST for one N, keyed by REST.
type entry struct {
	n      int
	fields map[string]pcommon.Value
}

// indexed collects the flattened list under prefix (which ends in "."),
// ordered by index. Keys whose next segment is not an index are skipped.
func indexed(all iter.Seq2[string, pcommon.Value], prefix string) []entry {
	var out []entry
	for k, v := range all {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		num, sub, ok := strings.Cut(rest, ".")
		if !ok || sub == "" {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 {
			continue
		}
		i, found := slices.BinarySearchFunc(out, n, func(e entry, n int) int { return e.n - n })
		if !found {
			out = slices.Insert(out, i, entry{n: n, fields: map[string]pcommon.Value{}})
		}
		if _, dup := out[i].fields[sub]; !dup {
			out[i].fields[sub] = v
		}
	}
	return out
}

func (e entry) str(key string) string {
	if v, ok := e.fields[key]; ok {
		return v.AsString()
	}
	return ""
}

func (e entry) sub(prefix string) []entry { return indexed(maps.All(e.fields), prefix) }

// openLLMetryMessages reads gen_ai.prompt.N.* or gen_ai.completion.N.*.
func openLLMetryMessages(attrs pcommon.Map, prefix string) []message {
	var out []message
	for _, e := range indexed(attrs.All(), prefix) {
		texts := []string{e.str("content")}
		for _, tc := range e.sub("tool_calls.") {
			texts = append(texts, "tool_call "+tc.str("name")+"("+tc.str("arguments")+")")
		}
		out = append(out, message{role: strings.ToLower(e.str("role")), text: joinNonEmpty(texts), finish: e.str("finish_reason")})
	}
	return out
}

// openInferenceMessages reads llm.input_messages.N.message.* or
// llm.output_messages.N.message.*.
func openInferenceMessages(attrs pcommon.Map, prefix string) []message {
	var out []message
	for _, e := range indexed(attrs.All(), prefix) {
		texts := []string{e.str("message.content")}
		for _, c := range e.sub("message.contents.") {
			switch c.str("message_content.type") {
			case "", "text", "reasoning":
				texts = append(texts, c.str("message_content.text"))
			}
		}
		for _, tc := range e.sub("message.tool_calls.") {
			texts = append(texts, "tool_call "+tc.str("tool_call.function.name")+"("+tc.str("tool_call.function.arguments")+")")
		}
		out = append(out, message{role: strings.ToLower(e.str("message.role")), text: joinNonEmpty(texts)})
	}
	return out
}

// openInferenceList reads llm.prompts / llm.choices: a string array
// attribute, or the flattened objects PREFIX.N.FIELD.
func openInferenceList(attrs pcommon.Map, key, field string) []message {
	if v, ok := attrs.Get(key); ok && v.Type() == pcommon.ValueTypeSlice {
		s := v.Slice()
		out := make([]message, 0, s.Len())
		for i := range s.Len() {
			out = append(out, message{text: s.At(i).AsString()})
		}
		return out
	}
	var out []message
	for _, e := range indexed(attrs.All(), key+".") {
		out = append(out, message{text: e.str(field)})
	}
	return out
}
