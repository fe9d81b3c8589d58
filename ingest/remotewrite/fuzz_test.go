package remotewrite

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/tael/tael/ingest"
)

// FuzzRemoteWrite sends arbitrary bytes to the handler, as they are and
// snappy-encoded, as 1.0 and as 2.0 requests, over a real engine: never a
// 5xx, never a panic, no Arrow memory left behind, and a 2.0 answer to a
// snappy body always says how many samples it stored.
func FuzzRemoteWrite(f *testing.F) {
	f.Add(marshalV1(f, &prompb.WriteRequest{
		Timeseries: []prompb.TimeSeries{
			{Labels: lbls("__name__", "up", "job", "x"), Samples: []prompb.Sample{{Value: 1, Timestamp: t0}, {Value: staleNaN, Timestamp: t0 + 1}}},
			{Labels: lbls("job", "x"), Samples: []prompb.Sample{{Value: 1, Timestamp: t0}}},
			{Labels: lbls("__name__", "h"), Histograms: []prompb.Histogram{{Timestamp: t0}}},
		},
		Metadata: []prompb.MetricMetadata{{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "up", Unit: "\xff"}},
	}))
	f.Add(marshalV2(f, &writev2.Request{
		Symbols: []string{"", "__name__", "up", "job", "x", "bytes"},
		Timeseries: []writev2.TimeSeries{
			{LabelsRefs: []uint32{1, 2, 3, 4}, Samples: []writev2.Sample{{Value: 1, Timestamp: t0}}, Metadata: writev2.Metadata{Type: 2, UnitRef: 5}},
			{LabelsRefs: []uint32{1, 9}, Samples: []writev2.Sample{{Value: 1, Timestamp: -1 << 62}}},
		},
	}))
	f.Add([]byte{})
	f.Add([]byte("\xff\xff\xff\xff\x0f"))

	e := openEngine(f)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	h := NewHandler(e, Options{Allocator: mem, Limits: ingest.Limits{MaxRequestBytes: 1 << 20}})
	f.Fuzz(func(t *testing.T, data []byte) {
		for i, body := range [][]byte{data, snappy.Encode(nil, data)} {
			encoded := i == 1
			for _, ct := range []string{ctV1, ctV2} {
				req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
				req.Header.Set("Content-Type", ct)
				req.Header.Set("Content-Encoding", "snappy")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code >= 500 {
					t.Fatalf("%s: status %d: %s", ct, w.Code, w.Body)
				}
				if w.Code != http.StatusNoContent && w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
					t.Fatalf("%s: status %d: %s", ct, w.Code, w.Body)
				}
				// A snappy body always decodes, so the protobuf is read and
				// the answer says what was written.
				if encoded && ct == ctV2 && w.Header().Get(headerSamplesWritten) == "" {
					t.Fatalf("2.0 answer %d without %s", w.Code, headerSamplesWritten)
				}
				mem.AssertSize(t, 0)
			}
		}
	})
}

// FuzzDecodeV1 checks the handler's 1.0 decoder against prompb's generated
// WriteRequest.Unmarshal: the same inputs accepted, and the same series
// (labels in order, samples bit for bit, histogram and exemplar counts) and
// metadata out of them.
func FuzzDecodeV1(f *testing.F) {
	f.Add(marshalV1(f, &prompb.WriteRequest{
		Timeseries: []prompb.TimeSeries{
			{
				Labels:     lbls("__name__", "up", "job", "x"),
				Samples:    []prompb.Sample{{Value: 1, Timestamp: t0}, {Value: staleNaN, Timestamp: -5}},
				Exemplars:  []prompb.Exemplar{{Labels: lbls("trace_id", "1"), Value: 2, Timestamp: t0}},
				Histograms: []prompb.Histogram{{Count: &prompb.Histogram_CountInt{CountInt: 3}, Timestamp: t0, PositiveDeltas: []int64{1, 2}}},
			},
			{Labels: lbls("", "")},
		},
		Metadata: []prompb.MetricMetadata{{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "up", Help: "h", Unit: "u"}},
	}))
	// Unknown fields of every wire type, groups, and a repeated scalar.
	msg := func(key byte, body ...byte) []byte { return append([]byte{key, byte(len(body))}, body...) }
	lbl := append([]byte("\x0a\x01a\x12\x01b"), 0x28, 0x01)                                             // + field 5 varint
	smp := append([]byte{0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, 0x10, 0x05, 0x10, 0x07, 0x1d, 0, 0, 0, 0) // timestamp twice, field 3 fixed32
	ts := slices.Concat(msg(0x0a, lbl...), msg(0x12, smp...), []byte{0x2b, 0x08, 0x01, 0x2c}, []byte{0x31, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(slices.Concat(msg(0x0a, ts...), []byte{0x50, 0x01, 0x3b, 0x08, 0x01, 0x3c}))
	f.Add([]byte("\x0a\x02\x0a\x80"))
	f.Add([]byte("\x1a\x03\x08\x01\x14"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want prompb.WriteRequest
		wantErr := want.Unmarshal(data)
		md, err := decodeV1Metadata(data)
		var got []prompb.TimeSeries
		hist, ex := 0, 0
		if err == nil {
			err = decodeV1Series(data, &v1Series{}, func(s *v1Series) {
				ts := prompb.TimeSeries{Samples: slices.Clone(s.samples)}
				for _, l := range s.labels {
					ts.Labels = append(ts.Labels, prompb.Label{Name: strings.Clone(l.name), Value: strings.Clone(l.value)})
				}
				got = append(got, ts)
				hist += s.histograms
				ex += s.exemplars
			})
		}
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("decode error %v, prompb's %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if len(got) != len(want.Timeseries) {
			t.Fatalf("%d series, prompb %d", len(got), len(want.Timeseries))
		}
		wantHist, wantEx := 0, 0
		for i, w := range want.Timeseries {
			wantHist += len(w.Histograms)
			wantEx += len(w.Exemplars)
			g := got[i]
			if len(g.Labels) != len(w.Labels) {
				t.Fatalf("series %d: labels %v, prompb %v", i, g.Labels, w.Labels)
			}
			for j := range w.Labels {
				if g.Labels[j].Name != w.Labels[j].Name || g.Labels[j].Value != w.Labels[j].Value {
					t.Fatalf("series %d: labels %v, prompb %v", i, g.Labels, w.Labels)
				}
			}
			if len(g.Samples) != len(w.Samples) {
				t.Fatalf("series %d: %d samples, prompb %d", i, len(g.Samples), len(w.Samples))
			}
			for j, p := range w.Samples {
				q := g.Samples[j]
				if q.Timestamp != p.Timestamp || math.Float64bits(q.Value) != math.Float64bits(p.Value) {
					t.Fatalf("series %d sample %d: %v, prompb %v", i, j, q, p)
				}
			}
		}
		if hist != wantHist || ex != wantEx {
			t.Fatalf("%d histograms and %d exemplars, prompb %d and %d", hist, ex, wantHist, wantEx)
		}
		if len(md) != len(want.Metadata) {
			t.Fatalf("%d metadata, prompb %d", len(md), len(want.Metadata))
		}
		for i := range md {
			g, w := md[i], want.Metadata[i]
			if g.Type != w.Type || g.MetricFamilyName != w.MetricFamilyName || g.Help != w.Help || g.Unit != w.Unit {
				t.Fatalf("metadata %d: %v, prompb %v", i, md[i], want.Metadata[i])
			}
		}
	})
}
