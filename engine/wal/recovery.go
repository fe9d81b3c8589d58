package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// recover finds the end of the log and opens the active segment.
func (w *WAL) recover() error {
	firsts, err := listSegments(w.dir)
	if err != nil {
		return err
	}
	if len(firsts) == 0 {
		f, _, err := w.createSegment(w.opts.FirstLSN)
		if err != nil {
			return err
		}
		w.setActive(f, w.opts.FirstLSN, segmentHeaderSize, w.opts.FirstLSN)
		w.segs.firsts = []uint64{w.opts.FirstLSN}
		w.m.segments.Set(1)
		return nil
	}
	for _, first := range firsts[:len(firsts)-1] {
		if err := w.checkHeader(first); err != nil {
			return err
		}
	}
	last := firsts[len(firsts)-1]
	end, next, err := w.recoverLast(last)
	if err != nil {
		return err
	}
	osf, err := os.OpenFile(w.segmentPath(last), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	w.setActive(w.wrapFile(osf), last, end, next)
	w.segs.firsts = firsts
	w.m.segments.Set(float64(len(firsts)))
	return nil
}

func (w *WAL) setActive(f file, first uint64, size int64, next uint64) {
	w.active, w.activeFirst, w.activeSize, w.nextLSN = f, first, size, next
	w.segs.activeEnd = size
	w.lastLSN.Store(next - 1)
}

// checkHeader verifies the header of a sealed segment.
func (w *WAL) checkHeader(first uint64) error {
	path := w.segmentPath(first)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := make([]byte, segmentHeaderSize)
	n, err := io.ReadFull(f, h)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return checkSegmentHeader(path, h[:n], first)
}

// recoverLast reads the last segment, repairs a torn tail and returns the
// segment's end and the LSN of the next record.
func (w *WAL) recoverLast(first uint64) (end int64, next uint64, err error) {
	path := w.segmentPath(first)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size := st.Size()
	h := make([]byte, min(size, segmentHeaderSize))
	if _, err := f.ReadAt(h, 0); err != nil {
		return 0, 0, fmt.Errorf("read %s: %w", path, err)
	}
	if size < segmentHeaderSize || allZero(h) && allZeroAt(f, size) {
		// A crash while the segment was being created.
		w.log.Warn("wal: rewriting incomplete last segment", "segment", path, "size", size)
		if err := w.rewriteHeader(w.wrapFile(f), first); err != nil {
			return 0, 0, fmt.Errorf("rewrite %s: %w", path, err)
		}
		return segmentHeaderSize, first, nil
	}
	if err := checkSegmentHeader(path, h, first); err != nil {
		return 0, 0, err
	}
	var rr recordReader
	rr.reset(path, io.NewSectionReader(f, segmentHeaderSize, size-segmentHeaderSize), segmentHeaderSize, size, first)
	for {
		_, _, _, err := rr.read()
		if err == nil {
			continue
		}
		if err == io.EOF {
			return rr.off, rr.next, nil
		}
		var ce *CorruptionError
		if !errors.As(err, &ce) {
			return 0, 0, err
		}
		tail := make([]byte, size-rr.off)
		if _, err := f.ReadAt(tail, rr.off); err != nil {
			return 0, 0, fmt.Errorf("read %s: %w", path, err)
		}
		reason, cerr := classifyTail(ce, tail, rr.next)
		if cerr != nil {
			return 0, 0, cerr
		}
		wf := w.wrapFile(f)
		if err := wf.Truncate(rr.off); err != nil {
			return 0, 0, fmt.Errorf("truncate torn tail of %s: %w", path, err)
		}
		if err := w.sync(wf); err != nil {
			return 0, 0, fmt.Errorf("truncate torn tail of %s: %w", path, err)
		}
		w.log.Warn("wal: truncated torn record at the end of the log",
			"segment", path, "offset", rr.off, "dropped_bytes", len(tail), "reason", reason, "lsn", rr.next)
		return rr.off, rr.next, nil
	}
}

// allZeroAt reports whether the file f of the given size holds only zeros.
func allZeroAt(f *os.File, size int64) bool {
	buf := make([]byte, min(size, 1<<20))
	for off := int64(0); off < size; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if !allZero(buf[:n]) || err != nil && n == 0 {
			return false
		}
		off += int64(n)
	}
	return true
}

func (w *WAL) rewriteHeader(f file, first uint64) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if err := w.writeFull(f, encodeSegmentHeader(first), 0); err != nil {
		return err
	}
	if err := w.sync(f); err != nil {
		return err
	}
	return w.syncDir(w.dir)
}
