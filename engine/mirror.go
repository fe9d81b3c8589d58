package engine

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tael/tael/engine/blob"
	"github.com/tael/tael/engine/cold"
	"github.com/tael/tael/schema"
)

// A Mirror keeps a copy of the rows the engine holds: the SQL layer's
// DuckDB tables. Once attached it sees every change, in order.
type Mirror interface {
	// Applied receives a batch applied to the hot tier by WAL record lsn,
	// before the append that wrote it returns. rec is valid only during
	// the call.
	Applied(table schema.ID, lsn uint64, rec arrow.RecordBatch) error
	// Cold receives a table's live cold files (absolute paths) after they
	// change, with the moved mark: the hot rows with time before
	// movedBefore (unix ns) and LSN at most movedLSN now live in the files
	// and must be dropped from the copy in the same step.
	Cold(table schema.ID, files []string, movedBefore int64, movedLSN uint64) error
	// Forget drops the texts (llm_payloads rows) blob GC deleted.
	Forget(sha256s []string) error
}

// mirrorTables are the tables a mirror receives rows of.
var mirrorTables = []schema.ID{schema.Spans, schema.Logs, schema.Metrics, schema.TraceComments}

// coldTables are the tables that have cold files.
var coldTables = []schema.ID{schema.Spans, schema.Logs, schema.Metrics, schema.Metrics5m, schema.TraceComments}

// Attach loads m with every row the engine holds — each table's cold
// files, then its hot rows not yet moved — and from then on feeds it every
// change. Appends and compactions wait while it loads. One mirror at a
// time: a second Attach replaces the first.
func (e *Engine) Attach(ctx context.Context, m Mirror) error {
	e.mirrorMu.Lock()
	defer e.mirrorMu.Unlock()
	man := e.cold.Manifest()
	for _, id := range coldTables {
		mv := man.MovedOf(id)
		if err := m.Cold(id, e.coldPaths(man, id), mv.Before, mv.LSN); err != nil {
			return fmt.Errorf("engine: attach mirror: %w", err)
		}
	}
	rows := int64(0)
	for _, id := range mirrorTables {
		err := e.hot.ScanBatches(ctx, id, schema.AllTime, hotMoved(man.MovedOf(id)), func(lsn uint64, rec arrow.RecordBatch) error {
			rows += rec.NumRows()
			return m.Applied(id, lsn, rec)
		})
		if err != nil {
			return fmt.Errorf("engine: attach mirror: load %s: %w", id, err)
		}
	}
	texts, err := e.loadPayloads(ctx, m)
	if err != nil {
		return fmt.Errorf("engine: attach mirror: load llm_payloads: %w", err)
	}
	rows += texts
	e.mirror = m
	e.log.Info("mirror attached", "hot_rows", rows, "cold_files", len(man.Files))
	return nil
}

// coldPaths returns the absolute paths of table's live files in m.
func (e *Engine) coldPaths(m *cold.Manifest, table schema.ID) []string {
	fs := m.TableFiles(table, schema.AllTime)
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = filepath.Join(e.cold.Dir(), filepath.FromSlash(f.Path))
	}
	return out
}

// mirrorApplied passes an applied batch to the mirror, if any. The caller
// holds mirrorMu for reading.
func (e *Engine) mirrorApplied(table schema.ID, lsn uint64, rec arrow.RecordBatch) {
	if e.mirror == nil {
		return
	}
	if err := e.mirror.Applied(table, lsn, rec); err != nil {
		// The rows are durable and in the hot tier; only the SQL copy
		// misses them until the next start rebuilds it.
		e.m.mirrorErrors.Inc()
		e.log.Error("SQL mirror missed a batch; it is rebuilt at the next start", "table", table, "lsn", lsn, "err", err)
	}
}

// mirrorCold passes table's cold state in m to the mirror, if any. The
// caller holds mirrorMu for reading.
func (e *Engine) mirrorCold(m *cold.Manifest, table schema.ID) {
	if e.mirror == nil {
		return
	}
	mv := m.MovedOf(table)
	if err := e.mirror.Cold(table, e.coldPaths(m, table), mv.Before, mv.LSN); err != nil {
		e.m.mirrorErrors.Inc()
		e.log.Error("SQL mirror could not switch to new cold files", "table", table, "err", err)
	}
}

// payloadBatchRows is the number of llm_payloads rows passed to a mirror
// at a time while it loads.
const payloadBatchRows = 4096

// loadPayloads passes every stored text, once per reference, to m as
// llm_payloads batches, and returns the number of rows.
func (e *Engine) loadPayloads(ctx context.Context, m Mirror) (int64, error) {
	t, _ := schema.ByID(schema.LLMPayloads)
	b := array.NewRecordBuilder(e.mem, t.Schema)
	defer b.Release()
	var rows int64
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		rows += rec.NumRows()
		if rec.NumRows() == 0 {
			return nil
		}
		return m.Applied(schema.LLMPayloads, 0, rec)
	}
	err := e.blobs.Each(ctx, func(bl blob.Blob) error {
		for i, v := range []string{bl.SHA256, bl.Kind, bl.Text, bl.TraceID, bl.SpanID} {
			b.Field(i).(*array.StringBuilder).Append(v)
		}
		if b.Field(0).Len() >= payloadBatchRows {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return rows, err
}
