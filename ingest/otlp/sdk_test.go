package otlp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tael/tael/schema"
)

// The tests in this file drive the receiver with the OpenTelemetry Go SDK's
// own OTLP exporters, over gRPC (gzip-compressed) and HTTP (protobuf,
// gzip-compressed), and read the rows back through the engine.

var transports = []string{"grpc", "http"}

// sdkResource is the resource every SDK test sends.
func sdkResource() *resource.Resource {
	return resource.NewSchemaless(
		attribute.String("service.name", "checkout"),
		attribute.String("service.instance.id", "i-1"),
		attribute.String("deployment.environment.name", "test"),
	)
}

var sdkResourceAttrs = map[string]string{
	"service.name": "checkout", "service.instance.id": "i-1", "deployment.environment.name": "test",
}

// t0 of the SDK tests: spans and logs carry explicit times.
var sdkT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// failingSpanExporter fails the test when an export fails: the SDK's span
// processors only hand export errors to the global error handler.
type failingSpanExporter struct {
	sdktrace.SpanExporter
	t testing.TB
}

func (e failingSpanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.t.Errorf("export %d spans: %v", len(spans), err)
	}
	return err
}

func traceExporter(t testing.TB, s *testServer, transport string) sdktrace.SpanExporter {
	t.Helper()
	ctx := context.Background()
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch transport {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.grpcAddr), otlptracegrpc.WithInsecure(),
			otlptracegrpc.WithCompressor("gzip"))
	case "http":
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.httpAddr), otlptracehttp.WithInsecure(),
			otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	}
	if err != nil {
		t.Fatal(err)
	}
	return failingSpanExporter{exp, t}
}

// LLM span content (GenAI semantic conventions, messages as JSON
// attributes), with non-English text.
const (
	llmPrompt     = "Wie spät ist es in Zürich? Antworte kurz."
	llmCompletion = "Es ist 12 Uhr mittags in Zürich."
)

// sentSpans are the spans emitSpans sent, by operation.
type sentSpans struct {
	traceID                   string
	root, db, llm             string // span ids
	linkTraceID, linkSpanID   string
	llmTokensIn, llmTokensOut int64
}

// emitSpans sends one trace of three spans through tp: a server span with
// an event, a client span with a link and an error status, and a GenAI chat
// span with prompt and completion.
func emitSpans(t *testing.T, tp *sdktrace.TracerProvider) sentSpans {
	t.Helper()
	tr := tp.Tracer("tael/test")
	ctx := context.Background()
	link := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xab, 15: 0x01}, SpanID: trace.SpanID{0xcd, 7: 0x02}, TraceFlags: trace.FlagsSampled,
	})

	ctx, root := tr.Start(ctx, "POST /checkout", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(sdkT0),
		trace.WithAttributes(attribute.String("http.request.method", "POST"), attribute.Int("http.response.status_code", 201)))
	root.AddEvent("cart loaded", trace.WithTimestamp(sdkT0.Add(time.Millisecond)), trace.WithAttributes(attribute.Int("items", 3)))

	_, db := tr.Start(ctx, "SELECT orders", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(sdkT0.Add(2*time.Millisecond)),
		trace.WithAttributes(attribute.String("db.system.name", "postgresql"), attribute.Bool("db.cached", false),
			attribute.Float64("db.sample", 0.25), attribute.StringSlice("db.tables", []string{"orders", "users"})),
		trace.WithLinks(trace.Link{SpanContext: link, Attributes: []attribute.KeyValue{attribute.String("link.kind", "retry")}}))
	db.SetStatus(codes.Error, "deadlock detected")
	db.End(trace.WithTimestamp(sdkT0.Add(12500 * time.Microsecond)))

	in, _ := json.Marshal([]any{map[string]any{"role": "user", "parts": []any{map[string]any{"type": "text", "content": llmPrompt}}}})
	out, _ := json.Marshal([]any{map[string]any{"role": "assistant", "finish_reason": "stop",
		"parts": []any{map[string]any{"type": "text", "content": llmCompletion}}}})
	_, llm := tr.Start(ctx, "chat gpt-4o", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(sdkT0.Add(13*time.Millisecond)),
		trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "openai"),
			attribute.String("gen_ai.request.model", "gpt-4o"),
			attribute.String("gen_ai.response.model", "gpt-4o-2024-08-06"),
			attribute.Int64("gen_ai.usage.input_tokens", 420),
			attribute.Int64("gen_ai.usage.output_tokens", 96),
			attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}),
			attribute.String("gen_ai.conversation.id", "conv-7"),
			attribute.String("gen_ai.input.messages", string(in)),
			attribute.String("gen_ai.output.messages", string(out)),
		))
	llm.End(trace.WithTimestamp(sdkT0.Add(40 * time.Millisecond)))

	root.SetStatus(codes.Ok, "")
	root.End(trace.WithTimestamp(sdkT0.Add(50 * time.Millisecond)))
	return sentSpans{
		traceID: root.SpanContext().TraceID().String(),
		root:    root.SpanContext().SpanID().String(), db: db.SpanContext().SpanID().String(),
		llm:         llm.SpanContext().SpanID().String(),
		linkTraceID: link.TraceID().String(), linkSpanID: link.SpanID().String(),
		llmTokensIn: 420, llmTokensOut: 96,
	}
}

