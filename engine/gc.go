package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tael/tael/schema"
)

// blobGCGrace is how long after its latest write a text is safe from blob
// GC even when no row references it: a payload is appended just before the
// span (or log) that references it, in the same request, so ten minutes is
// a wide margin over any request.
const blobGCGrace = 10 * time.Minute

// blobRefColumns are the columns whose values name blobs, by table.
var blobRefColumns = map[schema.ID][]string{
	schema.Spans: {"prompt_sha256", "completion_sha256"},
	schema.Logs:  {"body_sha256"},
}

// CollectBlobs deletes the texts (prompts, completions, long log bodies)
// that no hot or cold row references any more, with their full-text
// entries, and returns how many went. It marks first — the sha256s every
// span and log row names — then sweeps the texts neither marked nor written
// in the last ten minutes before the mark began, so a text written during
// the mark is never swept. A crash mid-sweep leaves texts the next run
// sweeps.
func (e *Engine) CollectBlobs(ctx context.Context) (int, error) {
	markStart := e.opts.Clock()
	refs := map[string]struct{}{}
	for table, cols := range blobRefColumns {
		rr, err := e.Scan(ctx, table, schema.AllTime, cols)
		if err != nil {
			return 0, fmt.Errorf("engine: blob GC: mark %s: %w", table, err)
		}
		for rr.Next() {
			rec := rr.RecordBatch()
			for _, c := range rec.Columns() {
				s := c.(*array.String)
				for i := range s.Len() {
					if s.IsValid(i) {
						refs[s.Value(i)] = struct{}{}
					}
				}
			}
		}
		err = rr.Err()
		rr.Release()
		if err != nil {
			return 0, fmt.Errorf("engine: blob GC: mark %s: %w", table, err)
		}
	}
	keep := func(sha string) bool { _, ok := refs[sha]; return ok }
	putBefore := markStart.Add(-blobGCGrace).UnixNano()
	cands, err := e.blobs.Unreferenced(ctx, keep, putBefore)
	if err != nil || len(cands) == 0 {
		return 0, err
	}
	// The index first: a crash in between leaves texts no search finds,
	// which the next run deletes, never a search hit without its text.
	if err := e.fts.Delete(ctx, cands); err != nil {
		return 0, fmt.Errorf("engine: blob GC: %w", err)
	}
	deleted, err := e.blobs.Delete(ctx, cands, putBefore)
	if len(deleted) > 0 {
		e.mirrorMu.RLock()
		if e.mirror != nil {
			if ferr := e.mirror.Forget(deleted); ferr != nil {
				e.m.mirrorErrors.Inc()
				e.log.Error("SQL mirror kept deleted texts", "err", ferr)
			}
		}
		e.mirrorMu.RUnlock()
	}
	e.log.Info("blob GC", "referenced", len(refs), "swept", len(deleted), "took", time.Since(markStart).Round(time.Millisecond))
	if err != nil {
		return len(deleted), fmt.Errorf("engine: blob GC: %w", err)
	}
	return len(deleted), nil
}
