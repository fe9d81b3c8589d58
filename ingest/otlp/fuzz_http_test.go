package otlp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// fuzzHTTP sends data as a protobuf and as a JSON body of the fixture's
// signal through the HTTP handler of a receiver over a real engine: never a
// panic, never a 5xx, and every answer is well-formed (a response of the
// signal on 200, a google.rpc.Status otherwise).
func fuzzHTTP(f *testing.F, fx fixture) {
	data := readFile(f, fx.file)
	f.Add(data)
	f.Add(fx.protobuf(f, data))
	f.Add([]byte{})
	f.Add([]byte("{}"))
	s := startServer(f, serverConfig{opts: ReceiverOptions{Convert: DefaultOptions()}})
	h := s.rcv.HTTPHandler()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ct := range []string{contentTypeProtobuf, contentTypeJSON} {
			req := httptest.NewRequest(http.MethodPost, fx.path, bytes.NewReader(data))
			req.Header.Set("Content-Type", ct)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			asJSON := ct == contentTypeJSON
			switch {
			case w.Code >= 500:
				t.Fatalf("%s: status %d: %s", ct, w.Code, w.Body.Bytes())
			case w.Code == http.StatusOK:
				fx.partial(t, w.Body.Bytes(), asJSON)
			default:
				rpcStatus(t, w.Body.Bytes(), asJSON)
			}
		}
	})
}

// FuzzHTTPTraces fuzzes POST /v1/traces (see fuzzHTTP).
func FuzzHTTPTraces(f *testing.F) { fuzzHTTP(f, fixtures[0]) }

// FuzzHTTPLogs fuzzes POST /v1/logs (see fuzzHTTP).
func FuzzHTTPLogs(f *testing.F) { fuzzHTTP(f, fixtures[1]) }

// FuzzHTTPMetrics fuzzes POST /v1/metrics (see fuzzHTTP).
func FuzzHTTPMetrics(f *testing.F) { fuzzHTTP(f, fixtures[2]) }
