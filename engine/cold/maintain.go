package cold

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tael/tael/schema"
)

// Merge rewrites the live files of table in the hour partition starting at
// hour as one file (Write, then Commit adding it and removing them), and
// returns it. It does nothing and returns false when the partition has at
// most one file. It holds the partition's rows in memory while it writes.
// If another change removed one of the files first, Merge fails with
// ErrConflict and leaves nothing behind.
func (s *Store) Merge(ctx context.Context, table schema.ID, hour int64) (File, bool, error) {
	if s.closed.Load() {
		return File{}, false, ErrClosed
	}
	if _, err := coldTable(table); err != nil {
		return File{}, false, err
	}
	m := s.Manifest()
	part := &Manifest{Version: m.Version}
	var remove []string
	for _, f := range m.Files {
		if f.Table == table && f.Hour == hour {
			part.Files = append(part.Files, f)
			remove = append(remove, f.Path)
		}
	}
	if len(part.Files) <= 1 {
		return File{}, false, nil
	}
	recs, err := s.readAll(ctx, part, table)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if err != nil {
		return File{}, false, fmt.Errorf("cold: merge %s hour %d: %w", table, hour, err)
	}
	nf, err := s.Write(ctx, table, hour, recs)
	if err != nil {
		return File{}, false, fmt.Errorf("cold: merge %s hour %d: %w", table, hour, err)
	}
	if _, err := s.Commit(Change{Add: []File{nf}, Remove: remove}); err != nil {
		if !errors.Is(err, ErrFailed) { // else the new file may be live
			_ = os.Remove(s.path(nf.Path))
		}
		return File{}, false, fmt.Errorf("cold: merge %s hour %d: %w", table, hour, err)
	}
	s.log.Info("cold: merged partition", "table", table.String(), "hour", time.Unix(0, hour).UTC(), "files", len(remove), "rows", nf.Rows, "bytes", nf.Bytes)
	return nf, true, nil
}

// readAll returns every row of table in m's files.
func (s *Store) readAll(ctx context.Context, m *Manifest, table schema.ID) ([]arrow.RecordBatch, error) {
	rd, err := s.Scan(ctx, m, table, schema.AllTime, nil)
	if err != nil {
		return nil, err
	}
	defer rd.Release()
	var recs []arrow.RecordBatch
	for rd.Next() {
		r := rd.RecordBatch()
		r.Retain()
		recs = append(recs, r)
	}
	return recs, rd.Err()
}

// DropBefore removes from the manifest (they become Garbage) the files of
// table whose hour partition ends at or before t (Unix ns), logs what went,
// and returns them.
func (s *Store) DropBefore(ctx context.Context, table schema.ID, t int64) ([]File, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if _, err := coldTable(table); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t < math.MinInt64+hourNs {
		return nil, nil // no partition ends that early
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.failed != nil {
		return nil, s.mu.failed
	}
	m := s.cur.Load()
	var drop []File
	var paths []string
	hours := map[int64]bool{}
	var rows, size int64
	for _, f := range m.Files {
		if f.Table == table && f.Hour <= t-hourNs {
			drop = append(drop, f)
			paths = append(paths, f.Path)
			hours[f.Hour] = true
			rows += f.Rows
			size += f.Bytes
		}
	}
	if len(drop) == 0 {
		return nil, nil
	}
	next, err := m.apply(Change{Remove: paths}, s.clock().UnixNano())
	if err != nil {
		return nil, err
	}
	if err := s.publish(next); err != nil {
		return nil, fmt.Errorf("cold: drop %s before %d: %w", table, t, err)
	}
	s.log.Info("cold: dropped partitions", "table", table.String(), "before", time.Unix(0, t).UTC(), "partitions", len(hours), "files", len(drop), "rows", rows, "bytes", size)
	return drop, nil
}
