package otlp

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// expPoint is an exponential histogram data point to convert.
type expPoint struct {
	scale         int32
	zeroCount     uint64
	zeroThreshold float64
	posOffset     int32
	pos           []uint64
	negOffset     int32
	neg           []uint64
	count         uint64
	sum           *float64
}

// leCount is one classic bucket: its le label and cumulative count.
type leCount struct {
	le string
	n  float64
}

func expHistMetrics(p expPoint, temporality pmetric.AggregationTemporality) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "api")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("rpc.duration")
	m.SetUnit("s")
	eh := m.SetEmptyExponentialHistogram()
	eh.SetAggregationTemporality(temporality)
	dp := eh.DataPoints().AppendEmpty()
	dp.SetTimestamp(1_760_000_000_000_000_000)
	dp.Attributes().PutStr("rpc.method", "Get")
	dp.SetScale(p.scale)
	dp.SetZeroCount(p.zeroCount)
	dp.SetZeroThreshold(p.zeroThreshold)
	dp.Positive().SetOffset(p.posOffset)
	dp.Positive().BucketCounts().FromRaw(p.pos)
	dp.Negative().SetOffset(p.negOffset)
	dp.Negative().BucketCounts().FromRaw(p.neg)
	dp.SetCount(p.count)
	if p.sum != nil {
		dp.SetSum(*p.sum)
	}
	return md
}