// checkSpans checks the stored trace against what emitSpans sent.
// withContent says whether the receiver captured LLM content.
func checkSpans(t *testing.T, s *testServer, sent sentSpans, withContent bool) []map[string]any {
	t.Helper()
	got := s.trace(t, sent.traceID)
	if len(got) != 3 {
		t.Fatalf("trace %s has %d spans, want 3: %v", sent.traceID, len(got), got)
	}
	if n := len(s.scan(t, schema.Spans)); n != 3 {
		t.Errorf("spans table has %d rows, want 3", n)
	}
	common := map[string]any{
		"trace_id": sent.traceID, "service": "checkout", "resource": sdkResourceAttrs, "scope_name": "tael/test",
		"trace_state": nil,
	}
	for _, r := range got {
		checkRow(t, r["operation"].(string), r, common)
	}
	root, db, llm := got[0], got[1], got[2]
	checkRow(t, "root", root, map[string]any{
		"span_id": sent.root, "parent_span_id": nil, "operation": "POST /checkout", "kind": "server",
		"start_time": sdkT0, "end_time": sdkT0.Add(50 * time.Millisecond), "duration_ms": 50.0,
		"status": "ok", "status_message": nil,
		"attributes": map[string]string{"http.request.method": "POST", "http.response.status_code": "201"},
		"links":      nil, "llm_provider": nil, "llm_model": nil, "input_tokens": nil, "prompt_sha256": nil,
	})
	events, _ := root["events"].([]any)
	if len(events) != 1 {
		t.Fatalf("root events = %v, want 1", root["events"])
	}
	checkRow(t, "root event", events[0].(map[string]any), map[string]any{
		"name": "cart loaded", "time": sdkT0.Add(time.Millisecond), "attributes": map[string]string{"items": "3"},
	})
	checkRow(t, "db", db, map[string]any{
		"span_id": sent.db, "parent_span_id": sent.root, "operation": "SELECT orders", "kind": "client",
		"start_time": sdkT0.Add(2 * time.Millisecond), "duration_ms": 10.5,
		"status": "error", "status_message": "deadlock detected", "events": nil,
		"attributes": map[string]string{
			"db.system.name": "postgresql", "db.cached": "false", "db.sample": "0.25", "db.tables": `["orders","users"]`,
		},
		"llm_provider": nil,
	})
	links, _ := db["links"].([]any)
	if len(links) != 1 {
		t.Fatalf("db links = %v, want 1", db["links"])
	}
	checkRow(t, "db link", links[0].(map[string]any), map[string]any{
		"trace_id": sent.linkTraceID, "span_id": sent.linkSpanID, "attributes": map[string]string{"link.kind": "retry"},
	})
	want := map[string]any{
		"span_id": sent.llm, "parent_span_id": sent.root, "operation": "chat gpt-4o", "kind": "client",
		"duration_ms": 27.0, "status": "unset", "events": nil,
		// The content attributes are gone; the others stay.
		"attributes": map[string]string{
			"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
			"gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": "420",
			"gen_ai.usage.output_tokens": "96", "gen_ai.response.finish_reasons": `["stop"]`,
			"gen_ai.conversation.id": "conv-7",
		},
		"llm_provider": "openai", "llm_model": "gpt-4o-2024-08-06", "llm_operation": "chat",
		"input_tokens": sent.llmTokensIn, "output_tokens": sent.llmTokensOut, "total_tokens": sent.llmTokensIn + sent.llmTokensOut,
		"cost_usd": nil, "ttft_ms": nil, "finish_reason": "stop", "conversation_id": "conv-7",
	}
	if !withContent {
		want["prompt_sha256"], want["completion_sha256"] = nil, nil
	}
	checkRow(t, "llm", llm, want)
	// No stored column of any span holds the content.
	stored, _ := json.Marshal(got)
	for _, text := range []string{"Wie spät", "12 Uhr mittags"} {
		if strings.Contains(string(stored), text) {
			t.Errorf("LLM content %q is stored in the spans table", text)
		}
	}
	return got
}

