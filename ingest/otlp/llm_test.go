package otlp

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestLLMContent converts the LLM dialect fixtures of package llm with and
// without content capture: the sha256 columns and payloads must follow the
// option, and no content may be left in any stored attribute or event.
func TestLLMContent(t *testing.T) {
	files, err := filepath.Glob("../llm/testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(readFile(t, file))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			on := convertTraces(t, td, Options{CaptureLLMContent: true})
			off := convertTraces(t, td, Options{CaptureLLMContent: false})
			if len(on.Payloads) == 0 {
				t.Fatal("no payloads with capture on")
			}
			if len(off.Payloads) != 0 {
				t.Errorf("%d payloads with capture off", len(off.Payloads))
			}
			onRows, offRows := rows(t, on.Batch), rows(t, off.Batch)
			shas := map[string]bool{}
			for _, r := range onRows {
				for _, c := range []string{"prompt_sha256", "completion_sha256"} {
					if s, ok := r[c].(string); ok {
						shas[s] = true
					}
				}
			}
			for _, p := range on.Payloads {
				if !shas[p.SHA256] || sha256Hex(p.Text) != p.SHA256 {
					t.Errorf("payload %s (%s) is not referenced by a row or has the wrong hash", p.SHA256, p.Kind)
				}
				if p.TraceID == "" || p.SpanID == "" {
					t.Errorf("payload without ids: %+v", p)
				}
			}
			for _, r := range offRows {
				if r["prompt_sha256"] != nil || r["completion_sha256"] != nil {
					t.Errorf("span %v: sha256 set with capture off", r["operation"])
				}
			}
			// No stored text (attributes, events, links, whichever option)
			// may contain a prompt or completion line.
			for _, rs := range [][]map[string]any{onRows, offRows} {
				stored, err := json.Marshal(stripLLMColumns(rs))
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range on.Payloads {
					for _, line := range strings.Split(p.Text, "\n") {
						_, text, _ := strings.Cut(line, ": ")
						if text == "" {
							text = line
						}
						enc, _ := json.Marshal(text)
						if len(text) > 8 && strings.Contains(string(stored), strings.Trim(string(enc), `"`)) {
							t.Errorf("content %q is still stored", text)
						}
					}
				}
			}
		})
	}
}

// stripLLMColumns keeps the columns that may not hold content.
func stripLLMColumns(rs []map[string]any) []map[string]any {
	out := make([]map[string]any, len(rs))
	for i, r := range rs {
		out[i] = map[string]any{"attributes": r["attributes"], "events": r["events"], "links": r["links"], "resource": r["resource"]}
	}
	return out
}
