package promql

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/prometheus/prometheus/storage"

	"github.com/tael/tael/schema"
)

// rollupWidth is the width of a metrics_5m bucket in nanoseconds (the cold
// tier's RollupWidth; TestRollupWidth checks they agree).
const rollupWidth = int64(5 * time.Minute)

// rollupMode says which metrics_5m column becomes synthetic samples.
type rollupMode uint8

const (
	modeLast rollupMode = iota
	modeCounter
	modeMin
	modeMax
	modeSum
	modeAvg
	modeCount
)

func (m rollupMode) String() string {
	switch m {
	case modeCounter:
		return "counter_increase"
	case modeMin:
		return "min"
	case modeMax:
		return "max"
	case modeSum:
		return "sum"
	case modeAvg:
		return "sum/count"
	case modeCount:
		return "count"
	}
	return "last"
}

// modeFor picks the rollup column for a selector from the function it is
// the range argument of.
func modeFor(hints *storage.SelectHints) rollupMode {
	if hints == nil || hints.Range == 0 {
		return modeLast
	}
	switch hints.Func {
	case "rate", "increase", "irate":
		return modeCounter
	case "min_over_time":
		return modeMin
	case "max_over_time":
		return modeMax
	case "sum_over_time":
		return modeSum
	case "avg_over_time":
		return modeAvg
	case "count_over_time":
		return modeCount
	}
	return modeLast
}

// rollupRow is one metrics_5m row of a series.
type rollupRow struct {
	start               int64 // bucket_start, Unix ns
	min, max, sum, last float64
	count               int64
	inc                 float64 // counter_increase, if hasInc
	hasInc              bool
}

// rollupSeries holds the rollup rows of the selected series sel.series[series],
// sorted by start.
type rollupSeries struct {
	series int32
	rows   []rollupRow
}

// rollupColumns returns the metrics_5m columns mode needs: the bucket,
// the series and the value columns addRollups reads in that mode (the
// others stay zero).
func rollupColumns(mode rollupMode) []string {
	cols := []string{"bucket_start", "series_id"}
	switch mode {
	case modeCounter:
		// Falls back to last where a row has no counter_increase.
		return append(cols, "last", "counter_increase")
	case modeMin:
		return append(cols, "min")
	case modeMax:
		return append(cols, "max")
	case modeSum:
		return append(cols, "sum")
	case modeAvg:
		return append(cols, "sum", "count")
	case modeCount:
		return append(cols, "count", "last")
	}
	return append(cols, "last")
}

// loadRollups returns the metrics_5m rows of the selected series whose
// bucket overlaps tr, by series, holding the values mode needs.
//
// Like loadSamples it reads in two passes, so that each series' rows are
// allocated once at their final size: over 30 days (8,640 buckets per
// series) growing per-series slices cost more than decoding.
func (q *querier) loadRollups(ctx context.Context, sel *selection, tr schema.TimeRange, mode rollupMode) ([]rollupSeries, error) {
	rtr := tr
	if rtr.Min > math.MinInt64+rollupWidth {
		rtr.Min = floorDiv(rtr.Min, rollupWidth) * rollupWidth
	}
	cols := rollupColumns(mode)
	rr, err := q.e.Scan(ctx, schema.Metrics5m, rtr, cols)
	if err != nil {
		return nil, fmt.Errorf("promql: scan metrics_5m: %w", err)
	}
	defer rr.Release()
	type scanned struct {
		series int32
		row    rollupRow
	}
	// Rows in scan order, in fixed-size blocks (no copying as they grow).
	const blockRows = 1 << 14
	var (
		blocks [][]scanned
		counts = make([]int, len(sel.series))
		total  int
	)
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec := rr.RecordBatch()
		starts := rec.Column(0).(*array.Timestamp).TimestampValues()
		ids := rec.Column(1).(*array.Uint64).Uint64Values()
		f64 := func(name string) []float64 {
			if k := slices.Index(cols, name); k >= 0 {
				return rec.Column(k).(*array.Float64).Float64Values()
			}
			return nil
		}
		mins, maxs, sums, lasts := f64("min"), f64("max"), f64("sum"), f64("last")
		var counts64 []int64
		if k := slices.Index(cols, "count"); k >= 0 {
			counts64 = rec.Column(k).(*array.Int64).Int64Values()
		}
		var incCol *array.Float64
		if k := slices.Index(cols, "counter_increase"); k >= 0 {
			incCol = rec.Column(k).(*array.Float64)
		}
		for i, id := range ids {
			j, ok := sel.index[id]
			if !ok {
				continue
			}
			r := rollupRow{start: int64(starts[i])}
			if mins != nil {
				r.min = mins[i]
			}
			if maxs != nil {
				r.max = maxs[i]
			}
			if sums != nil {
				r.sum = sums[i]
			}
			if lasts != nil {
				r.last = lasts[i]
			}
			if counts64 != nil {
				r.count = counts64[i]
			}
			if incCol != nil && incCol.IsValid(i) {
				r.inc, r.hasInc = incCol.Value(i), true
			}
			if n := len(blocks); n == 0 || len(blocks[n-1]) == blockRows {
				blocks = append(blocks, make([]scanned, 0, blockRows))
			}
			blocks[len(blocks)-1] = append(blocks[len(blocks)-1], scanned{j, r})
			counts[j]++
			total++
		}
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("promql: scan metrics_5m: %w", err)
	}
	all := make([]rollupRow, total)
	by := make([][]rollupRow, len(sel.series))
	off := 0
	for j, c := range counts {
		by[j] = all[off : off : off+c]
		off += c
	}
	for _, b := range blocks {
		for _, r := range b {
			by[r.series] = append(by[r.series], r.row)
		}
	}
	var out []rollupSeries
	for j, rs := range by {
		if len(rs) == 0 {
			continue
		}
		if !slices.IsSortedFunc(rs, func(a, b rollupRow) int { return cmp.Compare(a.start, b.start) }) {
			slices.SortStableFunc(rs, func(a, b rollupRow) int { return cmp.Compare(a.start, b.start) })
		}
		out = append(out, rollupSeries{series: int32(j), rows: rs})
	}
	return out, nil
}