// TestSDKTraces sends a trace with the SDK's OTLP trace exporters and reads
// it back exactly. Content capture is off here (no blob store needed);
// TestSDKLLMPayloads covers it on.
func TestSDKTraces(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			s := startServer(t, serverConfig{})
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(traceExporter(t, s, transport)), sdktrace.WithResource(sdkResource()))
			sent := emitSpans(t, tp)
			if err := tp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			checkSpans(t, s, sent, false)
			checkCounter(t, s, "tael_otlp_items_total", map[string]string{"signal": "traces"}, 3)
			checkCounter(t, s, "tael_otlp_requests_total", map[string]string{"signal": "traces", "transport": transport, "code": okCode(transport)}, 3)
		})
	}
}

func okCode(transport string) string {
	if transport == "grpc" {
		return "OK"
	}
	return "200"
}

// TestSDKLLMPayloads sends the same trace with content capture on, and a
// log record with a body over 8 KiB: the prompt, completion and long body
// must be in the engine's blob store under the sha256 the rows carry.
func TestSDKLLMPayloads(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			s := startServer(t, serverConfig{opts: ReceiverOptions{Convert: DefaultOptions()}})
			payloadsAppendable(t, s.eng)
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(traceExporter(t, s, transport)), sdktrace.WithResource(sdkResource()))
			sent := emitSpans(t, tp)
			if err := tp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := checkSpans(t, s, sent, true)
			llm := got[2]
			for _, c := range []struct{ col, kind, text string }{
				{"prompt_sha256", KindPrompt, "user: " + llmPrompt},
				{"completion_sha256", KindCompletion, "assistant: " + llmCompletion},
			} {
				sha, _ := llm[c.col].(string)
				if sha != sha256Hex(c.text) {
					t.Errorf("%s = %q, want the sha256 of %q", c.col, sha, c.text)
					continue
				}
				b, err := s.eng.Blob(context.Background(), sha)
				if err != nil {
					t.Fatalf("blob %s: %v", sha, err)
				}
				if b.SHA256 != sha || b.Kind != c.kind || b.Text != c.text {
					t.Errorf("blob %s = %+v, want kind %s text %q", sha, b, c.kind, c.text)
				}
			}

			// A long log body goes to the blob store whole; the row keeps
			// the first 8 KiB.
			body := strings.Repeat("Grüße aus dem Log. ", 600) // about 11.4 KiB
			lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(logExporter(t, s, transport))),
				sdklog.WithResource(sdkResource()))
			var rec otellog.Record
			rec.SetTimestamp(sdkT0)
			rec.SetSeverity(otellog.SeverityInfo)
			rec.SetBody(attribute.StringValue(body))
			lp.Logger("tael/test").Emit(context.Background(), rec)
			if err := lp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			logs := s.scan(t, schema.Logs)
			if len(logs) != 1 {
				t.Fatalf("%d log rows, want 1", len(logs))
			}
			sha := sha256Hex(body)
			checkRow(t, "log", logs[0], map[string]any{"body_sha256": sha, "body": truncateUTF8(body, MaxBodyBytes)})
			b, err := s.eng.Blob(context.Background(), sha)
			if err != nil {
				t.Fatalf("log body blob: %v", err)
			}
			if b.Kind != KindLogBody || b.Text != body {
				t.Errorf("log body blob: kind %s, %d bytes; want %s, %d bytes", b.Kind, len(b.Text), KindLogBody, len(body))
			}
		})
	}
}

