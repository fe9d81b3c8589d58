package synth

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/schema"
)

func TestBatchesMatchSchemas(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	start := time.Unix(1700000000, 0)
	cases := []struct {
		name string
		id   schema.ID
		rows int64
		make func() arrow.RecordBatch
	}{
		{"spans", schema.Spans, 100, func() arrow.RecordBatch {
			return Spans(mem, SpanOptions{Rows: 100, Start: start, LLMEvery: 3, Seed: 1})
		}},
		{"logs", schema.Logs, 10, func() arrow.RecordBatch { return Logs(mem, LogOptions{Rows: 10, Start: start}) }},
		{"metrics", schema.Metrics, 12, func() arrow.RecordBatch {
			return Metrics(mem, MetricOptions{Series: 3, Points: 4, Start: start})
		}},
		{"span rows", schema.Spans, 2, func() arrow.RecordBatch {
			cost := 0.5
			return SpanRows(mem, []SpanRow{
				{TraceID: TraceID(1, 1), SpanID: "0000000000000001", Service: "a", Operation: "op", Start: start, Duration: time.Second},
				{TraceID: TraceID(1, 1), SpanID: "0000000000000002", ParentSpanID: "0000000000000001", Service: "a", Operation: "llm",
					Start: start, Duration: time.Second, Status: "error", LLMModel: "m", LLMProvider: "p", InputTokens: 3, CostUSD: &cost},
			})
		}},
		{"log rows", schema.Logs, 1, func() arrow.RecordBatch {
			return LogRows(mem, []LogRow{{Time: start, Severity: "warn", Service: "a", Body: "b"}})
		}},
		{"metric rows", schema.Metrics, 1, func() arrow.RecordBatch {
			return MetricRows(mem, []MetricRow{{Time: start, Name: "up", Labels: map[string]string{"job": "a"}, Service: "a", MetricType: "gauge"}})
		}},
		{"comment rows", schema.TraceComments, 1, func() arrow.RecordBatch {
			return CommentRows(mem, []CommentRow{{ID: "c", TraceID: TraceID(1, 1), Author: "a", Body: "b", CreatedAt: start}})
		}},
		{"payload rows", schema.LLMPayloads, 1, func() arrow.RecordBatch {
			return PayloadRows(mem, []PayloadRow{{SHA256: PayloadSHA256("t"), Kind: "prompt", Text: "t"}})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.make()
			defer r.Release()
			tbl, err := schema.ByID(c.id)
			if err != nil {
				t.Fatal(err)
			}
			if err := tbl.Check(r.Schema()); err != nil {
				t.Fatal(err)
			}
			if r.NumRows() != c.rows {
				t.Fatalf("rows = %d, want %d", r.NumRows(), c.rows)
			}
		})
	}
}
