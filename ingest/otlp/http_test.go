package otlp

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tael/tael/schema"
)

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// post sends body to the server's path and returns the response with its
// body read.
func post(t testing.TB, url, contentType, encoding string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// fixture is one OTLP/JSON file of testdata, as a request of its signal.
type fixture struct {
	path  string
	file  string
	table schema.ID
	// convert converts the decoded file directly, for comparison.
	convert func(t testing.TB, data []byte, o Options) (Result, error)
	// protobuf re-encodes the file as a protobuf request body.
	protobuf func(t testing.TB, data []byte) []byte
	// partial decodes a response body (JSON or protobuf) into its
	// partial_success.
	partial func(t testing.TB, body []byte, asJSON bool) (int64, string)
}

var fixtures = []fixture{
	{
		path: "/v1/traces", file: "testdata/traces.json", table: schema.Spans,
		convert: func(t testing.TB, data []byte, o Options) (Result, error) {
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalJSON(data); err != nil {
				t.Fatal(err)
			}
			return Traces(req.Traces(), o)
		},
		protobuf: func(t testing.TB, data []byte) []byte {
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalJSON(data); err != nil {
				t.Fatal(err)
			}
			b, _ := req.MarshalProto()
			return b
		},
		partial: func(t testing.TB, body []byte, asJSON bool) (int64, string) {
			resp := ptraceotlp.NewExportResponse()
			unmarshalResponse(t, resp, body, asJSON)
			return resp.PartialSuccess().RejectedSpans(), resp.PartialSuccess().ErrorMessage()
		},
	},
	{
		path: "/v1/logs", file: "testdata/logs.json", table: schema.Logs,
		convert: func(t testing.TB, data []byte, o Options) (Result, error) {
			req := plogotlp.NewExportRequest()
			if err := req.UnmarshalJSON(data); err != nil {
				t.Fatal(err)
			}
			return Logs(req.Logs(), o)
		},
		protobuf: func(t testing.TB, data []byte) []byte {
			req := plogotlp.NewExportRequest()
			if err := req.UnmarshalJSON(data); err != nil {
				t.Fatal(err)
			}
			b, _ := req.MarshalProto()
			return b
		},
		partial: func(t testing.TB, body []byte, asJSON bool) (int64, string) {
			resp := plogotlp.NewExportResponse()
			unmarshalResponse(t, resp, body, asJSON)
			return resp.PartialSuccess().RejectedLogRecords(), resp.PartialSuccess().ErrorMessage()
		},
	},
	{
		path: "/v1/metrics", file: "testdata/metrics.json", table: schema.Metrics,
		convert: func(t testing.TB, data []byte, o Options) (Result, error) {
			req := pmetricotlp.NewExportRequest()
			if err := req.UnmarshalJSON(data); err != nil {
				t.Fatal(err)
			}
			return Metrics(req.Metrics(), o)
		},
		protobuf: func(t testing.TB, data []byte) []byte {
			req := pmetricotlp.NewExportRequest()
			if err := req.UnmarshalJSON(data); err != nil {
				t.Fatal(err)
			}
			b, _ := req.MarshalProto()
			return b
		},
		partial: func(t testing.TB, body []byte, asJSON bool) (int64, string) {
			resp := pmetricotlp.NewExportResponse()
			unmarshalResponse(t, resp, body, asJSON)
			return resp.PartialSuccess().RejectedDataPoints(), resp.PartialSuccess().ErrorMessage()
		},
	},
}

func unmarshalResponse(t testing.TB, resp interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}, body []byte, asJSON bool) {
	t.Helper()
	var err error
	if asJSON {
		err = resp.UnmarshalJSON(body)
	} else {
		err = resp.UnmarshalProto(body)
	}
	if err != nil {
		t.Fatalf("response %q: %v", body, err)
	}
}

// sortedRows is rows in a canonical order (by their JSON text), since the
// engine returns rows by time bucket.
func sortedRows(t testing.TB, rs []map[string]any) []string {
	t.Helper()
	out := make([]string, len(rs))
	for i, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	sort.Strings(out)
	return out
}

