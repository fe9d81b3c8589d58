package wal

import (
	"errors"
	"fmt"
	"os"
	"slices"
)

// Checkpoint removes, oldest first, every segment all of whose records have
// an LSN at most applied, and returns how many it removed. It never removes
// the active segment, the one being written. Call it once the records up to
// applied are stored elsewhere; Replay then starts at the oldest segment
// left.
func (w *WAL) Checkpoint(applied uint64) (removed int, err error) {
	w.ckptMu.Lock()
	defer w.ckptMu.Unlock()
	if w.isClosed() {
		return 0, ErrClosed
	}
	w.segs.Lock()
	firsts := slices.Clone(w.segs.firsts)
	w.segs.Unlock()

	// Segment i holds LSNs firsts[i] .. firsts[i+1]-1. Removing in order and
	// stopping at the first failure keeps the remaining segments contiguous.
	for i := 0; i+1 < len(firsts) && firsts[i+1]-1 <= applied; i++ {
		if err = os.Remove(w.segmentPath(firsts[i])); err != nil && !errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("wal: checkpoint: %w", err)
			break
		}
		err = nil
		removed++
	}
	if removed == 0 {
		return 0, err
	}
	w.segs.Lock()
	w.segs.firsts = slices.Clone(w.segs.firsts[removed:])
	w.m.segments.Set(float64(len(w.segs.firsts)))
	w.segs.Unlock()
	if serr := w.syncDir(w.dir); serr != nil && err == nil {
		err = fmt.Errorf("wal: checkpoint: %w", serr)
	}
	return removed, err
}
