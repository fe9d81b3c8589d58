package analytics

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/internal/tablefunc"
	"github.com/tael/tael/schema"
	"github.com/tael/tael/sql/duck"
)

// env is an engine with a DuckDB mirror and a Service over both, on a
// fixed clock, everything allocated from one checked allocator.
type env struct {
	e   *engine.Engine
	db  *duck.DB
	s   *Service
	mem *memory.CheckedAllocator
	now time.Time
}

// newEnv opens an env whose clock reads now. It is closed, and its memory
// checked, when tb ends.
func newEnv(tb testing.TB, now time.Time) *env {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	clock := func() time.Time { return now }
	e, err := engine.Open(ctx, dir, engine.Options{Allocator: mem, Clock: clock, CompactInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	v := &env{e: e, mem: mem, now: now}
	// The service's table functions run SQL through the DB they are
	// registered with: bind the querier late.
	v.s = New(e, QueryFunc(func(ctx context.Context, q string, p []any) (array.RecordReader, error) {
		return v.db.Query(ctx, q, p)
	}), Options{Clock: clock, Allocator: mem})
	open := func(fns []tablefunc.Func) (*duck.DB, error) {
		return duck.Open(duck.Options{
			Allocator: mem, Clock: clock, Threads: 2, MemoryLimit: "1GB",
			ColdDir: filepath.Join(dir, "cold"), Append: e.Append, Functions: fns,
		})
	}
	v.db, err = open(v.s.Functions())
	if err != nil {
		e.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Error(err)
		}
		if err := v.db.Close(); err != nil {
			tb.Error(err)
		}
		mem.AssertSize(tb, 0)
	})
	if err := e.Attach(ctx, v.db); err != nil {
		tb.Fatal(err)
	}
	return v
}

// append stores rec (and releases it).
func (v *env) append(tb testing.TB, table schema.ID, rec arrow.RecordBatch) {
	tb.Helper()
	defer rec.Release()
	if rec.NumRows() == 0 {
		return
	}
	if _, err := v.e.Append(context.Background(), table, rec); err != nil {
		tb.Fatal(err)
	}
}

// load stores the rows of d.
func (v *env) load(tb testing.TB, d dataset) {
	tb.Helper()
	v.append(tb, schema.Spans, synth.SpanRows(v.mem, d.spans))
	v.append(tb, schema.Logs, synth.LogRows(v.mem, d.logs))
	v.append(tb, schema.Metrics, synth.MetricRows(v.mem, d.metrics))
	v.append(tb, schema.TraceComments, synth.CommentRows(v.mem, d.comments))
	v.append(tb, schema.LLMPayloads, synth.PayloadRows(v.mem, d.payloads))
}

// compact moves every hot row to the cold tier.
func (v *env) compact(tb testing.TB) {
	tb.Helper()
	if _, err := v.e.Compact(context.Background(), engine.CompactOptions{All: true}); err != nil {
		tb.Fatal(err)
	}
}

// dataset is rows of each table.
type dataset struct {
	spans    []synth.SpanRow
	logs     []synth.LogRow
	metrics  []synth.MetricRow
	comments []synth.CommentRow
	payloads []synth.PayloadRow
}

// halves splits d into the first and second half of each table's rows.
func (d dataset) halves() (dataset, dataset) {
	h := func(n int) int { return n / 2 }
	return dataset{
			spans: d.spans[:h(len(d.spans))], logs: d.logs[:h(len(d.logs))], metrics: d.metrics[:h(len(d.metrics))],
			comments: d.comments[:h(len(d.comments))], payloads: d.payloads[:h(len(d.payloads))],
		}, dataset{
			spans: d.spans[h(len(d.spans)):], logs: d.logs[h(len(d.logs)):], metrics: d.metrics[h(len(d.metrics)):],
			comments: d.comments[h(len(d.comments)):], payloads: d.payloads[h(len(d.payloads)):],
		}
}

// fixNow is the clock of the fixed data set.
var fixNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// tid and sid are the fixed data set's trace and span ids.
func tid(n int) string              { return fmt.Sprintf("%032x", 0xa0000+n) }
func sid(n, k int) string           { return fmt.Sprintf("%016x", 0xb000+100*n+k) }
func ago(d time.Duration) time.Time { return fixNow.Add(-d) }
func ms(n float64) time.Duration    { return time.Duration(n * float64(time.Millisecond)) }
func usd(v float64) *float64        { return &v }