// TestHTTPFixtures posts the OTLP/JSON fixtures of testdata (hex ids, some
// upper case; items the converter rejects) as application/json, and the
// same requests as gzip-compressed protobuf. Each time the engine must hold
// exactly the rows a direct conversion gives, and the response must carry
// the conversion's partial_success in the request's encoding.
func TestHTTPFixtures(t *testing.T) {
	for _, f := range fixtures {
		for _, enc := range []string{"json", "protobuf+gzip"} {
			t.Run(f.table.String()+"/"+enc, func(t *testing.T) {
				s := startServer(t, serverConfig{opts: ReceiverOptions{Convert: DefaultOptions()}})
				data := readFile(t, f.file)
				o := checkedOptions(t, DefaultOptions())
				want, err := f.convert(t, data, o)
				if err != nil {
					t.Fatal(err)
				}
				if want.Batch != nil {
					t.Cleanup(want.Batch.Release)
				}

				asJSON := enc == "json"
				var resp *http.Response
				var body []byte
				if asJSON {
					resp, body = post(t, s.httpURL+f.path, "application/json; charset=utf-8", "", data)
				} else {
					resp, body = post(t, s.httpURL+f.path, "application/x-protobuf", "gzip", gzipBytes(t, f.protobuf(t, data)))
				}
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %s: %s", resp.Status, body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != contentType(asJSON) {
					t.Errorf("response Content-Type %q, want %q", ct, contentType(asJSON))
				}
				rejected, msg := f.partial(t, body, asJSON)
				if rejected != want.Rejected || msg != want.Message {
					t.Errorf("partial_success = %d %q, want %d %q", rejected, msg, want.Rejected, want.Message)
				}
				if want.Rejected == 0 && want.Message == "" && string(body) != map[bool]string{true: "{}", false: ""}[asJSON] {
					t.Errorf("partial_success set on a full success: %s", body)
				}
				got := sortedRows(t, s.scan(t, f.table))
				wantRows := sortedRows(t, exactRows(t, want.Batch))
				if len(got) != len(wantRows) {
					t.Fatalf("%d rows stored, want %d", len(got), len(wantRows))
				}
				for i := range got {
					if got[i] != wantRows[i] {
						t.Errorf("row %d:\n got %s\nwant %s", i, got[i], wantRows[i])
					}
				}
				for _, p := range want.Payloads {
					b, err := s.eng.Blob(t.Context(), p.SHA256)
					if err != nil || b.Text != p.Text || b.Kind != p.Kind {
						t.Errorf("payload %s (%s): %+v, %v", p.SHA256, p.Kind, b, err)
					}
				}
			})
		}
	}
	// The fixture's upper-case hex ids are stored in lower case.
	t.Run("hex ids", func(t *testing.T) {
		s := startServer(t, serverConfig{})
		resp, body := post(t, s.httpURL+"/v1/traces", "application/json", "", readFile(t, "testdata/traces.json"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %s: %s", resp.Status, body)
		}
		spans := s.trace(t, "5b8efff798038103d269b633813fc60c")
		if len(spans) == 0 {
			t.Fatal("trace 5b8efff798038103d269b633813fc60c not found")
		}
		for _, sp := range spans {
			if sp["operation"] == "POST /checkout" {
				checkRow(t, "POST /checkout", sp, map[string]any{"span_id": "eee19b7ec3c1b174", "trace_state": "rojo=00f067aa0ba902b7"})
			}
		}
	})
}

// rpcStatus decodes an error response's google.rpc.Status.
func rpcStatus(t testing.TB, body []byte, asJSON bool) *spb.Status {
	t.Helper()
	st := &spb.Status{}
	var err error
	if asJSON {
		err = protojson.Unmarshal(body, st)
	} else {
		err = proto.Unmarshal(body, st)
	}
	if err != nil {
		t.Fatalf("error body %q is not a google.rpc.Status: %v", body, err)
	}
	return st
}

