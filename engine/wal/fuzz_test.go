package wal

import (
	"errors"
	"math/rand/v2"
	"os"
	"testing"
)

// FuzzOpenReplay writes arbitrary bytes as a segment file and checks that
// Open and Replay never panic, and that a log Open accepts is consistent.
// mode%3 chooses the file: 0 the bytes as they are, 1 a valid header and
// the bytes, 2 as 1 but followed by an empty last segment (so that the
// fuzzed segment is a sealed one, which only Replay reads in full).
func FuzzOpenReplay(f *testing.F) {
	// Seeds: valid segments, whole and cut.
	dir := f.TempDir()
	w, err := Open(dir, Options{SegmentSize: 4 << 10})
	if err != nil {
		f.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(8, 8))
	for range 12 {
		mustAppend(f, w, uint8(rng.IntN(256)), randomBytes(rng, rng.IntN(600)))
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	for _, first := range segmentFiles(f, dir) {
		b, err := os.ReadFile(segPath(dir, first))
		if err != nil {
			f.Fatal(err)
		}
		if first != 1 {
			continue // seeds must be the segment of LSN 1
		}
		f.Add(b, uint8(0))
		f.Add(b[segmentHeaderSize:], uint8(1))
		f.Add(b[segmentHeaderSize:], uint8(2))
		f.Add(b[:len(b)-7], uint8(0))
		f.Add(b[segmentHeaderSize:segmentHeaderSize+30], uint8(1))
	}
	f.Add([]byte{}, uint8(0))
	f.Add(make([]byte, 64), uint8(1))

	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		dir := t.TempDir()
		seg := data
		if mode%3 != 0 {
			seg = append(encodeSegmentHeader(1), data...)
		}
		if err := os.WriteFile(segPath(dir, 1), seg, 0o644); err != nil {
			t.Fatal(err)
		}
		if mode%3 == 2 {
			if err := os.WriteFile(segPath(dir, 1<<40), encodeSegmentHeader(1<<40), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// Without fsyncs of the segments: they are slow, and durability is
		// not what this target checks.
		w, err := open(dir, Options{SegmentSize: 1 << 20, MaxRecordSize: 1 << 20},
			func(f *os.File) file { return noSyncFile{f} })
		if err != nil {
			return // rejected: fine, as long as it did not panic
		}
		defer w.Close()
		recs, err := replayAll(t, w, 0)
		if mode%3 == 2 {
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Replay: %v", err)
			}
			return
		}
		// Open read and repaired the only segment: it must replay.
		if err != nil {
			t.Fatalf("Replay after a successful Open: %v", err)
		}
		for i, r := range recs {
			if r.lsn != uint64(i+1) {
				t.Fatalf("record %d has LSN %d", i, r.lsn)
			}
		}
		if got := w.LastLSN(); got != uint64(len(recs)) {
			t.Fatalf("LastLSN = %d after replaying %d records", got, len(recs))
		}
		r := mustAppend(t, w, 1, []byte("x"))
		if r.lsn != uint64(len(recs)+1) {
			t.Fatalf("Append got LSN %d after %d records", r.lsn, len(recs))
		}
	})
}

type noSyncFile struct{ *os.File }

func (noSyncFile) Sync() error { return nil }
