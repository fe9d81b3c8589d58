package remotewrite

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/ingest"
	"github.com/tael/tael/schema"
)

const (
	ctV1 = "application/x-protobuf"
	ctV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
)

func marshalV1(t testing.TB, req *prompb.WriteRequest) []byte {
	t.Helper()
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func marshalV2(t testing.TB, req *writev2.Request) []byte {
	t.Helper()
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func oneSeries(ls ...string) *prompb.WriteRequest {
	return &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels: lbls(ls...), Samples: []prompb.Sample{{Value: 1, Timestamp: t0}},
	}}}
}

// TestBadInput sends requests the handler must refuse whole: each gets its
// status and a message, and nothing is stored.
func TestBadInput(t *testing.T) {
	e := openEngine(t)
	const limit = 1 << 20
	base := serve(t, e, Options{Limits: ingest.Limits{MaxRequestBytes: limit}})

	valid := marshalV1(t, oneSeries("__name__", "up", "job", "x"))
	// A snappy header announcing limit+1 bytes, then a few bytes of junk:
	// refused on the header alone.
	oversized := append(binary.AppendUvarint(nil, limit+1), 0, 1, 2, 3)

	cases := []struct {
		name        string
		method      string
		contentType string
		encoding    string // "" sends "snappy"
		body        []byte
		encode      bool // snappy-encode body
		code        int
		msg         string
	}{
		{name: "bad snappy", contentType: ctV1, body: []byte("definitely not snappy"), code: 400, msg: "snappy"},
		{name: "bad snappy v2", contentType: ctV2, body: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, code: 400, msg: "snappy"},
		{name: "garbage protobuf v1", contentType: ctV1, body: []byte("\x0a\xff\xff\xff\xff\x0fgarbage"), encode: true, code: 400, msg: "decode prometheus.WriteRequest"},
		{name: "garbage protobuf v2", contentType: ctV2, body: []byte("\x22\x05ab"), encode: true, code: 400, msg: "decode io.prometheus.write.v2.Request"},
		{name: "missing __name__", contentType: ctV1, body: marshalV1(t, oneSeries("job", "x", "instance", "y")), encode: true, code: 400, msg: `1 samples rejected: 1 series without a metric name (__name__), e.g. {instance="y", job="x"}`},
		{name: "empty __name__", contentType: ctV1, body: marshalV1(t, oneSeries("__name__", "", "job", "x")), encode: true, code: 400, msg: "without a metric name"},
		{name: "duplicate label", contentType: ctV1, body: marshalV1(t, oneSeries("__name__", "up", "job", "x", "job", "y")), encode: true, code: 400, msg: "duplicate label name"},
		{name: "invalid UTF-8 value", contentType: ctV1, body: marshalV1(t, oneSeries("__name__", "up", "job", "\xff")), encode: true, code: 400, msg: "not valid UTF-8"},
		{name: "empty label name", contentType: ctV1, body: marshalV1(t, oneSeries("__name__", "up", "", "x")), encode: true, code: 400, msg: "empty or invalid UTF-8 label name"},
		{name: "timestamp beyond 2262", contentType: ctV1, body: marshalV1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
			Labels: lbls("__name__", "up"), Samples: []prompb.Sample{{Value: 1, Timestamp: 1 << 62}},
		}}}), encode: true, code: 400, msg: "timestamp outside"},
		{name: "v2 label ref out of range", contentType: ctV2, body: marshalV2(t, &writev2.Request{
			Symbols:    []string{"", "__name__", "up"},
			Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 7}, Samples: []writev2.Sample{{Value: 1, Timestamp: t0}}}},
		}), encode: true, code: 400, msg: "outside the symbols table"},
		{name: "v2 odd label refs", contentType: ctV2, body: marshalV2(t, &writev2.Request{
			Symbols:    []string{"", "__name__", "up"},
			Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 2, 1}, Samples: []writev2.Sample{{Value: 1, Timestamp: t0}}}},
		}), encode: true, code: 400, msg: "odd length"},
		{name: "v2 unit ref out of range", contentType: ctV2, body: marshalV2(t, &writev2.Request{
			Symbols: []string{"", "__name__", "up"},
			Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 2}, Samples: []writev2.Sample{{Value: 1, Timestamp: t0}},
				Metadata: writev2.Metadata{UnitRef: 9}}},
		}), encode: true, code: 400, msg: "unit_ref"},
		{name: "oversized header", contentType: ctV1, body: oversized, code: 413, msg: "more than the limit of 1048576"},
		{name: "oversized body", contentType: ctV1, body: bytes.Repeat([]byte{0}, snappy.MaxEncodedLen(limit)+1), code: 413, msg: "larger than"},
		{name: "json", contentType: "application/json", body: valid, encode: true, code: 415, msg: "application/x-protobuf"},
		{name: "unknown proto", contentType: "application/x-protobuf;proto=io.prometheus.write.v3.Request", body: valid, encode: true, code: 415, msg: "not supported"},
		{name: "malformed content type", contentType: "application/x-protobuf;;=", body: valid, encode: true, code: 415, msg: "Content-Type"},
		{name: "gzip", contentType: ctV1, encoding: "gzip", body: valid, encode: true, code: 415, msg: "Content-Encoding"},
		{name: "GET", method: http.MethodGet, contentType: ctV1, body: valid, encode: true, code: 405, msg: "POST"},
		{name: "PUT", method: http.MethodPut, contentType: ctV1, body: valid, encode: true, code: 405, msg: "POST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if tc.encode {
				body = snappy.Encode(nil, body)
			}
			method := cmpOr(tc.method, http.MethodPost)
			req, err := http.NewRequest(method, base, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("Content-Encoding", cmpOr(tc.encoding, "snappy"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var msg bytes.Buffer
			_, _ = msg.ReadFrom(resp.Body)
			if resp.StatusCode != tc.code {
				t.Errorf("status %d, want %d (%s)", resp.StatusCode, tc.code, msg.String())
			}
			if !strings.Contains(msg.String(), tc.msg) {
				t.Errorf("message %q does not contain %q", msg.String(), tc.msg)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
			if tc.code == 405 && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("405 without Allow: POST")
			}
		})
	}
	if rows := scanRows(t, e); len(rows) != 0 {
		t.Errorf("bad requests stored %d rows: %v", len(rows), rows)
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestPartialWrite checks that a request with some invalid series stores
// the valid ones and answers 400 naming what was rejected, in 1.0 and 2.0
// (with the written-samples header).
func TestPartialWrite(t *testing.T) {
	e := openEngine(t)
	base := serve(t, e, Options{})

	v1 := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: lbls("__name__", "good", "job", "a"), Samples: []prompb.Sample{{Value: 1, Timestamp: t0}, {Value: 2, Timestamp: 1 << 62}}},
		{Labels: lbls("job", "a"), Samples: []prompb.Sample{{Value: 3, Timestamp: t0}, {Value: 4, Timestamp: t0 + 1}}},
	}}
	code, msg, _ := post(t, base, ctV1, marshalV1(t, v1), true)
	if code != 400 {
		t.Errorf("1.0: status %d, want 400", code)
	}
	if want := `3 samples rejected: 1 samples with a timestamp outside 1677-09-21 to 2262-04-11 (int64 nanoseconds), e.g. 4611686018427387904 ms; 1 series without a metric name (__name__), e.g. {job="a"}`; strings.TrimSpace(msg) != want {
		t.Errorf("1.0: message\n %q, want\n %q", msg, want)
	}

	v2 := &writev2.Request{
		Symbols: []string{"", "__name__", "good2", "job", "b"},
		Timeseries: []writev2.TimeSeries{
			{LabelsRefs: []uint32{1, 2, 3, 4}, Samples: []writev2.Sample{{Value: 5, Timestamp: t0}, {Value: 6, Timestamp: t0 + 1000}}},
			{LabelsRefs: []uint32{3, 4}, Samples: []writev2.Sample{{Value: 7, Timestamp: t0}}},
		},
	}
	code, msg, hdr := post(t, base, ctV2, marshalV2(t, v2), true)
	if code != 400 || !strings.Contains(msg, "1 series without a metric name") {
		t.Errorf("2.0: %d %q, want 400 naming the series without a name", code, msg)
	}
	if got := hdr.Get(headerSamplesWritten); got != "2" {
		t.Errorf("2.0: %s: %q, want 2", headerSamplesWritten, got)
	}
	checkRows(t, e, []row{
		mkRow(t0, "good", map[string]string{"job": "a"}, "a", 1, "unknown", ""),
		mkRow(t0, "good2", map[string]string{"job": "b"}, "b", 5, "unknown", ""),
		mkRow(t0+1000, "good2", map[string]string{"job": "b"}, "b", 6, "unknown", ""),
	})
}