// mergeBuckets merges rows of the same bucket (a bucket rolled up twice,
// when points arrived after it was compacted) into one.
func mergeBuckets(rows []rollupRow) []rollupRow {
	out := rows[:0]
	for _, r := range rows {
		n := len(out)
		if n == 0 || out[n-1].start != r.start {
			out = append(out, r)
			continue
		}
		p := &out[n-1]
		p.min, p.max = math.Min(p.min, r.min), math.Max(p.max, r.max)
		p.sum += r.sum
		p.count += r.count
		p.last = r.last // which of the two is later is not recorded
		p.inc += r.inc
		p.hasInc = p.hasInc && r.hasInc
	}
	return out
}

// addRollups adds synthetic samples for the rollup rows (sorted by start)
// whose bucket holds none of the series' raw samples, which must be sorted.
// It reports whether it added any.
func (s *memSeries) addRollups(rows []rollupRow, mode rollupMode) bool {
	rows = mergeBuckets(rows)
	kept := rows[:0]
	j := 0
	for _, r := range rows {
		lo, hi := nsToMs(r.start), nsToMs(satAdd(r.start, rollupWidth))
		for j < len(s.t) && s.t[j] < lo {
			j++
		}
		if j < len(s.t) && s.t[j] < hi {
			continue // raw samples answer for this bucket
		}
		kept = append(kept, r)
	}
	if len(kept) == 0 {
		return false
	}
	if mode == modeCounter {
		for _, r := range kept {
			if !r.hasInc {
				mode = modeLast // not a counter
				break
			}
		}
	}
	var counter []float64
	if mode == modeCounter {
		counter = syntheticCounter(kept)
	}
	var st []int64
	var sf []float64
	emit := func(t int64, f float64) {
		st = append(st, t)
		sf = append(sf, f)
	}
	for k, r := range kept {
		lo, hi := nsToMs(r.start), nsToMs(satAdd(r.start, rollupWidth))
		end := hi - 1
		switch mode {
		case modeCounter:
			emit(end, counter[k])
		case modeMin:
			emit(end, r.min)
		case modeMax:
			emit(end, r.max)
		case modeSum:
			emit(end, r.sum)
		case modeAvg:
			if r.count > 0 {
				emit(end, r.sum/float64(r.count))
			}
		case modeCount:
			span := hi - lo
			c := min(r.count, span)
			for i := range c {
				emit(lo+(i+1)*span/c-1, r.last)
			}
		default:
			emit(end, r.last)
		}
	}
	s.mergeSamples(st, sf)
	return true
}

// syntheticCounter returns the counter value for each bucket (sorted by
// start): its last value, except that along a stretch of adjacent buckets
// whose last values do not go down, values step by counter_increase,
// counting back from the stretch's last value. So the counter meets raw
// samples before and after it as the real one did, rate sees a reset where
// the last values show one, and within a stretch it also counts the resets
// the 5-minute last values hide.
func syntheticCounter(rows []rollupRow) []float64 {
	c := make([]float64, len(rows))
	for k := len(rows) - 1; k >= 0; k-- {
		if k == len(rows)-1 || rows[k+1].start != rows[k].start+rollupWidth || rows[k+1].last < rows[k].last {
			c[k] = rows[k].last
			continue
		}
		c[k] = c[k+1] - rows[k+1].inc
	}
	return c
}

// mergeSamples merges the sorted samples (st, sf), none at a time the
// series has, into the series' sorted samples.
func (s *memSeries) mergeSamples(st []int64, sf []float64) {
	if len(s.t) == 0 {
		s.t, s.f = st, sf
		return
	}
	t := make([]int64, 0, len(s.t)+len(st))
	f := make([]float64, 0, len(s.f)+len(sf))
	i, j := 0, 0
	for i < len(s.t) || j < len(st) {
		if j == len(st) || (i < len(s.t) && s.t[i] <= st[j]) {
			t, f = append(t, s.t[i]), append(f, s.f[i])
			i++
		} else {
			t, f = append(t, st[j]), append(f, sf[j])
			j++
		}
	}
	s.t, s.f = t, f
}

// floorDiv returns floor(a / b) for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}
