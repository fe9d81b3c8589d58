package otlp

import (
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tael/tael/ingest"
)

// OTLP/HTTP media types (opentelemetry-proto docs/specification.md).
const (
	contentTypeProtobuf = "application/x-protobuf"
	contentTypeJSON     = "application/json"
)

// httpPaths are the OTLP/HTTP default paths.
var httpPaths = map[string]signal{
	"/v1/traces":  signalTraces,
	"/v1/logs":    signalLogs,
	"/v1/metrics": signalMetrics,
}

// HTTPHandler returns the OTLP/HTTP handler: POST /v1/traces, /v1/logs and
// /v1/metrics with an application/x-protobuf or application/json body,
// optionally gzip-encoded. A success answers 200 with the
// Export<signal>ServiceResponse in the request's encoding, its
// partial_success set when items were rejected. A failure answers with a
// google.rpc.Status in the request's encoding (protobuf when that is not
// JSON): 400 undecodable body, 404 unknown path, 405 not POST, 413 body
// over Limits.MaxRequestBytes, 415 unsupported Content-Type or
// Content-Encoding, 429 overloaded and 503 engine unavailable (both with
// Retry-After, which OTLP exporters honour), 500 a bug.
func (r *Receiver) HTTPHandler() http.Handler { return http.HandlerFunc(r.serveHTTP) }

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	mediaType, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	asJSON := mediaType == contentTypeJSON
	sig, ok := httpPaths[req.URL.Path]
	sigName := "unknown"
	if ok {
		sigName = sig.String()
	}
	var (
		out  exported
		f    *failure
		read int
	)
	defer func() {
		code := http.StatusOK
		if f != nil {
			code = r.writeHTTPFailure(w, asJSON, f)
		} else {
			w.Header().Set("Content-Type", contentType(asJSON))
			w.Header().Set("Content-Length", strconv.Itoa(len(out.response)))
			w.WriteHeader(code)
			_, _ = w.Write(out.response)
		}
		r.finish(sigName, "http", strconv.Itoa(code), read, start, out, f)
	}()

	switch {
	case !ok:
		f = fail(failNotFound, "no OTLP endpoint at %q: use /v1/traces, /v1/logs or /v1/metrics", req.URL.Path)
		return
	case req.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		f = fail(failMethod, "method %s not allowed: OTLP/HTTP requests are POST", req.Method)
		return
	case mediaType != contentTypeProtobuf && mediaType != contentTypeJSON:
		f = fail(failMediaType, "unsupported Content-Type %q: use %s or %s", req.Header.Get("Content-Type"), contentTypeProtobuf, contentTypeJSON)
		return
	}
	encoding := req.Header.Get("Content-Encoding")
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity", "gzip", "x-gzip":
	default:
		f = fail(failMediaType, "unsupported Content-Encoding %q: use gzip or none", encoding)
		return
	}
	// Refuse before reading the body when the gate is already full: a
	// flood of requests then costs no memory for their bodies.
	if r.gate.InUse() >= r.limits.MaxInflightBytes {
		f = fail(failOverloaded, "server overloaded; retry after %s", r.retryAfter)
		return
	}
	wire := &limitedReader{r: req.Body, n: wireLimit(r.limits.MaxRequestBytes)}
	body, err := ingest.ReadBody(wire, encoding, r.limits.MaxRequestBytes)
	read = len(body)
	switch {
	case errors.Is(err, ingest.ErrTooLarge), wire.over:
		f = fail(failTooLarge, "request body over the limit of %d bytes (after decompression)", r.limits.MaxRequestBytes)
		return
	case err != nil:
		f = fail(failBadData, "read request body: %v", err)
		return
	}
	out, f = r.export(req.Context(), sig, body, asJSON)
}

// writeHTTPFailure writes f as a google.rpc.Status and returns the HTTP
// status code written.
func (r *Receiver) writeHTTPFailure(w http.ResponseWriter, asJSON bool, f *failure) int {
	var (
		httpCode int
		code     codes.Code
		retry    bool
	)
	switch f.kind {
	case failBadData:
		httpCode, code = http.StatusBadRequest, codes.InvalidArgument
	case failTooLarge:
		httpCode, code = http.StatusRequestEntityTooLarge, codes.ResourceExhausted
	case failOverloaded:
		httpCode, code, retry = http.StatusTooManyRequests, codes.ResourceExhausted, true
	case failUnavailable, failCanceled:
		httpCode, code, retry = http.StatusServiceUnavailable, codes.Unavailable, true
	case failNotFound:
		httpCode, code = http.StatusNotFound, codes.NotFound
	case failMethod:
		httpCode, code = http.StatusMethodNotAllowed, codes.Unimplemented
	case failMediaType:
		httpCode, code = http.StatusUnsupportedMediaType, codes.InvalidArgument
	default:
		httpCode, code = http.StatusInternalServerError, codes.Internal
	}
	st := statusOf(code, f, r.retryAfter)
	var (
		body []byte
		err  error
	)
	if asJSON {
		body, err = protojson.Marshal(st.Proto())
	} else {
		body, err = proto.Marshal(st.Proto())
	}
	if err != nil {
		panic(fmt.Sprintf("BUG: encode google.rpc.Status %q: %v", f.msg, err))
	}
	h := w.Header()
	if retry {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(r.retryAfter)))
	}
	h.Set("Content-Type", contentType(asJSON))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(httpCode)
	_, _ = w.Write(body)
	return httpCode
}

// statusOf is the google.rpc.Status for f, with a BadRequest detail for bad
// data and a RetryInfo detail for the retryable kinds, as OTLP recommends.
func statusOf(code codes.Code, f *failure, retryAfter time.Duration) *status.Status {
	st := status.New(code, f.msg)
	var detail protoadapt.MessageV1
	switch f.kind {
	case failBadData:
		detail = &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Description: f.msg}}}
	case failOverloaded, failUnavailable:
		detail = &errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)}
	}
	if detail != nil {
		if withDetail, err := st.WithDetails(detail); err == nil {
			st = withDetail
		}
	}
	return st
}

func contentType(asJSON bool) string {
	if asJSON {
		return contentTypeJSON
	}
	return contentTypeProtobuf
}

// retryAfterSeconds is d in whole seconds for Retry-After, rounded up, at
// least 1 (0 would invite an immediate retry).
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// wireLimit bounds the bytes read off the wire for a body of at most max
// bytes after decompression. ingest.ReadBody bounds what comes out of gzip;
// this bounds what goes in, so that a stream of empty gzip members (no
// output, endless input) cannot hold a handler forever. A legitimate body
// never needs more: deflate's worst case (stored blocks) adds 5 bytes per
// 64 KiB, and gzip's header and trailer a few dozen; 1/1024 + 4 KiB covers
// both with room.
func wireLimit(max int64) int64 { return max + max>>10 + 4<<10 }

// limitedReader reads at most n bytes and records whether the reader had
// more (over), which ReadBody's gzip errors would otherwise hide.
type limitedReader struct {
	r    io.Reader
	n    int64
	over bool
}

var errWireLimit = errors.New("otlp: request body over the wire limit")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.over {
		return 0, errWireLimit
	}
	if l.n <= 0 {
		// Probe for one more byte: a body of exactly n bytes is fine.
		var one [1]byte
		k, err := l.r.Read(one[:])
		if k > 0 {
			l.over = true
			return 0, errWireLimit
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}
