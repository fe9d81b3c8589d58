package rest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tael/tael/analytics"
	"github.com/tael/tael/engine"
	"github.com/tael/tael/ingest/otlp"
	"github.com/tael/tael/sql/duck"
)

// The telemetry every test feeds: two traces, logs (one tied to trace A)
// and a gauge.
const (
	traceA  = "0af7651916cd43dd8448eb211c80319c" // checkout: 3 spans, one error, one LLM call
	traceB  = "4bf92f3577b34da6a3ce929d0e0e4736" // search: 1 span
	spanA1  = "b7ad6b7169203331"
	spanA2  = "00f067aa0ba902b7"
	spanA3  = "53995c3f42cd8ad8"
	spanB1  = "1d2e3f4a5b6c7d8e"
	absent  = "ffffffffffffffffffffffffffffffff"
	prompt  = "Wie spät ist es in Zürich?"
	errBody = "payment declined for order 42"
)

// env is a real engine, DuckDB and analytics.Service behind the REST API on
// an httptest server, with a catch-all /api/v1/ standing in for the
// Prometheus API.
type env struct {
	eng  *engine.Engine
	db   *duck.DB
	svc  *analytics.Service
	api  *API
	srv  *httptest.Server
	recv http.Handler
	logs *syncBuffer
}

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newEnv opens an empty environment, closed (and its Arrow memory checked)
// when t ends.
func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	dir := t.TempDir()
	eng, err := engine.Open(ctx, dir, engine.Options{Allocator: mem, CompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	db, err := duck.Open(duck.Options{
		Allocator:   mem,
		Threads:     2,
		MemoryLimit: "1GB",
		ColdDir:     filepath.Join(dir, "cold"),
		Append:      eng.Append,
	})
	if err != nil {
		eng.Close()
		t.Fatal(err)
	}
	if err := eng.Attach(ctx, db); err != nil {
		t.Fatal(err)
	}
	e := &env{eng: eng, db: db, logs: &syncBuffer{}}
	e.svc = analytics.New(eng, db, analytics.Options{})
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	}
	e.api = New(e.svc, o)
	mux := http.NewServeMux()
	e.api.Register(mux)
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	e.srv = httptest.NewServer(mux)
	conv := otlp.DefaultOptions()
	conv.Allocator = mem
	e.recv = otlp.NewReceiver(eng, otlp.ReceiverOptions{Convert: conv}).HTTPHandler()
	t.Cleanup(func() {
		e.api.Close()
		e.srv.Close()
		if err := eng.Close(); err != nil {
			t.Error(err)
		}
		if err := db.Close(); err != nil {
			t.Error(err)
		}
		mem.AssertSize(t, 0)
	})
	return e
}

// post sends an OTLP/HTTP protobuf request to the receiver flightd runs.
func (e *env) post(t *testing.T, path string, body []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-protobuf")
	rec := httptest.NewRecorder()
	e.recv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("OTLP %s: %d %s", path, rec.Code, rec.Body)
	}
}

func mustID16(s string) pcommon.TraceID {
	var id pcommon.TraceID
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		panic(err)
	}
	return id
}

func mustID8(s string) pcommon.SpanID {
	var id pcommon.SpanID
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		panic(err)
	}
	return id
}

// span is one span to feed.
type span struct {
	trace, id, parent, service, op string
	start                          time.Time
	dur                            time.Duration
	err                            bool
	attrs                          map[string]any
}

// sendSpans feeds spans through OTLP.
func (e *env) sendSpans(t *testing.T, spans ...span) {
	t.Helper()
	td := ptrace.NewTraces()
	for _, s := range spans {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s.service)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("rest-test")
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(mustID16(s.trace))
		sp.SetSpanID(mustID8(s.id))
		if s.parent != "" {
			sp.SetParentSpanID(mustID8(s.parent))
		}
		sp.SetName(s.op)
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(s.start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(s.start.Add(s.dur)))
		if s.err {
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage("boom")
		} else {
			sp.Status().SetCode(ptrace.StatusCodeOk)
		}
		if err := sp.Attributes().FromRaw(s.attrs); err != nil {
			t.Fatal(err)
		}
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	e.post(t, "/v1/traces", b)
}

