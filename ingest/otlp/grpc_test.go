package otlp

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"

	"github.com/tael/tael/schema"
)

const traceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(256<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// TestGRPCBadInput sends what OTLP/gRPC must refuse and checks the status
// codes and details, and that nothing was stored.
func TestGRPCBadInput(t *testing.T) {
	const limit = 64 << 10
	s := startServer(t, serverConfig{opts: ReceiverOptions{Limits: limitsOf(limit)}})
	cc := dial(t, s.grpcAddr)
	ctx := context.Background()
	cases := []struct {
		name      string
		body      []byte
		opts      []grpc.CallOption
		code      codes.Code
		msg       string
		badReq    bool
		retryInfo bool
	}{
		{name: "garbage", body: []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, code: codes.InvalidArgument,
			msg: "cannot decode the traces request as OTLP protobuf", badReq: true},
		{name: "wrong-length trace id", body: []byte{0x0a, 0x0a, 0x12, 0x08, 0x12, 0x06, 0x0a, 0x04, 1, 2, 3, 4},
			code: codes.InvalidArgument, badReq: true},
		{name: "over the limit", body: bytes.Repeat([]byte{0x0a, 0x00}, limit/2+1), code: codes.ResourceExhausted},
		// 4 MiB of zeros, gzip-compressed to a few KiB: gRPC stops
		// decompressing at the limit.
		{name: "gzip bomb", body: make([]byte, 4<<20), opts: []grpc.CallOption{grpc.UseCompressor(gzip.Name)},
			code: codes.ResourceExhausted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out rawMessage
			err := cc.Invoke(ctx, traceExport, &rawMessage{b: c.body}, &out, c.opts...)
			st := status.Convert(err)
			if st.Code() != c.code {
				t.Fatalf("code %v (%v), want %v", st.Code(), st.Message(), c.code)
			}
			if !strings.Contains(st.Message(), c.msg) {
				t.Errorf("message %q, want it to contain %q", st.Message(), c.msg)
			}
			var badReq, retry bool
			for _, d := range st.Details() {
				switch d.(type) {
				case *errdetails.BadRequest:
					badReq = true
				case *errdetails.RetryInfo:
					retry = true
				}
			}
			if badReq != c.badReq || retry != c.retryInfo {
				t.Errorf("details %v: BadRequest %v RetryInfo %v, want %v %v", st.Details(), badReq, retry, c.badReq, c.retryInfo)
			}
		})
	}

	// An all-zero trace id: OK with partial_success.
	resp, err := ptraceotlp.NewGRPCClient(cc).Export(ctx, ptraceotlp.NewExportRequestFromTraces(zeroIDTraceData()))
	if err != nil {
		t.Fatal(err)
	}
	if ps := resp.PartialSuccess(); ps.RejectedSpans() != 1 || !strings.Contains(ps.ErrorMessage(), "all-zero trace_id") {
		t.Errorf("partial_success = %d %q", ps.RejectedSpans(), ps.ErrorMessage())
	}
	// An empty request: OK, partial_success unset (an empty response).
	var out rawMessage
	if err := cc.Invoke(ctx, traceExport, &rawMessage{b: []byte{}}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.b) != 0 {
		t.Errorf("response to an empty request = %x, want empty", out.b)
	}

	for table, n := range s.counts(t) {
		if n != 0 {
			t.Errorf("%d rows in %s after refused requests", n, table)
		}
	}
	checkCounter(t, s, "tael_otlp_requests_total", map[string]string{"transport": "grpc", "code": "InvalidArgument"}, 2)
	checkCounter(t, s, "tael_otlp_rejected_items_total", map[string]string{"signal": "traces"}, 1)
}

func zeroIDTraceData() ptrace.Traces {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetSpanID([8]byte{1})
	sp.SetName("zero trace id")
	return td
}

// TestGRPCInterceptor checks that the services run a server's unary
// interceptors (auth, for one, would be one).
func TestGRPCInterceptor(t *testing.T) {
	var calls atomic.Int64
	var method atomic.Value
	deny := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		calls.Add(1)
		method.Store(info.FullMethod)
		if calls.Load() == 2 {
			return nil, status.Error(codes.Unauthenticated, "no token")
		}
		return h(ctx, req)
	}
	s := startServer(t, serverConfig{grpcOpts: []grpc.ServerOption{grpc.UnaryInterceptor(deny)}})
	client := ptraceotlp.NewGRPCClient(dial(t, s.grpcAddr))
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{1})
	sp.SetStartTimestamp(1)
	if _, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td)); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("second export: %v, want Unauthenticated", err)
	}
	if calls.Load() != 2 || method.Load() != traceExport {
		t.Errorf("interceptor saw %d calls, method %v", calls.Load(), method.Load())
	}
	if n := len(s.scan(t, schema.Spans)); n != 1 {
		t.Errorf("%d spans stored, want 1", n)
	}
}
