package otlp

import (
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/prometheus/prometheus/model/value"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/tael/tael/schema"
)

// TestMetricSeriesID checks every row's series_id against schema.SeriesID of
// its name and labels, and that labels never hold __name__.
func TestMetricSeriesID(t *testing.T) {
	md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(readFile(t, "testdata/metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	res := convertMetrics(t, md, Options{})
	rec := res.Batch
	names := rec.Column(1).(*array.String)
	labels := rec.Column(2).(*array.Map)
	keys, items := labels.Keys().(*array.String), labels.Items().(*array.String)
	ids := rec.Column(7).(*array.Uint64)
	seen := map[uint64]bool{}
	for i := range int(rec.NumRows()) {
		m := map[string]string{}
		start, end := labels.ValueOffsets(i)
		for j := start; j < end; j++ {
			m[keys.Value(int(j))] = items.Value(int(j))
		}
		if _, ok := m["__name__"]; ok {
			t.Errorf("row %d: labels hold __name__", i)
		}
		if want := schema.SeriesID(names.Value(i), m); ids.Value(i) != want {
			t.Errorf("row %d: series_id %d, want %d", i, ids.Value(i), want)
		}
		if seen[ids.Value(i)] {
			t.Errorf("row %d: series_id %d repeats: every row of the fixture is its own series", i, ids.Value(i))
		}
		seen[ids.Value(i)] = true
	}
}

func TestMetricJobInstance(t *testing.T) {
	tests := []struct {
		name          string
		resource      map[string]any
		job, instance string
		service       string
	}{
		{"name only", map[string]any{"service.name": "api"}, "api", "", "api"},
		{"namespace and name", map[string]any{"service.name": "api", "service.namespace": "prod"}, "prod/api", "", "api"},
		{"namespace without name", map[string]any{"service.namespace": "prod", "service.instance.id": "i-1"}, "", "i-1", "unknown_service"},
		{"int instance", map[string]any{"service.name": "api", "service.instance.id": 7}, "api", "7", "api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := pmetric.NewMetrics()
			rm := md.ResourceMetrics().AppendEmpty()
			if err := rm.Resource().Attributes().FromRaw(tt.resource); err != nil {
				t.Fatal(err)
			}
			m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
			m.SetName("g")
			p := m.SetEmptyGauge().DataPoints().AppendEmpty()
			p.SetTimestamp(1)
			p.SetDoubleValue(1)
			r := rows(t, convertMetrics(t, md, Options{}).Batch)[0]
			l := kvs(r["labels"])
			if l["job"] != tt.job || l["instance"] != tt.instance || r["service"] != tt.service {
				t.Errorf("labels %v service %v", l, r["service"])
			}
		})
	}
}

func TestMetricStaleMarker(t *testing.T) {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("g")
	p := m.SetEmptyGauge().DataPoints().AppendEmpty()
	p.SetTimestamp(pcommon.Timestamp(1))
	p.SetDoubleValue(5)
	p.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
	res := convertMetrics(t, md, Options{})
	if v := res.Batch.Column(4).(*array.Float64).Value(0); math.Float64bits(v) != value.StaleNaN {
		t.Errorf("value %v (bits %x), want the stale marker", v, math.Float64bits(v))
	}
}