// logRec is one log record to feed.
type logRec struct {
	service, severity, body, trace, span string
	at                                   time.Time
}

var severityNumbers = map[string]plog.SeverityNumber{
	"debug": plog.SeverityNumberDebug, "info": plog.SeverityNumberInfo,
	"warn": plog.SeverityNumberWarn, "error": plog.SeverityNumberError,
}

func (e *env) sendLogs(t *testing.T, recs ...logRec) {
	t.Helper()
	ld := plog.NewLogs()
	for _, l := range recs {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", l.service)
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(l.at))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(l.at))
		lr.SetSeverityNumber(severityNumbers[l.severity])
		lr.SetSeverityText(strings.ToUpper(l.severity))
		lr.Body().SetStr(l.body)
		if l.trace != "" {
			lr.SetTraceID(mustID16(l.trace))
			lr.SetSpanID(mustID8(l.span))
		}
	}
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	e.post(t, "/v1/logs", b)
}

func (e *env) sendGauge(t *testing.T, service, name string, at time.Time, vals ...float64) {
	t.Helper()
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", service)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	g := m.SetEmptyGauge()
	for i, v := range vals {
		dp := g.DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(at.Add(time.Duration(i) * 15 * time.Second)))
		dp.SetDoubleValue(v)
		dp.Attributes().PutStr("queue", "orders")
	}
	b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	e.post(t, "/v1/metrics", b)
}

// feed stores the standard data set, starting a few minutes ago.
func (e *env) feed(t *testing.T) {
	t.Helper()
	t0 := time.Now().Add(-5 * time.Minute).Truncate(time.Millisecond)
	e.sendSpans(t,
		span{trace: traceA, id: spanA1, service: "checkout", op: "POST /checkout", start: t0, dur: 900 * time.Millisecond,
			attrs: map[string]any{"http.method": "POST", "customer": "ana"}},
		span{trace: traceA, id: spanA2, parent: spanA1, service: "checkout", op: "SELECT orders", start: t0.Add(10 * time.Millisecond), dur: 120 * time.Millisecond, err: true,
			attrs: map[string]any{"db.system": "postgresql"}},
		span{trace: traceA, id: spanA3, parent: spanA1, service: "checkout", op: "chat gpt-4o", start: t0.Add(200 * time.Millisecond), dur: 600 * time.Millisecond,
			attrs: map[string]any{
				"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
				"gen_ai.usage.input_tokens": int64(12), "gen_ai.usage.output_tokens": int64(30),
				"gen_ai.prompt": prompt, "gen_ai.completion": "Es ist zwölf Uhr.",
			}},
		span{trace: traceB, id: spanB1, service: "search", op: "GET /search", start: t0.Add(time.Minute), dur: 40 * time.Millisecond,
			attrs: map[string]any{"http.method": "GET"}},
	)
	e.sendLogs(t,
		logRec{service: "checkout", severity: "error", body: errBody, trace: traceA, span: spanA2, at: t0.Add(50 * time.Millisecond)},
		logRec{service: "search", severity: "info", body: "query took 40ms", at: t0.Add(time.Minute)},
	)
	e.sendGauge(t, "checkout", "queue_depth", t0, 3, 5, 4)
}

// call makes a request and returns its status, Content-Type and body.
func (e *env) call(t *testing.T, method, path, body string) (int, string, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// getJSON GETs path, wants 200 and JSON, and decodes the answer into v.
func (e *env) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	code, ct, b := e.call(t, http.MethodGet, path, "")
	if code != http.StatusOK || ct != "application/json" {
		t.Fatalf("GET %s = %d %s: %s", path, code, ct, b)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("GET %s: decode %s: %v", path, b, err)
	}
}
