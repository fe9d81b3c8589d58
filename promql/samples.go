package promql

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tael/tael/schema"
)

// sampleColumns are the metrics columns Select reads, in this order.
var sampleColumns = []string{"series_id", "timestamp", "value"}

// loadSamples sets each selected series' samples to its raw samples in
// tr, sorted by time, keeping the sample read last of any millisecond.
//
// It reads in two passes so that each series' samples are allocated once at
// their final size: the scan copies the selected rows into fixed-size
// blocks, counting rows per series, then the blocks are scattered into one
// array per column. That halved this function's CPU time in
// BenchmarkRangeQuery against appending to growing per-series slices.
func (q *querier) loadSamples(ctx context.Context, sel *selection, tr schema.TimeRange) error {
	rr, err := q.e.ScanMetrics(ctx, tr, sampleColumns, sel.names())
	if err != nil {
		return fmt.Errorf("promql: scan metrics: %w", err)
	}
	defer rr.Release()
	var (
		blocks  []*rowBlock
		cur     *rowBlock
		counts  = make([]int, len(sel.series))
		lastID  uint64
		lastIdx int32 = -1 // the series of lastID, -1 if not selected
		haveID  bool
	)
	defer func() {
		for _, b := range blocks {
			rowBlocks.Put(b)
		}
	}()
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := rr.RecordBatch()
		ids := rec.Column(0).(*array.Uint64).Uint64Values()
		ts := rec.Column(1).(*array.Timestamp).TimestampValues()
		vs := rec.Column(2).(*array.Float64).Float64Values()
		for i, id := range ids {
			// Rows of one series often come together: look the id up once.
			if !haveID || id != lastID {
				lastID, haveID, lastIdx = id, true, -1
				if j, ok := sel.index[id]; ok {
					lastIdx = j
				}
			}
			if lastIdx < 0 {
				continue
			}
			if cur == nil || cur.n == rowBlockSize {
				cur = rowBlocks.Get().(*rowBlock)
				cur.n = 0
				blocks = append(blocks, cur)
			}
			cur.series[cur.n], cur.t[cur.n], cur.f[cur.n] = lastIdx, nsToMs(int64(ts[i])), vs[i]
			cur.n++
			counts[lastIdx]++
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("promql: scan metrics: %w", err)
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	allT, allF := make([]int64, total), make([]float64, total)
	off := 0
	for j, s := range sel.series {
		c := counts[j]
		s.t, s.f = allT[off:off:off+c], allF[off:off:off+c]
		off += c
	}
	for _, b := range blocks {
		for k := range b.n {
			sel.series[b.series[k]].add(b.t[k], b.f[k])
		}
	}
	for _, s := range sel.series {
		s.sortSamples()
	}
	return nil
}

// rowBlockSize is the number of rows in a rowBlock: 32 Ki rows, 640 KiB, so
// that a small query allocates little and a large one few blocks.
const rowBlockSize = 1 << 15

// rowBlocks recycles rowBlocks between queries.
var rowBlocks = sync.Pool{New: func() any { return new(rowBlock) }}

// rowBlock holds selected rows in scan order: the series (its index in the
// selection), the time in ms and the value.
type rowBlock struct {
	n      int
	series [rowBlockSize]int32
	t      [rowBlockSize]int64
	f      [rowBlockSize]float64
}

// add appends a sample.
func (s *memSeries) add(t int64, f float64) {
	if n := len(s.t); n > 0 && t < s.t[n-1] {
		s.unsorted = true
	}
	s.t = append(s.t, t)
	s.f = append(s.f, f)
}

// sortSamples sorts the samples by time and keeps the last of equal times.
func (s *memSeries) sortSamples() {
	if s.unsorted {
		sort.Stable((*byTime)(s))
		s.unsorted = false
	}
	n := 0
	for i := range s.t {
		if n > 0 && s.t[n-1] == s.t[i] {
			n--
		}
		s.t[n], s.f[n] = s.t[i], s.f[i]
		n++
	}
	s.t, s.f = s.t[:n], s.f[:n]
}

// trim drops the samples outside [mint, maxt].
func (s *memSeries) trim(mint, maxt int64) {
	lo := sort.Search(len(s.t), func(i int) bool { return s.t[i] >= mint })
	hi := sort.Search(len(s.t), func(i int) bool { return s.t[i] > maxt })
	s.t, s.f = s.t[lo:hi], s.f[lo:hi]
}

type byTime memSeries

func (b *byTime) Len() int           { return len(b.t) }
func (b *byTime) Less(i, j int) bool { return b.t[i] < b.t[j] }
func (b *byTime) Swap(i, j int) {
	b.t[i], b.t[j] = b.t[j], b.t[i]
	b.f[i], b.f[j] = b.f[j], b.f[i]
}
