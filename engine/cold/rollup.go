package cold

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/schema"
)

// RollupWidth is the width of a metrics_5m bucket.
const RollupWidth = 5 * time.Minute

// Rollup computes metrics_5m rows from metrics batches whose rows may come
// in any order: one row per series and 5-minute bucket, sorted by
// (bucket_start, series_id). See doc.go for the exact rules. The caller
// releases the result.
func Rollup(mem memory.Allocator, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	mt, err := schema.ByID(schema.Metrics)
	if err != nil {
		return nil, err
	}
	out, err := schema.ByID(schema.Metrics5m)
	if err != nil {
		return nil, err
	}
	type sample struct {
		series uint64
		t      int64
		v      float64
		rec    int32
		row    int32
	}
	var samples []sample
	for i, r := range recs {
		if err := mt.Validate(r); err != nil {
			return nil, fmt.Errorf("%w: rollup: batch %d: %w", ErrInvalid, i, err)
		}
		ts := r.Column(0).(*array.Timestamp).TimestampValues()
		vs := r.Column(4).(*array.Float64).Float64Values()
		ids := r.Column(7).(*array.Uint64).Uint64Values()
		for j := range ts {
			samples = append(samples, sample{series: ids[j], t: int64(ts[j]), v: vs[j], rec: int32(i), row: int32(j)})
		}
	}
	// Input order (rec, row) breaks ties, so that the later row is later.
	slices.SortFunc(samples, func(a, b sample) int {
		return cmp.Or(cmp.Compare(a.series, b.series), cmp.Compare(a.t, b.t), cmp.Compare(a.rec, b.rec), cmp.Compare(a.row, b.row))
	})

	type agg struct {
		start              int64
		series             uint64
		min, max, sum, inc float64
		count              int64
		last               sample
		counter            bool
	}
	width := int64(RollupWidth)
	var aggs []agg
	for i := 0; i < len(samples); {
		first := i
		s0 := samples[i]
		start := floorDiv(s0.t, width) * width
		a := agg{start: start, series: s0.series, min: s0.v, max: s0.v}
		for ; i < len(samples) && samples[i].series == s0.series && floorDiv(samples[i].t, width)*width == start; i++ {
			v := samples[i].v
			if math.IsNaN(a.min) || v < a.min {
				a.min = v
			}
			if math.IsNaN(a.max) || v > a.max {
				a.max = v
			}
			a.sum += v
			a.count++
			if i > first {
				a.inc += increase(samples[i-1].v, v)
			}
		}
		a.last = samples[i-1]
		last := recs[a.last.rec]
		a.counter = last.Column(5).(*array.String).Value(int(a.last.row)) == "counter"
		if a.counter && first > 0 {
			if p := samples[first-1]; p.series == s0.series && p.t >= start-width {
				a.inc += increase(p.v, s0.v)
			}
		}
		aggs = append(aggs, a)
	}
	slices.SortFunc(aggs, func(a, b agg) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.series, b.series))
	})

	b := array.NewRecordBuilder(mem, out.Schema)
	defer b.Release()
	bStart := b.Field(0).(*array.TimestampBuilder)
	bSeries := b.Field(1).(*array.Uint64Builder)
	bName := b.Field(2).(*array.StringBuilder)
	bLabels := b.Field(3).(*array.MapBuilder)
	bService := b.Field(4).(*array.StringBuilder)
	bMin := b.Field(5).(*array.Float64Builder)
	bMax := b.Field(6).(*array.Float64Builder)
	bSum := b.Field(7).(*array.Float64Builder)
	bCount := b.Field(8).(*array.Int64Builder)
	bLast := b.Field(9).(*array.Float64Builder)
	bInc := b.Field(10).(*array.Float64Builder)
	for _, a := range aggs {
		src := recs[a.last.rec]
		row := int(a.last.row)
		bStart.Append(arrow.Timestamp(a.start))
		bSeries.Append(a.series)
		bName.Append(src.Column(1).(*array.String).Value(row))
		copyMap(bLabels, src.Column(2).(*array.Map), row)
		bService.Append(src.Column(3).(*array.String).Value(row))
		bMin.Append(a.min)
		bMax.Append(a.max)
		bSum.Append(a.sum)
		bCount.Append(a.count)
		bLast.Append(a.last.v)
		if a.counter {
			bInc.Append(a.inc)
		} else {
			bInc.AppendNull()
		}
	}
	return b.NewRecordBatch(), nil
}

// increase is the reset-aware increase of a counter from a to b: b-a, or b
// when the counter went down (it was reset to zero and counted up to b).
func increase(a, b float64) float64 {
	if b >= a {
		return b - a
	}
	return b
}

// floorDiv returns floor(a / b) for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// copyMap appends row of m to b.
func copyMap(b *array.MapBuilder, m *array.Map, row int) {
	if m.IsNull(row) {
		b.AppendNull()
		return
	}
	b.Append(true)
	kb := b.KeyBuilder().(*array.StringBuilder)
	ib := b.ItemBuilder().(*array.StringBuilder)
	keys := m.Keys().(*array.String)
	items := m.Items().(*array.String)
	lo, hi := m.ValueOffsets(row)
	for j := int(lo); j < int(hi); j++ {
		kb.Append(keys.Value(j))
		if items.IsNull(j) {
			ib.AppendNull()
		} else {
			ib.Append(items.Value(j))
		}
	}
}
