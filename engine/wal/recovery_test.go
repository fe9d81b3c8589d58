package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeLog writes n records to a fresh WAL in dir (several segments when
// segmentSize is small) and returns them.
func writeLog(t *testing.T, dir string, opts Options, n int, seed uint64) []rec {
	t.Helper()
	w := mustOpen(t, dir, opts)
	recs := appendRandom(t, w, rand.New(rand.NewPCG(seed, seed)), n, 300)
	mustClose(t, w)
	return recs
}

// copyDir copies the segment files of src to a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, first := range segmentFiles(t, src) {
		b, err := os.ReadFile(segPath(src, first))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(segPath(dst, first), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// checkRecovered opens dir, checks that it replays want, and that the next
// append gets the LSN after want's last and survives a reopen.
func checkRecovered(t *testing.T, dir string, opts Options, want []rec) {
	t.Helper()
	w := mustOpen(t, dir, opts)
	checkReplay(t, w, 0, want)
	next := want[len(want)-1].lsn + 1
	if got := w.LastLSN(); got != next-1 {
		t.Fatalf("LastLSN = %d, want %d", got, next-1)
	}
	r := mustAppend(t, w, 9, []byte("after recovery"))
	if r.lsn != next {
		t.Fatalf("next Append got LSN %d, want %d", r.lsn, next)
	}
	mustClose(t, w)
	w = mustOpen(t, dir, opts)
	checkReplay(t, w, 0, append(want[:len(want):len(want)], r))
	mustClose(t, w)
}

func TestTornTailEveryOffset(t *testing.T) {
	opts := Options{SegmentSize: 2 << 10}
	orig := t.TempDir()
	recs := writeLog(t, orig, opts, 30, 1)
	firsts := segmentFiles(t, orig)
	if len(firsts) < 2 {
		t.Fatal("want several segments")
	}
	last := segPath(orig, firsts[len(firsts)-1])
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(t, last)
	start, end := offs[len(offs)-1], int64(len(data))
	if end-start < recordHeaderSize+10 {
		t.Fatalf("last record is only %d bytes; pick another seed", end-start)
	}
	for cut := start; cut < end; cut++ {
		dir := copyDir(t, orig)
		path := segPath(dir, firsts[len(firsts)-1])
		if err := os.Truncate(path, cut); err != nil {
			t.Fatal(err)
		}
		var logged bytes.Buffer
		o := opts
		o.Logger = slog.New(slog.NewTextHandler(&logged, nil))
		checkRecovered(t, dir, o, recs[:len(recs)-1])
		if cut > start {
			want := fmt.Sprintf("segment=%s offset=%d dropped_bytes=%d", path, start, cut-start)
			if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), want) {
				t.Fatalf("cut at %d: log %q does not warn with %q", cut, logged.String(), want)
			}
		}
	}
}

func TestTornTailShapes(t *testing.T) {
	opts := Options{SegmentSize: 2 << 10}
	orig := t.TempDir()
	recs := writeLog(t, orig, opts, 30, 2)
	firsts := segmentFiles(t, orig)
	lastFirst := firsts[len(firsts)-1]
	offs := recordOffsets(t, segPath(orig, lastFirst))
	start := offs[len(offs)-1]

	cases := []struct {
		name string
		edit func(b []byte) []byte
		keep int // records expected to survive
	}{
		{"zeros after the last record", func(b []byte) []byte { return append(b, make([]byte, 4096)...) }, len(recs)},
		{"last record zeroed", func(b []byte) []byte { clear(b[start:]); return b }, len(recs) - 1},
		{"last record zeroed and zeros beyond", func(b []byte) []byte {
			clear(b[start:])
			return append(b, make([]byte, 4096)...)
		}, len(recs) - 1},
		{"payload tail zeroed", func(b []byte) []byte { clear(b[start+recordHeaderSize+5:]); return b }, len(recs) - 1},
		{"payload tail zeroed and zeros beyond", func(b []byte) []byte {
			clear(b[start+recordHeaderSize+5:])
			return append(b, make([]byte, 100)...)
		}, len(recs) - 1},
		{"bit flipped in the last record", func(b []byte) []byte { b[len(b)-3] ^= 0x10; return b }, len(recs) - 1},
		{"length beyond the end of the file", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[start+4:], 1<<20)
			return b
		}, len(recs) - 1},
		{"impossible length at the tail", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[start+4:], 0xffffffff)
			return b
		}, len(recs) - 1},
		{"garbage header cut short", func(b []byte) []byte { return append(b, 1, 2, 3, 4, 5) }, len(recs)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, orig)
			path := segPath(dir, lastFirst)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, c.edit(b), 0o644); err != nil {
				t.Fatal(err)
			}
			checkRecovered(t, dir, opts, recs[:c.keep])
		})
	}
}

func TestIncompleteLastSegment(t *testing.T) {
	opts := Options{SegmentSize: 2 << 10}
	orig := t.TempDir()
	recs := writeLog(t, orig, opts, 30, 3)
	firsts := segmentFiles(t, orig)
	lastFirst := firsts[len(firsts)-1]
	// Records before the last segment.
	var keep []rec
	for _, r := range recs {
		if r.lsn < lastFirst {
			keep = append(keep, r)
		}
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"header cut short", encodeSegmentHeader(lastFirst)[:9]},
		{"header zeroed", make([]byte, segmentHeaderSize)},
		{"all zeros", make([]byte, 300)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, orig)
			if err := os.WriteFile(segPath(dir, lastFirst), c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			checkRecovered(t, dir, opts, keep)
		})
	}
}

