package engine

import (
	"context"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/tael/tael/engine/cold"
	"github.com/tael/tael/schema"
)

// coldSeries caches the distinct series of each metrics_5m cold file. Cold
// files never change, so a file's series are read once; a query over 30
// days of rollups (720 hourly files) then finds its series without opening
// a file. Entries of files no longer live are dropped when the cache holds
// about twice as many files as the live set.
type coldSeries struct {
	mu    sync.Mutex
	files map[string][]Series // file path → its distinct series
	// labels holds one copy of each series' labels, which the files'
	// entries share.
	labels map[uint64]labels.Labels
}

// fileSeries returns the distinct series of f (shared: do not modify).
func (e *Engine) fileSeries(ctx context.Context, f cold.File) ([]Series, error) {
	c := &e.coldSeries
	c.mu.Lock()
	ss, ok := c.files[f.Path]
	c.mu.Unlock()
	if ok {
		return ss, nil
	}
	rr, err := e.cold.ScanFiles(ctx, schema.Metrics5m, []cold.File{f}, schema.AllTime, []string{"series_id", "name", "labels"})
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	seen := map[uint64]struct{}{}
	var b labels.ScratchBuilder
	for rr.Next() {
		rec := rr.RecordBatch()
		idCol := rec.Column(0).(*array.Uint64)
		names := rec.Column(1).(*array.String)
		lm := rec.Column(2).(*array.Map)
		keys, vals := lm.Keys().(*array.String), lm.Items().(*array.String)
		for i := range int(rec.NumRows()) {
			id := idCol.Value(i)
			if _, ok := seen[id]; ok {
				continue
			}
			seen[id] = struct{}{}
			b.Reset()
			b.Add(labels.MetricName, names.Value(i))
			if lm.IsValid(i) {
				lo, hi := lm.ValueOffsets(i)
				for j := lo; j < hi; j++ {
					b.Add(keys.Value(int(j)), vals.Value(int(j)))
				}
			}
			b.Sort()
			ss = append(ss, Series{ID: id, Labels: b.Labels()})
		}
	}
	if err := rr.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.files == nil {
		c.files, c.labels = map[string][]Series{}, map[uint64]labels.Labels{}
	}
	live := e.cold.Manifest().TableFiles(schema.Metrics5m, schema.AllTime)
	if len(c.files) > 2*len(live)+64 {
		c.prune(live)
	}
	for i, s := range ss {
		if ls, ok := c.labels[s.ID]; ok {
			ss[i].Labels = ls
		} else {
			c.labels[s.ID] = s.Labels
		}
	}
	c.files[f.Path] = ss
	return ss, nil
}

// prune keeps the entries of the live files and the labels they use.
func (c *coldSeries) prune(live []cold.File) {
	files := make(map[string][]Series, len(live))
	used := map[uint64]labels.Labels{}
	for _, f := range live {
		ss, ok := c.files[f.Path]
		if !ok {
			continue
		}
		files[f.Path] = ss
		for _, s := range ss {
			used[s.ID] = s.Labels
		}
	}
	c.files, c.labels = files, used
}
