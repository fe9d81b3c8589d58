package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tael/tael/analytics"
)

const restPrompt = "Wie spät ist es in Zürich?"

// fed is what feedOTLP sent.
type fed struct {
	chat, billing string // trace ids
}

// feedOTLP sends two traces (one with an LLM call and an error), two logs
// (one in the failing span) and a gauge with the OpenTelemetry SDK's
// OTLP/gRPC exporters.
func feedOTLP(t *testing.T, grpcAddr string) fed {
	t.Helper()
	ctx := context.Background()
	provider := func(service string) *sdktrace.TracerProvider {
		exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
		if err != nil {
			t.Fatal(err)
		}
		return sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))))
	}
	chat, billing := provider("chatbot"), provider("billing")
	var f fed

	lexp, err := otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(grpcAddr), otlploggrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(lexp)),
		sdklog.WithResource(resource.NewSchemaless(attribute.String("service.name", "chatbot"))))
	logger := lp.Logger("e2e")
	emit := func(ctx context.Context, sev otellog.Severity, body string) {
		var rec otellog.Record
		rec.SetTimestamp(time.Now())
		rec.SetSeverity(sev)
		rec.SetBody(attribute.StringValue(body))
		logger.Emit(ctx, rec)
	}

	tr := chat.Tracer("e2e")
	rctx, root := tr.Start(ctx, "POST /chat")
	root.SetAttributes(attribute.String("http.method", "POST"))
	f.chat = root.SpanContext().TraceID().String()
	_, llm := tr.Start(rctx, "chat gpt-4o")
	llm.SetAttributes(
		attribute.String("gen_ai.provider.name", "openai"),
		attribute.String("gen_ai.request.model", "gpt-4o"),
		attribute.Int("gen_ai.usage.input_tokens", 12),
		attribute.Int("gen_ai.usage.output_tokens", 30),
		attribute.String("gen_ai.prompt", restPrompt),
	)
	time.Sleep(2 * time.Millisecond)
	llm.End()
	dctx, db := tr.Start(rctx, "db query")
	emit(dctx, otellog.SeverityError, "payment declined for order 42")
	db.SetStatus(codes.Error, "deadlock")
	db.End()
	root.End()
	emit(ctx, otellog.SeverityInfo, "chat served")

	_, inv := billing.Tracer("e2e").Start(ctx, "GET /invoice")
	f.billing = inv.SpanContext().TraceID().String()
	inv.End()

	mexp, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(grpcAddr), otlpmetricgrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp, sdkmetric.WithInterval(time.Hour))),
		sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "chatbot"))))
	depth, err := mp.Meter("e2e").Float64Gauge("queue_depth")
	if err != nil {
		t.Fatal(err)
	}
	depth.Record(ctx, 7, metric.WithAttributes(attribute.String("queue", "orders")))

	// Shutdown exports what is left and returns the export's error.
	for _, shut := range []func(context.Context) error{chat.Shutdown, billing.Shutdown, lp.Shutdown, mp.Shutdown} {
		if err := shut(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// restGet GETs base+path and returns the status and body.
func restGet(t *testing.T, base, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b.Bytes()
}

// runCLI runs a client command in this process and returns its exit code and
// output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runClient(context.Background(), args[0], args[1:], &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestRESTAndCLI feeds a flightd through OTLP, asks every REST endpoint
// about it, and checks that each client command prints the same answer
// (--format json) or its important fields (table).
func TestRESTAndCLI(t *testing.T) {
	p := startFlightd(t, nil, "--data-dir", t.TempDir(), "--http", "127.0.0.1:0", "--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0")
	base := p.waitAddr(t)
	waitReady(t, base)
	m := otlpRE.FindStringSubmatch(p.log())
	if m == nil {
		t.Fatalf("no otlp listening line:\n%s", p.log())
	}
	grpcAddr := m[1]
	f := feedOTLP(t, grpcAddr)

	// The full-text index fills asynchronously.
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, b := restGet(t, base, "/api/v1/search?q="+url.QueryEscape("Zürich"))
		if code == http.StatusOK && strings.Contains(string(b), f.chat) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search found nothing within 15s: %d %s", code, b)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A comment, through the client.
	code, out, errOut := runCLI(t, "comment", "add", f.chat, "--author", "ana", "--body", "deadlock again", "--server", base, "--format", "json")
	if code != 0 {
		t.Fatalf("comment add: %d %s", code, errOut)
	}
	var added analytics.Comment
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.TraceID != f.chat || added.Author != "ana" || added.ID == "" {
		t.Fatalf("comment add printed %s: %v", out, err)
	}

	// Every endpoint answers with the data fed.
	var tr analytics.Trace
	code, b := restGet(t, base, "/api/v1/traces/"+f.chat)
	if code != http.StatusOK || json.Unmarshal(b, &tr) != nil || len(tr.Spans) != 3 {
		t.Fatalf("GET trace: %d %s", code, b)
	}
	var sha string
	for _, s := range tr.Spans {
		if s.PromptSHA256 != "" {
			sha = s.PromptSHA256
		}
	}
	for path, want := range map[string]string{
		"/api/v1/traces":                            f.billing,
		"/api/v1/traces?service=chatbot":            f.chat,
		"/api/v1/traces/" + f.chat:                  "chat gpt-4o",
		"/api/v1/services":                          `"name":"billing"`,
		"/api/v1/logs":                              "payment declined",
		"/api/v1/metrics":                           "queue_depth",
		"/api/v1/traces/" + f.chat + "/comments":    "deadlock again",
		"/api/v1/comments":                          "deadlock again",
		"/api/v1/summary":                           `"span_count":4`,
		"/api/v1/anomalies":                         `"anomalies":`,
		"/api/v1/correlate?trace=" + f.chat:         "payment declined",
		"/api/v1/search?q=Z%C3%BCrich":              sha,
		"/api/v1/blobs/" + sha:                      restPrompt,
		"/api/v1/query?query=queue_depth":           `"status":"success"`, // PromQL beside REST
		"/api/v1/traces?unknown=1":                  `unknown parameter \"unknown\"`,
		"/api/v1/traces/not-a-trace-id":             "malformed trace id",
		"/api/v1/traces/" + strings.Repeat("0", 32): "not found",
	} {
		code, b := restGet(t, base, path)
		wantCode := http.StatusOK
		switch {
		case strings.Contains(path, "unknown") || strings.Contains(path, "not-a-trace"):
			wantCode = http.StatusBadRequest
		case strings.HasSuffix(path, strings.Repeat("0", 32)):
			wantCode = http.StatusNotFound
		}
		if code != wantCode || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %d %s; want %d with %s", path, code, b, wantCode, want)
		}
	}

	t.Run("json agrees with REST", func(t *testing.T) {
		for _, c := range []struct {
			cli  []string
			rest string
		}{
			{[]string{"query", "traces"}, "/api/v1/traces"},
			{[]string{"query", "traces", "--service", "chatbot", "--status", "error", "--last", "1h", "--limit", "5"}, "/api/v1/traces?service=chatbot&status=error&last=1h&limit=5"},
			{[]string{"query", "traces", "--attribute", "http.method=POST", "--min-duration-ms", "0", "--operation", "POST"}, "/api/v1/traces?attribute=http.method%3DPOST&min_duration_ms=0&operation=POST"},
			{[]string{"query", "traces", "--max-duration-ms", "10000", "--text", "Zürich"}, "/api/v1/traces?max_duration_ms=10000&text=Z%C3%BCrich"},
			{[]string{"query", "logs"}, "/api/v1/logs"},
			{[]string{"query", "logs", "--severity", "error", "--trace-id", f.chat, "--service", "chatbot", "--last", "7d", "--limit", "3"}, "/api/v1/logs?severity=error&trace_id=" + f.chat + "&service=chatbot&last=7d&limit=3"},
			{[]string{"query", "logs", "--body-contains", "DECLINED"}, "/api/v1/logs?body_contains=DECLINED"},
			{[]string{"query", "metrics", "--name", "queue_depth", "--metric-type", "gauge", "--service", "chatbot", "--last", "30m", "--limit", "10"}, "/api/v1/metrics?name=queue_depth&metric_type=gauge&service=chatbot&last=30m&limit=10"},
			{[]string{"trace", f.chat}, "/api/v1/traces/" + f.chat},
			{[]string{"services"}, "/api/v1/services"},
			{[]string{"services", "--last", "1h"}, "/api/v1/services?last=1h"},
			{[]string{"summary"}, "/api/v1/summary"},
			{[]string{"summary", "--last", "2h", "--service", "chatbot"}, "/api/v1/summary?last=2h&service=chatbot"},
			{[]string{"anomalies", "--last", "10m", "--baseline", "1h", "--service", "chatbot"}, "/api/v1/anomalies?last=10m&baseline=1h&service=chatbot"},
			{[]string{"correlate", f.chat}, "/api/v1/correlate?trace=" + f.chat},
			{[]string{"comment", "list", f.chat}, "/api/v1/traces/" + f.chat + "/comments"},
			{[]string{"comment", "list", "--limit", "10"}, "/api/v1/comments?limit=10"},
			{[]string{"search", "Zürich", "--limit", "5"}, "/api/v1/search?q=Z%C3%BCrich&limit=5"},
		} {
			args := append(append([]string{}, c.cli...), "--server", base, "--format", "json")
			code, out, errOut := runCLI(t, args...)
			if code != 0 {
				t.Errorf("flightd %s: exit %d: %s", strings.Join(c.cli, " "), code, errOut)
				continue
			}
			rc, rb := restGet(t, base, c.rest)
			if rc != http.StatusOK {
				t.Errorf("GET %s = %d %s", c.rest, rc, rb)
				continue
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, []byte(out)); err != nil {
				t.Errorf("flightd %s printed no JSON: %v\n%s", strings.Join(c.cli, " "), err, out)
				continue
			}
			if !bytes.Equal(compact.Bytes(), bytes.TrimSpace(rb)) {
				t.Errorf("flightd %s printed\n%s\nGET %s answered\n%s", strings.Join(c.cli, " "), compact.Bytes(), c.rest, rb)
			}
		}
	})

	// The same questions through Flight SQL's table functions.
	t.Run("SQL agrees with REST", func(t *testing.T) {
		addr := p.flightAddr(t)
		var sum analytics.Summary
		code, b := restGet(t, base, "/api/v1/summary?last=2h&service=chatbot")
		if code != http.StatusOK || json.Unmarshal(b, &sum) != nil {
			t.Fatalf("GET summary: %d %s", code, b)
		}
		rows := query(t, addr, "SELECT span_count, error_count, llm_calls, report FROM summary('2h', 'chatbot')")
		if len(rows) != 1 || rows[0][0] != fmt.Sprint(sum.Traces.SpanCount) || rows[0][1] != fmt.Sprint(sum.Traces.ErrorCount) || rows[0][2] != fmt.Sprint(sum.LLM.Calls) {
			t.Errorf("summary('2h', 'chatbot') = %v; REST %+v", rows, sum.Traces)
		}
		if len(rows) == 1 && rows[0][3] != strings.TrimSpace(string(b)) {
			t.Errorf("summary() report\n%s\nREST\n%s", rows[0][3], b)
		}
		var cor analytics.Correlation
		code, b = restGet(t, base, "/api/v1/correlate?trace="+f.chat)
		if code != http.StatusOK || json.Unmarshal(b, &cor) != nil {
			t.Fatalf("GET correlate: %d %s", code, b)
		}
		rows = query(t, addr, "SELECT source, count(*) FROM correlate('"+f.chat+"') GROUP BY 1 ORDER BY 1")
		want := [][]string{{"log", fmt.Sprint(len(cor.Logs))}, {"metric", fmt.Sprint(len(cor.Metrics))}, {"span", fmt.Sprint(len(cor.Spans))}}
		if fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Errorf("correlate() by source = %v, REST %v", rows, want)
		}
		var an analytics.Anomalies
		code, b = restGet(t, base, "/api/v1/anomalies?last=10m&baseline=1h")
		if code != http.StatusOK || json.Unmarshal(b, &an) != nil {
			t.Fatalf("GET anomalies: %d %s", code, b)
		}
		if rows = query(t, addr, "SELECT count(*) FROM anomalies('10m', '1h', NULL)"); rows[0][0] != fmt.Sprint(len(an.Anomalies)) {
			t.Errorf("anomalies() = %v rows, REST %d", rows, len(an.Anomalies))
		}
		rows = query(t, addr, "SELECT s.trace_id, t.service FROM search('Zürich') s JOIN spans t ON t.span_id = s.span_id AND t.trace_id = s.trace_id")
		if len(rows) == 0 || rows[0][0] != f.chat {
			t.Errorf("search() joined with spans = %v, want trace %s", rows, f.chat)
		}
		rows = query(t, addr, "SELECT count(*) > 0 FROM promql('queue_depth', now()::TIMESTAMP - INTERVAL 10 MINUTE, now()::TIMESTAMP, '1m')")
		if len(rows) != 1 || rows[0][0] != "true" {
			t.Errorf("promql() = %v", rows)
		}
		// The README's examples run.
		query(t, addr, "SELECT p95_ms, error_rate FROM summary('1h', 'checkout')")
		if rows := query(t, addr, "SELECT s.operation, h.fragment FROM search('Zürich') h JOIN spans s USING (trace_id, span_id)"); len(rows) == 0 {
			t.Error("README search example: no rows")
		}
		query(t, addr, `SELECT p.timestamp, p.value, count(s.span_id) AS errors
FROM promql('sum(rate(http_requests_total{code="500"}[5m]))', now()::TIMESTAMP - INTERVAL 1 HOUR, now()::TIMESTAMP, '1m') p
LEFT JOIN spans s ON s.status = 'error' AND s.start_time >= p.timestamp - INTERVAL 1 MINUTE AND s.start_time < p.timestamp
GROUP BY 1, 2 ORDER BY 1`)
		// Comments go in through SQL too, and REST sees them.
		ctx := context.Background()
		cl, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if n, err := cl.ExecuteUpdate(ctx, "INSERT INTO trace_comments (trace_id, author, body) VALUES ('"+f.chat+"', 'sql', 'from a notebook')"); err != nil || n != 1 {
			t.Fatalf("INSERT INTO trace_comments: %d, %v", n, err)
		}
		if code, b := restGet(t, base, "/api/v1/traces/"+f.chat+"/comments"); code != http.StatusOK || !strings.Contains(string(b), "from a notebook") {
			t.Errorf("comment inserted through SQL: REST %d %s", code, b)
		}
	})

	t.Run("tables", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want []string
		}{
			{[]string{"query", "traces"}, []string{"TRACE_ID", "ROOT_SERVICE", "DURATION_MS", f.chat, f.billing, "chatbot", "POST /chat", "GET /invoice"}},
			{[]string{"query", "logs", "--severity", "error"}, []string{"SEVERITY", "error", "payment declined for order 42", f.chat}},
			{[]string{"query", "metrics"}, []string{"queue_depth", "gauge", "7", "queue=orders"}},
			{[]string{"trace", f.chat}, []string{"3 spans", "POST /chat", "  chat gpt-4o", "  db query", "gpt-4o", "error"}},
			{[]string{"services"}, []string{"SERVICE", "chatbot", "billing"}},
			{[]string{"summary"}, []string{"spans", "4", "traces", "2", "llm models", "gpt-4o", "top services", "chatbot", "top error operations", "db query"}},
			{[]string{"anomalies"}, []string{"against the"}},
			{[]string{"correlate", f.chat}, []string{f.chat, "chatbot", "payment declined", "queue_depth"}},
			{[]string{"comment", "list"}, []string{"AUTHOR", "ana", "deadlock again", f.chat}},
			{[]string{"search", "Zürich"}, []string{"prompt", sha, f.chat}},
		} {
			code, out, errOut := runCLI(t, append(c.args, "--server", base)...)
			if code != 0 {
				t.Errorf("flightd %s: exit %d: %s", strings.Join(c.args, " "), code, errOut)
				continue
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("flightd %s lacks %q:\n%s", strings.Join(c.args, " "), w, out)
				}
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		// The binary itself, with the server from the environment: the
		// server's message on stderr, exit 1.
		cmd := exec.Command(os.Args[0], "trace", "not-a-trace-id")
		cmd.Env = append(os.Environ(), "TAEL_TEST_FLIGHTD=1", "TAEL_SERVER="+base)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), `malformed trace id "not-a-trace-id"`) || stdout.Len() != 0 {
			t.Errorf("flightd trace not-a-trace-id: %v\nstdout: %s\nstderr: %s", err, &stdout, &stderr)
		}
		for _, c := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"query", "logs", "--severity", "loud"}, 1, `severity "loud"`},
			{[]string{"correlate", "abc"}, 1, `trace: "abc"`},
			{[]string{"comment", "add", "xyz", "--author", "a", "--body", "b"}, 1, "malformed trace id"},
			{[]string{"query"}, 2, "logs, metrics, traces"},
			{[]string{"query", "spans"}, 2, `unknown command "query spans"`},
			{[]string{"query", "traces", "--severity", "error"}, 2, "-severity"},
			{[]string{"query", "traces", "--last", "soon"}, 2, "invalid duration"},
			{[]string{"query", "traces", "--attribute", "novalue"}, 2, "key=value"},
			{[]string{"query", "traces", "extra"}, 2, `unexpected argument "extra"`},
			{[]string{"trace"}, 2, "want one trace id"},
			{[]string{"comment", "add", f.chat, "--author", "a"}, 2, "--author and --body are required"},
			{[]string{"search"}, 2, "no query"},
			{[]string{"services", "--format", "yaml"}, 2, `unknown --format "yaml"`},
			{[]string{"services", "--server", "127.0.0.1:7701"}, 2, "want a URL"},
		} {
			args := c.args
			if !slices.Contains(args, "--server") {
				args = append(args, "--server", base)
			}
			code, out, errOut := runCLI(t, args...)
			if code != c.code || !strings.Contains(errOut, c.want) || out != "" {
				t.Errorf("flightd %s = %d, stdout %q, stderr %q; want %d with %q", strings.Join(c.args, " "), code, out, errOut, c.code, c.want)
			}
		}
	})

	// A live tail, open while the server stops: flightd still stops
	// cleanly and in time.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/traces/live?service=chatbot", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("live tail: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	events := make(chan string, 10)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
	}()
	live := feedOTLP(t, grpcAddr)
	select {
	case d := <-events:
		if !strings.Contains(d, live.chat) {
			t.Errorf("live span %s, want one of trace %s", d, live.chat)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no live span within 10s")
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		<-p.eof
		errc <- p.cmd.Wait()
	}()
	select {
	case err := <-errc:
		if err != nil || !strings.Contains(p.log(), "flightd stopped cleanly") {
			t.Fatalf("flightd exit %v after SIGTERM with a live tail open; log:\n%s", err, p.log())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("flightd still running 10s after SIGTERM with a live tail open; log:\n%s", p.log())
	}
	for range events { // the stream ended
	}
}

// TestClientTransport checks what the client sends and how it reports an
// answer that is not the REST API's.
func TestClientTransport(t *testing.T) {
	var got http.Header
	var gotURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotURL = r.Header.Clone(), r.URL.String()
		if r.URL.Path == "/api/v1/summary" {
			http.Error(w, "flightd is starting: the engine is not open yet", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"services":[]}`))
	}))
	defer srv.Close()

	t.Setenv("TAEL_SERVER", srv.URL)
	t.Setenv("TAEL_AUTH_TOKEN", "s3cret")
	t.Setenv("TAEL_SERVICE", "ignored") // filters do not read the environment
	code, out, errOut := runCLI(t, "services", "--last", "90m")
	if code != 0 || got.Get("Authorization") != "Bearer s3cret" || gotURL != "/api/v1/services?last=1h30m0s" {
		t.Fatalf("services: %d %q %q; sent %v to %s", code, out, errOut, got, gotURL)
	}
	if strings.TrimSpace(out) != "SERVICE  SPANS  ERRORS  ERROR_RATE  AVG_MS  P95_MS  OPERATIONS  LAST_SEEN" {
		t.Errorf("empty services table: %q", out)
	}
	code, _, _ = runCLI(t, "query", "traces", "--auth-token", "other")
	if code != 0 || got.Get("Authorization") != "Bearer other" || gotURL != "/api/v1/traces" {
		t.Errorf("--auth-token over the environment: %d %v %s", code, got, gotURL)
	}
	code, out, errOut = runCLI(t, "summary")
	if code != 1 || out != "" || !strings.Contains(errOut, "503 Service Unavailable flightd is starting") {
		t.Errorf("summary from a starting server: %d %q %q", code, out, errOut)
	}
	srv.Close()
	if code, _, errOut = runCLI(t, "services"); code != 1 || !strings.Contains(errOut, "connection refused") {
		t.Errorf("services from no server: %d %q", code, errOut)
	}
	if code, out, errOut = runCLI(t, "services", "-h"); code != 0 || !strings.Contains(errOut, "Usage: flightd services") {
		t.Errorf("services -h: %d %q %q", code, out, errOut)
	}
}
