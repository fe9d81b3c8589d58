package otlp

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/ingest"
	"github.com/tael/tael/schema"
)

// oneSpanRequest is a protobuf traces request with one valid span.
func oneSpanRequest(t testing.TB, i int) []byte {
	t.Helper()
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{1, 15: byte(i)})
	sp.SetSpanID(pcommon.SpanID{1, 7: byte(i)})
	sp.SetName(fmt.Sprintf("span %d", i))
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(testNow))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(testNow.Add(time.Millisecond)))
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// slowServer is a receiver whose gate admits one request at a time (one
// byte of budget; a request always fits when nothing else is in flight),
// in front of appends that take 100 ms.
func slowServer(t *testing.T, retryAfter time.Duration) *testServer {
	return startServer(t, serverConfig{
		opts: ReceiverOptions{Limits: ingest.Limits{MaxInflightBytes: 1}, RetryAfter: retryAfter},
		wrap: func(e *engine.Engine) ingest.Appender { return slowAppender{eng: e, delay: 100 * time.Millisecond} },
	})
}

// TestBackpressureHTTP sends concurrent requests to a saturated receiver:
// the refused ones get 429 with Retry-After and a Status with RetryInfo,
// and only the admitted ones are stored.
func TestBackpressureHTTP(t *testing.T) {
	s := slowServer(t, 1500*time.Millisecond)
	const n = 8
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			resp, body := post(t, s.httpURL+"/v1/traces", "application/x-protobuf", "", oneSpanRequest(t, i))
			codes[i] = resp.StatusCode
			if resp.StatusCode != http.StatusTooManyRequests {
				return
			}
			if ra := resp.Header.Get("Retry-After"); ra != "2" {
				t.Errorf("Retry-After %q, want 2 (1.5 s rounded up)", ra)
			}
			st := rpcStatus(t, body, false)
			var ri errdetails.RetryInfo
			if len(st.GetDetails()) != 1 || st.GetDetails()[0].UnmarshalTo(&ri) != nil || ri.GetRetryDelay().AsDuration() != 1500*time.Millisecond {
				t.Errorf("429 Status details %v, want RetryInfo 1.5s", st.GetDetails())
			}
		})
	}
	wg.Wait()
	ok, refused := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Errorf("status %d", c)
		}
	}
	if ok == 0 || refused == 0 {
		t.Errorf("%d accepted, %d refused: want both", ok, refused)
	}
	if got := len(s.scan(t, schema.Spans)); got != ok {
		t.Errorf("%d spans stored, want %d (one per accepted request)", got, ok)
	}
	checkCounter(t, s, "tael_otlp_requests_total", map[string]string{"code": "429"}, float64(refused))
}

// TestBackpressureGRPC does the same over gRPC: RESOURCE_EXHAUSTED with a
// RetryInfo.
func TestBackpressureGRPC(t *testing.T) {
	s := slowServer(t, 50*time.Millisecond)
	cc := dial(t, s.grpcAddr)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			var out rawMessage
			errs[i] = cc.Invoke(context.Background(), traceExport, &rawMessage{b: oneSpanRequest(t, i)}, &out)
		})
	}
	wg.Wait()
	ok, refused := 0, 0
	for _, err := range errs {
		st := status.Convert(err)
		switch st.Code() {
		case codes.OK:
			ok++
		case codes.ResourceExhausted:
			refused++
			var delay time.Duration
			for _, d := range st.Details() {
				if ri, isRI := d.(*errdetails.RetryInfo); isRI {
					delay = ri.GetRetryDelay().AsDuration()
				}
			}
			if delay != 50*time.Millisecond {
				t.Errorf("RESOURCE_EXHAUSTED without RetryInfo 50ms: %v", st.Details())
			}
		default:
			t.Errorf("unexpected %v", err)
		}
	}
	if ok == 0 || refused == 0 {
		t.Errorf("%d accepted, %d refused: want both", ok, refused)
	}
	if got := len(s.scan(t, schema.Spans)); got != ok {
		t.Errorf("%d spans stored, want %d", got, ok)
	}
}

