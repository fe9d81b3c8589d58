package llm

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

var update = flag.Bool("update", false, "rewrite the .golden files in testdata")

// TestGolden extracts every span of each OTLP/JSON fixture in testdata and
// compares the fields and consumed keys with the fixture's .golden file.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			// An OTLP/JSON export request and ptrace's TracesData share one
			// encoding ({"resourceSpans": …}).
			td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(data)
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				Span     string   `json:"span"`
				Fields   Fields   `json:"fields"`
				Consumed Consumed `json:"consumed"`
			}
			var results []result
			rss := td.ResourceSpans()
			for i := range rss.Len() {
				sss := rss.At(i).ScopeSpans()
				for j := range sss.Len() {
					spans := sss.At(j).Spans()
					for k := range spans.Len() {
						s := spans.At(k)
						f, c := Extract(s.Attributes(), s.Events())
						results = append(results, result{s.Name(), f, c})
					}
				}
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(results); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the output (run with -update and review the diff):\n%s", golden, buf.String())
			}
		})
	}
}