const (
	refundPrompt     = "What is the refund policy for damaged parcels?"
	refundCompletion = "Damaged parcels can be refunded within 30 days of delivery."
	weatherPrompt    = "Summarise the weather forecast for Lisbon."
	weatherAnswer    = "Sunny, 24 degrees, light wind from the north."
)

// fixture is the data set the golden tests run on: five services, ten
// traces (one older than a day, one older than the hour, one straddling the
// hour's start, one without a root), LLM calls of three models, errors, logs
// of every severity, metric points and comments.
func fixture() dataset {
	var d dataset
	span := func(n, k, parent int, svc, op string, start time.Time, dur time.Duration, status string, attrs map[string]string) *synth.SpanRow {
		r := synth.SpanRow{
			TraceID: tid(n), SpanID: sid(n, k), Service: svc, Operation: op, Kind: "server",
			Start: start, Duration: dur, Status: status, Attributes: attrs,
		}
		if parent >= 0 {
			r.ParentSpanID = sid(n, parent)
		}
		if status == "error" {
			r.StatusMessage = "failed"
		}
		d.spans = append(d.spans, r)
		return &d.spans[len(d.spans)-1]
	}
	route := func(r string) map[string]string { return map[string]string{"http.route": r, "http.method": "GET"} }
	// T1: a healthy checkout.
	span(1, 0, -1, "frontend", "GET /checkout", ago(50*time.Minute), ms(200), "ok", route("/checkout"))
	span(1, 1, 0, "checkout", "POST /orders", ago(50*time.Minute).Add(ms(10)), ms(150), "ok", route("/orders"))
	span(1, 2, 1, "payments", "charge", ago(50*time.Minute).Add(ms(20)), ms(80), "ok", map[string]string{"card": "visa"})
	// T2: a failed, slow checkout.
	span(2, 0, -1, "frontend", "GET /checkout", ago(40*time.Minute), ms(1200), "ok", route("/checkout"))
	span(2, 1, 0, "checkout", "POST /orders", ago(40*time.Minute).Add(ms(20)), ms(1100), "error", route("/orders"))
	span(2, 2, 1, "payments", "charge", ago(40*time.Minute).Add(ms(50)), ms(1000), "error", map[string]string{"card": "amex"})
	// T3: a search.
	span(3, 0, -1, "frontend", "GET /search", ago(30*time.Minute), ms(60), "ok", route("/search"))
	span(3, 1, 0, "inventory", "query stock", ago(30*time.Minute).Add(ms(5)), ms(40), "unset", nil)
	// T4: an assistant answer from gpt-4o.
	span(4, 0, -1, "frontend", "POST /assistant", ago(20*time.Minute), ms(1500), "ok", route("/assistant"))
	l := span(4, 1, 0, "llm-gateway", "chat gpt-4o", ago(20*time.Minute).Add(ms(50)), ms(1400), "ok", nil)
	l.LLMProvider, l.LLMModel, l.InputTokens, l.OutputTokens, l.CostUSD = "openai", "gpt-4o", 1200, 300, usd(0.006)
	l.PromptSHA256, l.CompletionSHA256 = synth.PayloadSHA256(refundPrompt), synth.PayloadSHA256(refundCompletion)
	// T5: claude answers, then gpt-4o-mini is rate limited.
	span(5, 0, -1, "frontend", "POST /assistant", ago(10*time.Minute), ms(900), "ok", route("/assistant"))
	l = span(5, 1, 0, "llm-gateway", "chat claude-sonnet-4", ago(10*time.Minute).Add(ms(10)), ms(600), "ok", nil)
	l.LLMProvider, l.LLMModel, l.InputTokens, l.OutputTokens, l.CostUSD = "anthropic", "claude-sonnet-4", 800, 100, usd(0.0039)
	l.PromptSHA256, l.CompletionSHA256 = synth.PayloadSHA256(weatherPrompt), synth.PayloadSHA256(weatherAnswer)
	l = span(5, 2, 0, "llm-gateway", "chat gpt-4o-mini", ago(10*time.Minute).Add(ms(620)), ms(250), "error", nil)
	l.LLMProvider, l.LLMModel, l.InputTokens, l.OutputTokens, l.CostUSD = "openai", "gpt-4o-mini", 300, 0, usd(0.0001)
	// T6: no root span (its parent was never received).
	span(6, 0, 99, "checkout", "POST /orders", ago(5*time.Minute), ms(300), "ok", route("/orders"))
	span(6, 1, 0, "payments", "refund", ago(5*time.Minute).Add(ms(100)), ms(100), "error", map[string]string{"card": "visa"})
	// T7: one span, status unset.
	span(7, 0, -1, "inventory", "query stock", ago(2*time.Minute), ms(30), "unset", nil)
	// T8: three hours ago.
	span(8, 0, -1, "frontend", "GET /checkout", ago(3*time.Hour), ms(250), "ok", route("/checkout"))
	span(8, 1, 0, "checkout", "POST /orders", ago(3*time.Hour).Add(ms(10)), ms(200), "ok", route("/orders"))
	// T9: thirty hours ago.
	span(9, 0, -1, "frontend", "GET /", ago(30*time.Hour), ms(20), "ok", route("/"))
	// T10: the root began before the hour, its child within it.
	span(10, 0, -1, "frontend", "GET /slow", ago(61*time.Minute), 2*time.Minute, "ok", route("/slow"))
	span(10, 1, 0, "checkout", "POST /orders", ago(59*time.Minute), ms(100), "ok", route("/orders"))

	log := func(at time.Time, trace, span int, sev, svc, body string) {
		r := synth.LogRow{Time: at, Severity: sev, Service: svc, Body: body, Attributes: map[string]string{"logger": svc}}
		if trace > 0 {
			r.TraceID, r.SpanID = tid(trace), sid(trace, span)
		}
		d.logs = append(d.logs, r)
	}
	log(ago(50*time.Minute).Add(ms(100)), 1, 1, "info", "checkout", "order 1001 created")
	log(ago(50*time.Minute).Add(ms(5)), 1, 0, "debug", "frontend", "cache miss for /checkout")
	log(ago(40*time.Minute).Add(ms(900)), 2, 2, "error", "payments", "Payment failed: card declined")
	log(ago(40*time.Minute).Add(ms(60)), 2, 2, "trace", "payments", "entering charge()")
	log(ago(40*time.Minute).Add(ms(500)), 2, 1, "warn", "checkout", "retrying payment")
	log(ago(40*time.Minute).Add(ms(1150)), 2, 1, "fatal", "checkout", "order worker crashed")
	log(ago(20*time.Minute).Add(ms(1500)), 4, 1, "info", "llm-gateway", "assistant answered")
	log(ago(10*time.Minute).Add(ms(870)), 5, 2, "warn", "llm-gateway", "rate limited by openai")
	log(ago(25*time.Minute), 0, 0, "warn", "inventory", "disk 85% full")
	log(ago(15*time.Minute), 0, 0, "info", "frontend", "heartbeat")
	log(ago(2*time.Hour), 0, 0, "error", "checkout", "database unreachable")

	metric := func(at time.Time, name, typ, svc string, v float64, labels map[string]string) {
		labels["job"] = svc
		d.metrics = append(d.metrics, synth.MetricRow{Time: at, Name: name, Labels: labels, Service: svc, Value: v, MetricType: typ})
	}
	for i, at := range []time.Duration{55 * time.Minute, 40 * time.Minute, 25 * time.Minute, 10 * time.Minute} {
		t := ago(at).Add(10 * time.Second)
		metric(t, "http_requests_total", "counter", "frontend", float64(100*(i+1)), map[string]string{"route": "/checkout"})
		metric(t, "http_requests_total", "counter", "checkout", float64(40*(i+1)), map[string]string{"route": "/orders"})
		metric(t, "queue_depth", "gauge", "payments", float64(3+i), map[string]string{"queue": "charges"})
		metric(t, "llm_tokens_total", "counter", "llm-gateway", float64(1000*(i+1)), map[string]string{"model": "gpt-4o"})
	}
	metric(ago(3*time.Hour), "queue_depth", "gauge", "payments", 1, map[string]string{"queue": "charges"})

	d.comments = []synth.CommentRow{
		{ID: "c1", TraceID: tid(2), SpanID: sid(2, 2), Author: "ana", Body: "card processor timed out", CreatedAt: ago(35 * time.Minute)},
		{ID: "c2", TraceID: tid(4), Author: "bob", Body: "good answer", CreatedAt: ago(15 * time.Minute)},
		{ID: "c3", TraceID: tid(2), Author: "bob", Body: "fixed in v1.4.3", CreatedAt: ago(30 * time.Minute)},
	}
	payload := func(kind, text string, trace, span int) {
		d.payloads = append(d.payloads, synth.PayloadRow{SHA256: synth.PayloadSHA256(text), Kind: kind, Text: text, TraceID: tid(trace), SpanID: sid(trace, span)})
	}
	payload("prompt", refundPrompt, 4, 1)
	payload("completion", refundCompletion, 4, 1)
	payload("prompt", weatherPrompt, 5, 1)
	payload("completion", weatherAnswer, 5, 1)
	return d
}