// zeroIDTraces is a protobuf traces request with one span whose trace id is
// all zeros.
func zeroIDTraces(t testing.TB) []byte {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetSpanID(pcommon.SpanID{1})
	sp.SetName("zero trace id")
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deltaMetrics is a metrics request with one delta sum data point, which
// the converter rejects.
func deltaMetrics(t testing.TB) []byte {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("requests")
	sum := m.SetEmptySum()
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	sum.SetIsMonotonic(true)
	dp := sum.DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(testNow))
	dp.SetIntValue(3)
	b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func emptyLogs(t testing.TB) []byte {
	b, err := plogotlp.NewExportRequestFromLogs(plog.NewLogs()).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHTTPBadInput sends requests OTLP/HTTP must refuse (or partly refuse)
// and checks the status code, the google.rpc.Status body in the request's
// encoding, and that nothing was stored.
func TestHTTPBadInput(t *testing.T) {
	const limit = 64 << 10
	s := startServer(t, serverConfig{opts: ReceiverOptions{Limits: limitsOf(limit)}})
	oversized := bytes.Repeat([]byte{0x0a, 0x00}, limit/2+1) // valid protobuf: empty resource_spans, repeated
	cases := []struct {
		name, method, path, contentType, encoding string
		body                                      []byte
		code                                      int
		// msg is in the Status message; for a 200, the partial_success
		// error_message.
		msg      string
		rejected int64
	}{
		{name: "malformed protobuf", path: "/v1/traces", contentType: "application/x-protobuf",
			body: []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, code: 400, msg: "cannot decode the traces request as OTLP protobuf"},
		{name: "malformed JSON", path: "/v1/logs", contentType: "application/json",
			body: []byte(`{"resourceLogs": [`), code: 400, msg: "cannot decode the logs request as OTLP JSON"},
		{name: "JSON trace id of the wrong length", path: "/v1/traces", contentType: "application/json",
			body: []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abcd","spanId":"0102030405060708"}]}]}]}`),
			code: 400, msg: "cannot decode"},
		{name: "wrong content type", path: "/v1/traces", contentType: "text/plain", body: []byte("hi"), code: 415, msg: "unsupported Content-Type"},
		{name: "no content type", path: "/v1/metrics", body: []byte{}, code: 415, msg: "unsupported Content-Type"},
		{name: "unsupported encoding", path: "/v1/traces", contentType: "application/x-protobuf", encoding: "br",
			body: []byte{}, code: 415, msg: "unsupported Content-Encoding"},
		{name: "corrupt gzip", path: "/v1/traces", contentType: "application/x-protobuf", encoding: "gzip",
			body: []byte("not gzip"), code: 400, msg: "gzip"},
		{name: "body over the limit", path: "/v1/traces", contentType: "application/x-protobuf",
			body: oversized, code: 413, msg: "over the limit"},
		{name: "gzip body over the limit", path: "/v1/traces", contentType: "application/json", encoding: "gzip",
			body: gzipBytes(t, bytes.Repeat([]byte(" "), limit+1)), code: 413, msg: "over the limit"},
		{name: "all-zero trace id", path: "/v1/traces", contentType: "application/x-protobuf",
			body: zeroIDTraces(t), code: 200, msg: "rejected 1 span: 1 with an all-zero trace_id", rejected: 1},
		{name: "delta sum", path: "/v1/metrics", contentType: "application/json",
			body: deltaMetrics(t), code: 200, msg: "rejected 1 data point", rejected: 1},
		{name: "empty request", path: "/v1/logs", contentType: "application/x-protobuf", body: emptyLogs(t), code: 200},
		{name: "GET", method: http.MethodGet, path: "/v1/traces", contentType: "application/x-protobuf", code: 405, msg: "method GET not allowed"},
		{name: "unknown path", path: "/v1/profiles", contentType: "application/json", body: []byte("{}"), code: 404, msg: "no OTLP endpoint"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, s.httpURL+c.path, bytes.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			if c.encoding != "" {
				req.Header.Set("Content-Encoding", c.encoding)
			}
			resp, body := do(t, req)
			if resp.StatusCode != c.code {
				t.Fatalf("status %s, want %d: %q", resp.Status, c.code, body)
			}
			asJSON := strings.HasPrefix(c.contentType, "application/json")
			if ct := resp.Header.Get("Content-Type"); ct != contentType(asJSON) {
				t.Errorf("Content-Type %q, want %q", ct, contentType(asJSON))
			}
			if c.code == 405 && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", resp.Header.Get("Allow"))
			}
			if c.code == 200 {
				var rejected int64
				var msg string
				for _, f := range fixtures {
					if f.path == c.path {
						rejected, msg = f.partial(t, body, asJSON)
					}
				}
				if rejected != c.rejected || !strings.Contains(msg, c.msg) || (c.msg == "" && msg != "") {
					t.Errorf("partial_success = %d %q, want %d %q", rejected, msg, c.rejected, c.msg)
				}
				return
			}
			st := rpcStatus(t, body, asJSON)
			if !strings.Contains(st.GetMessage(), c.msg) {
				t.Errorf("Status.message = %q, want it to contain %q", st.GetMessage(), c.msg)
			}
			if c.code == 400 {
				var br errdetails.BadRequest
				if len(st.GetDetails()) != 1 || st.GetDetails()[0].UnmarshalTo(&br) != nil {
					t.Errorf("400 without a BadRequest detail: %v", st.GetDetails())
				}
			}
		})
	}
	for table, n := range s.counts(t) {
		if n != 0 {
			t.Errorf("%d rows in %s after refused requests", n, table)
		}
	}
	checkCounter(t, s, "tael_otlp_requests_total", map[string]string{"transport": "http", "code": "400"}, 4)
	checkCounter(t, s, "tael_otlp_requests_total", map[string]string{"transport": "http", "code": "413"}, 2)
	checkCounter(t, s, "tael_otlp_rejected_items_total", map[string]string{"signal": "traces"}, 1)
	checkCounter(t, s, "tael_otlp_rejected_items_total", map[string]string{"signal": "metrics"}, 1)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestHTTPGzipBomb posts 64 MiB of zeros gzip-compressed (64 KiB on the
// wire) against a 1 MiB limit: 413, and reading stops soon after the first
// MiB comes out, long before the end of the compressed body.
func TestHTTPGzipBomb(t *testing.T) {
	s := startServer(t, serverConfig{opts: ReceiverOptions{Limits: limitsOf(1 << 20)}})
	bomb := gzipBytes(t, make([]byte, 64<<20))
	for _, ct := range []string{"application/x-protobuf", "application/json"} {
		t.Run(ct, func(t *testing.T) {
			body := &countingReader{r: bytes.NewReader(bomb)}
			req := httptest.NewRequest(http.MethodPost, "/v1/traces", body)
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Content-Encoding", "gzip")
			w := httptest.NewRecorder()
			s.rcv.HTTPHandler().ServeHTTP(w, req)
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413: %q", w.Code, w.Body.Bytes())
			}
			st := rpcStatus(t, w.Body.Bytes(), ct == "application/json")
			if !strings.Contains(st.GetMessage(), "over the limit") {
				t.Errorf("Status.message = %q", st.GetMessage())
			}
			if body.n > len(bomb)/8 {
				t.Errorf("read %d of %d compressed bytes: not cut off early", body.n, len(bomb))
			}
		})
	}
	// Also over a real connection.
	resp, body := post(t, s.httpURL+"/v1/logs", "application/x-protobuf", "gzip", bomb)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %s, want 413: %q", resp.Status, body)
	}
	for table, n := range s.counts(t) {
		if n != 0 {
			t.Errorf("%d rows in %s", n, table)
		}
	}
}

