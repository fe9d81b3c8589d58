package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// file is what the WAL does to the active segment. Every write, sync,
// truncate and close of a segment goes through it, so that tests can inject
// failures such as ENOSPC; *os.File implements it.
type file interface {
	WriteAt(p []byte, off int64) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

var _ file = (*os.File)(nil)

const segmentSuffix = ".wal"

func segmentName(first uint64) string { return fmt.Sprintf("%020d%s", first, segmentSuffix) }

// parseSegmentName returns the first LSN in a segment file name, and false
// if name is not a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// listSegments returns the first LSNs of the segment files in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var firsts []uint64
	for _, e := range entries {
		if first, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			firsts = append(firsts, first)
		}
	}
	slices.Sort(firsts)
	return firsts, nil
}

func (w *WAL) segmentPath(first uint64) string { return filepath.Join(w.dir, segmentName(first)) }

// syncDir fsyncs the directory dir, making file creations and removals in
// it durable.
func (w *WAL) syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	err = d.Sync()
	w.countSync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// createSegment creates the segment file whose first record will have LSN
// first, writes its header and makes it durable. If it fails after the file
// was created and the file cannot be removed again, stale is true: the
// directory then holds an empty segment that does not fit the sequence.
func (w *WAL) createSegment(first uint64) (f file, stale bool, err error) {
	path := w.segmentPath(first)
	osf, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("create segment: %w", err)
	}
	f = w.wrapFile(osf)
	err = w.writeFull(f, encodeSegmentHeader(first), 0)
	if err == nil {
		err = w.sync(f)
	}
	if err == nil {
		err = w.syncDir(w.dir)
	}
	if err == nil {
		return f, false, nil
	}
	err = fmt.Errorf("create segment %s: %w", path, err)
	_ = f.Close()
	if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		return nil, true, errors.Join(err, fmt.Errorf("remove partial segment: %w", rerr))
	}
	if serr := w.syncDir(w.dir); serr != nil {
		return nil, true, errors.Join(err, fmt.Errorf("remove partial segment: %w", serr))
	}
	return nil, false, err
}

// writeFull writes p at off in f.
func (w *WAL) writeFull(f file, p []byte, off int64) error {
	if _, err := f.WriteAt(p, off); err != nil {
		return fmt.Errorf("write at offset %d: %w", off, err)
	}
	return nil
}

// sync fsyncs f and records the fsync in the metrics.
func (w *WAL) sync(f file) error {
	start := w.now()
	err := f.Sync()
	w.countSync()
	w.m.fsyncDuration.Observe(w.now().Sub(start).Seconds())
	if err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	return nil
}

func (w *WAL) countSync() {
	w.fsyncs.Add(1)
	w.m.fsyncs.Inc()
}
