package otlp

import (
	"math"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/otlptranslator"
	"github.com/prometheus/prometheus/model/value"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/tael/tael/schema"
)

var metricsTable = mustTable(schema.Metrics)

// Metrics converts an OTLP metrics request into a metrics batch, one row per
// Prometheus sample, translated as Prometheus's own OTLP receiver does with
// its default settings (see "Metrics" in the package documentation). Data
// points it cannot store are rejected and counted in Result.Rejected, with the
// reasons in Result.Message. The error is non-nil only if the batch fails the
// schema's validation, which would be a bug here.
func Metrics(md pmetric.Metrics, o Options) (Result, error) {
	o = o.withDefaults()
	r := &report{unit: "data point"}
	mb := newMetricBuilder(o.Allocator)
	defer mb.b.Release()
	mb.b.Reserve(md.DataPointCount())
	c := metricConverter{
		r:  r,
		mb: mb,
		// UnderscoreEscapingWithSuffixes: Prometheus's default translation.
		namer: otlptranslator.MetricNamer{WithMetricSuffixes: true},
	}

	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		res := rm.Resource().Attributes()
		c.service = serviceName(res)
		c.job, c.instance = "", ""
		if v, ok := res.Get("service.name"); ok {
			c.job = v.AsString()
			if ns, ok := res.Get("service.namespace"); ok {
				c.job = ns.AsString() + "/" + c.job
			}
		}
		if v, ok := res.Get("service.instance.id"); ok {
			c.instance = v.AsString()
		}
		c.job, c.instance = validUTF8(c.job), validUTF8(c.instance)
		sms := rm.ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				c.metric(ms.At(k))
			}
		}
	}
	batch, err := finish(mb.b, metricsTable)
	if err != nil {
		return Result{}, err
	}
	return Result{Batch: batch, Rejected: r.rejected, Message: r.message()}, nil
}

type metricConverter struct {
	r                      *report
	mb                     *metricBuilder
	namer                  otlptranslator.MetricNamer
	labelNamer             otlptranslator.LabelNamer
	unitNamer              otlptranslator.UnitNamer
	service, job, instance string
	keys                   []string // scratch for sorting label names
	counts                 []uint64 // scratch for merged exponential buckets
}

// Rejection reasons.
const (
	whyDelta       = "of a sum or histogram with delta temporality (only cumulative is supported)"
	whyUnspecified = "of a sum or histogram with unspecified temporality"
	whyName        = "of a metric whose name cannot be translated"
	whyLabel       = "with an attribute that cannot be a label name"
	whyNoTime      = "with no timestamp"
)

func dataPointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

func (c *metricConverter) rejectAll(m pmetric.Metric, why string) {
	for range dataPointCount(m) {
		c.r.reject(why)
	}
}