// TestHTTPEndlessGzip sends an endless stream of empty gzip members: no
// output, so ReadBody's limit never trips; the wire limit must.
func TestHTTPEndlessGzip(t *testing.T) {
	s := startServer(t, serverConfig{opts: ReceiverOptions{Limits: limitsOf(64 << 10)}})
	member := gzipBytes(t, nil)
	body := &countingReader{r: &repeatReader{b: member}}
	req := httptest.NewRequest(http.MethodPost, "/v1/traces", body)
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "gzip")
	w := httptest.NewRecorder()
	s.rcv.HTTPHandler().ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %q", w.Code, w.Body.Bytes())
	}
	if max := int(wireLimit(64<<10)) + 64<<10; body.n > max {
		t.Errorf("read %d bytes, want at most %d", body.n, max)
	}
}

// repeatReader repeats b forever.
type repeatReader struct {
	b   []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.b[r.off:])
		n += k
		r.off = (r.off + k) % len(r.b)
	}
	return n, nil
}

// TestFarFutureTimes sends a span, a log record and a metric data point
// timestamped at the largest OTLP time (2^64−1 ns): each is stored at the
// latest time the engine accepts. (math.MaxInt64 itself is refused by the
// hot tier after the WAL write, which left a record the engine could not
// replay.)
func TestFarFutureTimes(t *testing.T) {
	s := startServer(t, serverConfig{})
	const far = pcommon.Timestamp(math.MaxUint64)
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{1})
	sp.SetSpanID(pcommon.SpanID{1})
	sp.SetStartTimestamp(far)
	sp.SetEndTimestamp(far)
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().SetTimestamp(far)
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("far")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(far)
	dp.SetDoubleValue(1)

	tb, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	lb, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	mb, _ := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	for _, req := range []struct {
		path  string
		body  []byte
		table schema.ID
		col   string
	}{
		{"/v1/traces", tb, schema.Spans, "start_time"},
		{"/v1/logs", lb, schema.Logs, "timestamp"},
		{"/v1/metrics", mb, schema.Metrics, "timestamp"},
	} {
		resp, body := post(t, s.httpURL+req.path, contentTypeProtobuf, "", req.body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %s: %s", req.path, resp.Status, body)
		}
		rows := s.scan(t, req.table)
		if len(rows) != 1 {
			t.Fatalf("%s: %d rows, want 1", req.table, len(rows))
		}
		checkRow(t, req.table.String(), rows[0], map[string]any{req.col: time.Unix(0, math.MaxInt64-1)})
	}
}