// blockingAppender holds every Append of the engine until release is
// closed, so that a test can keep a request in flight.
type blockingAppender struct {
	*engine.Engine
	entered chan struct{}
	release chan struct{}
}

func (a *blockingAppender) Append(ctx context.Context, table schema.ID, rec arrow.RecordBatch) (uint64, error) {
	a.entered <- struct{}{}
	<-a.release
	return a.Engine.Append(ctx, table, rec)
}

// TestOverloaded fills the in-flight budget with one request and checks
// that the next is refused with 503 and Retry-After, and that the first
// completes.
func TestOverloaded(t *testing.T) {
	e := openEngine(t)
	app := &blockingAppender{Engine: e, entered: make(chan struct{}, 4), release: make(chan struct{})}
	base := serve(t, app, Options{Limits: ingest.Limits{MaxInflightBytes: 1}})
	body := marshalV1(t, oneSeries("__name__", "up", "job", "x"))

	var wg sync.WaitGroup
	first := 0
	wg.Go(func() { first, _, _ = post(t, base, ctV1, body, true) })
	<-app.entered

	code, msg, hdr := post(t, base, ctV1, body, true)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") != "1" {
		t.Errorf("while full: %d Retry-After %q (%s), want 503 and 1", code, hdr.Get("Retry-After"), msg)
	}
	close(app.release)
	wg.Wait()
	if first != http.StatusNoContent {
		t.Errorf("first request: %d, want 204", first)
	}
	if code, _, _ := post(t, base, ctV1, body, true); code != http.StatusNoContent {
		t.Errorf("after the first finished: %d, want 204", code)
	}
	if n := len(scanRows(t, e)); n != 2 {
		t.Errorf("%d rows, want 2", n)
	}
}

