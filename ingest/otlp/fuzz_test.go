package otlp

import (
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// fuzzOptions are run on every input: the defaults, and tight limits with
// content capture off so the truncation and skipping paths run too.
var fuzzOptions = []Options{
	{CaptureLLMContent: true},
	{MaxAttributeCount: 2, MaxAttributeValueLength: 5},
}

// FuzzTraces feeds arbitrary bytes to the OTLP protobuf and JSON decoders
// (an export request body and TracesData share one encoding) and converts
// whatever decodes: no panic, no leak, a valid batch, every span accounted.
func FuzzTraces(f *testing.F) {
	files, _ := filepath.Glob("../llm/testdata/*.json")
	for _, file := range append(files, "testdata/traces.json") {
		data := readFile(f, file)
		f.Add(data)
		if td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(data); err == nil {
			if pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td); err == nil {
				f.Add(pb)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, dec := range []ptrace.Unmarshaler{&ptrace.ProtoUnmarshaler{}, &ptrace.JSONUnmarshaler{}} {
			td, err := dec.UnmarshalTraces(data)
			if err != nil {
				continue
			}
			for _, o := range fuzzOptions {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				o.Allocator = mem
				res, err := Traces(td, o)
				if err != nil {
					t.Fatal(err)
				}
				checkConverted(t, mem, res, int64(td.SpanCount()))
			}
		}
	})
}

// checkConverted checks and releases a conversion's batch: valid UTF-8,
// every one of the request's items either a row or counted as rejected,
// valid payloads, and nothing left allocated.
func checkConverted(t *testing.T, mem *memory.CheckedAllocator, res Result, items int64) {
	t.Helper()
	var n int64
	if res.Batch != nil {
		n = res.Batch.NumRows()
		checkUTF8(t, res.Batch)
		res.Batch.Release()
	}
	if n+res.Rejected != items {
		t.Fatalf("%d rows + %d rejected != %d items", n, res.Rejected, items)
	}
	checkPayloads(t, res.Payloads)
	mem.AssertSize(t, 0)
}

// FuzzLogs is FuzzTraces for logs.
func FuzzLogs(f *testing.F) {
	data := readFile(f, "testdata/logs.json")
	f.Add(data)
	if ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(data); err == nil {
		if pb, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld); err == nil {
			f.Add(pb)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, dec := range []plog.Unmarshaler{&plog.ProtoUnmarshaler{}, &plog.JSONUnmarshaler{}} {
			ld, err := dec.UnmarshalLogs(data)
			if err != nil {
				continue
			}
			for _, o := range fuzzOptions {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				o.Allocator = mem
				res, err := Logs(ld, o)
				if err != nil {
					t.Fatal(err)
				}
				checkConverted(t, mem, res, int64(ld.LogRecordCount()))
			}
		}
	})
}

// FuzzMetrics is FuzzTraces for metrics. A data point becomes zero or more
// rows, so only leaks, panics and the batch's validity are checked.
func FuzzMetrics(f *testing.F) {
	data := readFile(f, "testdata/metrics.json")
	f.Add(data)
	if md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(data); err == nil {
		if pb, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md); err == nil {
			f.Add(pb)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, dec := range []pmetric.Unmarshaler{&pmetric.ProtoUnmarshaler{}, &pmetric.JSONUnmarshaler{}} {
			md, err := dec.UnmarshalMetrics(data)
			if err != nil {
				continue
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			res, err := Metrics(md, Options{Allocator: mem})
			if err != nil {
				t.Fatal(err)
			}
			if res.Rejected > int64(md.DataPointCount()) {
				t.Fatalf("%d rejected of %d data points", res.Rejected, md.DataPointCount())
			}
			if res.Batch != nil {
				checkUTF8(t, res.Batch)
				res.Batch.Release()
			}
			mem.AssertSize(t, 0)
		}
	})
}

func checkPayloads(t *testing.T, ps []Payload) {
	t.Helper()
	for _, p := range ps {
		if p.Text == "" || sha256Hex(p.Text) != p.SHA256 || !utf8.ValidString(p.Text) {
			t.Fatalf("bad payload %+v", p)
		}
	}
}

// checkUTF8 fails the test if any string in the batch, at any depth, is not
// valid UTF-8.
func checkUTF8(t *testing.T, rec arrow.RecordBatch) {
	t.Helper()
	var walk func(a arrow.Array)
	walk = func(a arrow.Array) {
		switch a := a.(type) {
		case *array.String:
			for i := range a.Len() {
				if a.IsValid(i) && !utf8.ValidString(a.Value(i)) {
					t.Fatalf("invalid UTF-8 %q", a.Value(i))
				}
			}
		case *array.Map:
			walk(a.Keys())
			walk(a.Items())
		case *array.List:
			walk(a.ListValues())
		case *array.Struct:
			for i := range a.NumField() {
				walk(a.Field(i))
			}
		}
	}
	for _, c := range rec.Columns() {
		walk(c)
	}
}
