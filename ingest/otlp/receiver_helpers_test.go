package otlp

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/ingest"
	"github.com/tael/tael/schema"
)

// testServer is a Receiver over a real engine in a temporary directory,
// served over gRPC and HTTP on loopback ports. Everything is stopped when
// the test ends, and the checked allocator shared by the engine and the
// conversions must then be empty.
type testServer struct {
	eng      *engine.Engine
	rcv      *Receiver
	reg      *prometheus.Registry
	grpcAddr string // host:port
	httpAddr string // host:port
	httpURL  string // http://host:port
}

type serverConfig struct {
	opts ReceiverOptions
	// wrap, when set, puts something between the receiver and the engine
	// (a slow appender for the backpressure tests).
	wrap func(*engine.Engine) ingest.Appender
	// grpcOpts are added to the gRPC server's options.
	grpcOpts []grpc.ServerOption
	// unchecked uses a plain Go allocator (for benchmarks: the checked one
	// records a stack trace per allocation).
	unchecked bool
}

func startServer(t testing.TB, c serverConfig) *testServer {
	t.Helper()
	var mem memory.Allocator = memory.NewGoAllocator()
	if !c.unchecked {
		checked := memory.NewCheckedAllocator(mem)
		t.Cleanup(func() { checked.AssertSize(t, 0) })
		mem = checked
	}
	eng, err := engine.Open(context.Background(), t.TempDir(), engine.Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Error(err)
		}
	})
	var app ingest.Appender = eng
	if c.wrap != nil {
		app = c.wrap(eng)
	}
	o := c.opts
	o.Convert.Allocator = mem
	if o.Convert.Now == nil {
		o.Convert.Now = func() time.Time { return testNow }
	}
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	rcv := NewReceiver(app, o)
	s := &testServer{eng: eng, rcv: rcv, reg: reg}

	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(append(rcv.GRPCServerOptions(), c.grpcOpts...)...)
	rcv.RegisterGRPC(gs)
	go func() { _ = gs.Serve(gl) }()
	t.Cleanup(gs.Stop)
	s.grpcAddr = gl.Addr().String()

	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: rcv.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(hl) }()
	t.Cleanup(func() { _ = hs.Close() })
	s.httpAddr = hl.Addr().String()
	s.httpURL = "http://" + s.httpAddr
	return s
}

// scan returns every row of table, decoded by rows (arrow's JSON form).
func (s *testServer) scan(t testing.TB, table schema.ID) []map[string]any {
	t.Helper()
	rr, err := s.eng.Scan(context.Background(), table, schema.AllTime, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var out []map[string]any
	for rr.Next() {
		out = append(out, exactRows(t, rr.RecordBatch())...)
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// count returns the number of rows in each of the tables the receiver
// writes.
func (s *testServer) counts(t testing.TB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, id := range []schema.ID{schema.Spans, schema.Logs, schema.Metrics} {
		out[id.String()] = len(s.scan(t, id))
	}
	return out
}

// trace returns the spans of a trace sorted by operation.
func (s *testServer) trace(t testing.TB, traceID string) []map[string]any {
	t.Helper()
	rec, err := s.eng.Trace(context.Background(), traceID)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	rs := exactRows(t, rec)
	sort.Slice(rs, func(i, j int) bool { return rs[i]["operation"].(string) < rs[j]["operation"].(string) })
	return rs
}

// checkRow compares the columns named in want with got's: attribute maps
// (map[string]string in want) through kvs, times (time.Time in want) in
// arrow's JSON form, the rest as decoded.
func checkRow(t testing.TB, what string, got, want map[string]any) {
	t.Helper()
	for col, w := range want {
		g, ok := got[col]
		if !ok {
			t.Errorf("%s: no column %q", what, col)
			continue
		}
		switch w := w.(type) {
		case map[string]string:
			if gm := kvs(g); !equalMaps(gm, w) {
				t.Errorf("%s: %s = %v, want %v", what, col, gm, w)
			}
		case time.Time:
			if g != w.UTC().Format(time.RFC3339Nano) {
				t.Errorf("%s: %s = %v, want %v", what, col, g, w.UTC().Format(time.RFC3339Nano))
			}
		default:
			if !equalJSON(g, w) {
				t.Errorf("%s: %s = %#v, want %#v", what, col, g, w)
			}
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// equalJSON compares a decoded JSON value (numbers as json.Number) with a
// Go value written in a test.
func equalJSON(got, want any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case int:
		return jsonNumber(got) == float64(w)
	case int64:
		return jsonNumber(got) == float64(w)
	case float64:
		return jsonNumber(got) == w
	case string:
		g, ok := got.(string)
		return ok && g == w
	}
	return false
}

func jsonNumber(v any) float64 {
	type number interface{ Float64() (float64, error) }
	n, ok := v.(number)
	if !ok {
		return -1e300
	}
	f, err := n.Float64()
	if err != nil {
		return -1e300
	}
	return f
}

// slowAppender delays every Append before handing it to the engine, so
// that requests pile up behind it. It is not a storage fake: the rows go
// to the real engine.
type slowAppender struct {
	eng   *engine.Engine
	delay time.Duration
}

func (a slowAppender) Append(ctx context.Context, table schema.ID, rec arrow.RecordBatch) (uint64, error) {
	select {
	case <-time.After(a.delay):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return a.eng.Append(ctx, table, rec)
}

// payloadsAppendable reports whether the engine stores llm_payloads yet
// (the blob store), by appending one payload; when it does not, the test
// is skipped with the reason.
func payloadsAppendable(t *testing.T, e *engine.Engine) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	text := "probe: is the blob store there?"
	b, err := payloadBatch(mem, []Payload{{SHA256: sha256Hex(text), Kind: KindLogBody, Text: text}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if _, err := e.Append(context.Background(), schema.LLMPayloads, b); errors.Is(err, engine.ErrNotAppendable) {
		t.Skipf("the engine does not store llm_payloads yet: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
}

// checkCounter checks the value of the counter name, summed over the
// series whose labels include labels.
func checkCounter(t testing.TB, s *testServer, name string, labels map[string]string, want float64) {
	t.Helper()
	if got := counterValue(t, s, name, labels); got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// limitsOf is ingest's default limits with the given request size limit.
func limitsOf(maxRequestBytes int64) ingest.Limits {
	return ingest.Limits{MaxRequestBytes: maxRequestBytes}
}