func TestCorruption(t *testing.T) {
	opts := Options{SegmentSize: 2 << 10}
	orig := t.TempDir()
	writeLog(t, orig, opts, 40, 4)
	firsts := segmentFiles(t, orig)
	if len(firsts) < 4 {
		t.Fatalf("%d segments, want at least 4", len(firsts))
	}
	lastFirst := firsts[len(firsts)-1]
	if n := len(recordOffsets(t, segPath(orig, lastFirst))); n < 3 {
		t.Fatalf("last segment holds %d records, want at least 3", n)
	}

	// rewrite edits the bytes of one segment and returns the offset the
	// error must name.
	type edit func(t *testing.T, b []byte, offs []int64) int64
	flip := func(rec int, at int64) edit { // flip a bit at offset at within record rec
		return func(t *testing.T, b []byte, offs []int64) int64 {
			b[offs[rec]+at] ^= 0x04
			return offs[rec]
		}
	}
	cases := []struct {
		name     string
		segment  int // index into firsts; -1 is the last
		edit     edit
		remove   bool
		atOpen   bool // the error comes from Open, else from Replay
		errIndex int  // segment the error names, if not segment
	}{
		{name: "payload bit in the last segment", segment: -1, edit: flip(1, recordHeaderSize+3), atOpen: true},
		{name: "checksum bit in the last segment", segment: -1, edit: flip(0, 1), atOpen: true},
		{name: "low length bit in the last segment", segment: -1, edit: flip(1, 4), atOpen: true},
		{name: "high length bit in the last segment", segment: -1, edit: func(t *testing.T, b []byte, offs []int64) int64 {
			b[offs[1]+6] ^= 0x10 // +1 MiB: runs past the end, but records follow
			return offs[1]
		}, atOpen: true},
		{name: "LSN out of sequence in the last segment", segment: -1, edit: func(t *testing.T, b []byte, offs []int64) int64 {
			h := b[offs[1]:]
			n := binary.LittleEndian.Uint32(h[4:])
			binary.LittleEndian.PutUint64(h[8:], binary.LittleEndian.Uint64(h[8:])+1)
			binary.LittleEndian.PutUint32(h, crc32.Checksum(h[4:recordHeaderSize+n], castagnoli))
			return offs[1]
		}, atOpen: true},
		{name: "payload bit in a sealed segment", segment: 1, edit: flip(1, recordHeaderSize)},
		{name: "bit in the last record of a sealed segment", segment: 1, edit: func(t *testing.T, b []byte, offs []int64) int64 {
			b[len(b)-1] ^= 1
			return offs[len(offs)-1]
		}},
		{name: "sealed segment cut short", segment: 1, edit: func(t *testing.T, b []byte, offs []int64) int64 {
			return offs[len(offs)-1] // the test truncates the file there + 7
		}},
		{name: "bad magic in a sealed segment", segment: 1, edit: func(t *testing.T, b []byte, offs []int64) int64 {
			b[2] ^= 1
			return 0
		}, atOpen: true},
		{name: "wrong first LSN in a sealed segment header", segment: 0, edit: func(t *testing.T, b []byte, offs []int64) int64 {
			b[8]++
			return 0
		}, atOpen: true},
		{name: "missing middle segment", segment: 1, remove: true, errIndex: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, orig)
			idx := c.segment
			if idx < 0 {
				idx = len(firsts) - 1
			}
			path := segPath(dir, firsts[idx])
			wantPath, wantOff := path, int64(0)
			if c.remove {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				wantPath = segPath(dir, firsts[c.errIndex])
			} else {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				wantOff = c.edit(t, b, recordOffsets(t, path))
				if strings.Contains(c.name, "cut short") {
					b = b[:wantOff+7]
				}
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}

			w, err := Open(dir, opts)
			if err == nil {
				defer w.Close()
				if c.atOpen {
					t.Fatal("Open succeeded")
				}
				_, err = replayAll(t, w, 0)
			} else if !c.atOpen {
				t.Fatalf("Open: %v", err)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			var ce *CorruptionError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *CorruptionError", err)
			}
			if ce.Segment != wantPath || ce.Offset != wantOff {
				t.Fatalf("error names %s at %d, want %s at %d", ce.Segment, ce.Offset, wantPath, wantOff)
			}
			if !strings.Contains(err.Error(), filepath.Base(wantPath)) || !strings.Contains(err.Error(), fmt.Sprint(wantOff)) {
				t.Fatalf("message %q does not name the file and offset", err)
			}
			// The damaged files are left as they were.
			if c.atOpen && !c.remove {
				if _, err := Open(dir, opts); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("second Open: %v", err)
				}
			}
		})
	}
}

func TestReplayFromSegmentSkipsEarlierDamage(t *testing.T) {
	// Replay reads only the segments that can hold LSNs after `after`.
	opts := Options{SegmentSize: 2 << 10}
	dir := t.TempDir()
	recs := writeLog(t, dir, opts, 40, 5)
	firsts := segmentFiles(t, dir)
	path := segPath(dir, firsts[0])
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	w := mustOpen(t, dir, opts)
	checkReplay(t, w, firsts[1]-1, recs[firsts[1]-1:])
	if _, err := replayAll(t, w, firsts[1]-2); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Replay through the damaged segment: %v", err)
	}
}
