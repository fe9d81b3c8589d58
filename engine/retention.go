package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/tael/tael/schema"
)

// retentionTables maps each retention setting to the tables it covers.
var retentionTables = map[schema.ID][]schema.ID{
	schema.Spans:     {schema.Spans, schema.TraceComments},
	schema.Logs:      {schema.Logs},
	schema.Metrics:   {schema.Metrics},
	schema.Metrics5m: {schema.Metrics5m},
}

// ApplyRetention drops the cold partitions (whole hours) older than each
// table's retention, and deletes files removed long enough ago that no query
// can still be reading them. It returns the number of files dropped.
func (e *Engine) ApplyRetention(ctx context.Context) (int, error) {
	e.compactMu.Lock()
	defer e.compactMu.Unlock()
	now := e.opts.Clock()
	dropped := 0
	for setting, d := range e.opts.Retention {
		if d <= 0 {
			continue
		}
		for _, id := range retentionTables[setting] {
			e.mirrorMu.RLock()
			fs, err := e.cold.DropBefore(ctx, id, now.Add(-d).UnixNano())
			if err == nil && len(fs) > 0 {
				e.mirrorCold(e.cold.Manifest(), id)
			}
			e.mirrorMu.RUnlock()
			if err != nil {
				return dropped, fmt.Errorf("engine: retention of %s: %w", id, err)
			}
			dropped += len(fs)
		}
	}
	if _, err := e.cold.CollectGarbage(); err != nil {
		return dropped, fmt.Errorf("engine: delete removed cold files: %w", err)
	}
	return dropped, nil
}

// blobGCInterval is the least time between two blob GCs of the background
// loop: a mark reads the blob columns of all history, and texts waiting an
// hour longer for deletion cost nothing but disk.
const blobGCInterval = time.Hour

// compactLoop runs compaction and retention every CompactInterval, and blob
// GC at most every blobGCInterval.
func (e *Engine) compactLoop() {
	defer close(e.compactDone)
	if e.opts.CompactInterval < 0 {
		return
	}
	t := time.NewTicker(e.opts.CompactInterval)
	defer t.Stop()
	var lastGC time.Time
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-e.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		if _, err := e.Compact(ctx, CompactOptions{}); err != nil {
			e.log.Error("compaction failed; hot rows stay until the next try", "err", err)
		}
		if _, err := e.ApplyRetention(ctx); err != nil {
			e.log.Error("retention failed; will retry", "err", err)
		}
		// Blob GC reads the blob columns of every span and log row, hot
		// and cold, so it runs at most hourly, not every interval.
		if now := e.opts.Clock(); now.Sub(lastGC) >= blobGCInterval {
			if _, err := e.CollectBlobs(ctx); err != nil {
				e.log.Error("blob GC failed; will retry", "err", err)
			} else {
				lastGC = now
			}
		}
		cancel()
	}
}
