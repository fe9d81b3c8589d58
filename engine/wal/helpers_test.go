package wal

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rec is a record as appended and replayed.
type rec struct {
	lsn     uint64
	table   uint8
	payload []byte
}

func mustOpen(t testing.TB, dir string, opts Options) *WAL {
	t.Helper()
	w, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func mustClose(t testing.TB, w *WAL) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func mustAppend(t testing.TB, w *WAL, table uint8, payload []byte) rec {
	t.Helper()
	lsn, err := w.Append(context.Background(), table, payload)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return rec{lsn: lsn, table: table, payload: payload}
}

// appendRandom appends n records of random tables and sizes below maxSize.
func appendRandom(t testing.TB, w *WAL, rng *rand.Rand, n, maxSize int) []rec {
	t.Helper()
	var out []rec
	for range n {
		out = append(out, mustAppend(t, w, uint8(rng.IntN(256)), randomBytes(rng, rng.IntN(maxSize))))
	}
	return out
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func replayAll(t testing.TB, w *WAL, after uint64) ([]rec, error) {
	t.Helper()
	var out []rec
	err := w.Replay(context.Background(), after, func(lsn uint64, table uint8, payload []byte) error {
		out = append(out, rec{lsn: lsn, table: table, payload: slices.Clone(payload)})
		return nil
	})
	return out, err
}

func checkReplay(t testing.TB, w *WAL, after uint64, want []rec) {
	t.Helper()
	got, err := replayAll(t, w, after)
	if err != nil {
		t.Fatalf("Replay(%d): %v", after, err)
	}
	checkRecords(t, got, want)
}

func checkRecords(t testing.TB, got, want []rec) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.lsn != w.lsn || g.table != w.table || !bytes.Equal(g.payload, w.payload) {
			t.Fatalf("record %d: got LSN %d table %d %d bytes, want LSN %d table %d %d bytes",
				i, g.lsn, g.table, len(g.payload), w.lsn, w.table, len(w.payload))
		}
	}
}

// segmentFiles returns the first LSNs of the segment files in dir.
func segmentFiles(t testing.TB, dir string) []uint64 {
	t.Helper()
	firsts, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return firsts
}

// recordOffsets returns the offset of every record in a valid segment file.
func recordOffsets(t testing.TB, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for off := int64(segmentHeaderSize); off < int64(len(b)); {
		offs = append(offs, off)
		off += recordHeaderSize + int64(decodeRecordHeader(b[off:]).length)
	}
	return offs
}

// faults makes the segment files of a WAL opened with openFaulty fail on
// demand.
type faults struct {
	mu                    sync.Mutex
	writes, syncs, truncs int   // how many of the next calls fail
	headerWrites          int   // how many of the next writes at offset 0 fail
	err                   error // what they fail with
	gate                  chan struct{}
	entered               chan struct{}
}

func (f *faults) take(n *int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *n > 0 {
		*n--
		return f.err
	}
	return nil
}

func (f *faults) set(writes, syncs, truncs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes, f.syncs, f.truncs = writes, syncs, truncs
	if f.err == nil {
		f.err = syscall.ENOSPC
	}
}

// holdNextSync makes the next Sync wait until release is called; wait
// returns once that Sync has begun.
func (f *faults) holdNextSync() (wait, release func()) {
	f.mu.Lock()
	f.gate, f.entered = make(chan struct{}), make(chan struct{})
	gate, entered := f.gate, f.entered
	f.mu.Unlock()
	return func() { <-entered }, func() { close(gate) }
}

type faultyFile struct {
	*os.File
	f *faults
}

// WriteAt writes half of p before failing, as a disk filling up would.
func (ff faultyFile) WriteAt(p []byte, off int64) (int, error) {
	err := ff.f.take(&ff.f.writes)
	if err == nil && off == 0 {
		err = ff.f.take(&ff.f.headerWrites)
	}
	if err != nil {
		n, _ := ff.File.WriteAt(p[:len(p)/2], off)
		return n, err
	}
	return ff.File.WriteAt(p, off)
}

func (ff faultyFile) Sync() error {
	err := ff.f.take(&ff.f.syncs)
	ff.f.mu.Lock()
	gate, entered := ff.f.gate, ff.f.entered
	ff.f.gate, ff.f.entered = nil, nil
	ff.f.mu.Unlock()
	if gate != nil {
		close(entered)
		<-gate
	}
	if err != nil {
		return err
	}
	return ff.File.Sync()
}

func (ff faultyFile) Truncate(size int64) error {
	if err := ff.f.take(&ff.f.truncs); err != nil {
		return err
	}
	return ff.File.Truncate(size)
}

func openFaulty(t testing.TB, dir string, opts Options) (*WAL, *faults) {
	t.Helper()
	f := &faults{}
	w, err := open(dir, opts, func(osf *os.File) file { return faultyFile{File: osf, f: f} })
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w, f
}

// waitQueued waits until n appends are queued for the writer.
func waitQueued(t testing.TB, w *WAL, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		w.mu.Lock()
		q := len(w.mu.queue)
		w.mu.Unlock()
		if q >= n {
			return
		}
	}
	t.Fatalf("fewer than %d appends queued", n)
}

func segPath(dir string, first uint64) string { return filepath.Join(dir, segmentName(first)) }