// failingLogExporter fails the test when an export fails.
type failingLogExporter struct {
	sdklog.Exporter
	t testing.TB
}

func (e failingLogExporter) Export(ctx context.Context, records []sdklog.Record) error {
	err := e.Exporter.Export(ctx, records)
	if err != nil {
		e.t.Errorf("export %d log records: %v", len(records), err)
	}
	return err
}

func logExporter(t testing.TB, s *testServer, transport string) sdklog.Exporter {
	t.Helper()
	ctx := context.Background()
	var (
		exp sdklog.Exporter
		err error
	)
	switch transport {
	case "grpc":
		exp, err = otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(s.grpcAddr), otlploggrpc.WithInsecure(),
			otlploggrpc.WithCompressor("gzip"))
	case "http":
		exp, err = otlploghttp.New(ctx, otlploghttp.WithEndpoint(s.httpAddr), otlploghttp.WithInsecure(),
			otlploghttp.WithCompression(otlploghttp.GzipCompression))
	}
	if err != nil {
		t.Fatal(err)
	}
	return failingLogExporter{exp, t}
}

// TestSDKLogs sends log records with the SDK's OTLP log exporters and reads
// them back exactly.
func TestSDKLogs(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			s := startServer(t, serverConfig{})
			lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(logExporter(t, s, transport))),
				sdklog.WithResource(sdkResource()))
			logger := lp.Logger("tael/test")
			sc := trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: trace.TraceID{0x4b, 0xf9, 15: 0x36}, SpanID: trace.SpanID{0x00, 0xf0, 7: 0xb7}, TraceFlags: trace.FlagsSampled,
			})
			var rec otellog.Record
			rec.SetTimestamp(sdkT0)
			rec.SetObservedTimestamp(sdkT0.Add(time.Millisecond))
			rec.SetSeverity(otellog.SeverityWarn)
			rec.SetSeverityText("WARNING")
			rec.SetBody(attribute.StringValue("disk almost full"))
			rec.AddAttributes(attribute.String("disk", "/dev/sda"), attribute.Int("used_pct", 93))
			logger.Emit(trace.ContextWithSpanContext(context.Background(), sc), rec)

			var plain otellog.Record
			plain.SetTimestamp(sdkT0.Add(time.Second))
			plain.SetSeverity(otellog.SeverityError2)
			plain.SetBody(attribute.IntValue(42))
			logger.Emit(context.Background(), plain)
			if err := lp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}

			got := s.scan(t, schema.Logs)
			if len(got) != 2 {
				t.Fatalf("%d log rows, want 2: %v", len(got), got)
			}
			if got[0]["body"] != "disk almost full" {
				got[0], got[1] = got[1], got[0]
			}
			checkRow(t, "warn", got[0], map[string]any{
				"timestamp": sdkT0, "observed_timestamp": sdkT0.Add(time.Millisecond),
				"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String(),
				"severity": "warn", "severity_number": int(otellog.SeverityWarn), "severity_text": "WARNING",
				"body": "disk almost full", "body_sha256": nil, "service": "checkout",
				"attributes": map[string]string{"disk": "/dev/sda", "used_pct": "93"}, "resource": sdkResourceAttrs,
			})
			checkRow(t, "error", got[1], map[string]any{
				"timestamp": sdkT0.Add(time.Second), "trace_id": nil, "span_id": nil,
				"severity": "error", "severity_number": int(otellog.SeverityError2), "severity_text": nil,
				"body": "42", "service": "checkout", "attributes": map[string]string{},
			})
			checkCounter(t, s, "tael_otlp_items_total", map[string]string{"signal": "logs"}, 2)
		})
	}
}

