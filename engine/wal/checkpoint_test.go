package wal

import (
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	opts := Options{SegmentSize: 2 << 10, Registerer: reg}
	w := mustOpen(t, dir, opts)
	recs := appendRandom(t, w, rand.New(rand.NewPCG(6, 6)), 60, 400)
	firsts := segmentFiles(t, dir)
	if len(firsts) < 6 {
		t.Fatalf("%d segments, want at least 6", len(firsts))
	}
	last := recs[len(recs)-1].lsn
	// Steps run in order on the same WAL; left is the index in firsts of
	// the oldest segment expected to remain.
	steps := []struct {
		name        string
		applied     uint64
		wantRemoved int
		left        int
	}{
		{"nothing applied", 0, 0, 0},
		{"first segment all but its last record", firsts[1] - 2, 0, 0},
		{"first segment exactly", firsts[1] - 1, 1, 1},
		{"again", firsts[1] - 1, 0, 1},
		{"into the fourth segment", firsts[3] + 1, 2, 3},
		{"everything", last, len(firsts) - 4, len(firsts) - 1},
		{"beyond everything", last + 100, 0, len(firsts) - 1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			removed, err := w.Checkpoint(s.applied)
			if err != nil {
				t.Fatal(err)
			}
			if removed != s.wantRemoved {
				t.Fatalf("removed %d segments, want %d", removed, s.wantRemoved)
			}
			if got := segmentFiles(t, dir); !slices.Equal(got, firsts[s.left:]) {
				t.Fatalf("segments %v, want %v", got, firsts[s.left:])
			}
			if got := gather(t, reg)["tael_wal_segments"]; got != float64(len(firsts)-s.left) {
				t.Fatalf("segments gauge = %v, want %d", got, len(firsts)-s.left)
			}
			from := max(s.applied, firsts[s.left]-1)
			checkReplay(t, w, s.applied, recs[min(from, last):])
		})
	}

	// The active segment is kept and still written.
	more := mustAppend(t, w, 1, []byte("more"))
	if more.lsn != last+1 {
		t.Fatalf("LSN after checkpoint = %d, want %d", more.lsn, last+1)
	}
	mustClose(t, w)
	w = mustOpen(t, dir, opts)
	want := append(recs[firsts[len(firsts)-1]-1:], more)
	checkReplay(t, w, 0, want)
}

func TestReopenAfterAllSegmentsRemoved(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	recs := appendRandom(t, w, rand.New(rand.NewPCG(7, 7)), 10, 100)
	mustClose(t, w)
	for _, first := range segmentFiles(t, dir) {
		if err := os.Remove(segPath(dir, first)); err != nil {
			t.Fatal(err)
		}
	}
	applied := recs[len(recs)-1].lsn
	w = mustOpen(t, dir, Options{FirstLSN: applied + 1})
	if got := w.LastLSN(); got != applied {
		t.Fatalf("LastLSN = %d, want %d", got, applied)
	}
	r := mustAppend(t, w, 1, []byte("next"))
	if r.lsn != applied+1 {
		t.Fatalf("LSN = %d, want %d", r.lsn, applied+1)
	}
	checkReplay(t, w, 0, []rec{r})
	checkReplay(t, w, applied, []rec{r})
}
