package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/tael/tael/engine/cold"
	"github.com/tael/tael/engine/hot"
	"github.com/tael/tael/schema"
)

// Series is a metric series: its stable id and its labels, __name__ included.
type Series = hot.Series

// hotMoved converts the cold tier's moved mark to the hot tier's.
func hotMoved(m cold.Moved) hot.Moved { return hot.Moved{Before: m.Before, LSN: m.LSN} }

// readers counts the reads in progress per manifest version, so that hot
// rows a newer manifest moved are deleted only once no read that began with
// an older manifest (and so reads them from the hot tier) is running.
type readers struct {
	mu   sync.Mutex
	cond *sync.Cond
	// n is the number of open reads per manifest version.
	n map[uint64]int
}

func newReaders() *readers {
	r := &readers{n: map[uint64]int{}}
	r.cond = sync.NewCond(&r.mu)
	return r
}

// begin takes the current manifest and registers a read of it; the
// returned func ends the read.
func (r *readers) begin(s *cold.Store) (*cold.Manifest, func()) {
	r.mu.Lock()
	m := s.Manifest()
	r.n[m.Version]++
	r.mu.Unlock()
	var once sync.Once
	return m, func() {
		once.Do(func() {
			r.mu.Lock()
			if r.n[m.Version]--; r.n[m.Version] == 0 {
				delete(r.n, m.Version)
			}
			r.cond.Broadcast()
			r.mu.Unlock()
		})
	}
}

// olderThan reports whether a read of a manifest older than v is open.
func (r *readers) olderThan(v uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ver := range r.n {
		if ver < v {
			return true
		}
	}
	return false
}

// Scan streams the rows of table whose time column lies in tr — cold files
// first, then the hot tier — with only the named columns in that order (nil
// means all). Every row is read exactly once, whatever compaction does
// meanwhile. The caller releases the reader.
func (e *Engine) Scan(ctx context.Context, table schema.ID, tr schema.TimeRange, columns []string) (array.RecordReader, error) {
	return e.scan(ctx, table, tr, columns, nil)
}

// ScanMetrics is Scan of the metrics table for a reader that wants only the
// metric names given (sorted, distinct): cold row groups holding none of
// them are skipped, so a query of a few metrics reads about their share of
// the cold files. Rows of other metrics may still come (hot rows, row
// groups holding several names): the caller filters.
func (e *Engine) ScanMetrics(ctx context.Context, tr schema.TimeRange, columns []string, names []string) (array.RecordReader, error) {
	return e.scan(ctx, schema.Metrics, tr, columns, names)
}

// scan is Scan, for metrics restricted to names when they are not nil.
func (e *Engine) scan(ctx context.Context, table schema.ID, tr schema.TimeRange, columns, names []string) (array.RecordReader, error) {
	m, done := e.readers.begin(e.cold)
	var rs []array.RecordReader
	if table != schema.LLMPayloads {
		var cr array.RecordReader
		var err error
		if names != nil {
			cr, err = e.cold.ScanNames(ctx, m, tr, columns, names)
		} else {
			cr, err = e.cold.Scan(ctx, m, table, tr, columns)
		}
		if err != nil {
			done()
			return nil, err
		}
		rs = append(rs, cr)
	}
	if table != schema.Metrics5m {
		hr, err := e.hot.Scan(ctx, table, tr, columns, hotMoved(m.MovedOf(table)))
		if err != nil {
			for _, r := range rs {
				r.Release()
			}
			done()
			return nil, err
		}
		rs = append(rs, hr)
	}
	return newConcatReader(rs, done), nil
}