func metricExporter(t testing.TB, s *testServer, transport string) sdkmetric.Exporter {
	t.Helper()
	ctx := context.Background()
	var (
		exp sdkmetric.Exporter
		err error
	)
	switch transport {
	case "grpc":
		exp, err = otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(s.grpcAddr), otlpmetricgrpc.WithInsecure(),
			otlpmetricgrpc.WithCompressor("gzip"))
	case "http":
		exp, err = otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpoint(s.httpAddr), otlpmetrichttp.WithInsecure(),
			otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
	}
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

// TestSDKMetrics sends a counter, a histogram and a gauge with the SDK's
// OTLP metric exporters (cumulative temporality, the default) and reads the
// samples back.
func TestSDKMetrics(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			s := startServer(t, serverConfig{})
			ctx := context.Background()
			reader := sdkmetric.NewPeriodicReader(metricExporter(t, s, transport), sdkmetric.WithInterval(time.Hour))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(sdkResource()))
			meter := mp.Meter("tael/test")
			requests, err := meter.Int64Counter("http.server.requests", metric.WithUnit("{request}"))
			if err != nil {
				t.Fatal(err)
			}
			duration, err := meter.Float64Histogram("http.server.request.duration", metric.WithUnit("s"),
				metric.WithExplicitBucketBoundaries(0.1, 0.5, 1))
			if err != nil {
				t.Fatal(err)
			}
			depth, err := meter.Int64Gauge("queue.depth", metric.WithUnit("{item}"))
			if err != nil {
				t.Fatal(err)
			}
			route := metric.WithAttributes(attribute.String("http.route", "/checkout"))
			requests.Add(ctx, 3, route)
			sum := 0.0
			for _, v := range []float64{0.05, 0.3, 2} {
				duration.Record(ctx, v, route)
				sum += v
			}
			depth.Record(ctx, 7)
			// Shutdown collects and exports once more, returning the
			// export's error.
			if err := mp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}

			got := map[string]map[string]any{} // by name and le
			for _, r := range s.scan(t, schema.Metrics) {
				key := r["name"].(string)
				if le, ok := kvs(r["labels"])["le"]; ok {
					key += "{le=" + le + "}"
				}
				if _, dup := got[key]; dup {
					t.Errorf("sample %s twice", key)
				}
				got[key] = r
			}
			job := map[string]string{"job": "checkout", "instance": "i-1"}
			withRoute := map[string]string{"job": "checkout", "instance": "i-1", "http_route": "/checkout"}
			withLE := func(le string) map[string]string {
				return map[string]string{"job": "checkout", "instance": "i-1", "http_route": "/checkout", "le": le}
			}
			want := map[string]map[string]any{
				"http_server_requests_total":                           {"value": 3, "metric_type": "counter", "labels": withRoute},
				"http_server_request_duration_seconds_bucket{le=0.1}":  {"value": 1, "metric_type": "histogram", "labels": withLE("0.1")},
				"http_server_request_duration_seconds_bucket{le=0.5}":  {"value": 2, "metric_type": "histogram", "labels": withLE("0.5")},
				"http_server_request_duration_seconds_bucket{le=1}":    {"value": 2, "metric_type": "histogram", "labels": withLE("1")},
				"http_server_request_duration_seconds_bucket{le=+Inf}": {"value": 3, "metric_type": "histogram", "labels": withLE("+Inf")},
				"http_server_request_duration_seconds_sum":             {"value": sum, "metric_type": "histogram", "labels": withRoute},
				"http_server_request_duration_seconds_count":           {"value": 3, "metric_type": "histogram", "labels": withRoute},
				"queue_depth": {"value": 7, "metric_type": "gauge", "labels": job},
			}
			if len(got) != len(want) {
				t.Errorf("%d samples, want %d: %v", len(got), len(want), keys(got))
			}
			for name, w := range want {
				r, ok := got[name]
				if !ok {
					t.Errorf("no sample %s (have %v)", name, keys(got))
					continue
				}
				w["service"] = "checkout"
				checkRow(t, name, r, w)
			}
			// Three OTLP data points: the counter's, the histogram's, the
			// gauge's.
			checkCounter(t, s, "tael_otlp_items_total", map[string]string{"signal": "metrics"}, 3)
		})
	}
}

