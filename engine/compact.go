package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tael/tael/engine/cold"
	"github.com/tael/tael/schema"
)

// compactAlign is the granularity of the compaction cutoff: 5 minutes, so
// that a metrics_5m bucket is rolled up from all its raw points at once
// (unless points arrive after their bucket was compacted).
const compactAlign = int64(5 * time.Minute)

// maxFileRows bounds the rows one compaction holds in memory before writing
// them as a file: about 150 MB of decoded spans. Files of one hour are merged
// into one when the hour is complete.
const maxFileRows = 500_000

const hourNanos = int64(time.Hour)

// CompactOptions say what Compact moves.
type CompactOptions struct {
	// OlderThan moves the hot rows older than now minus it (rounded down to
	// 5 minutes). Zero means Options.HotWindow.
	OlderThan time.Duration
	// All moves every hot row whatever its time (flightd compact
	// --older-than 0s).
	All bool
	// Progress, if set, is called after each file written.
	Progress func(CompactStats)
}

// CompactStats describe what a compaction did.
type CompactStats struct {
	Rows    int64 // hot rows moved to cold files
	Files   int   // files written (including rollups and merges)
	Bytes   int64 // bytes written
	Merged  int   // hours whose files were merged into one
	Deleted int   // hot values deleted after being moved
	Took    time.Duration
}

// Compact moves hot rows older than the cutoff to Parquet files, writes
// their 5-minute rollups, merges the files of complete hours, and deletes the
// moved hot rows once no read needs them. At each step a crash leaves every
// row readable exactly once: files become live only when the manifest that
// lists them, together with the moved mark that hides their hot rows, is
// committed. One compaction runs at a time.
func (e *Engine) Compact(ctx context.Context, o CompactOptions) (CompactStats, error) {
	e.compactMu.Lock()
	defer e.compactMu.Unlock()
	start := time.Now()
	var st CompactStats
	if o.OlderThan == 0 {
		o.OlderThan = e.opts.HotWindow
	}
	// Every record up to lsn is in the hot tier (and, if a mirror is
	// attached, in the mirror): the rows the compaction moves are those of
	// records at or below it.
	lsn := e.applied.get()
	before := floorTo(e.opts.Clock().Add(-o.OlderThan).UnixNano(), compactAlign)
	for _, id := range mirrorTables {
		b := before
		if o.All {
			_, maxT, n, err := e.hot.Buckets(ctx, id, hotMoved(e.cold.Manifest().MovedOf(id)))
			if err != nil {
				return st, fmt.Errorf("engine: compact %s: %w", id, err)
			}
			if n == 0 {
				continue
			}
			// maxT is the start of the newest bucket: move it whole.
			b = floorTo(maxT, compactAlign) + compactAlign
		}
		if err := e.compactTable(ctx, id, b, lsn, &st, o.Progress); err != nil {
			return st, err
		}
	}
	tMoved := time.Since(start)
	if err := e.mergeHours(ctx, &st, o.Progress); err != nil {
		return st, err
	}
	tMerged := time.Since(start)
	st.Deleted = e.deleteMoved(ctx)
	e.log.Debug("compaction phases", "move", tMoved, "merge", tMerged-tMoved, "delete", time.Since(start)-tMerged)
	st.Took = time.Since(start)
	if st.Files > 0 || st.Deleted > 0 {
		e.log.Info("compaction", "rows", st.Rows, "files", st.Files, "bytes", st.Bytes, "merged_hours", st.Merged,
			"hot_values_deleted", st.Deleted, "took", st.Took.Round(time.Millisecond),
			"rows_per_second", int64(float64(st.Rows)/max(st.Took.Seconds(), 1e-9)))
	}
	return st, nil
}

// floorTo rounds t down to a multiple of step.
func floorTo(t, step int64) int64 {
	q := t / step
	if t%step != 0 && t < 0 {
		q--
	}
	return q * step
}

