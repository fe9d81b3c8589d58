package remotewrite

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/golang/snappy"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	config_util "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage/remote"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/schema"
)

// writeClient is Prometheus's own remote-write client (the one its queue
// manager sends through) for the handler at base.
func writeClient(t *testing.T, base string, msg remoteapi.WriteMessageType) remote.WriteClient {
	t.Helper()
	u, err := url.Parse(base + "/api/v1/write")
	if err != nil {
		t.Fatal(err)
	}
	c, err := remote.NewWriteClient("tael", &remote.ClientConfig{
		URL:           &config_util.URL{URL: u},
		Timeout:       model.Duration(10 * time.Second),
		WriteProtoMsg: msg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func lbls(kv ...string) []prompb.Label {
	var out []prompb.Label
	for i := 0; i < len(kv); i += 2 {
		out = append(out, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

func storeV1(t *testing.T, c remote.WriteClient, req *prompb.WriteRequest) remote.WriteResponseStats {
	t.Helper()
	pb, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.Store(context.Background(), snappy.Encode(nil, pb), 0)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestPrometheusClientV1 sends remote-write 1.0 requests through
// Prometheus's client, as a Prometheus server does (metadata in a request
// of its own first), and reads the rows and series back from the engine.
func TestPrometheusClientV1(t *testing.T) {
	e := openEngine(t)
	c := writeClient(t, serve(t, e, Options{}), remoteapi.WriteV1MessageType)

	// Prometheus sends 1.0 metadata separately, by metric family.
	storeV1(t, c, &prompb.WriteRequest{Metadata: []prompb.MetricMetadata{
		{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "node_load1", Help: "1m load average."},
		{Type: prompb.MetricMetadata_HISTOGRAM, MetricFamilyName: "http_request_duration_seconds", Unit: "seconds"},
		{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "http_requests_total"}, // overridden below
	}})
	if rows := scanRows(t, e); len(rows) != 0 {
		t.Fatalf("metadata-only request stored %d rows", len(rows))
	}

	req := &prompb.WriteRequest{
		Timeseries: []prompb.TimeSeries{
			{
				Labels:  lbls("__name__", "up", "instance", "node-1:9100", "job", "node"),
				Samples: []prompb.Sample{{Value: 1, Timestamp: t0}, {Value: 1, Timestamp: t0 + 15000}, {Value: staleNaN, Timestamp: t0 + 30000}},
			},
			{
				// Labels out of order, and one with an empty value.
				Labels:  lbls("job", "node", "__name__", "node_load1", "instance", "node-1:9100", "cpu", ""),
				Samples: []prompb.Sample{{Value: 0.25, Timestamp: t0}},
			},
			{
				Labels:  lbls("__name__", "http_requests_total", "code", "200", "job", "api", "method", "GET"),
				Samples: []prompb.Sample{{Value: 1027, Timestamp: t0}, {Value: 1043, Timestamp: t0 + 15000}},
			},
			{
				Labels:  lbls("__name__", "http_request_duration_seconds_bucket", "job", "api", "le", "0.1"),
				Samples: []prompb.Sample{{Value: 7, Timestamp: t0}},
			},
			{
				Labels:  lbls("__name__", "http_request_duration_seconds_bucket", "job", "api", "le", "+Inf"),
				Samples: []prompb.Sample{{Value: 9, Timestamp: t0}},
			},
			{
				Labels:  lbls("__name__", "http_request_duration_seconds_sum", "job", "api"),
				Samples: []prompb.Sample{{Value: 0.83, Timestamp: t0}},
			},
			{
				Labels:  lbls("__name__", "http_request_duration_seconds_count", "job", "api"),
				Samples: []prompb.Sample{{Value: 9, Timestamp: t0}},
			},
			{
				// No job: service is unknown_service. A NaN that is not
				// the stale marker keeps its bits too.
				Labels:  lbls("__name__", "room_temperature_celsius", "room", "kitchen"),
				Samples: []prompb.Sample{{Value: 21.5, Timestamp: t0 - 60000}, {Value: staleNaN, Timestamp: t0}},
			},
		},
		// Metadata in the same request takes precedence over what was
		// sent before.
		Metadata: []prompb.MetricMetadata{
			{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "http_requests_total"},
		},
	}
	rs := storeV1(t, c, req)
	if rs.Confirmed {
		t.Errorf("1.0 answer carries 2.0 written headers: %+v", rs)
	}

	node := map[string]string{"instance": "node-1:9100", "job": "node"}
	api := map[string]string{"job": "api"}
	le := func(v string) map[string]string { return map[string]string{"job": "api", "le": v} }
	get := map[string]string{"code": "200", "job": "api", "method": "GET"}
	room := map[string]string{"room": "kitchen"}
	want := []row{
		mkRow(t0, "up", node, "node", 1, "unknown", ""),
		mkRow(t0+15000, "up", node, "node", 1, "unknown", ""),
		mkRow(t0+30000, "up", node, "node", staleNaN, "unknown", ""),
		mkRow(t0, "node_load1", node, "node", 0.25, "gauge", ""),
		mkRow(t0, "http_requests_total", get, "api", 1027, "counter", ""),
		mkRow(t0+15000, "http_requests_total", get, "api", 1043, "counter", ""),
		mkRow(t0, "http_request_duration_seconds_bucket", le("0.1"), "api", 7, "histogram", "seconds"),
		mkRow(t0, "http_request_duration_seconds_bucket", le("+Inf"), "api", 9, "histogram", "seconds"),
		mkRow(t0, "http_request_duration_seconds_sum", api, "api", 0.83, "histogram", "seconds"),
		mkRow(t0, "http_request_duration_seconds_count", api, "api", 9, "histogram", "seconds"),
		mkRow(t0-60000, "room_temperature_celsius", room, "unknown_service", 21.5, "unknown", ""),
		mkRow(t0, "room_temperature_celsius", room, "unknown_service", staleNaN, "unknown", ""),
	}
	checkRows(t, e, want)

	// The stale marker is stored bit for bit.
	for _, r := range scanRows(t, e) {
		if r.Name == "up" && r.Timestamp == (t0+30000)*1e6 && r.Value != 0x7ff0000000000002 {
			t.Errorf("stale marker stored as %#x", r.Value)
		}
	}

	checkSeries(t, e, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", "api")}, []string{
		`{__name__="http_request_duration_seconds_bucket", job="api", le="+Inf"}`,
		`{__name__="http_request_duration_seconds_bucket", job="api", le="0.1"}`,
		`{__name__="http_request_duration_seconds_count", job="api"}`,
		`{__name__="http_request_duration_seconds_sum", job="api"}`,
		`{__name__="http_requests_total", code="200", job="api", method="GET"}`,
	})
	checkSeries(t, e, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "node_load1")}, []string{
		`{__name__="node_load1", instance="node-1:9100", job="node"}`,
	})
}

// checkSeries checks that the engine's series matching ms are want, each
// with the series id schema.SeriesID gives its labels.
func checkSeries(t *testing.T, e *engine.Engine, ms []*labels.Matcher, want []string) {
	t.Helper()
	got, err := e.Series(context.Background(), ms, schema.AllTime)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%v: %d series, want %d: %v", ms, len(got), len(want), got)
		return
	}
	for i, s := range got {
		if s.Labels.String() != want[i] {
			t.Errorf("%v: series %d is %s, want %s", ms, i, s.Labels, want[i])
		}
		name := s.Labels.Get("__name__")
		rest := s.Labels.Map()
		delete(rest, "__name__")
		if id := schema.SeriesID(name, rest); s.ID != id {
			t.Errorf("series %s has id %d, want %d", s.Labels, s.ID, id)
		}
	}
}

// TestPrometheusClientV2 sends a remote-write 2.0 request through
// Prometheus's client: symbols, label references and per-series metadata,
// with a native histogram and an exemplar that are not stored, and checks
// the written-samples headers the client reads.
func TestPrometheusClientV2(t *testing.T) {
	e := openEngine(t)
	c := writeClient(t, serve(t, e, Options{}), remoteapi.WriteV2MessageType)

	st := writev2.NewSymbolTable()
	var buf []uint32
	ref := func(kv ...string) []uint32 {
		buf = st.SymbolizeLabels(labels.FromStrings(kv...), buf)
		return append([]uint32(nil), buf...)
	}
	h := &histogram.Histogram{
		Count: 5, Sum: 12, Schema: 0, ZeroThreshold: 0.001,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []int64{2, 1},
	}
	req := &writev2.Request{Timeseries: []writev2.TimeSeries{
		{
			LabelsRefs: ref("__name__", "http_requests_total", "job", "api", "method", "POST"),
			Samples:    []writev2.Sample{{Value: 3, Timestamp: t0}, {Value: 5, Timestamp: t0 + 15000}},
			Exemplars:  []writev2.Exemplar{{LabelsRefs: ref("trace_id", "abc"), Value: 1, Timestamp: t0}},
			Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: st.Symbolize("Requests.")},
		},
		{
			LabelsRefs: ref("__name__", "process_resident_memory_bytes", "instance", "api-1", "job", "api"),
			Samples:    []writev2.Sample{{Value: 1 << 20, Timestamp: t0}, {Value: staleNaN, Timestamp: t0 + 15000}},
			Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_GAUGE, UnitRef: st.Symbolize("bytes")},
		},
		{
			LabelsRefs: ref("__name__", "rpc_latency_seconds", "job", "api"),
			Histograms: []writev2.Histogram{writev2.FromIntHistogram(0, t0, h)},
			Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_HISTOGRAM, UnitRef: st.Symbolize("seconds")},
		},
		{
			LabelsRefs: ref("__name__", "build_info", "version", "1.2.3"),
			Samples:    []writev2.Sample{{Value: 1, Timestamp: t0}},
		},
	}}
	req.Symbols = st.Symbols()
	pb, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.Store(context.Background(), snappy.Encode(nil, pb), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := (remote.WriteResponseStats{Samples: 5, Confirmed: true}); rs != want {
		t.Errorf("written stats %+v, want %+v", rs, want)
	}

	post := map[string]string{"job": "api", "method": "POST"}
	mem := map[string]string{"instance": "api-1", "job": "api"}
	checkRows(t, e, []row{
		mkRow(t0, "http_requests_total", post, "api", 3, "counter", ""),
		mkRow(t0+15000, "http_requests_total", post, "api", 5, "counter", ""),
		mkRow(t0, "process_resident_memory_bytes", mem, "api", 1<<20, "gauge", "bytes"),
		mkRow(t0+15000, "process_resident_memory_bytes", mem, "api", staleNaN, "gauge", "bytes"),
		mkRow(t0, "build_info", map[string]string{"version": "1.2.3"}, "unknown_service", 1, "unknown", ""),
	})
	checkSeries(t, e, []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", "process_.*")}, []string{
		`{__name__="process_resident_memory_bytes", instance="api-1", job="api"}`,
	})
}
