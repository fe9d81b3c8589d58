package promql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/schema"
)

// Options configures a Queryable. The zero value is the default.
type Options struct {
	// DisableRollups stops Select from answering with metrics_5m rollups
	// for the buckets whose raw points are gone (see the package
	// documentation). False, the zero value, means rollups are used.
	DisableRollups bool
}

// Queryable is a storage.Queryable over an engine's metrics and metrics_5m
// tables. It is safe for concurrent use, and so are its queriers.
type Queryable struct {
	e    *engine.Engine
	opts Options
}

var (
	_ storage.Queryable = (*Queryable)(nil)
	_ storage.Querier   = (*querier)(nil)
)

// NewQueryable returns a Queryable reading e.
func NewQueryable(e *engine.Engine, opts Options) *Queryable {
	return &Queryable{e: e, opts: opts}
}

// Querier returns a querier of the samples in [mint, maxt] (Unix
// milliseconds, inclusive). It holds no resources: Close is a no-op.
func (q *Queryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{Queryable: q, mint: mint, maxt: maxt}, nil
}

type querier struct {
	*Queryable
	mint, maxt int64
}

func (*querier) Close() error { return nil }

// Select returns the series matching every matcher with their samples in
// the hints' [Start, End] (the querier's range without hints), sorted by
// labels whatever sortSeries says. hints.Func "series" (the series API)
// returns the series without reading samples; hints.Limit keeps the first
// Limit series; hints.ShardCount keeps one shard.
func (q *querier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, matchers ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = hints.Start, hints.End
	}
	if maxt < mint {
		return storage.EmptySeriesSet()
	}
	tr := nanoRange(mint, maxt)
	found, err := q.e.Series(ctx, matchers, tr)
	if err != nil {
		return storage.ErrSeriesSet(storageError(fmt.Errorf("promql: select series: %w", err)))
	}
	sel := newSelection(found, hints)
	if hints != nil && hints.Func == "series" {
		sel.truncate(hints.Limit)
		return &seriesSet{series: sel.series, i: -1}
	}
	if len(sel.series) == 0 {
		return storage.EmptySeriesSet()
	}
	var ws annotations.Annotations
	var rolled []rollupSeries
	mode := modeFor(hints)
	if !q.opts.DisableRollups {
		rolled, err = q.loadRollups(ctx, sel, tr, mode)
		if err != nil {
			return storage.ErrSeriesSet(storageError(err))
		}
	}
	raw := tr
	for _, r := range rolled {
		raw.Min = min(raw.Min, r.rows[0].start)
		raw.Max = max(raw.Max, satAdd(r.rows[len(r.rows)-1].start, rollupWidth))
	}
	if err := q.loadSamples(ctx, sel, raw); err != nil {
		return storage.ErrSeriesSet(storageError(err))
	}
	if len(rolled) > 0 {
		n := 0
		for _, r := range rolled {
			if sel.series[r.series].addRollups(r.rows, mode) {
				n++
			}
		}
		if n > 0 {
			ws.Add(fmt.Errorf("%w: samples of %d series come from 5-minute rollups (metrics_5m %s), their raw points being gone", annotations.PromQLInfo, n, mode))
		}
	}
	out := sel.series[:0]
	for _, s := range sel.series {
		s.trim(mint, maxt)
		if len(s.t) > 0 {
			out = append(out, s)
		}
	}
	sel.series = out
	if hints != nil {
		sel.truncate(hints.Limit)
	}
	return &seriesSet{series: sel.series, i: -1, ws: ws}
}

// LabelValues returns the values of the label name among the series
// matching every matcher in the querier's range, sorted, at most
// hints.Limit of them when that is positive. The time restriction has the
// granularity of the engine's series index (Engine.Series).
func (q *querier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, matchers ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	found, err := q.series(ctx, matchers)
	if err != nil {
		return nil, nil, err
	}
	set := make(map[string]struct{})
	for _, s := range found {
		if v := s.Labels.Get(name); v != "" {
			set[v] = struct{}{}
		}
	}
	return sortedLimit(set, hints), nil, nil
}