// compactTable moves table's hot rows with time before before and LSN at
// most lsn (those not moved already) into files, one or more per hour, and
// commits them with the new moved mark.
func (e *Engine) compactTable(ctx context.Context, id schema.ID, before int64, lsn uint64, st *CompactStats, progress func(CompactStats)) error {
	t, _ := schema.ByID(id)
	prev := e.cold.Manifest().MovedOf(id)
	next := cold.Moved{Before: max(before, prev.Before), LSN: max(lsn, prev.LSN)}
	if next == prev {
		return nil
	}
	var (
		written []cold.File
		pending []arrow.RecordBatch
		rows    int64
		hour    = int64(math.MinInt64)
		last5m  = int64(math.MinInt64)
	)
	release := func() {
		for _, r := range pending {
			r.Release()
		}
		pending, rows = nil, 0
	}
	defer release()
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		fs, err := e.writeHour(ctx, id, hour, pending)
		written = append(written, fs...)
		if err != nil {
			return err
		}
		for _, f := range fs {
			st.Files++
			st.Bytes += f.Bytes
			if f.Table == id {
				st.Rows += f.Rows
			}
		}
		release()
		if progress != nil {
			progress(*st)
		}
		return nil
	}
	err := e.hot.ScanBatches(ctx, id, schema.TimeRange{Min: math.MinInt64, Max: next.Before}, hotMoved(prev), func(l uint64, rec arrow.RecordBatch) error {
		if l > next.LSN || rec.NumRows() == 0 {
			return nil
		}
		// A stored value holds one time bucket, so one hour.
		t0 := int64(rec.Column(t.TimeIndex).(*array.Timestamp).Value(0))
		h, b5 := floorTo(t0, hourNanos), floorTo(t0, compactAlign)
		if h != hour || (rows >= maxFileRows && b5 != last5m) {
			if err := flush(); err != nil {
				return err
			}
			hour = h
		}
		last5m = b5
		rec.Retain()
		pending = append(pending, rec)
		rows += rec.NumRows()
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = e.commit(cold.Change{Add: written, Moved: map[schema.ID]cold.Moved{id: next}}, id, schema.Metrics5m)
	}
	if err != nil {
		e.removeFiles(written)
		return fmt.Errorf("engine: compact %s: %w", t.Name, err)
	}
	return nil
}

// writeHour writes rows of table in one hour as a file, and for metrics
// their rollups as a second one.
func (e *Engine) writeHour(ctx context.Context, id schema.ID, hour int64, recs []arrow.RecordBatch) ([]cold.File, error) {
	f, err := e.cold.Write(ctx, id, hour, recs)
	if err != nil {
		return nil, err
	}
	out := []cold.File{f}
	if id != schema.Metrics {
		return out, nil
	}
	roll, err := cold.Rollup(e.mem, recs)
	if err != nil {
		return out, fmt.Errorf("rollup: %w", err)
	}
	defer roll.Release()
	rf, err := e.cold.Write(ctx, schema.Metrics5m, hour, []arrow.RecordBatch{roll})
	if err != nil {
		return out, fmt.Errorf("write rollups: %w", err)
	}
	return append(out, rf), nil
}

// commit publishes a manifest change and passes the new state of tables to
// the mirror, so that no read sees a row twice or not at all.
func (e *Engine) commit(c cold.Change, tables ...schema.ID) error {
	e.mirrorMu.RLock()
	defer e.mirrorMu.RUnlock()
	m, err := e.cold.Commit(c)
	if err != nil {
		return err
	}
	for _, id := range tables {
		e.mirrorCold(m, id)
	}
	return nil
}

// removeFiles deletes files written but never committed (Open would too).
func (e *Engine) removeFiles(fs []cold.File) {
	for _, f := range fs {
		if err := os.Remove(filepath.Join(e.cold.Dir(), filepath.FromSlash(f.Path))); err != nil && !errors.Is(err, os.ErrNotExist) {
			e.log.Warn("remove uncommitted cold file", "path", f.Path, "err", err)
		}
	}
}

// mergeHours merges the files of each complete hour (one that ends at or
// before its table's moved mark) into one.
func (e *Engine) mergeHours(ctx context.Context, st *CompactStats, progress func(CompactStats)) error {
	m := e.cold.Manifest()
	for _, id := range coldTables {
		mark := m.MovedOf(id)
		if id == schema.Metrics5m {
			mark = m.MovedOf(schema.Metrics)
		}
		count := map[int64]int{}
		for _, f := range m.TableFiles(id, schema.AllTime) {
			if f.Hour+hourNanos <= mark.Before {
				count[f.Hour]++
			}
		}
		for h, n := range count {
			if n < 2 {
				continue
			}
			e.mirrorMu.RLock()
			f, merged, err := e.cold.Merge(ctx, id, h)
			if err == nil && merged {
				e.mirrorCold(e.cold.Manifest(), id)
			}
			e.mirrorMu.RUnlock()
			if err != nil {
				return fmt.Errorf("engine: merge %s hour %s: %w", id, time.Unix(0, h).UTC().Format(time.RFC3339), err)
			}
			if merged {
				st.Merged++
				st.Files++
				st.Bytes += f.Bytes
				if progress != nil {
					progress(*st)
				}
			}
		}
	}
	return nil
}

// deleteMoved deletes the hot values each table's moved mark hides, once no
// read of an older manifest is open, and returns how many went. Failures
// are logged: the values stay hidden and the next compaction retries.
func (e *Engine) deleteMoved(ctx context.Context) int {
	m := e.cold.Manifest()
	if e.readers.olderThan(m.Version) {
		e.log.Debug("hot rows moved to cold files kept until older reads finish")
		return 0
	}
	total := 0
	for _, id := range mirrorTables {
		n, err := e.hot.DeleteMoved(ctx, id, hotMoved(m.MovedOf(id)))
		total += n
		if err != nil {
			e.log.Warn("delete moved hot rows; will retry", "table", id, "err", err)
		}
	}
	if total > 0 {
		if err := e.hot.CollectGarbage(); err != nil {
			e.log.Warn("hot tier value-log GC", "err", err)
		}
	}
	return total
}