// Trace returns every span of the trace, hot and cold, in no particular
// order; a batch with no rows when there is none. The caller releases it.
func (e *Engine) Trace(ctx context.Context, traceID string) (arrow.RecordBatch, error) {
	m, done := e.readers.begin(e.cold)
	defer done()
	c, err := e.cold.Trace(ctx, m, traceID)
	if err != nil {
		return nil, err
	}
	defer c.Release()
	h, err := e.hot.Trace(ctx, traceID, hotMoved(m.MovedOf(schema.Spans)))
	if err != nil {
		return nil, err
	}
	defer h.Release()
	if c.NumRows() == 0 {
		h.Retain()
		return h, nil
	}
	if h.NumRows() == 0 {
		c.Retain()
		return c, nil
	}
	return concatBatches(e.mem, []arrow.RecordBatch{c, h})
}

// Series returns the metric series matching every matcher (Prometheus
// semantics) that have points in tr, sorted by labels: from the hot tier's
// series index, and for cold rows from the 5-minute rollups (one row per
// series and 5 minutes, so the time restriction has 5-minute granularity
// there).
func (e *Engine) Series(ctx context.Context, matchers []*labels.Matcher, tr schema.TimeRange) ([]Series, error) {
	hs, err := e.hot.Series(ctx, matchers, tr)
	if err != nil || tr.Empty() {
		return hs, err
	}
	m, done := e.readers.begin(e.cold)
	defer done()
	ctr := tr
	if ctr.Min > math.MinInt64+compactAlign {
		ctr.Min = floorTo(ctr.Min, compactAlign)
	}
	if len(m.TableFiles(schema.Metrics5m, ctr)) == 0 {
		return hs, nil
	}
	seen := make(map[uint64]struct{}, len(hs))
	for _, s := range hs {
		seen[s.ID] = struct{}{}
	}
	out := hs
	for _, f := range m.TableFiles(schema.Metrics5m, ctr) {
		ss, err := e.fileSeries(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			if _, ok := seen[s.ID]; ok {
				continue
			}
			seen[s.ID] = struct{}{}
			if hot.MatchesAll(matchers, s.Labels) {
				out = append(out, s)
			}
		}
	}
	slices.SortFunc(out, func(a, b Series) int { return labels.Compare(a.Labels, b.Labels) })
	return out, nil
}

// concatReader reads its readers one after the other.
type concatReader struct {
	rs   []array.RecordReader
	i    int
	done func()
	refs atomic.Int64
	err  error
}

func newConcatReader(rs []array.RecordReader, done func()) *concatReader {
	r := &concatReader{rs: rs, done: done}
	r.refs.Store(1)
	return r
}

func (r *concatReader) Schema() *arrow.Schema { return r.rs[0].Schema() }

func (r *concatReader) Next() bool {
	for r.i < len(r.rs) && r.err == nil {
		if r.rs[r.i].Next() {
			return true
		}
		r.err = r.rs[r.i].Err()
		r.i++
	}
	return false
}

func (r *concatReader) RecordBatch() arrow.RecordBatch {
	if r.i >= len(r.rs) {
		return nil
	}
	return r.rs[r.i].RecordBatch()
}

func (r *concatReader) Record() arrow.RecordBatch { return r.RecordBatch() }
func (r *concatReader) Err() error                { return r.err }
func (r *concatReader) Retain()                   { r.refs.Add(1) }

func (r *concatReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	for _, x := range r.rs {
		x.Release()
	}
	r.done()
}

// concatBatches returns the rows of recs (of one schema) as one batch.
func concatBatches(mem memory.Allocator, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(recs) == 0 {
		return nil, errors.New("BUG: concatBatches of nothing")
	}
	sch := recs[0].Schema()
	cols := make([]arrow.Array, sch.NumFields())
	for i := range cols {
		parts := make([]arrow.Array, len(recs))
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			for _, x := range cols[:i] {
				x.Release()
			}
			return nil, fmt.Errorf("engine: concatenate %s: %w", sch.Field(i).Name, err)
		}
		cols[i] = c
	}
	n := int64(0)
	for _, r := range recs {
		n += r.NumRows()
	}
	out := array.NewRecordBatch(sch, cols, n)
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}
