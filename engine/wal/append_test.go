package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gather returns the value of each tael_wal_ counter and gauge in reg, and
// the sample count of each histogram.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		switch {
		case m.GetCounter() != nil:
			out[mf.GetName()] = m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			out[mf.GetName()] = m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			out[mf.GetName()] = float64(m.GetHistogram().GetSampleCount())
		}
	}
	return out
}

func TestGroupCommit(t *testing.T) {
	const writers, perWriter = 16, 200
	cases := []struct {
		name        string
		segmentSize int64
	}{
		{"one segment", 0},
		{"rotating", 64 << 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			reg := prometheus.NewRegistry()
			opts := Options{SegmentSize: c.segmentSize, Registerer: reg}
			w := mustOpen(t, dir, opts)
			syncsBefore := w.fsyncs.Load()

			// Each payload names its writer and sequence number.
			payload := func(g, i int) []byte {
				b := make([]byte, 100+(g*perWriter+i)%900)
				binary.LittleEndian.PutUint32(b, uint32(g))
				binary.LittleEndian.PutUint32(b[4:], uint32(i))
				return b
			}
			lsns := make([][]uint64, writers)
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for g := range writers {
				wg.Go(func() {
					for i := range perWriter {
						lsn, err := w.Append(context.Background(), uint8(g), payload(g, i))
						if err != nil {
							errs <- err
							return
						}
						lsns[g] = append(lsns[g], lsn)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}

			// Every LSN once, 1..n; each writer's in increasing order.
			var all []uint64
			want := map[uint64][2]int{}
			for g, ls := range lsns {
				if !slices.IsSorted(ls) {
					t.Fatalf("writer %d got LSNs out of order", g)
				}
				all = append(all, ls...)
				for i, l := range ls {
					want[l] = [2]int{g, i}
				}
			}
			slices.Sort(all)
			for i, l := range all {
				if l != uint64(i+1) {
					t.Fatalf("LSNs not contiguous: position %d holds %d", i, l)
				}
			}

			syncs := w.fsyncs.Load() - syncsBefore
			const n = writers * perWriter
			t.Logf("%d appends, %d fsyncs (%.1f appends per fsync)", n, syncs, float64(n)/float64(syncs))
			if syncs > n/4 {
				t.Fatalf("%d fsyncs for %d appends: group commit is not grouping", syncs, n)
			}
			m := gather(t, reg)
			if m["tael_wal_appends_total"] != n || m["tael_wal_fsyncs_total"] != float64(w.fsyncs.Load()) ||
				m["tael_wal_append_duration_seconds"] != n || m["tael_wal_segments"] != float64(len(segmentFiles(t, dir))) ||
				m["tael_wal_errors_total"] != 0 || m["tael_wal_append_bytes_total"] == 0 || m["tael_wal_fsync_duration_seconds"] == 0 {
				t.Fatalf("metrics: %v", m)
			}

			mustClose(t, w)
			w = mustOpen(t, dir, opts) // same registerer: reuses the metrics
			got, err := replayAll(t, w, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("replayed %d records, want %d", len(got), n)
			}
			for _, r := range got {
				gi := want[r.lsn]
				if !slices.Equal(r.payload, payload(gi[0], gi[1])) || r.table != uint8(gi[0]) {
					t.Fatalf("LSN %d holds the wrong record", r.lsn)
				}
			}
		})
	}
}

// TestGroupFailure injects ENOSPC into one group of several appends: all of
// them fail, the WAL repairs the segment, and later appends succeed with the
// failed records' LSNs.
func TestGroupFailure(t *testing.T) {
	cases := []struct {
		name                  string
		writes, syncs, truncs int
	}{
		{name: "write fails", writes: 1},
		{name: "fsync fails", syncs: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			reg := prometheus.NewRegistry()
			w, f := openFaulty(t, dir, Options{Registerer: reg})
			var want []rec
			for i := range 3 {
				want = append(want, mustAppend(t, w, 1, fmt.Appendf(nil, "ok %d", i)))
			}

			// Hold a group in its fsync while four appends queue behind it,
			// so that those four form the next group, which fails.
			wait, release := f.holdNextSync()
			held := make(chan result)
			go func() {
				lsn, err := w.Append(context.Background(), 1, []byte("held"))
				held <- result{lsn, err}
			}()
			wait()
			f.set(c.writes, c.syncs, c.truncs)
			var wg sync.WaitGroup
			failed := make([]error, 4)
			for i := range failed {
				wg.Go(func() {
					_, failed[i] = w.Append(context.Background(), 2, fmt.Appendf(nil, "doomed %d", i))
				})
			}
			waitQueued(t, w, len(failed))
			release()
			if r := <-held; r.err != nil || r.lsn != 4 {
				t.Fatalf("held append: LSN %d, %v; want 4", r.lsn, r.err)
			}
			want = append(want, rec{4, 1, []byte("held")})
			wg.Wait()
			for i, err := range failed {
				if !errors.Is(err, syscall.ENOSPC) || errors.Is(err, ErrFailed) {
					t.Fatalf("append %d of the failed group: %v, want ENOSPC", i, err)
				}
			}

			r := mustAppend(t, w, 3, []byte("after"))
			if r.lsn != 5 {
				t.Fatalf("LSN after the failed group = %d, want 5", r.lsn)
			}
			want = append(want, r)
			if got := w.LastLSN(); got != 5 {
				t.Fatalf("LastLSN = %d, want 5", got)
			}
			if m := gather(t, reg); m["tael_wal_errors_total"] != 1 || m["tael_wal_appends_total"] != 5 {
				t.Fatalf("metrics: %v", m)
			}
			checkReplay(t, w, 0, want)
			mustClose(t, w)
			w = mustOpen(t, dir, Options{})
			checkReplay(t, w, 0, want)
		})
	}
}

func TestTruncateFailureFailsWAL(t *testing.T) {
	dir := t.TempDir()
	w, f := openFaulty(t, dir, Options{})
	want := []rec{mustAppend(t, w, 1, []byte("one")), mustAppend(t, w, 1, []byte("two"))}
	f.set(1, 0, 1)
	ctx := context.Background()
	for i, what := range []string{"the failing append", "a later append"} {
		_, err := w.Append(ctx, 1, make([]byte, 1000))
		if !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("%s (%d): %v, want ErrFailed wrapping ENOSPC", what, i, err)
		}
	}
	if got := w.LastLSN(); got != 2 {
		t.Fatalf("LastLSN = %d, want 2", got)
	}
	if err := w.Close(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Close of a failed WAL: %v, want ErrFailed", err)
	}
	// The half-written record is a torn tail to Open.
	w = mustOpen(t, dir, Options{})
	checkReplay(t, w, 0, want)
	if r := mustAppend(t, w, 1, []byte("three")); r.lsn != 3 {
		t.Fatalf("LSN after reopen = %d, want 3", r.lsn)
	}
}