// TestBackpressureSDKRetries runs several SDK exporters with retry enabled
// against the saturated receiver: they are refused, wait as told, retry,
// and every span arrives exactly once.
func TestBackpressureSDKRetries(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			s := slowServer(t, 20*time.Millisecond)
			// HTTP's Retry-After is whole seconds, so fewer spans there.
			exporters, spans := 6, 5
			if transport == "http" {
				exporters, spans = 3, 3
			}
			var wg sync.WaitGroup
			ids := make(chan string, exporters*spans)
			for e := range exporters {
				wg.Go(func() {
					tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(retryingExporter(t, s, transport)))
					tr := tp.Tracer("tael/test")
					for i := range spans {
						_, sp := tr.Start(context.Background(), fmt.Sprintf("exporter %d span %d", e, i), trace.WithTimestamp(sdkT0))
						sp.End(trace.WithTimestamp(sdkT0.Add(time.Millisecond)))
						ids <- sp.SpanContext().SpanID().String()
					}
					if err := tp.Shutdown(context.Background()); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			close(ids)
			want := map[string]bool{}
			for id := range ids {
				want[id] = true
			}
			got := map[string]int{}
			for _, r := range s.scan(t, schema.Spans) {
				got[r["span_id"].(string)]++
			}
			for id := range want {
				if got[id] != 1 {
					t.Errorf("span %s stored %d times, want once", id, got[id])
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d distinct spans stored, want %d", len(got), len(want))
			}
			code := map[string]string{"grpc": "ResourceExhausted", "http": "429"}[transport]
			if refusals := counterValue(t, s, "tael_otlp_requests_total", map[string]string{"code": code}); refusals == 0 {
				t.Errorf("no request was refused: the test did not exercise backpressure")
			} else {
				t.Logf("%d spans delivered after %v refusals", len(got), refusals)
			}
		})
	}
}

func retryingExporter(t testing.TB, s *testServer, transport string) sdktrace.SpanExporter {
	t.Helper()
	ctx := context.Background()
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch transport {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.grpcAddr), otlptracegrpc.WithInsecure(),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: 5 * time.Millisecond,
				MaxInterval: 50 * time.Millisecond, MaxElapsedTime: 30 * time.Second}))
	case "http":
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.httpAddr), otlptracehttp.WithInsecure(),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true, InitialInterval: 5 * time.Millisecond,
				MaxInterval: 50 * time.Millisecond, MaxElapsedTime: 30 * time.Second}))
	}
	if err != nil {
		t.Fatal(err)
	}
	return failingSpanExporter{exp, t}
}

// TestEngineUnavailable closes the engine under a running receiver: HTTP
// answers 503 with Retry-After, gRPC UNAVAILABLE with RetryInfo (both
// retryable), and each refusal is logged once per second at most.
func TestEngineUnavailable(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	s := startServer(t, serverConfig{opts: ReceiverOptions{Logger: logger}})
	if err := s.eng.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		resp, body := post(t, s.httpURL+"/v1/traces", "application/x-protobuf", "", oneSpanRequest(t, i))
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("status %s Retry-After %q, want 503 and 1", resp.Status, resp.Header.Get("Retry-After"))
		}
		if st := rpcStatus(t, body, false); !strings.Contains(st.GetMessage(), "closed") {
			t.Errorf("Status.message %q does not say the engine is closed", st.GetMessage())
		}
	}
	var out rawMessage
	err := dial(t, s.grpcAddr).Invoke(context.Background(), traceExport, &rawMessage{b: oneSpanRequest(t, 9)}, &out)
	st := status.Convert(err)
	if st.Code() != codes.Unavailable || len(st.Details()) != 1 {
		t.Fatalf("gRPC: %v %v, want UNAVAILABLE with RetryInfo", st.Code(), st.Details())
	}
	if _, ok := st.Details()[0].(*errdetails.RetryInfo); !ok {
		t.Errorf("detail %T, want RetryInfo", st.Details()[0])
	}
	mu.Lock()
	defer mu.Unlock()
	// One line per reason per second: the four refusals share one.
	if lines := strings.Count(logs.String(), "OTLP request refused"); lines != 1 || !strings.Contains(logs.String(), "engine unavailable") {
		t.Errorf("%d log lines for 4 refusals within a second, want 1 naming the reason:\n%s", lines, logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestRateLogger checks the one-line-per-second-per-reason limit and the
// suppressed count with a fake clock.
func TestRateLogger(t *testing.T) {
	var buf bytes.Buffer
	now := testNow
	l := newRateLogger(slog.New(slog.NewTextHandler(&buf, nil)), time.Second, func() time.Time { return now })
	for range 100 {
		l.warn("overloaded", "refused")
	}
	l.warn("bad data", "refused")
	now = now.Add(time.Second)
	l.warn("overloaded", "refused")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[2], "suppressed_since_last=99") {
		t.Errorf("last line %q does not count the 99 suppressed", lines[2])
	}
}

func counterValue(t testing.TB, s *testServer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for k, want := range labels {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == want {
						found = true
					}
				}
				if !found {
					continue series
				}
			}
			v += m.GetCounter().GetValue()
		}
	}
	return v
}