func ones(n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// TestExponentialHistogram checks the classic buckets of exponential
// histogram points against boundaries and cumulative counts worked out by
// hand. base = 2^(2^-scale); positive bucket i holds (base^i, base^(i+1)],
// negative bucket i holds [-base^(i+1), -base^i). Boundaries at scales above
// 0 are Prometheus's (its table of 2^(i/2^scale)): 2^(-1/2) is
// 0.7071067811865475 there, one bit below the correctly rounded value.
func TestExponentialHistogram(t *testing.T) {
	// downscaled: 161 buckets of 1 at scale 0 from index -80 are merged in
	// pairs at scale -1 (base 4): bucket k holds indices 2k and 2k+1, so it
	// ends at 4^(k+1) = 2^(2k+2), k from -40 (indices -80, -79) to 40 (index
	// 80 alone).
	downscaled := []leCount{{"0", 0}}
	for k := -40; k <= 40; k++ {
		downscaled = append(downscaled, leCount{strconv.FormatFloat(math.Ldexp(1, 2*k+2), 'f', -1, 64), float64(min(2*(k+41), 161))})
	}
	downscaled = append(downscaled, leCount{"+Inf", 161})

	// full: 100 negative and 100 positive buckets at scale 0 become 50 and
	// 50 at scale -1.
	full := []leCount{}
	for k := 49; k >= 0; k-- { // negative bucket k: [-4^(k+1), -4^k)
		full = append(full, leCount{strconv.FormatFloat(-math.Ldexp(1, 2*k), 'f', -1, 64), float64(2 * (50 - k))})
	}
	full = append(full, leCount{"0", 100})
	for k := range 50 {
		full = append(full, leCount{strconv.FormatFloat(math.Ldexp(1, 2*k+2), 'f', -1, 64), float64(100 + 2*(k+1))})
	}
	full = append(full, leCount{"+Inf", 200})

	tests := []struct {
		name string
		p    expPoint
		want []leCount
	}{
		{
			name: "scale 0",
			p:    expPoint{pos: []uint64{1, 2, 3}, count: 6, sum: ptr(21.5)},
			want: []leCount{{"0", 0}, {"2", 1}, {"4", 3}, {"8", 6}, {"+Inf", 6}},
		},
		{
			name: "scale 2 below 1",
			// base 2^(1/4): buckets -3..-1 end at 2^(-2/4), 2^(-1/4), 2^0.
			p:    expPoint{scale: 2, posOffset: -3, pos: []uint64{1, 0, 2}, count: 3},
			want: []leCount{{"0", 0}, {"0.7071067811865475", 1}, {"0.8408964152537144", 1}, {"1", 3}, {"+Inf", 3}},
		},
		{
			name: "scale 2 above 1",
			// Buckets 4 and 5 end at 2^(5/4) and 2^(6/4).
			p:    expPoint{scale: 2, posOffset: 4, pos: []uint64{1, 1}, count: 2},
			want: []leCount{{"0", 0}, {"2.378414230005442", 1}, {"2.82842712474619", 2}, {"+Inf", 2}},
		},
		{
			name: "scale -1",
			// base 4: buckets -1, 0, 1 are (1/4, 1], (1, 4], (4, 16].
			p:    expPoint{scale: -1, posOffset: -1, pos: []uint64{1, 1, 1}, count: 3},
			want: []leCount{{"0", 0}, {"1", 1}, {"4", 2}, {"16", 3}, {"+Inf", 3}},
		},
		{
			name: "zero bucket",
			p:    expPoint{zeroCount: 3, pos: []uint64{1}, count: 4},
			want: []leCount{{"0", 3}, {"2", 4}, {"+Inf", 4}},
		},
		{
			name: "zero threshold",
			p:    expPoint{zeroCount: 2, zeroThreshold: 0.001, pos: []uint64{1}, count: 3},
			want: []leCount{{"0.001", 2}, {"2", 3}, {"+Inf", 3}},
		},
		{
			name: "zero threshold over a bucket",
			// (1, 2] lies inside [-3, 3]: it is counted at le=3.
			p:    expPoint{zeroCount: 1, zeroThreshold: 3, pos: []uint64{1, 1, 1}, count: 4},
			want: []leCount{{"3", 2}, {"4", 3}, {"8", 4}, {"+Inf", 4}},
		},
		{
			name: "negative zero threshold is 0",
			p:    expPoint{zeroCount: 1, zeroThreshold: -1, pos: []uint64{1}, count: 2},
			want: []leCount{{"0", 1}, {"2", 2}, {"+Inf", 2}},
		},
		{
			name: "negative buckets",
			// Negative buckets 1 and 0 are [-4, -2) and [-2, -1).
			p:    expPoint{negOffset: 0, neg: []uint64{2, 1}, zeroCount: 1, pos: []uint64{1}, count: 5, sum: ptr(-3.0)},
			want: []leCount{{"-2", 1}, {"-1", 3}, {"0", 4}, {"2", 5}, {"+Inf", 5}},
		},
		{
			name: "negative buckets below 1",
			// Negative buckets -1 and -2 are [-1, -0.5) and [-0.5, -0.25).
			p:    expPoint{negOffset: -2, neg: []uint64{1, 1}, count: 2},
			want: []leCount{{"-0.5", 1}, {"-0.25", 2}, {"0", 2}, {"+Inf", 2}},
		},
		{
			name: "offset",
			// Bucket 3 is (8, 16].
			p:    expPoint{posOffset: 3, pos: []uint64{5}, count: 5},
			want: []leCount{{"0", 0}, {"16", 5}, {"+Inf", 5}},
		},
		{
			name: "empty buckets",
			// Empty buckets between others stay; those at the ends go.
			p:    expPoint{pos: []uint64{0, 1, 0, 2, 0}, neg: []uint64{0, 0, 4, 0}, count: 7},
			want: []leCount{{"-4", 4}, {"0", 4}, {"4", 5}, {"8", 5}, {"16", 7}, {"+Inf", 7}},
		},
		{
			name: "no buckets",
			p:    expPoint{count: 0},
			want: []leCount{{"0", 0}, {"+Inf", 0}},
		},
		{
			name: "count differs from buckets",
			// le="+Inf" is the point's count, as for explicit histograms.
			p:    expPoint{pos: []uint64{2}, count: 5},
			want: []leCount{{"0", 0}, {"2", 2}, {"+Inf", 5}},
		},
		{
			name: "scale above 8",
			// Scale 10 is reduced to 8: indices 0-3 merge into bucket 0,
			// index 4 into bucket 1, ending at 2^(1/256) and 2^(2/256).
			p:    expPoint{scale: 10, pos: ones(5), count: 5},
			want: []leCount{{"0", 0}, {"1.0027112750502025", 4}, {"1.0054299011128027", 5}, {"+Inf", 5}},
		},
		{
			name: "downscaling",
			p:    expPoint{posOffset: -80, pos: ones(161), count: 161},
			want: downscaled,
		},
		{
			name: "downscaling both signs",
			p:    expPoint{neg: ones(100), pos: ones(100), count: 200},
			want: full,
		},
		{
			name: "largest bucket",
			// Bucket 1023, (2^1023, 2^1024], ends at math.MaxFloat64 (as in
			// Prometheus); bucket 1024 is beyond the float range and only
			// reaches le="+Inf".
			p:    expPoint{posOffset: 1023, pos: []uint64{1, 1}, count: 2},
			want: []leCount{{"0", 0}, {strconv.FormatFloat(math.MaxFloat64, 'f', -1, 64), 1}, {"+Inf", 2}},
		},
		{
			name: "smallest buckets",
			// Negative buckets beyond the float range reach the first
			// finite le; positive ones ending at 0 go to the zero bucket.
			p:    expPoint{negOffset: 1100, neg: []uint64{1}, posOffset: -1200, pos: []uint64{1}, zeroCount: 1, count: 3},
			want: []leCount{{"0", 3}, {"+Inf", 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := convertMetrics(t, expHistMetrics(tt.p, pmetric.AggregationTemporalityCumulative), Options{})
			if res.Rejected != 0 {
				t.Fatalf("rejected %d: %s", res.Rejected, res.Message)
			}
			var got []leCount
			var sum, count []float64
			for _, r := range rows(t, res.Batch) {
				l := kvs(r["labels"])
				if l["rpc_method"] != "Get" || l["job"] != "api" || r["metric_type"] != "histogram" || r["unit"] != "seconds" {
					t.Errorf("row %v", r)
				}
				v := r["value"].(float64)
				switch r["name"] {
				case "rpc_duration_seconds_bucket":
					got = append(got, leCount{l["le"], v})
				case "rpc_duration_seconds_sum":
					sum = append(sum, v)
				case "rpc_duration_seconds_count":
					count = append(count, v)
				default:
					t.Errorf("row named %v", r["name"])
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("%d buckets, want %d:\n got %v\nwant %v", len(got), len(tt.want), got, tt.want)
			}
			for i := range min(len(got), len(tt.want)) {
				if got[i] != tt.want[i] {
					t.Errorf("bucket %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
			checkClassic(t, got)
			if len(count) != 1 || count[0] != float64(tt.p.count) {
				t.Errorf("_count %v, want [%d]", count, tt.p.count)
			}
			switch {
			case tt.p.sum == nil && len(sum) != 0:
				t.Errorf("_sum %v, want none", sum)
			case tt.p.sum != nil && (len(sum) != 1 || sum[0] != *tt.p.sum):
				t.Errorf("_sum %v, want [%v]", sum, *tt.p.sum)
			}
		})
	}
}

// checkClassic checks what Prometheus expects of a classic histogram: le
// values that increase, ending with +Inf, and counts that never decrease.
// It also checks the bucket limit.
func checkClassic(t *testing.T, bs []leCount) {
	t.Helper()
	if len(bs) == 0 || bs[len(bs)-1].le != "+Inf" {
		t.Fatalf("buckets %v do not end with +Inf", bs)
	}
	if len(bs) > maxExpBuckets+2 {
		t.Errorf("%d buckets, more than %d", len(bs), maxExpBuckets+2)
	}
	prev, prevN := math.Inf(-1), 0.0
	for _, b := range bs[:len(bs)-1] {
		le, err := strconv.ParseFloat(b.le, 64)
		if err != nil || !(le > prev) || math.IsInf(le, 0) || b.n < prevN || strings.HasPrefix(b.le, "-0") && le == 0 {
			t.Errorf("bucket %v after le=%v (count %v)", b, prev, prevN)
		}
		prev, prevN = le, b.n
	}
}

// TestExponentialHistogramCap checks the bucket limit's edge: 160 buckets
// keep their scale, 161 are merged.
func TestExponentialHistogramCap(t *testing.T) {
	for _, tt := range []struct {
		name         string
		neg, pos     int
		wantBuckets  int // le rows, le="+Inf" included
		wantLastLE   string
		wantLastSeen uint64
	}{
		{"160 positive", 0, 160, 160 + 2, strconv.FormatFloat(math.Ldexp(1, 160), 'f', -1, 64), 160},
		{"80 and 80", 80, 80, 160 + 2, strconv.FormatFloat(math.Ldexp(1, 80), 'f', -1, 64), 160},
		{"80 and 81", 80, 81, 40 + 1 + 41 + 1, strconv.FormatFloat(math.Ldexp(1, 82), 'f', -1, 64), 161},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := expPoint{neg: ones(tt.neg), pos: ones(tt.pos), count: uint64(tt.neg + tt.pos)}
			res := convertMetrics(t, expHistMetrics(p, pmetric.AggregationTemporalityCumulative), Options{})
			var got []leCount
			for _, r := range rows(t, res.Batch) {
				if r["name"] == "rpc_duration_seconds_bucket" {
					got = append(got, leCount{kvs(r["labels"])["le"], r["value"].(float64)})
				}
			}
			checkClassic(t, got)
			if len(got) != tt.wantBuckets {
				t.Errorf("%d buckets, want %d", len(got), tt.wantBuckets)
			}
			if last := got[len(got)-2]; last != (leCount{tt.wantLastLE, float64(tt.wantLastSeen)}) {
				t.Errorf("last finite bucket %v, want le=%s %d", last, tt.wantLastLE, tt.wantLastSeen)
			}
		})
	}
}

func TestExponentialHistogramRejected(t *testing.T) {
	tests := []struct {
		name        string
		p           expPoint
		temporality pmetric.AggregationTemporality
		why         string
	}{
		{"delta", expPoint{pos: []uint64{1}, count: 1}, pmetric.AggregationTemporalityDelta, whyDelta},
		{"unspecified", expPoint{pos: []uint64{1}, count: 1}, pmetric.AggregationTemporalityUnspecified, whyUnspecified},
		{"scale 21", expPoint{scale: 21, pos: []uint64{1}, count: 1}, pmetric.AggregationTemporalityCumulative, whyExpScale},
		{"scale -11", expPoint{scale: -11, pos: []uint64{1}, count: 1}, pmetric.AggregationTemporalityCumulative, whyExpScale},
		{"too many at -10", expPoint{scale: -10, pos: ones(161), count: 161}, pmetric.AggregationTemporalityCumulative, whyExpBuckets},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := convertMetrics(t, expHistMetrics(tt.p, tt.temporality), Options{})
			if res.Batch != nil || res.Rejected != 1 || !strings.Contains(res.Message, tt.why) {
				t.Errorf("batch %v, rejected %d, message %q; want 1 rejected %s", res.Batch, res.Rejected, res.Message, tt.why)
			}
		})
	}
}

func TestExponentialHistogramStale(t *testing.T) {
	md := expHistMetrics(expPoint{zeroCount: 1, pos: []uint64{1}, count: 2, sum: ptr(1.0)}, pmetric.AggregationTemporalityCumulative)
	dp := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).ExponentialHistogram().DataPoints().At(0)
	dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
	res := convertMetrics(t, md, Options{})
	if n := res.Batch.NumRows(); n != 5 { // _sum, _count, le=0, le=2, le=+Inf
		t.Errorf("%d rows, want 5", n)
	}
	vals := res.Batch.Column(4).(*array.Float64)
	for i := range vals.Len() {
		if v := vals.Value(i); math.Float64bits(v) != value.StaleNaN {
			t.Errorf("row %d: value %v, want the stale marker", i, v)
		}
	}
}

// TestExpBoundMatchesPrometheus checks expBound against the boundaries of
// Prometheus's native histogram buckets, over the whole float range, at
// every scale converted.
func TestExpBoundMatchesPrometheus(t *testing.T) {
	for scale := int32(minExpScale); scale <= maxExpScale; scale++ {
		// Native bucket idx ends at base^idx; the float range is about
		// 2^-1074 to 2^1024.
		lo, hi := int64(-1080), int64(1030)
		if scale >= 0 {
			lo, hi = lo<<scale, hi<<scale
		} else {
			lo, hi = lo>>-scale, hi>>-scale
		}
		n := hi - lo + 1
		h := histogram.Histogram{
			Schema:          scale,
			PositiveSpans:   []histogram.Span{{Offset: int32(lo), Length: uint32(n)}},
			PositiveBuckets: make([]int64, n),
		}
		idx, bad := lo, 0
		for it := h.PositiveBucketIterator(); it.Next(); idx++ {
			want := it.At().Upper
			if got := expBound(idx, scale); got != want && bad < 5 {
				bad++
				t.Errorf("scale %d: expBound(%d) = %v, Prometheus %v", scale, idx, got, want)
			}
		}
		if idx != hi+1 {
			t.Errorf("scale %d: iterated to %d, want %d", scale, idx, hi+1)
		}
	}
}