func TestRotationFailure(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	opts := Options{SegmentSize: 1 << 10, Registerer: reg}
	w, f := openFaulty(t, dir, opts)
	payload := make([]byte, 1000) // one record fills a segment
	want := []rec{mustAppend(t, w, 1, payload)}
	waitSegments(t, w, 2) // the rotation runs after the append returns
	// The rotation after the next append fails (the append succeeds), and
	// so does its retry when the append after comes, which fails; the one
	// after that succeeds.
	f.mu.Lock()
	f.headerWrites, f.err = 2, syscall.ENOSPC
	f.mu.Unlock()
	want = append(want, mustAppend(t, w, 1, payload))
	waitErrors(t, reg, 1) // the rotation after it failed
	if _, err := w.Append(context.Background(), 1, payload); !errors.Is(err, syscall.ENOSPC) || errors.Is(err, ErrFailed) {
		t.Fatalf("append during failing rotation: %v, want ENOSPC", err)
	}
	want = append(want, mustAppend(t, w, 1, payload))
	if want[2].lsn != 3 {
		t.Fatalf("LSN = %d, want 3", want[2].lsn)
	}
	checkReplay(t, w, 0, want)
	mustClose(t, w)
	if got, want := segmentFiles(t, dir), []uint64{1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Fatalf("segments %v, want %v", got, want)
	}
	w = mustOpen(t, dir, opts)
	checkReplay(t, w, 0, want)
}

// waitSegments waits until w has n segments.
func waitSegments(t *testing.T, w *WAL, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		w.segs.Lock()
		got := len(w.segs.firsts)
		w.segs.Unlock()
		if got == n {
			return
		}
	}
	t.Fatalf("WAL does not reach %d segments", n)
}

// waitErrors waits until tael_wal_errors_total reaches n.
func waitErrors(t *testing.T, reg *prometheus.Registry, n float64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if gather(t, reg)["tael_wal_errors_total"] >= n {
			return
		}
	}
	t.Fatalf("errors_total does not reach %v", n)
}

// TestCloseWhileAppending checks that Close lets queued appends finish: each
// append either is acknowledged, and then survives a reopen, or fails with
// ErrClosed.
func TestCloseWhileAppending(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 16 << 10}
	w := mustOpen(t, dir, opts)
	var (
		mu    sync.Mutex
		acked = map[uint64]byte{}
		wg    sync.WaitGroup
	)
	for g := range 8 {
		wg.Go(func() {
			for {
				lsn, err := w.Append(context.Background(), byte(g), make([]byte, 500))
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked[lsn] = byte(g)
				mu.Unlock()
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	mustClose(t, w)
	wg.Wait()

	w = mustOpen(t, dir, opts)
	got, err := replayAll(t, w, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(acked) || len(got) == 0 {
		t.Fatalf("replayed %d records, %d acknowledged", len(got), len(acked))
	}
	for _, r := range got {
		if g, ok := acked[r.lsn]; !ok || g != r.table {
			t.Fatalf("LSN %d replayed with table %d, not as acknowledged", r.lsn, r.table)
		}
	}
}

// TestReplayWhileAppending checks that Replay during appends sees a
// contiguous, verified prefix of the log.
func TestReplayWhileAppending(t *testing.T) {
	w := mustOpen(t, t.TempDir(), Options{SegmentSize: 8 << 10})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := w.Append(ctx, 1, make([]byte, 300)); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 20 {
		last := w.LastLSN()
		got, err := replayAll(t, w, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range got {
			if r.lsn != uint64(i+1) {
				t.Fatalf("record %d has LSN %d", i, r.lsn)
			}
		}
		if uint64(len(got)) < last {
			t.Fatalf("replayed %d records, but LSN %d was durable before Replay began", len(got), last)
		}
	}
	cancel()
	wg.Wait()
}
