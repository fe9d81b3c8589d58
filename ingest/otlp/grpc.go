package otlp

import (
	"bytes"
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // OTLP exporters may gzip requests
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	// The pdata codec: RegisterGRPC relies on it (see rawMessage).
	_ "go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// grpcServices are OTLP's gRPC services, as opentelemetry-proto defines
// them (opentelemetry/proto/collector/<signal>/v1/<signal>_service.proto).
var grpcServices = []struct {
	sig      signal
	service  string
	metadata string
}{
	{signalTraces, "opentelemetry.proto.collector.trace.v1.TraceService", "opentelemetry/proto/collector/trace/v1/trace_service.proto"},
	{signalMetrics, "opentelemetry.proto.collector.metrics.v1.MetricsService", "opentelemetry/proto/collector/metrics/v1/metrics_service.proto"},
	{signalLogs, "opentelemetry.proto.collector.logs.v1.LogsService", "opentelemetry/proto/collector/logs/v1/logs_service.proto"},
}

// GRPCServerOptions returns the options the grpc.Server given to
// RegisterGRPC should be created with:
//   - a receive message size limit of Limits.MaxRequestBytes (gRPC applies
//     it after decompression and answers RESOURCE_EXHAUSTED without
//     RetryInfo, which OTLP exporters do not retry); without it gRPC's
//     default of 4 MiB applies;
//   - a tap handle that refuses an OTLP call as soon as its headers arrive
//     when the gate is full, before gRPC reads (and holds) its message, so
//     that a flood of concurrent calls costs no memory for their bodies. A
//     grpc.Server takes one tap handle only.
func (r *Receiver) GRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(r.limits.MaxRequestBytes)),
		grpc.InTapHandle(r.tap),
	}
}

// grpcSignals maps the OTLP Export methods to their signals.
var grpcSignals = func() map[string]signal {
	m := make(map[string]signal, len(grpcServices))
	for _, svc := range grpcServices {
		m["/"+svc.service+"/Export"] = svc.sig
	}
	return m
}()

// tap refuses an OTLP call before its message is read when the gate is
// full; other methods pass.
func (r *Receiver) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	sig, ok := grpcSignals[info.FullMethodName]
	if !ok || r.gate.InUse() < r.limits.MaxInflightBytes {
		return ctx, nil
	}
	start := time.Now()
	f := fail(failOverloaded, "server overloaded; retry after %s", r.retryAfter)
	st := grpcStatus(f, r.retryAfter)
	r.finish(sig.String(), "grpc", st.Code().String(), 0, start, exported{}, f)
	return ctx, st.Err()
}

// RegisterGRPC registers OTLP's trace, metrics and logs services on s. An
// Export answers OK with the Export<signal>ServiceResponse (partial_success
// set when items were rejected) once the request is durable, or fails with
// INVALID_ARGUMENT (undecodable request), RESOURCE_EXHAUSTED with a
// RetryInfo (overloaded: retry later), UNAVAILABLE with a RetryInfo (the
// engine cannot store now, e.g. closed), RESOURCE_EXHAUSTED without
// RetryInfo (over Limits.MaxRequestBytes) or INTERNAL (a bug). gzip
// compression is supported.
//
// The services are registered with their wire names rather than through
// pdata's RegisterGRPCServer so that the receiver sees each request's bytes
// before decoding them: gRPC's own decoding answers undecodable data with
// INTERNAL (which OTLP reserves for server bugs), and the admission gate can
// refuse a request before it costs a decode.
func (r *Receiver) RegisterGRPC(s *grpc.Server) {
	checkCodec()
	for _, svc := range grpcServices {
		method := "/" + svc.service + "/Export"
		s.RegisterService(&grpc.ServiceDesc{
			ServiceName: svc.service,
			HandlerType: (*grpcExporter)(nil),
			Methods:     []grpc.MethodDesc{{MethodName: "Export", Handler: grpcHandler(svc.sig, method)}},
			Metadata:    svc.metadata,
		}, r)
	}
}

// grpcExporter is what the registered services call: the Receiver.
type grpcExporter interface {
	serveGRPC(ctx context.Context, sig signal, in *rawMessage) (*rawMessage, error)
}

var _ grpcExporter = (*Receiver)(nil)

func grpcHandler(sig signal, method string) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		in := new(rawMessage)
		if err := dec(in); err != nil {
			return nil, err
		}
		handle := func(ctx context.Context, req any) (any, error) {
			return srv.(grpcExporter).serveGRPC(ctx, sig, req.(*rawMessage))
		}
		if interceptor == nil {
			return handle(ctx, in)
		}
		return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: method}, handle)
	}
}

func (r *Receiver) serveGRPC(ctx context.Context, sig signal, in *rawMessage) (*rawMessage, error) {
	start := time.Now()
	out, f := r.export(ctx, sig, in.b, false)
	code := codes.OK
	var err error
	if f != nil {
		st := grpcStatus(f, r.retryAfter)
		code, err = st.Code(), st.Err()
	}
	r.finish(sig.String(), "grpc", code.String(), len(in.b), start, out, f)
	if err != nil {
		return nil, err
	}
	return &rawMessage{b: out.response}, nil
}

// grpcStatus is the gRPC status for f.
func grpcStatus(f *failure, retryAfter time.Duration) *status.Status {
	var code codes.Code
	switch f.kind {
	case failBadData:
		code = codes.InvalidArgument
	case failTooLarge, failOverloaded:
		code = codes.ResourceExhausted
	case failUnavailable:
		code = codes.Unavailable
	case failCanceled:
		code = codes.Canceled
	default:
		code = codes.Internal
	}
	return statusOf(code, f, retryAfter)
}

// rawMessage carries a protobuf message's bytes through gRPC untouched. It
// implements the interface (SizeProto, MarshalProto, UnmarshalProto) that
// pdata's gRPC codec, registered as gRPC's "proto" codec when pdata's OTLP
// packages are imported, passes its messages through; checkCodec verifies
// that at registration.
type rawMessage struct{ b []byte }

func (m *rawMessage) SizeProto() int { return len(m.b) }

func (m *rawMessage) MarshalProto(buf []byte) int { return copy(buf, m.b) }

// UnmarshalProto keeps a copy: the codec reuses data's buffer afterwards.
func (m *rawMessage) UnmarshalProto(data []byte) error {
	m.b = bytes.Clone(data)
	if m.b == nil {
		m.b = []byte{}
	}
	return nil
}

// checkCodec panics if gRPC's "proto" codec does not pass a rawMessage
// through: then every request would fail, which is a broken build, not a
// condition to serve around.
func checkCodec() {
	c := encoding.GetCodecV2("proto")
	want := []byte{0x0a, 0x00}
	if c == nil {
		panic("BUG: no gRPC proto codec registered")
	}
	bs, err := c.Marshal(&rawMessage{b: want})
	if err != nil {
		panic("BUG: gRPC's proto codec is not pdata's: " + err.Error())
	}
	got := bs.Materialize()
	bs.Free()
	var back rawMessage
	if !bytes.Equal(got, want) || c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(want)}, &back) != nil || !bytes.Equal(back.b, want) {
		panic("BUG: gRPC's proto codec does not pass raw OTLP messages through")
	}
}
