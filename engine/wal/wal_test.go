package wal

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 8 << 10}
	rng := rand.New(rand.NewPCG(1, 2))
	w := mustOpen(t, dir, opts)
	want := appendRandom(t, w, rng, 400, 3000)
	for i, r := range want {
		if r.lsn != uint64(i+1) {
			t.Fatalf("record %d got LSN %d, want %d", i, r.lsn, i+1)
		}
	}
	checkReplay(t, w, 0, want) // while open, too
	mustClose(t, w)

	firsts := segmentFiles(t, dir)
	if len(firsts) < 10 {
		t.Fatalf("%d segments, want many rotations", len(firsts))
	}
	w = mustOpen(t, dir, opts)
	if got := w.LastLSN(); got != 400 {
		t.Fatalf("LastLSN after reopen = %d, want 400", got)
	}
	cases := []struct {
		name  string
		after uint64
	}{
		{"all", 0},
		{"first skipped", 1},
		{"middle", 200},
		{"before a segment", firsts[3] - 1},
		{"at a segment start", firsts[3]},
		{"inside the last segment", firsts[len(firsts)-1]},
		{"all but one", 399},
		{"none", 400},
		{"beyond the end", 1000},
		{"max", ^uint64(0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkReplay(t, w, c.after, want[min(c.after, uint64(len(want))):])
		})
	}

	more := appendRandom(t, w, rng, 50, 3000)
	if more[0].lsn != 401 {
		t.Fatalf("first LSN after reopen = %d, want 401", more[0].lsn)
	}
	want = append(want, more...)
	mustClose(t, w)
	w = mustOpen(t, dir, opts)
	checkReplay(t, w, 0, want)
}

func TestAppendEmptyAndLargePayloads(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 1 << 10, MaxRecordSize: 64 << 10}
	w := mustOpen(t, dir, opts)
	rng := rand.New(rand.NewPCG(3, 4))
	want := []rec{
		mustAppend(t, w, 0, nil),
		mustAppend(t, w, 255, randomBytes(rng, 64<<10)), // much larger than a segment
		mustAppend(t, w, 7, []byte{}),
		mustAppend(t, w, 1, randomBytes(rng, 10)),
	}
	want[0].payload, want[2].payload = []byte{}, []byte{}
	mustClose(t, w)
	w = mustOpen(t, dir, opts)
	checkReplay(t, w, 0, want)
}

func TestAppendErrors(t *testing.T) {
	w := mustOpen(t, t.TempDir(), Options{MaxRecordSize: 100})
	ctx := context.Background()
	if _, err := w.Append(ctx, 1, make([]byte, 100)); err != nil {
		t.Fatalf("Append of MaxRecordSize bytes: %v", err)
	}
	if _, err := w.Append(ctx, 1, make([]byte, 101)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append of MaxRecordSize+1 bytes: %v, want ErrTooLarge", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := w.Append(canceled, 1, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with canceled context: %v, want context.Canceled", err)
	}
	if got := w.LastLSN(); got != 1 {
		t.Fatalf("LastLSN = %d, want 1: nothing written after the first append", got)
	}

	mustClose(t, w)
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := w.Append(ctx, 1, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
	if _, err := replayAll(t, w, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Replay after Close: %v, want ErrClosed", err)
	}
	if _, err := w.Checkpoint(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Checkpoint after Close: %v, want ErrClosed", err)
	}
}

func TestReplayStops(t *testing.T) {
	w := mustOpen(t, t.TempDir(), Options{})
	for range 5 {
		mustAppend(t, w, 1, []byte("x"))
	}
	stop := errors.New("stop")
	n := 0
	err := w.Replay(context.Background(), 0, func(uint64, uint8, []byte) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Fatalf("Replay = %v after %d records, want fn's error after 2", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Replay(ctx, 0, func(uint64, uint8, []byte) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Replay with canceled context = %v", err)
	}
}

func TestOptions(t *testing.T) {
	d := DefaultOptions()
	if d.SegmentSize != 64<<20 || d.MaxRecordSize != 128<<20 || d.FirstLSN != 1 {
		t.Fatalf("DefaultOptions() = %+v", d)
	}
	bad := []struct {
		name string
		opts Options
	}{
		{"negative segment size", Options{SegmentSize: -1}},
		{"segment size within the header", Options{SegmentSize: segmentHeaderSize}},
		{"negative max record size", Options{MaxRecordSize: -1}},
		{"max record size above the format limit", Options{MaxRecordSize: maxPayload + 1}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if w, err := Open(t.TempDir(), c.opts); err == nil {
				w.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

func TestOpenCreatesDirAndIgnoresOtherFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "wal")
	w := mustOpen(t, dir, Options{})
	mustAppend(t, w, 1, []byte("x"))
	mustClose(t, w)
	for _, name := range []string{"notes.txt", "1.wal", "0000000000000000000x.wal", segmentName(5) + ".tmp"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w = mustOpen(t, dir, Options{})
	checkReplay(t, w, 0, []rec{{1, 1, []byte("x")}})
}

func TestFirstLSN(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{FirstLSN: 1000})
	if got := w.LastLSN(); got != 999 {
		t.Fatalf("LastLSN of an empty WAL = %d, want 999", got)
	}
	if r := mustAppend(t, w, 1, []byte("a")); r.lsn != 1000 {
		t.Fatalf("first LSN = %d, want 1000", r.lsn)
	}
	mustClose(t, w)
	if _, err := os.Stat(segPath(dir, 1000)); err != nil {
		t.Fatalf("segment named after FirstLSN: %v", err)
	}
	// FirstLSN is ignored when segments exist.
	w = mustOpen(t, dir, Options{FirstLSN: 5})
	if r := mustAppend(t, w, 1, []byte("b")); r.lsn != 1001 {
		t.Fatalf("LSN after reopen = %d, want 1001", r.lsn)
	}
	checkReplay(t, w, 0, []rec{{1000, 1, []byte("a")}, {1001, 1, []byte("b")}})

	empty := mustOpen(t, t.TempDir(), Options{})
	if got := empty.LastLSN(); got != 0 {
		t.Fatalf("LastLSN of an empty WAL with default FirstLSN = %d, want 0", got)
	}
}