func (c *metricConverter) metric(m pmetric.Metric) {
	tm := otlptranslator.Metric{Name: m.Name(), Unit: m.Unit(), Type: otlptranslator.MetricTypeUnknown}
	var temporality pmetric.AggregationTemporality
	switch m.Type() {
	case pmetric.MetricTypeEmpty:
		return
	case pmetric.MetricTypeGauge:
		tm.Type = otlptranslator.MetricTypeGauge
	case pmetric.MetricTypeSum:
		tm.Type = otlptranslator.MetricTypeNonMonotonicCounter
		if m.Sum().IsMonotonic() {
			tm.Type = otlptranslator.MetricTypeMonotonicCounter
		}
		temporality = m.Sum().AggregationTemporality()
	case pmetric.MetricTypeHistogram:
		tm.Type = otlptranslator.MetricTypeHistogram
		temporality = m.Histogram().AggregationTemporality()
	case pmetric.MetricTypeSummary:
		tm.Type = otlptranslator.MetricTypeSummary
	case pmetric.MetricTypeExponentialHistogram:
		tm.Type = otlptranslator.MetricTypeExponentialHistogram
		temporality = m.ExponentialHistogram().AggregationTemporality()
	}
	switch m.Type() {
	case pmetric.MetricTypeSum, pmetric.MetricTypeHistogram, pmetric.MetricTypeExponentialHistogram:
		switch temporality {
		case pmetric.AggregationTemporalityCumulative:
		case pmetric.AggregationTemporalityDelta:
			c.rejectAll(m, whyDelta)
			return
		default:
			c.rejectAll(m, whyUnspecified)
			return
		}
	}
	name, err := c.namer.Build(tm)
	if err != nil || name == "" {
		c.rejectAll(m, whyName)
		return
	}
	name = validUTF8(name)
	unit := validUTF8(c.unitNamer.Build(m.Unit()))

	switch m.Type() {
	case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
		typ := "gauge"
		var dps pmetric.NumberDataPointSlice
		if m.Type() == pmetric.MetricTypeGauge {
			dps = m.Gauge().DataPoints()
		} else {
			dps = m.Sum().DataPoints()
			if m.Sum().IsMonotonic() {
				typ = "counter"
			}
		}
		for i := range dps.Len() {
			p := dps.At(i)
			labels, ok := c.labels(p.Timestamp(), p.Attributes())
			if !ok {
				continue
			}
			var v float64
			switch p.ValueType() {
			case pmetric.NumberDataPointValueTypeInt:
				v = float64(p.IntValue())
			case pmetric.NumberDataPointValueTypeDouble:
				v = p.DoubleValue()
			}
			c.row(p.Timestamp(), name, labels, "", "", sample(v, p.Flags()), typ, unit)
		}
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := range dps.Len() {
			p := dps.At(i)
			labels, ok := c.labels(p.Timestamp(), p.Attributes())
			if !ok {
				continue
			}
			ts, f := p.Timestamp(), p.Flags()
			if p.HasSum() {
				c.row(ts, name+"_sum", labels, "", "", sample(p.Sum(), f), "histogram", unit)
			}
			c.row(ts, name+"_count", labels, "", "", sample(float64(p.Count()), f), "histogram", unit)
			bounds, counts := p.ExplicitBounds(), p.BucketCounts()
			var cumulative uint64
			for b := 0; b < bounds.Len() && b < counts.Len(); b++ {
				cumulative += counts.At(b)
				bound := bounds.At(b)
				if math.IsInf(bound, 1) { // le="+Inf" comes from the count below
					continue
				}
				c.row(ts, name+"_bucket", labels, "le", strconv.FormatFloat(bound, 'f', -1, 64), sample(float64(cumulative), f), "histogram", unit)
			}
			c.row(ts, name+"_bucket", labels, "le", "+Inf", sample(float64(p.Count()), f), "histogram", unit)
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for i := range dps.Len() {
			c.expHistogram(dps.At(i), name, unit)
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := range dps.Len() {
			p := dps.At(i)
			labels, ok := c.labels(p.Timestamp(), p.Attributes())
			if !ok {
				continue
			}
			ts, f := p.Timestamp(), p.Flags()
			c.row(ts, name+"_sum", labels, "", "", sample(p.Sum(), f), "summary", unit)
			c.row(ts, name+"_count", labels, "", "", sample(float64(p.Count()), f), "summary", unit)
			qs := p.QuantileValues()
			for q := range qs.Len() {
				qv := qs.At(q)
				c.row(ts, name, labels, "quantile", strconv.FormatFloat(qv.Quantile(), 'f', -1, 64), sample(qv.Value(), f), "summary", unit)
			}
		}
	}
}

// sample is a data point's value, or Prometheus's stale marker when the
// point has the no-recorded-value flag.
func sample(v float64, f pmetric.DataPointFlags) float64 {
	if f.NoRecordedValue() {
		return math.Float64frombits(value.StaleNaN)
	}
	return v
}

// labels builds a data point's labels as Prometheus does: attribute names
// translated (sorted by the original name; values of names that translate
// alike joined with ";"), "__name__" ignored, empty values dropped, then job
// and instance from the resource. ok is false when the point is rejected.
func (c *metricConverter) labels(ts pcommon.Timestamp, attrs pcommon.Map) (map[string]string, bool) {
	if ts == 0 {
		c.r.reject(whyNoTime)
		return nil, false
	}
	c.keys = c.keys[:0]
	for k := range attrs.All() {
		if k != "__name__" && !slices.Contains(c.keys, k) {
			c.keys = append(c.keys, k)
		}
	}
	slices.Sort(c.keys)
	out := make(map[string]string, len(c.keys)+2)
	for _, k := range c.keys {
		name, err := c.labelNamer.Build(validUTF8(k))
		if err != nil {
			c.r.reject(whyLabel)
			return nil, false
		}
		v, _ := attrs.Get(k)
		s := validUTF8(v.AsString())
		if prev := out[name]; prev != "" {
			s = prev + ";" + s
		}
		out[name] = s
	}
	for k, v := range out {
		if v == "" {
			delete(out, k)
		}
	}
	if c.job != "" {
		out["job"] = c.job
	}
	if c.instance != "" {
		out["instance"] = c.instance
	}
	return out, true
}

// row appends one sample. extraName/extraValue, when set, is a label (le,
// quantile) added to labels for this row only.
func (c *metricConverter) row(ts pcommon.Timestamp, name string, labels map[string]string, extraName, extraValue string, v float64, typ, unit string) {
	if extraName != "" {
		prev, had := labels[extraName]
		labels[extraName] = extraValue
		defer func() {
			if had {
				labels[extraName] = prev
			} else {
				delete(labels, extraName)
			}
		}()
	}
	mb := c.mb
	mb.timestamp.Append(timestamp(ts))
	mb.name.Append(name)
	c.keys = c.keys[:0]
	for k := range labels {
		c.keys = append(c.keys, k)
	}
	slices.Sort(c.keys)
	mb.labels.Append(true)
	for _, k := range c.keys {
		mb.labelKeys.Append(k)
		mb.labelValues.Append(labels[k])
	}
	mb.service.Append(c.service)
	mb.value.Append(v)
	mb.metricType.Append(typ)
	appendStringOrNull(mb.unit, unit)
	mb.seriesID.Append(schema.SeriesID(name, labels))
}

// metricBuilder holds the typed builders of a metrics batch.
type metricBuilder struct {
	b                               *array.RecordBuilder
	timestamp                       *array.TimestampBuilder
	name, service, metricType, unit *array.StringBuilder
	labels                          *array.MapBuilder
	labelKeys, labelValues          *array.StringBuilder
	value                           *array.Float64Builder
	seriesID                        *array.Uint64Builder
}

func newMetricBuilder(mem memory.Allocator) *metricBuilder {
	b := array.NewRecordBuilder(mem, metricsTable.Schema)
	m := &metricBuilder{b: b}
	str := func(n string) *array.StringBuilder { return column[*array.StringBuilder](b, n) }
	m.timestamp = column[*array.TimestampBuilder](b, "timestamp")
	m.name, m.service, m.metricType, m.unit = str("name"), str("service"), str("metric_type"), str("unit")
	m.labels = column[*array.MapBuilder](b, "labels")
	m.labelKeys = m.labels.KeyBuilder().(*array.StringBuilder)
	m.labelValues = m.labels.ItemBuilder().(*array.StringBuilder)
	m.value = column[*array.Float64Builder](b, "value")
	m.seriesID = column[*array.Uint64Builder](b, "series_id")
	return m
}