// TestSDKExponentialHistogram sends a histogram that a view aggregates as a
// base-2 exponential histogram, with the SDK's OTLP metric exporters, and
// reads back its classic buckets. With MaxScale 1 (base √2) and room for 8
// buckets, the SDK keeps scale 1: 0 goes to the zero bucket, 1, 2 and 4 to
// buckets -1, 1 and 3, which end at 1, 2 and 4; buckets 0 and 2 (ending at
// √2 and 2√2) are empty.
func TestSDKExponentialHistogram(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			s := startServer(t, serverConfig{})
			ctx := context.Background()
			reader := sdkmetric.NewPeriodicReader(metricExporter(t, s, transport), sdkmetric.WithInterval(time.Hour))
			view := sdkmetric.NewView(sdkmetric.Instrument{Name: "rpc.server.duration"},
				sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 8, MaxScale: 1}})
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(sdkResource()),
				sdkmetric.WithView(view))
			duration, err := mp.Meter("tael/test").Float64Histogram("rpc.server.duration", metric.WithUnit("s"))
			if err != nil {
				t.Fatal(err)
			}
			method := metric.WithAttributes(attribute.String("rpc.method", "Get"))
			for _, v := range []float64{0, 1, 2, 4} {
				duration.Record(ctx, v, method)
			}
			if err := mp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}

			got := map[string]map[string]any{} // by name and le
			for _, r := range s.scan(t, schema.Metrics) {
				key := r["name"].(string)
				if le, ok := kvs(r["labels"])["le"]; ok {
					key += "{le=" + le + "}"
				}
				if _, dup := got[key]; dup {
					t.Errorf("sample %s twice", key)
				}
				got[key] = r
			}
			labels := map[string]string{"job": "checkout", "instance": "i-1", "rpc_method": "Get"}
			withLE := func(le string) map[string]string {
				return map[string]string{"job": "checkout", "instance": "i-1", "rpc_method": "Get", "le": le}
			}
			want := map[string]map[string]any{
				"rpc_server_duration_seconds_sum":   {"value": 7, "labels": labels},
				"rpc_server_duration_seconds_count": {"value": 4, "labels": labels},
			}
			for _, b := range []struct {
				le string
				n  int
			}{{"0", 1}, {"1", 2}, {"1.414213562373095", 2}, {"2", 3}, {"2.82842712474619", 3}, {"4", 4}, {"+Inf", 4}} {
				want["rpc_server_duration_seconds_bucket{le="+b.le+"}"] = map[string]any{"value": b.n, "labels": withLE(b.le)}
			}
			if len(got) != len(want) {
				t.Errorf("%d samples, want %d: %v", len(got), len(want), keys(got))
			}
			for name, w := range want {
				r, ok := got[name]
				if !ok {
					t.Errorf("no sample %s (have %v)", name, keys(got))
					continue
				}
				w["service"], w["metric_type"], w["unit"] = "checkout", "histogram", "seconds"
				checkRow(t, name, r, w)
			}
			checkCounter(t, s, "tael_otlp_items_total", map[string]string{"signal": "metrics"}, 1)
		})
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
