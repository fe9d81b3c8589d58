package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tael/tael/schema"
)

// ErrNotAppendable is returned when a batch is appended to a table that is
// not written through the WAL (metrics_5m, llm_payloads).
var ErrNotAppendable = errors.New("engine: table is not appendable")

// Append writes rec to table durably and returns the LSN of its (last) WAL
// record. When Append returns nil the rows survive a crash and are visible to
// reads. A batch with more than Options.MaxBatchRows rows is written as
// several records, each durable on its own: if Append fails part-way, an
// earlier part may be stored (the error says how many rows were).
//
// A batch whose columns do not match the table fails with
// schema.ErrSchemaMismatch (or schema.ErrInvalidBatch) and nothing is written.
func (e *Engine) Append(ctx context.Context, table schema.ID, rec arrow.RecordBatch) (uint64, error) {
	t, err := schema.ByID(table)
	if err != nil {
		return 0, err
	}
	if !t.Appendable() && t.ID != schema.LLMPayloads {
		return 0, fmt.Errorf("%w: %s", ErrNotAppendable, t.Name)
	}
	if err := t.Validate(rec); err != nil {
		return 0, err
	}
	if t.ID == schema.LLMPayloads {
		if _, err := payloadBlobs(rec); err != nil {
			return 0, err
		}
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return 0, ErrClosed
	}
	n := rec.NumRows()
	if n == 0 {
		return e.applied.get(), nil
	}
	max := int64(e.opts.MaxBatchRows)
	var lsn uint64
	for off := int64(0); off < n; off += max {
		part := rec
		if off > 0 || n > max {
			part = rec.NewSlice(off, min(off+max, n))
		}
		lsn, err = e.appendOne(ctx, t, part)
		if part != rec {
			part.Release()
		}
		if err != nil {
			if off > 0 {
				return lsn, fmt.Errorf("engine: append %s: %d of %d rows stored: %w", t.Name, off, n, err)
			}
			return 0, fmt.Errorf("engine: append %s: %w", t.Name, err)
		}
	}
	return lsn, nil
}

func (e *Engine) appendOne(ctx context.Context, t *schema.Table, rec arrow.RecordBatch) (uint64, error) {
	start := time.Now()
	// The WAL holds the batch in the hot tier's value format, so the hot
	// tier stores these same bytes: one encoding per batch.
	payload, err := e.hot.Encode(t.ID, rec)
	if err != nil {
		return 0, fmt.Errorf("encode batch: %w", err)
	}
	lsn, err := e.wal.Append(ctx, uint8(t.ID), payload)
	if err != nil {
		e.m.appendErrors.WithLabelValues(t.Name).Inc()
		return 0, err
	}
	// The record is durable. Applying it is idempotent, so if this fails
	// the next start replays it; the watermark stays below lsn until then.
	// The mirror sees the batch before the watermark passes lsn, so a
	// compaction (which moves rows up to the watermark) never moves a row
	// the mirror has not seen.
	e.mirrorMu.RLock()
	if err := e.apply(lsn, t.ID, rec, payload, e.applied.get()); err != nil {
		e.mirrorMu.RUnlock()
		e.m.appendErrors.WithLabelValues(t.Name).Inc()
		e.log.Error("WAL record not applied; it will be replayed at the next start", "lsn", lsn, "table", t.Name, "err", err)
		return 0, err
	}
	e.mirrorApplied(t.ID, lsn, rec)
	e.mirrorMu.RUnlock()
	w := e.applied.done(lsn)
	e.m.appliedLSN.Set(float64(w))
	e.m.appends.WithLabelValues(t.Name).Inc()
	e.m.rows.WithLabelValues(t.Name).Add(float64(rec.NumRows()))
	e.m.bytes.WithLabelValues(t.Name).Add(float64(len(payload)))
	e.m.appendSeconds.Observe(time.Since(start).Seconds())
	return lsn, nil
}

// apply writes a durable WAL record to the store its table lives in, with
// watermark as that store's applied LSN.
// encoded is rec as the WAL holds it (hot.Store.Encode).
func (e *Engine) apply(lsn uint64, table schema.ID, rec arrow.RecordBatch, encoded []byte, watermark uint64) error {
	if table != schema.LLMPayloads {
		if err := e.hot.Apply(lsn, table, rec, encoded, watermark); err != nil {
			return fmt.Errorf("apply to hot tier: %w", err)
		}
		return nil
	}
	blobs, err := payloadBlobs(rec)
	if err != nil {
		return err
	}
	if err := e.blobs.Put(context.Background(), blobs, e.opts.Clock().UnixNano(), watermark); err != nil {
		return fmt.Errorf("apply to blob store: %w", err)
	}
	e.kickIndexer()
	return nil
}

// watermark tracks the highest LSN W such that every record with LSN <= W
// has been applied to the hot tier. Records finish applying out of order.
type watermark struct {
	// mu guards the fields below.
	mu sync.Mutex
	w  uint64
	// ahead holds applied LSNs above w+1, waiting for the gap to close.
	ahead map[uint64]struct{}
}

func (m *watermark) reset(w uint64) {
	m.mu.Lock()
	m.w = w
	m.ahead = make(map[uint64]struct{})
	m.mu.Unlock()
}

func (m *watermark) get() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.w
}

// done records lsn as applied and returns the new watermark.
func (m *watermark) done(lsn uint64) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if lsn <= m.w {
		return m.w
	}
	m.ahead[lsn] = struct{}{}
	for {
		if _, ok := m.ahead[m.w+1]; !ok {
			break
		}
		delete(m.ahead, m.w+1)
		m.w++
	}
	return m.w
}