// TestEngineClosed checks that a failing engine gives 503, which every
// sender retries.
func TestEngineClosed(t *testing.T) {
	e := openEngine(t)
	base := serve(t, e, Options{})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	code, msg, _ := post(t, base, ctV1, marshalV1(t, oneSeries("__name__", "up")), true)
	if code != http.StatusServiceUnavailable || !strings.Contains(msg, "closed") {
		t.Errorf("%d %q, want 503 naming the closed engine", code, msg)
	}
}

// TestMetrics checks the handler's metrics after a few requests.
func TestMetrics(t *testing.T) {
	e := openEngine(t)
	reg := prometheus.NewPedanticRegistry()
	base := serve(t, e, Options{Registerer: reg})

	post(t, base, ctV1, marshalV1(t, oneSeries("__name__", "up", "job", "x")), true)
	post(t, base, ctV1, marshalV1(t, oneSeries("job", "x")), true)
	post(t, base, "text/plain", nil, false)
	withHistogram := &writev2.Request{
		Symbols:    []string{"", "__name__", "h"},
		Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 2}, Histograms: []writev2.Histogram{{Timestamp: t0}}}},
	}
	post(t, base, ctV2, marshalV2(t, withHistogram), true)

	want := `
# HELP tael_remote_write_dropped_total Samples, native histogram samples and exemplars received by remote write and not stored, by reason.
# TYPE tael_remote_write_dropped_total counter
tael_remote_write_dropped_total{reason="exemplar"} 0
tael_remote_write_dropped_total{reason="invalid_series"} 1
tael_remote_write_dropped_total{reason="invalid_timestamp"} 0
tael_remote_write_dropped_total{reason="native_histogram"} 1
# HELP tael_remote_write_requests_total Remote-write requests answered, by HTTP status code.
# TYPE tael_remote_write_requests_total counter
tael_remote_write_requests_total{code="204"} 2
tael_remote_write_requests_total{code="400"} 1
tael_remote_write_requests_total{code="415"} 1
# HELP tael_remote_write_samples_total Float samples received by remote write and stored durably.
# TYPE tael_remote_write_samples_total counter
tael_remote_write_samples_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"tael_remote_write_dropped_total", "tael_remote_write_requests_total", "tael_remote_write_samples_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "tael_remote_write_request_duration_seconds"); n != 1 {
		t.Errorf("duration histogram: %d series, want 1", n)
	}
}

// TestSeriesIDMatchesSchema checks the handler's map-free series id
// against schema.SeriesID on random label sets.
func TestSeriesIDMatchesSchema(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"", "a", "b", "job", "\xff", "le", "a\xffb", "instance", "ü"}
	pick := func() string { return alphabet[r.IntN(len(alphabet))] + alphabet[r.IntN(len(alphabet))] }
	c := &converter{}
	for range 10000 {
		c.scratch = c.scratch[:0]
		c.scratch = append(c.scratch, label{"__name__", "m" + pick()})
		seen := map[string]bool{"__name__": true}
		for range r.IntN(8) {
			n := pick()
			if n == "" || seen[n] {
				continue
			}
			seen[n] = true
			c.scratch = append(c.scratch, label{n, pick()})
		}
		r.Shuffle(len(c.scratch), func(i, j int) { c.scratch[i], c.scratch[j] = c.scratch[j], c.scratch[i] })
		name, ls, why := c.normalize()
		if why != "" {
			continue // invalid UTF-8
		}
		m := map[string]string{}
		for _, l := range ls {
			m[l.name] = l.value
		}
		if got, want := seriesID(name, ls), schema.SeriesID(name, m); got != want {
			t.Fatalf("%s %v: seriesID %d, schema.SeriesID %d", name, ls, got, want)
		}
	}
}

// TestResolve checks how a sample name finds its metric family's metadata.
func TestResolve(t *testing.T) {
	families := map[string]meta{
		"http_requests_total":           {typ: typeCounter},
		"rpc":                           {typ: typeCounter},
		"latency_seconds":               {typ: typeHistogram, unit: "seconds"},
		"gc_duration_seconds":           {typ: typeSummary, unit: "seconds"},
		"temperature":                   {typ: typeGauge, unit: "celsius"},
		"temperature_count":             {typ: typeGauge},
		"queue_bucket":                  {typ: typeGauge},
		"weird_gauge":                   {typ: typeGauge},
		"info_metric":                   {typ: typeUnknown},
		"http_request_duration_seconds": {typ: typeHistogram},
	}
	lookup := func(f string) (meta, bool) { m, ok := families[f]; return m, ok }
	f := func(name string, want meta) {
		t.Helper()
		if got := resolve(name, lookup); got != want {
			t.Errorf("resolve(%q) = %+v, want %+v", name, got, want)
		}
	}
	f("http_requests_total", meta{typ: typeCounter})
	f("rpc_total", meta{typ: typeCounter})
	f("rpc_created", meta{typ: typeCounter})
	f("latency_seconds_bucket", meta{typ: typeHistogram, unit: "seconds"})
	f("latency_seconds_sum", meta{typ: typeHistogram, unit: "seconds"})
	f("latency_seconds_count", meta{typ: typeHistogram, unit: "seconds"})
	f("gc_duration_seconds", meta{typ: typeSummary, unit: "seconds"})
	f("gc_duration_seconds_count", meta{typ: typeSummary, unit: "seconds"})
	f("gc_duration_seconds_bucket", unknownMeta) // a summary has no buckets
	f("temperature", meta{typ: typeGauge, unit: "celsius"})
	f("temperature_count", meta{typ: typeGauge}) // its own family first
	f("temperature_sum", unknownMeta)            // a gauge has no _sum
	f("weird_gauge_total", unknownMeta)          // nor _total
	f("queue_bucket", meta{typ: typeGauge})      // exact name
	f("no_such_metric", unknownMeta)             // no metadata
	f("_total", unknownMeta)                     // no family name left
	f("info_metric", meta{typ: typeUnknown})     // known, of no table type
	f("http_request_duration_seconds_created", meta{typ: typeHistogram})
}
