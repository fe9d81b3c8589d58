package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
)

// Replay calls fn for every durable record with an LSN above after, in LSN
// order, starting with the segment that holds LSN after+1 (or the oldest
// segment, when Checkpoint has removed that far). It verifies every record
// it reads, including ones it skips, and the LSN sequence across segments,
// and returns a *CorruptionError on damage. The payload passed to fn is
// valid only during the call.
//
// Replay reads the log as it was when called; appends that complete during
// Replay may or may not be seen. A Checkpoint that removes a segment before
// Replay reaches it makes Replay fail. fn's error stops Replay and is
// returned unchanged, as is ctx.Err() if ctx is done.
func (w *WAL) Replay(ctx context.Context, after uint64, fn func(lsn uint64, table uint8, payload []byte) error) error {
	if w.isClosed() {
		return ErrClosed
	}
	w.segs.Lock()
	firsts := slices.Clone(w.segs.firsts)
	activeEnd := w.segs.activeEnd
	w.segs.Unlock()

	// The last segment whose first LSN is at most after+1 (written so that
	// after+1 cannot overflow).
	i := sort.Search(len(firsts), func(i int) bool { return firsts[i] > after && firsts[i]-after > 1 }) - 1
	i = max(i, 0)

	var rr recordReader
	for k := i; k < len(firsts); k++ {
		first := firsts[k]
		if k > i && first != rr.next {
			return corruptf(w.segmentPath(first), 0, "segment begins at LSN %d, but the previous segment ends at LSN %d", first, rr.next-1)
		}
		limit := int64(-1) // a sealed segment is read to its end
		if k == len(firsts)-1 {
			limit = activeEnd
		}
		if err := w.replaySegment(ctx, &rr, first, limit, after, fn); err != nil {
			return err
		}
	}
	return nil
}

// replaySegment replays one segment up to limit, or to its end if limit is
// negative.
func (w *WAL) replaySegment(ctx context.Context, rr *recordReader, first uint64, limit int64, after uint64,
	fn func(lsn uint64, table uint8, payload []byte) error) error {
	path := w.segmentPath(first)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("wal: replay: %w", err)
	}
	defer f.Close()
	if limit < 0 {
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("wal: replay: %w", err)
		}
		limit = st.Size()
	}
	h := make([]byte, min(limit, segmentHeaderSize))
	if _, err := f.ReadAt(h, 0); err != nil {
		return fmt.Errorf("wal: replay: read %s: %w", path, err)
	}
	if err := checkSegmentHeader(path, h, first); err != nil {
		return err
	}
	rr.reset(path, io.NewSectionReader(f, segmentHeaderSize, limit-segmentHeaderSize), segmentHeaderSize, limit, first)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		lsn, table, payload, err := rr.read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var ce *CorruptionError
			if errors.As(err, &ce) {
				return err
			}
			return fmt.Errorf("wal: replay: %w", err)
		}
		if lsn <= after {
			continue
		}
		if err := fn(lsn, table, payload); err != nil {
			return err
		}
	}
}
