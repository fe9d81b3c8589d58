package otlp

import (
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// benchRequest builds a request shaped like an instrumented web service's:
// spansPerTrace spans per trace, about 8 attributes each, an exception event
// on 1 span in 10 and a GenAI LLM span (with content) 1 in 20.
func benchRequest(spans int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	res := rs.Resource().Attributes()
	res.PutStr("service.name", "checkout")
	res.PutStr("service.version", "1.4.2")
	res.PutStr("host.name", "host-1")
	res.PutStr("telemetry.sdk.language", "go")
	res.PutStr("telemetry.sdk.name", "opentelemetry")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
	const spansPerTrace = 8
	for i := range spans {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{0: 1, 8: byte(i / spansPerTrace), 9: byte(i / spansPerTrace >> 8)})
		s.SetSpanID(pcommon.SpanID{0: 2, 6: byte(i >> 8), 7: byte(i)})
		if i%spansPerTrace != 0 {
			s.SetParentSpanID(pcommon.SpanID{0: 2, 6: byte((i - 1) >> 8), 7: byte(i - 1)})
		}
		s.SetName("GET /api/v1/users/{id}")
		s.SetKind(ptrace.SpanKindServer)
		start := pcommon.Timestamp(1_760_000_000_000_000_000 + int64(i)*1_000_000)
		s.SetStartTimestamp(start)
		s.SetEndTimestamp(start + 12_345_678)
		a := s.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", "/api/v1/users/{id}")
		a.PutInt("http.response.status_code", 200)
		a.PutStr("url.path", fmt.Sprintf("/api/v1/users/%d", i))
		a.PutStr("server.address", "api.example.com")
		a.PutInt("server.port", 443)
		a.PutStr("network.peer.address", "10.0.0.7")
		a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)")
		s.Status().SetCode(ptrace.StatusCodeOk)
		if i%10 == 0 {
			ev := s.Events().AppendEmpty()
			ev.SetName("exception")
			ev.SetTimestamp(start + 1000)
			ev.Attributes().PutStr("exception.type", "TimeoutError")
			ev.Attributes().PutStr("exception.message", "deadline exceeded")
		}
		if i%20 == 0 {
			a.PutStr("gen_ai.operation.name", "chat")
			a.PutStr("gen_ai.provider.name", "openai")
			a.PutStr("gen_ai.request.model", "gpt-4o")
			a.PutInt("gen_ai.usage.input_tokens", 420)
			a.PutInt("gen_ai.usage.output_tokens", 96)
			a.PutStr("gen_ai.input.messages", fmt.Sprintf(`[{"role":"user","parts":[{"type":"text","content":"Summarise ticket %d for the on-call engineer."}]}]`, i))
			a.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"The ticket reports elevated 5xx rates after the 14:00 deploy."}],"finish_reason":"stop"}]`)
		}
	}
	return td
}

// BenchmarkTraces decodes a 1,000-span OTLP protobuf request and converts it
// into a spans batch, as a receiver does per request.
func BenchmarkTraces(b *testing.B) {
	const spans = 1000
	data, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(benchRequest(spans))
	if err != nil {
		b.Fatal(err)
	}
	o := DefaultOptions()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(data)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Traces(td, o)
		if err != nil {
			b.Fatal(err)
		}
		res.Batch.Release()
	}
	b.ReportMetric(float64(spans*b.N)/b.Elapsed().Seconds(), "spans/s")
}

// benchLogs builds a request shaped like an instrumented service's logs: a
// message body, 5 attributes, trace context on every other record and one
// record in 10 at warn.
func benchLogs(records int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	res := rl.Resource().Attributes()
	res.PutStr("service.name", "checkout")
	res.PutStr("service.version", "1.4.2")
	res.PutStr("host.name", "host-1")
	res.PutStr("telemetry.sdk.language", "go")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("log/slog")
	for i := range records {
		lr := sl.LogRecords().AppendEmpty()
		ts := pcommon.Timestamp(1_760_000_000_000_000_000 + int64(i)*1_000_000)
		lr.SetTimestamp(ts)
		lr.SetObservedTimestamp(ts + 1000)
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		if i%10 == 0 {
			lr.SetSeverityNumber(plog.SeverityNumberWarn)
			lr.SetSeverityText("WARN")
		}
		if i%2 == 0 {
			lr.SetTraceID(pcommon.TraceID{0: 1, 8: byte(i >> 8), 9: byte(i)})
			lr.SetSpanID(pcommon.SpanID{0: 2, 6: byte(i >> 8), 7: byte(i)})
		}
		lr.Body().SetStr(fmt.Sprintf("request completed: GET /api/v1/users/%d in 12.3ms (200 OK)", i))
		a := lr.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("url.path", fmt.Sprintf("/api/v1/users/%d", i))
		a.PutInt("http.response.status_code", 200)
		a.PutDouble("duration_ms", 12.3)
		a.PutStr("logger", "checkout.http")
	}
	return ld
}

// BenchmarkLogs decodes a 1,000-record OTLP protobuf request and converts
// it into a logs batch.
func BenchmarkLogs(b *testing.B) {
	const records = 1000
	data, err := (&plog.ProtoMarshaler{}).MarshalLogs(benchLogs(records))
	if err != nil {
		b.Fatal(err)
	}
	o := DefaultOptions()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(data)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Logs(ld, o)
		if err != nil {
			b.Fatal(err)
		}
		res.Batch.Release()
	}
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
}
