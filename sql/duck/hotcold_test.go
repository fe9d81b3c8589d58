package duck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// hotColdQueries exercise, for every table, projections, filters and
// aggregates; each must give the same answer whether its rows are in the
// hot tier, in Parquet, or split between them.
var hotColdQueries = []string{
	"SELECT count(*), count(DISTINCT trace_id), round(sum(duration_ms), 3), min(start_time), max(end_time) FROM spans",
	"SELECT service, operation, count(*), round(avg(duration_ms), 6), quantile_cont(duration_ms, 0.99) FROM spans GROUP BY ALL ORDER BY ALL",
	"SELECT trace_id, span_id, start_time, attributes['http.route'], events FROM spans WHERE start_time >= TIMESTAMP '2026-03-01 12:50:00' AND start_time < TIMESTAMP '2026-03-01 14:10:00.5' ORDER BY start_time, span_id",
	"SELECT llm_model, sum(total_tokens), round(sum(cost_usd), 9) FROM spans WHERE llm_model IS NOT NULL GROUP BY 1 ORDER BY 1",
	"SELECT status, count(*) FROM spans WHERE status = 'error' OR duration_ms > 500 GROUP BY 1 ORDER BY 1",
	"SELECT * FROM spans ORDER BY start_time, span_id LIMIT 50 OFFSET 1000",
	"SELECT date_bin(interval '5 minutes', start_time, timestamp '1970-01-01T00:00:00Z') AS t, count(*) FROM spans GROUP BY 1 ORDER BY 1",
	"SELECT count(*), count(DISTINCT service), min(timestamp), max(observed_timestamp) FROM logs",
	"SELECT severity, service, count(*), max(length(body)) FROM logs WHERE timestamp < TIMESTAMP '2026-03-01 14:00:00' GROUP BY ALL ORDER BY ALL",
	"SELECT * FROM logs WHERE trace_id IS NOT NULL ORDER BY timestamp, span_id LIMIT 30",
	"SELECT name, labels['job'], count(*), round(sum(value), 3), min(timestamp) FROM metrics GROUP BY ALL ORDER BY ALL",
	"SELECT series_id, timestamp, value FROM metrics WHERE labels['instance'] = 'host-1:9090' AND timestamp >= TIMESTAMP '2026-03-01 13:00:00' ORDER BY 1, 2",
	"SELECT * FROM trace_comments ORDER BY created_at",
	"SELECT count(*) FROM trace_comments c JOIN spans s USING (trace_id)",
}

func hotColdAnswers(t *testing.T, d *DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, q := range hotColdQueries {
		out[q] = fmt.Sprint(rows(t, d, q))
	}
	return out
}