// LabelNames returns the names of the labels of the series matching every
// matcher in the querier's range, sorted, at most hints.Limit of them when
// that is positive.
func (q *querier) LabelNames(ctx context.Context, hints *storage.LabelHints, matchers ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	found, err := q.series(ctx, matchers)
	if err != nil {
		return nil, nil, err
	}
	set := make(map[string]struct{})
	for _, s := range found {
		s.Labels.Range(func(l labels.Label) {
			if l.Value != "" {
				set[l.Name] = struct{}{}
			}
		})
	}
	return sortedLimit(set, hints), nil, nil
}

func (q *querier) series(ctx context.Context, matchers []*labels.Matcher) ([]engine.Series, error) {
	if q.maxt < q.mint {
		return nil, nil
	}
	found, err := q.e.Series(ctx, matchers, nanoRange(q.mint, q.maxt))
	if err != nil {
		return nil, fmt.Errorf("promql: series: %w", err)
	}
	return found, nil
}

// storageError marks an error of the engine as a storage error for the
// query engine (the API answers it as an internal error), but for the end of
// the query's context, which the query engine reports as such.
func storageError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return promql.ErrStorage{Err: err}
}

func sortedLimit(set map[string]struct{}, hints *storage.LabelHints) []string {
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	if hints != nil && hints.Limit > 0 && len(out) > hints.Limit {
		out = out[:hints.Limit]
	}
	return out
}

// selection is the series a Select reads: their labels, and which series
// ids feed each (several when labels differ only by empty values).
type selection struct {
	series []*memSeries
	// index maps a series id to its position in series.
	index map[uint64]int32
}

// newSelection cleans the labels of the engine's series (dropping empty
// values), merges those left equal, and keeps hints' shard.
func newSelection(found []engine.Series, hints *storage.SelectHints) *selection {
	sel := &selection{index: make(map[uint64]int32, len(found))}
	type entry struct {
		id uint64
		ls labels.Labels
	}
	entries := make([]entry, 0, len(found))
	resort := false
	for _, s := range found {
		ls := s.Labels
		if hasEmptyValue(ls) {
			ls = labels.NewBuilder(ls).Labels() // Builder drops empty values
			resort = true
		}
		if hints != nil && hints.ShardCount > 0 && labels.StableHash(ls)%hints.ShardCount != hints.ShardIndex {
			continue
		}
		entries = append(entries, entry{s.ID, ls})
	}
	if resort {
		slices.SortStableFunc(entries, func(a, b entry) int { return labels.Compare(a.ls, b.ls) })
	}
	for _, en := range entries {
		n := len(sel.series)
		if n > 0 && labels.Equal(sel.series[n-1].lset, en.ls) {
			sel.index[en.id] = int32(n - 1)
			continue
		}
		sel.index[en.id] = int32(n)
		sel.series = append(sel.series, &memSeries{lset: en.ls})
	}
	return sel
}

// names returns the distinct metric names of the selected series, sorted.
func (s *selection) names() []string {
	var out []string
	for _, ms := range s.series {
		out = append(out, ms.lset.Get(labels.MetricName))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *selection) truncate(limit int) {
	if limit > 0 && len(s.series) > limit {
		s.series = s.series[:limit]
	}
}

func hasEmptyValue(ls labels.Labels) bool {
	empty := false
	ls.Range(func(l labels.Label) {
		if l.Value == "" {
			empty = true
		}
	})
	return empty
}

const nsPerMs = int64(time.Millisecond)

// nanoRange returns the Unix-nanosecond half-open range of the Unix
// milliseconds [mint, maxt], saturating at the ends of int64.
func nanoRange(mint, maxt int64) schema.TimeRange {
	tr := schema.TimeRange{Min: msToNs(mint), Max: msToNs(maxt)}
	if tr.Max != math.MaxInt64 {
		tr.Max += nsPerMs
	}
	return tr
}

// msToNs converts Unix milliseconds to nanoseconds, saturating.
func msToNs(ms int64) int64 {
	switch {
	case ms <= math.MinInt64/nsPerMs:
		return math.MinInt64
	case ms >= math.MaxInt64/nsPerMs:
		return math.MaxInt64
	}
	return ms * nsPerMs
}

// nsToMs converts Unix nanoseconds to milliseconds, rounding down.
func nsToMs(ns int64) int64 {
	ms := ns / nsPerMs
	if ns%nsPerMs < 0 {
		ms--
	}
	return ms
}

// satAdd returns a+b for b >= 0, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
