package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/ingest"
	"github.com/tael/tael/schema"
)

// DefaultRetryAfter is the delay a refused client is told to wait. The gate
// frees as soon as an in-flight append is durable (milliseconds), so the
// delay only has to spread retries out; one second is also the shortest
// nonzero HTTP Retry-After.
const DefaultRetryAfter = time.Second

// ReceiverOptions configure a Receiver.
type ReceiverOptions struct {
	// Convert configures the conversion of every request. Its zero value
	// keeps no LLM content; flightd passes DefaultOptions().
	Convert Options
	// Limits bound one request's size (after decompression) and the bytes
	// of all requests in flight. Zero fields mean ingest's defaults.
	Limits ingest.Limits
	// RetryAfter is the delay suggested to a client refused for
	// backpressure or while the engine is unavailable: HTTP Retry-After
	// (rounded up to whole seconds) and gRPC RetryInfo. Zero means
	// DefaultRetryAfter.
	RetryAfter time.Duration
	// Logger receives one Warn line per refused or failed request, at most
	// one a second per reason. Nil means discard.
	Logger *slog.Logger
	// Registerer receives the receiver's metrics. Nil means no metrics.
	Registerer prometheus.Registerer
}

// Receiver serves OTLP export requests over gRPC (RegisterGRPC) and HTTP
// (HTTPHandler), writing them to an ingest.Appender. Both transports share
// one admission gate, so their requests together stay within
// Limits.MaxInflightBytes. It is safe for concurrent use.
type Receiver struct {
	app        ingest.Appender
	conv       Options
	limits     ingest.Limits
	retryAfter time.Duration
	gate       *ingest.Gate
	log        *rateLogger
	m          *receiverMetrics
}