// TestHotColdSameAnswers loads rows through the engine into DuckDB, then
// compacts part and then all of them to Parquet: every query returns the
// same rows at each stage.
func TestHotColdSameAnswers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0.Add(5 * time.Hour)
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	e, err := engine.Open(ctx, dir, engine.Options{Allocator: mem, CompactInterval: -1, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	}()
	d, _ := openTest(t, Options{ColdDir: filepath.Join(dir, "cold"), Append: e.Append})
	if err := e.Attach(ctx, d); err != nil {
		t.Fatal(err)
	}
	app := func(table schema.ID, rec arrow.RecordBatch) {
		t.Helper()
		defer rec.Release()
		if _, err := e.Append(ctx, table, rec); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		start := t0.Add(time.Duration(i) * time.Hour)
		app(schema.Spans, synth.Spans(mem, synth.SpanOptions{Rows: 2000, Start: start, Step: 1800 * time.Millisecond, Jitter: time.Second, LLMEvery: 5, Seed: uint64(i + 1)}))
		app(schema.Logs, synth.Logs(mem, synth.LogOptions{Rows: 1500, Start: start, Step: 2 * time.Second, Seed: uint64(i + 1)}))
		app(schema.Metrics, synth.Metrics(mem, synth.MetricOptions{Series: 10, Points: 240, Start: start, Seed: uint64(i + 1)}))
	}
	cs, _ := schema.ByID(schema.TraceComments)
	b := array.NewRecordBuilder(mem, cs.Schema)
	for i := range 5 {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprint("c", i))
		b.Field(1).(*array.StringBuilder).Append(synth.TraceID(1, int(t0.UnixNano()/int64(1800*time.Millisecond))/8+i))
		b.Field(2).(*array.StringBuilder).AppendNull()
		b.Field(3).(*array.StringBuilder).Append("ana")
		b.Field(4).(*array.StringBuilder).Append("slow")
		b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.Add(time.Duration(i) * 40 * time.Minute).UnixNano()))
	}
	app(schema.TraceComments, b.NewRecordBatch())
	b.Release()

	hot := hotColdAnswers(t, d)
	if got := rows(t, d, "SELECT count(*) FROM spans"); got[0][0] != "8000" {
		t.Fatalf("spans: %v", got)
	}
	if got := rows(t, d, "SELECT count(*) FROM trace_comments c JOIN spans s USING (trace_id)"); got[0][0] == "0" {
		t.Fatal("comments join no span")
	}
	check := func(stage string) {
		t.Helper()
		got := hotColdAnswers(t, d)
		for _, q := range hotColdQueries {
			if got[q] != hot[q] {
				t.Errorf("%s: %s\n got %.300s\nwant %.300s", stage, q, got[q], hot[q])
			}
		}
	}
	if _, err := e.Compact(ctx, engine.CompactOptions{OlderThan: 150 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, d, "SELECT count(*) FROM _hot.spans"); got[0][0] == "8000" || got[0][0] == "0" {
		t.Fatalf("split: %v spans hot", got)
	}
	check("split")
	if _, err := e.Compact(ctx, engine.CompactOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, d, "SELECT count(*) FROM _hot.spans"); got[0][0] != "0" {
		t.Fatalf("after full compaction: %v spans hot", got)
	}
	check("cold")
	// Rollups are queryable, one row per series and 5 minutes.
	got := rows(t, d, "SELECT count(*), count(DISTINCT series_id), sum(count) FROM metrics_5m")
	if got[0][0] != "480" || got[0][1] != "10" || got[0][2] != "9600" { // 10 series × 48 buckets of 5 minutes
		t.Errorf("metrics_5m: %v", got)
	}
}

// TestPayloads checks llm_payloads: texts appended while attached, and the
// same rows loaded from the blob store by a newly attached DB.
func TestPayloads(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := engine.Open(ctx, dir, engine.Options{CompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	d, _ := openTest(t, Options{ColdDir: filepath.Join(dir, "cold"), Append: e.Append})
	if err := e.Attach(ctx, d); err != nil {
		t.Fatal(err)
	}
	ps, _ := schema.ByID(schema.LLMPayloads)
	add := func(rows ...[5]string) {
		t.Helper()
		b := array.NewRecordBuilder(memory.DefaultAllocator, ps.Schema)
		defer b.Release()
		for _, r := range rows {
			for i, v := range r {
				b.Field(i).(*array.StringBuilder).Append(v)
			}
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		if _, err := e.Append(ctx, schema.LLMPayloads, rec); err != nil {
			t.Fatal(err)
		}
	}
	sys, q := "You are a helpful assistant.", "Wie spät ist es?"
	add([5]string{blobSHA(sys), "prompt", sys, "aa", "01"}, [5]string{blobSHA(q), "prompt", q, "aa", "01"})
	add([5]string{blobSHA(sys), "prompt", sys, "bb", "02"})
	const query = "SELECT sha256, kind, text, trace_id, span_id FROM llm_payloads ORDER BY trace_id, text"
	want := rows(t, d, query)
	if len(want) != 3 || want[2][2] != sys || want[2][3] != "bb" {
		t.Fatalf("llm_payloads: %v", want)
	}
	if got := rows(t, d, "SELECT count(*) FROM _hot.payload_texts"); got[0][0] != "2" {
		t.Errorf("texts stored %v times, want each once", got)
	}
	d2, _ := openTest(t, Options{ColdDir: filepath.Join(dir, "cold"), Append: e.Append})
	if err := e.Attach(ctx, d2); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, d2, query); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("loaded from the blob store: %v, want %v", got, want)
	}
	if err := d2.Forget([]string{blobSHA(q)}); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, d2, "SELECT count(*) FROM llm_payloads"); got[0][0] != "2" {
		t.Errorf("after Forget: %v", got)
	}
}

func blobSHA(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
