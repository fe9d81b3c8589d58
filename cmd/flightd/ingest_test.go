package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/schema"
)

var otlpRE = regexp.MustCompile(`msg="otlp listening" grpc=(\S+) http=(\S+)`)

// TestIngestSurvivesKill9 sends spans (one an LLM span) with the
// OpenTelemetry SDK's OTLP/gRPC exporter and samples with remote-write to a
// flightd, kill -9s it once every send is acknowledged, and reads everything
// back from the data directory.
func TestIngestSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	p := startFlightd(t, nil, "--data-dir", dir, "--http", "127.0.0.1:0", "--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0")
	base := p.waitAddr(t)
	waitReady(t, base)
	m := otlpRE.FindStringSubmatch(p.log())
	if m == nil {
		t.Fatalf("no otlp listening line:\n%s", p.log())
	}
	grpcAddr := m[1]

	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "chatbot"))))
	tr := tp.Tracer("e2e")
	const spans = 40
	for i := range spans {
		_, s := tr.Start(ctx, fmt.Sprintf("step %d", i))
		if i == 0 {
			s.SetAttributes(
				attribute.String("gen_ai.provider.name", "openai"),
				attribute.String("gen_ai.request.model", "gpt-4o"),
				attribute.Int("gen_ai.usage.input_tokens", 12),
				attribute.Int("gen_ai.usage.output_tokens", 30),
				attribute.String("gen_ai.prompt", "Wie spät ist es in Zürich?"),
			)
		}
		s.End()
	}
	// WithSyncer exports each span as it ends: every span is acknowledged.
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	wr := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "queue_depth"}, {Name: "job", Value: "worker"}, {Name: "instance", Value: "h:1"}},
		Samples: []prompb.Sample{{Value: 3, Timestamp: time.Now().UnixMilli()}, {Value: 5, Timestamp: time.Now().UnixMilli() + 15000}},
	}}}
	raw, err := wr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("remote-write: %s", resp.Status)
	}

	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()

	e, err := engine.Open(ctx, dir, engine.Options{})
	if err != nil {
		t.Fatalf("open after kill -9: %v", err)
	}
	defer e.Close()
	rr, err := e.Scan(ctx, schema.Spans, schema.AllTime, []string{"service", "llm_model", "prompt_sha256"})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	n, sha := 0, ""
	for rr.Next() {
		rec := rr.RecordBatch()
		svc, model, ps := rec.Column(0).(*array.String), rec.Column(1).(*array.String), rec.Column(2).(*array.String)
		for i := range int(rec.NumRows()) {
			n++
			if svc.Value(i) != "chatbot" {
				t.Errorf("service = %q", svc.Value(i))
			}
			if model.IsValid(i) {
				if model.Value(i) != "gpt-4o" {
					t.Errorf("llm_model = %q", model.Value(i))
				}
				sha = ps.Value(i)
			}
		}
	}
	if n != spans {
		t.Fatalf("%d spans after kill -9, want %d", n, spans)
	}
	b, err := e.Blob(ctx, sha)
	if err != nil || b.Text != "Wie spät ist es in Zürich?" {
		t.Fatalf("prompt blob %q: %+v, %v", sha, b, err)
	}
	ser, err := e.Series(ctx, nil, schema.AllTime)
	if err != nil || len(ser) != 1 || ser[0].Labels.Get("__name__") != "queue_depth" {
		t.Fatalf("series after kill -9: %v, %v", ser, err)
	}
}
