package otlp

import (
	"math"
	"strconv"

	"github.com/prometheus/prometheus/model/histogram"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// An exponential histogram data point becomes a classic Prometheus histogram
// (see "Exponential histograms" in the package documentation): the metrics
// table holds float samples, not native histograms.
const (
	// maxExpBuckets is the most positive and negative buckets, together, a
	// point keeps; more are merged by lowering the scale. 160 is the OTel
	// SDKs' default MaxSize for the base-2 exponential histogram aggregation
	// (the metrics SDK specification; the Go OTLP metric exporters use it
	// when OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION selects
	// that aggregation), so a default SDK histogram of one sign (durations,
	// sizes) converts at the scale it was sent with. The zero bucket is not
	// counted, as Prometheus's native_histogram_bucket_limit does not count
	// it.
	maxExpBuckets = 160
	// maxExpScale is the finest scale converted: higher scales are reduced to
	// it, as Prometheus's OTLP and remote-write receivers reduce them to the
	// finest native histogram schema. It keeps the le values to the set
	// Prometheus and client_golang use for native histogram buckets.
	maxExpScale = histogram.ExponentialSchemaMax
	// minExpScale and maxOTLPExpScale are the scales the OTLP data model
	// allows; a point outside them is rejected. (Prometheus's receiver also
	// rejects scales below -4, which native histograms cannot hold; classic
	// buckets can.)
	minExpScale, maxOTLPExpScale = -10, 20
)

// Rejection reasons of exponential histograms.
const (
	whyExpScale   = "of an exponential histogram with a scale outside -10 to 20"
	whyExpBuckets = "of an exponential histogram with more than 160 buckets at scale -10"
)

// expHistogram appends the samples of one exponential histogram data point:
// NAME_sum (when the point has a sum), NAME_count, and NAME_bucket{le} for
// every boundary from the lowest value up, then le="+Inf".
func (c *metricConverter) expHistogram(p pmetric.ExponentialHistogramDataPoint, name, unit string) {
	scale := p.Scale()
	if scale < minExpScale || scale > maxOTLPExpScale {
		c.r.reject(whyExpScale)
		return
	}
	neg, pos := trimBuckets(p.Negative()), trimBuckets(p.Positive())
	var shift uint
	if scale > maxExpScale {
		shift = uint(scale - maxExpScale)
	}
	for neg.width(shift)+pos.width(shift) > maxExpBuckets {
		if scale-int32(shift) <= minExpScale {
			c.r.reject(whyExpBuckets)
			return
		}
		shift++
	}
	scale -= int32(shift)
	labels, ok := c.labels(p.Timestamp(), p.Attributes())
	if !ok {
		return
	}
	ts, f := p.Timestamp(), p.Flags()
	if p.HasSum() {
		c.row(ts, name+"_sum", labels, "", "", sample(p.Sum(), f), "histogram", unit)
	}
	c.row(ts, name+"_count", labels, "", "", sample(float64(p.Count()), f), "histogram", unit)

	cb := classicBuckets{emit: func(le float64, cumulative uint64) {
		c.row(ts, name+"_bucket", labels, "le", strconv.FormatFloat(le, 'f', -1, 64), sample(float64(cumulative), f), "histogram", unit)
	}}
	// Negative bucket i holds [-base^(i+1), -base^i): from the highest index
	// (the lowest values) down.
	c.counts = neg.merge(c.counts[:0], shift)
	lo := neg.lo(shift)
	for k := len(c.counts) - 1; k >= 0; k-- {
		cb.add(-expBound(lo+int64(k), scale), c.counts[k])
	}
	zt := p.ZeroThreshold()
	if !(zt >= 0) { // negative or NaN
		zt = 0
	}
	cb.add(zt, p.ZeroCount())
	// Positive bucket i holds (base^i, base^(i+1)].
	c.counts = pos.merge(c.counts[:0], shift)
	lo = pos.lo(shift)
	for k, n := range c.counts {
		cb.add(expBound(lo+int64(k)+1, scale), n)
	}
	cb.flush()
	c.row(ts, name+"_bucket", labels, "le", "+Inf", sample(float64(p.Count()), f), "histogram", unit)
}

// expBuckets is one side (positive or negative) of an exponential
// histogram without its empty buckets at either end: buckets offset+first
// to offset+first+n-1, indices at the point's scale.
type expBuckets struct {
	counts   pmetric.ExponentialHistogramDataPointBuckets
	offset   int64
	first, n int
}

func trimBuckets(b pmetric.ExponentialHistogramDataPointBuckets) expBuckets {
	counts := b.BucketCounts()
	first, last := 0, counts.Len()-1
	for first <= last && counts.At(first) == 0 {
		first++
	}
	for last >= first && counts.At(last) == 0 {
		last--
	}
	return expBuckets{counts: b, offset: int64(b.Offset()), first: first, n: last - first + 1}
}

// lo is the index of the first bucket after merging 2^shift buckets into
// one (the scale lowered by shift): bucket i becomes bucket i>>shift, the
// one that covers it.
func (b expBuckets) lo(shift uint) int64 { return (b.offset + int64(b.first)) >> shift }

// width is the number of buckets after merging, empty ones between the ends
// included.
func (b expBuckets) width(shift uint) int {
	if b.n == 0 {
		return 0
	}
	return int((b.offset+int64(b.first+b.n-1))>>shift-b.lo(shift)) + 1
}

// merge appends the counts of the merged buckets, from lo up, to dst.
func (b expBuckets) merge(dst []uint64, shift uint) []uint64 {
	w := b.width(shift)
	dst = append(dst, make([]uint64, w)...)
	counts, lo := b.counts.BucketCounts(), b.lo(shift)
	for i := b.first; i < b.first+b.n; i++ {
		dst[(b.offset+int64(i))>>shift-lo] += counts.At(i)
	}
	return dst
}

// classicBuckets turns buckets fed from the lowest value up into classic
// buckets with strictly increasing le values: a bucket whose boundary is not
// above the previous one (a positive bucket inside the zero bucket's range,
// boundaries that underflow to 0) shares the previous le, and one whose
// boundary is ±Inf (beyond the float range) gets no le of its own; either
// way its count reaches the next le through the cumulative count.
type classicBuckets struct {
	emit       func(le float64, cumulative uint64)
	cumulative uint64
	pending    bool // le and pendingCum hold a bucket not yet emitted
	le         float64
	pendingCum uint64
}

func (b *classicBuckets) add(le float64, n uint64) {
	b.cumulative += n
	if math.IsInf(le, 0) {
		return
	}
	if le == 0 {
		le = 0 // not -0
	}
	if !b.pending || le > b.le {
		b.flush()
		b.pending, b.le = true, le
	}
	b.pendingCum = b.cumulative
}

func (b *classicBuckets) flush() {
	if b.pending {
		b.emit(b.le, b.pendingCum)
		b.pending = false
	}
}

// expBound is base^idx at scale (base = 2^(2^-scale), -10 ≤ scale ≤ 8): the
// upper boundary of positive bucket idx-1, computed as Prometheus computes
// native histogram bucket boundaries (model/histogram's getBound), so the
// same boundary has the same le here as there. 2^1024, just beyond the
// float range, is math.MaxFloat64 (so the bucket holding the largest finite
// values has a finite le); boundaries further out are +Inf, tiny ones 0.
func expBound(idx int64, scale int32) float64 {
	if scale <= 0 {
		exp := idx << uint(-scale)
		if exp == 1024 {
			return math.MaxFloat64
		}
		return math.Ldexp(1, int(max(min(exp, 2000), -2000)))
	}
	frac := expFracs[scale][idx&(1<<scale-1)]
	exp := idx>>scale + 1
	if frac == 0.5 && exp == 1025 {
		return math.MaxFloat64
	}
	return math.Ldexp(frac, int(max(min(exp, 2000), -2000)))
}

// expFracs[scale][i] is 2^(i/2^scale)/2 for scales 1 to 8, read from
// Prometheus's native histogram boundaries: its precomputed table, which a
// computed 2^x does not always match in the last bit.
var expFracs = func() [maxExpScale + 1][]float64 {
	var t [maxExpScale + 1][]float64
	for s := int32(1); s <= maxExpScale; s++ {
		n := 1 << s
		// Native bucket i, 0 ≤ i < 2^s, has the upper boundary 2^(i/2^s).
		h := histogram.Histogram{
			Schema:          s,
			PositiveSpans:   []histogram.Span{{Offset: 0, Length: uint32(n)}},
			PositiveBuckets: make([]int64, n),
		}
		t[s] = make([]float64, 0, n)
		for it := h.PositiveBucketIterator(); it.Next(); {
			t[s] = append(t[s], it.At().Upper/2)
		}
		if len(t[s]) != n {
			panic("BUG: Prometheus's bucket iterator skipped empty buckets")
		}
	}
	return t
}()
