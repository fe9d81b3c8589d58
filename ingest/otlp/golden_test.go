package otlp

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// golden is what the golden files record of a conversion.
type golden struct {
	Rejected int64            `json:"rejected"`
	Message  string           `json:"message"`
	Payloads []Payload        `json:"payloads"`
	Rows     []map[string]any `json:"rows"`
}

// TestGoldenTraces converts testdata/traces.json (OTLP/JSON, decoded as an
// export request body) and compares every row with testdata/traces.golden.
func TestGoldenTraces(t *testing.T) {
	// An OTLP/JSON export request and ptrace's TracesData share one encoding.
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(readFile(t, "testdata/traces.json"))
	if err != nil {
		t.Fatal(err)
	}
	res := convertTraces(t, td, DefaultOptions())
	checkGolden(t, "testdata/traces.golden", golden{res.Rejected, res.Message, res.Payloads, exactRows(t, res.Batch)})
}

// TestGoldenLogs does the same for testdata/logs.json.
func TestGoldenLogs(t *testing.T) {
	ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(readFile(t, "testdata/logs.json"))
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.CaptureLLMContent = false
	res := convertLogs(t, ld, o)
	checkGolden(t, "testdata/logs.golden", golden{res.Rejected, res.Message, res.Payloads, exactRows(t, res.Batch)})
}

// TestGoldenMetrics does the same for testdata/metrics.json.
func TestGoldenMetrics(t *testing.T) {
	md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(readFile(t, "testdata/metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	res := convertMetrics(t, md, DefaultOptions())
	checkGolden(t, "testdata/metrics.golden", golden{res.Rejected, res.Message, res.Payloads, exactRows(t, res.Batch)})
}