// NewReceiver returns a receiver that appends to app.
func NewReceiver(app ingest.Appender, o ReceiverOptions) *Receiver {
	if o.Convert.Allocator == nil {
		o.Convert.Allocator = memory.DefaultAllocator
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	limits := o.Limits.WithDefaults()
	return &Receiver{
		app:        app,
		conv:       o.Convert,
		limits:     limits,
		retryAfter: o.RetryAfter,
		gate:       ingest.NewGate(limits.MaxInflightBytes),
		log:        newRateLogger(o.Logger, time.Second, time.Now),
		m:          newReceiverMetrics(o.Registerer),
	}
}

// signal is one of OTLP's three signals.
type signal uint8

const (
	signalTraces signal = iota
	signalLogs
	signalMetrics
)

var signalNames = [...]string{signalTraces: "traces", signalLogs: "logs", signalMetrics: "metrics"}

func (s signal) String() string { return signalNames[s] }

// failureKind is why a request was refused. Each transport maps it to its
// own status (http.go, grpc.go).
type failureKind uint8

const (
	// failBadData: the body cannot be decoded (HTTP 400, INVALID_ARGUMENT).
	// Not retryable.
	failBadData failureKind = iota + 1
	// failTooLarge: the body is over Limits.MaxRequestBytes (HTTP 413,
	// RESOURCE_EXHAUSTED without RetryInfo). Not retryable.
	failTooLarge
	// failOverloaded: the gate refused the request (HTTP 429 with
	// Retry-After, RESOURCE_EXHAUSTED with RetryInfo). Retryable.
	failOverloaded
	// failUnavailable: the engine could not store the request, e.g. it is
	// closed (HTTP 503 with Retry-After, UNAVAILABLE with RetryInfo).
	// Retryable.
	failUnavailable
	// failInternal: a bug or a storage that can never take these rows
	// (HTTP 500, INTERNAL). Not retryable.
	failInternal
	// failCanceled: the client gave up while the request was stored (HTTP
	// 503, CANCELLED): if it retries, the engine may hold the rows twice,
	// as OTLP allows.
	failCanceled
	// HTTP only: unknown path (404), a method other than POST (405), an
	// unsupported Content-Type or Content-Encoding (415).
	failNotFound
	failMethod
	failMediaType
)

// reasons name the failure kinds in logs.
var reasons = [...]string{
	failBadData:     "bad data",
	failTooLarge:    "request too large",
	failOverloaded:  "overloaded",
	failUnavailable: "engine unavailable",
	failInternal:    "internal error",
	failCanceled:    "canceled by client",
	failNotFound:    "unknown path",
	failMethod:      "method not allowed",
	failMediaType:   "unsupported media type",
}

// failure is a refused request: the kind decides the status, msg goes to
// the client.
type failure struct {
	kind failureKind
	msg  string
}

// fail returns a failure whose message is valid UTF-8 (decoder errors
// quote the request's bytes, and a google.rpc.Status cannot carry invalid
// UTF-8 in protobuf or JSON).
func fail(kind failureKind, format string, args ...any) *failure {
	return &failure{kind: kind, msg: strings.ToValidUTF8(fmt.Sprintf(format, args...), "\uFFFD")}
}

// exported is what a request that was answered with success came to.
type exported struct {
	// response is the Export<signal>ServiceResponse, encoded as the
	// request was.
	response []byte
	// accepted and rejected count items (spans, log records, data points).
	accepted, rejected int64
	// message is partial_success.error_message.
	message string
}

// request is a decoded OTLP export request of any signal.
type request interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

// response is an OTLP export response of any signal.
type response interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

// export admits, decodes, converts and durably stores one request body (the
// serialized Export<signal>ServiceRequest, decompressed), and returns the
// encoded response. asJSON selects OTLP/JSON for both.
func (r *Receiver) export(ctx context.Context, sig signal, body []byte, asJSON bool) (exported, *failure) {
	if int64(len(body)) > r.limits.MaxRequestBytes {
		return exported{}, fail(failTooLarge, "request of %d bytes is over the limit of %d bytes", len(body), r.limits.MaxRequestBytes)
	}
	n := int64(len(body))
	if err := r.gate.Acquire(n); err != nil {
		return exported{}, fail(failOverloaded, "server overloaded: %d bytes of requests in progress; retry after %s", r.gate.InUse(), r.retryAfter)
	}
	defer r.gate.Release(n)

	var (
		req   request
		items func() int
		conv  func() (Result, error)
		table schema.ID
	)
	switch sig {
	case signalTraces:
		q := ptraceotlp.NewExportRequest()
		req, table = q, schema.Spans
		items = func() int { return q.Traces().SpanCount() }
		conv = func() (Result, error) { return Traces(q.Traces(), r.conv) }
	case signalLogs:
		q := plogotlp.NewExportRequest()
		req, table = q, schema.Logs
		items = func() int { return q.Logs().LogRecordCount() }
		conv = func() (Result, error) { return Logs(q.Logs(), r.conv) }
	case signalMetrics:
		q := pmetricotlp.NewExportRequest()
		req, table = q, schema.Metrics
		items = func() int { return q.Metrics().DataPointCount() }
		conv = func() (Result, error) { return Metrics(q.Metrics(), r.conv) }
	default:
		panic(fmt.Sprintf("BUG: unknown signal %d", sig))
	}
	var err error
	if asJSON {
		err = req.UnmarshalJSON(body)
	} else {
		err = req.UnmarshalProto(body)
	}
	if err != nil {
		format := "protobuf"
		if asJSON {
			format = "JSON"
		}
		return exported{}, fail(failBadData, "cannot decode the %s request as OTLP %s: %v", sig, format, err)
	}
	total := int64(items())
	res, err := conv()
	if err != nil {
		return exported{}, fail(failInternal, "convert %s: %v", sig, err)
	}
	if res.Batch != nil {
		defer res.Batch.Release()
	}
	if f := r.store(ctx, table, res); f != nil {
		return exported{}, f
	}
	out := exported{accepted: total - res.Rejected, rejected: res.Rejected, message: res.Message}
	if res.Rejected == 0 && res.Message == "" {
		// A full success leaves partial_success unset (OTLP: "MUST"), but
		// pdata's responses always encode it, empty: write the empty
		// message ourselves.
		if asJSON {
			out.response = []byte("{}")
		} else {
			out.response = []byte{}
		}
		return out, nil
	}
	var resp response
	switch sig {
	case signalTraces:
		p := ptraceotlp.NewExportResponse()
		p.PartialSuccess().SetRejectedSpans(res.Rejected)
		p.PartialSuccess().SetErrorMessage(res.Message)
		resp = p
	case signalLogs:
		p := plogotlp.NewExportResponse()
		p.PartialSuccess().SetRejectedLogRecords(res.Rejected)
		p.PartialSuccess().SetErrorMessage(res.Message)
		resp = p
	case signalMetrics:
		p := pmetricotlp.NewExportResponse()
		p.PartialSuccess().SetRejectedDataPoints(res.Rejected)
		p.PartialSuccess().SetErrorMessage(res.Message)
		resp = p
	}
	if asJSON {
		out.response, err = resp.MarshalJSON()
	} else {
		out.response, err = resp.MarshalProto()
	}
	if err != nil {
		// The rows are stored; only the answer failed.
		return exported{}, fail(failInternal, "encode the %s response: %v", sig, err)
	}
	return out, nil
}

// store appends a converted request: its payloads first, then its rows, so
// that no stored row refers to a text that is not stored. Both appends are
// durable when they return.
func (r *Receiver) store(ctx context.Context, table schema.ID, res Result) *failure {
	if len(res.Payloads) > 0 {
		pb, err := payloadBatch(r.conv.Allocator, res.Payloads)
		if err != nil {
			return fail(failInternal, "build llm_payloads batch: %v", err)
		}
		_, err = r.app.Append(ctx, schema.LLMPayloads, pb)
		pb.Release()
		if err != nil {
			return appendFailure(ctx, fmt.Sprintf("store %d LLM payloads", len(res.Payloads)), err)
		}
	}
	if res.Batch != nil {
		if _, err := r.app.Append(ctx, table, res.Batch); err != nil {
			return appendFailure(ctx, fmt.Sprintf("store %d %s rows", res.Batch.NumRows(), table), err)
		}
	}
	return nil
}

// appendFailure classifies an Append error. What cannot succeed on retry
// (a batch the schema refuses, a table the engine cannot store) is
// internal; anything else (the engine closed, an I/O error) is retryable.
func appendFailure(ctx context.Context, what string, err error) *failure {
	switch {
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return fail(failCanceled, "%s: %v", what, err)
	case errors.Is(err, schema.ErrSchemaMismatch), errors.Is(err, schema.ErrInvalidBatch),
		errors.Is(err, schema.ErrUnknownTable), errors.Is(err, engine.ErrNotAppendable):
		return fail(failInternal, "%s: %v", what, err)
	}
	return fail(failUnavailable, "%s: %v", what, err)
}

// finish records a request in the metrics and, when it was refused, in the
// log. code is the transport's status code as text.
func (r *Receiver) finish(sig, transport, code string, bytes int, start time.Time, out exported, f *failure) {
	r.m.requests.WithLabelValues(sig, transport, code).Inc()
	r.m.bytes.WithLabelValues(sig, transport).Add(float64(bytes))
	r.m.duration.WithLabelValues(sig, transport).Observe(time.Since(start).Seconds())
	if f != nil {
		r.log.warn(reasons[f.kind], "OTLP request refused", "signal", sig, "transport", transport, "code", code, "reason", reasons[f.kind], "err", f.msg)
		return
	}
	r.m.items.WithLabelValues(sig).Add(float64(out.accepted))
	if out.rejected > 0 {
		r.m.rejected.WithLabelValues(sig).Add(float64(out.rejected))
		r.log.warn("rejected items", "OTLP request partly rejected", "signal", sig, "transport", transport, "rejected", out.rejected, "accepted", out.accepted, "err", out.message)
	}
}
