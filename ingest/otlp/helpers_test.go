package otlp

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var update = flag.Bool("update", false, "rewrite the .golden files in testdata")

// testNow is the clock of every conversion in these tests.
var testNow = time.Date(2025, 10, 9, 12, 0, 0, 0, time.UTC)

// checkedOptions returns o with a checked allocator that must be empty when
// the test ends (after the cleanups registered later, which release batches).
func checkedOptions(t testing.TB, o Options) Options {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	o.Allocator = mem
	if o.Now == nil {
		o.Now = func() time.Time { return testNow }
	}
	return o
}

func convertTraces(t testing.TB, td ptrace.Traces, o Options) Result {
	t.Helper()
	o = checkedOptions(t, o)
	res, err := Traces(td, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Batch != nil {
		t.Cleanup(res.Batch.Release)
		if err := spansTable.Validate(res.Batch); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

func convertLogs(t testing.TB, ld plog.Logs, o Options) Result {
	t.Helper()
	o = checkedOptions(t, o)
	res, err := Logs(ld, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Batch != nil {
		t.Cleanup(res.Batch.Release)
		if err := logsTable.Validate(res.Batch); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

// rows decodes a batch into one map per row (arrow's JSON form: maps are
// lists of {"key", "value"}, timestamps RFC 3339 strings).
func rows(t testing.TB, rec arrow.RecordBatch) []map[string]any {
	t.Helper()
	return decodeRows(t, rec, false)
}

// exactRows is rows with numbers kept as their JSON text (json.Number), so
// that 64-bit integers such as series_id survive.
func exactRows(t testing.TB, rec arrow.RecordBatch) []map[string]any {
	t.Helper()
	return decodeRows(t, rec, true)
}

func decodeRows(t testing.TB, rec arrow.RecordBatch, exact bool) []map[string]any {
	t.Helper()
	if rec == nil {
		return nil
	}
	var buf bytes.Buffer
	if err := array.RecordToJSON(rec, &buf); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	dec := json.NewDecoder(&buf)
	if exact {
		dec.UseNumber()
	}
	for dec.More() {
		var r map[string]any
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// kvs turns an arrow JSON map value into a Go map; nil for a null map.
func kvs(v any) map[string]string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	m := make(map[string]string, len(list))
	for _, e := range list {
		e := e.(map[string]any)
		m[e["key"].(string)] = e["value"].(string)
	}
	return m
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkGolden compares v, as indented JSON, with the golden file.
func checkGolden(t *testing.T, golden string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
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
}

func convertMetrics(t testing.TB, md pmetric.Metrics, o Options) Result {
	t.Helper()
	o = checkedOptions(t, o)
	res, err := Metrics(md, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Batch != nil {
		t.Cleanup(res.Batch.Release)
		if err := metricsTable.Validate(res.Batch); err != nil {
			t.Fatal(err)
		}
	}
	return res
}
