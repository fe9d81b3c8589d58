package hot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dgraph-io/badger/v4"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

var hotTables = []schema.ID{schema.Spans, schema.Logs, schema.Metrics}

// movedAt returns the mark of the rows applied at or below lsn in the buckets
// wholly before t0+before (rounded down to a bucket boundary).
func (h *harness) movedAt(before time.Duration, lsn uint64) Moved {
	w := h.o.width
	return Moved{Before: bucketOf(t0.Add(before).UnixNano(), w) * w, LSN: lsn}
}

// TestMoved applies random batches, then for each mark in turn gives it to
// the readers, checks every read against the oracle, deletes the hidden
// values and checks again. Batches applied after a mark with a higher LSN
// into its buckets (late data) stay visible. The marks of a case grow, as
// compaction's do.
func TestMoved(t *testing.T) {
	type mark struct {
		before time.Duration // from t0, rounded down to a bucket boundary
		lsn    uint64
	}
	for _, c := range []struct {
		name  string
		width time.Duration
		seed  uint64
		marks []mark
	}{
		{"1s", time.Second, 11, []mark{
			{-time.Hour, 60}, // before every row
			{20 * time.Second, 0},
			{20 * time.Second, 20},
			{40 * time.Second, 45},
			{2 * time.Minute, 60}, // every row
		}},
		{"10s", 10 * time.Second, 12, []mark{
			{10 * time.Second, 30},
			{30 * time.Second, 30},
			{50 * time.Second, 50},
		}},
		{"3s", 3 * time.Second, 13, []mark{
			{31 * time.Second, 10},
			{33 * time.Second, 59},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.width, c.seed)
			h.applyRandom(60)
			for _, mk := range c.marks {
				m := h.movedAt(mk.before, mk.lsn)
				t.Logf("mark %+v", m)
				for _, table := range hotTables {
					h.hide[table] = m
				}
				h.check(8)
				for _, table := range hotTables {
					h.deleteMoved(table, m)
				}
				h.check(8)
			}
			// Late data, some of it in buckets whose values were all
			// deleted.
			h.applyRandom(20)
			h.check(15)
			h.reopen()
			h.check(5)
		})
	}
}

// TestDeleteMovedReplay replays the WAL after DeleteMoved, as a restart
// whose replay starts below the mark would: the values come back hidden, and
// the next DeleteMoved removes them again.
func TestDeleteMovedReplay(t *testing.T) {
	h := newHarness(t, time.Second, 14)
	h.applyRandom(30)
	m := h.movedAt(30*time.Second, 20)
	for _, table := range hotTables {
		h.hide[table] = m
		h.deleteMoved(table, m)
	}
	h.replay()
	// Replayed metrics rewrote activity keys of hidden rows: until the next
	// DeleteMoved, Series returns more than the oracle after trimming
	// (which checkSeries would flag), so only the other reads are checked.
	for range 10 {
		for _, table := range hotTables {
			h.checkScan(table, h.randomRange(), h.randomColumns(table))
			h.checkScanBatches(table, h.randomRange())
		}
		h.checkTrace(h.randomTraceID())
	}
	for _, table := range hotTables {
		h.checkBuckets(table)
		h.deleteMoved(table, m)
	}
	h.check(10)
}

// rawKeys returns every key of the store starting with one of prefixes.
func (h *harness) rawKeys(prefixes ...byte) map[string]struct{} {
	h.t.Helper()
	keys := make(map[string]struct{})
	err := h.s.db.View(func(txn *badger.Txn) error {
		for _, p := range prefixes {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{p}})
			for it.Rewind(); it.Valid(); it.Next() {
				keys[string(it.Item().Key())] = struct{}{}
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return keys
}

// hiddenKey reports whether the data key k is one of table's that m hides,
// by the oracle's rule.
func (h *harness) hiddenKey(k string, table schema.ID, m Moved) bool {
	h.t.Helper()
	bucket, lsn, err := parseDataKey([]byte(k))
	if err != nil {
		h.t.Fatal(err)
	}
	return schema.ID(k[1]) == table && h.o.hidden(m, bucket*h.o.width, lsn)
}

// deleteMoved runs DeleteMoved(table, m) and checks with raw iterations that
// it deleted exactly the data keys m hides, the trace index entries naming
// them, and (for metrics) the activity keys of the buckets wholly before
// m.Before but those of late rows; then that running it again deletes
// nothing.
func (h *harness) deleteMoved(table schema.ID, m Moved) {
	h.t.Helper()
	data := h.rawKeys(prefixData)
	traces := h.rawKeys(prefixTraceHex, prefixTraceRaw)
	activity := h.rawKeys(prefixActivity)

	wantData := maps.Clone(data)
	hidden := 0
	for k := range data {
		if h.hiddenKey(k, table, m) {
			delete(wantData, k)
			hidden++
		}
	}
	wantTraces := maps.Clone(traces)
	for k := range traces {
		if h.hiddenKey(k[len(k)-dataKeyLen:], table, m) {
			delete(wantTraces, k)
		}
	}
	wantActivity := maps.Clone(activity)
	if table == schema.Metrics && m.LSN != 0 {
		for k := range activity {
			if end := (getBucket([]byte(k[1:])) + 1) * h.o.width; end <= m.Before {
				delete(wantActivity, k)
			}
		}
		for _, r := range h.o.rows[schema.Metrics] {
			b := bucketOf(r.time, h.o.width)
			if (b+1)*h.o.width <= m.Before && !h.o.hidden(m, r.time, r.lsn) {
				k := string(activityKey(b, r.series))
				if _, ok := activity[k]; !ok {
					h.t.Fatalf("activity key of late series %d in bucket %d is missing before DeleteMoved", r.series, b)
				}
				wantActivity[k] = struct{}{}
			}
		}
	}

	for run := range 2 {
		n, err := h.s.DeleteMoved(context.Background(), table, m)
		if err != nil {
			h.t.Fatalf("DeleteMoved(%d, %+v): %v", table, m, err)
		}
		if want := []int{hidden, 0}[run]; n != want {
			h.t.Fatalf("DeleteMoved(%d, %+v) run %d deleted %d values, want %d", table, m, run, n, want)
		}
		diffKeys(h.t, "data", h.rawKeys(prefixData), wantData)
		diffKeys(h.t, "trace index", h.rawKeys(prefixTraceHex, prefixTraceRaw), wantTraces)
		diffKeys(h.t, "activity", h.rawKeys(prefixActivity), wantActivity)
	}
	if table == schema.Metrics {
		h.trimmed = m
	}
	h.t.Logf("DeleteMoved(%d, %+v): %d of %d data keys, %d of %d trace entries, %d of %d activity keys",
		table, m, hidden, len(data), len(traces)-len(wantTraces), len(traces), len(activity)-len(wantActivity), len(activity))
}

func diffKeys(t *testing.T, what string, got, want map[string]struct{}) {
	t.Helper()
	var extra, missing []string
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, fmt.Sprintf("%x", k))
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			missing = append(missing, fmt.Sprintf("%x", k))
		}
	}
	if len(extra)+len(missing) > 0 {
		slices.Sort(extra)
		slices.Sort(missing)
		t.Fatalf("%s keys: %d extra %.3v, %d missing %.3v", what, len(extra), extra, len(missing), missing)
	}
}

func TestMovedErrors(t *testing.T) {
	h := newHarness(t, time.Second, 15)
	h.apply(schema.Logs, synth.Logs(h.mem, synth.LogOptions{Rows: 10, Start: t0}))
	ctx := context.Background()
	off := Moved{Before: t0.UnixNano() + 1, LSN: 1}
	noop := func(uint64, arrow.RecordBatch) error { return nil }
	for _, c := range []struct {
		name string
		call func() error
		want error
	}{
		{"scan", func() error {
			r, err := h.s.Scan(ctx, schema.Logs, schema.AllTime, nil, off)
			if r != nil {
				r.Release()
			}
			return err
		}, ErrMoved},
		{"trace", func() error {
			rec, err := h.s.Trace(ctx, synth.TraceID(1, 1), off)
			if rec != nil {
				rec.Release()
			}
			return err
		}, ErrMoved},
		{"scan batches", func() error { return h.s.ScanBatches(ctx, schema.Logs, schema.AllTime, off, noop) }, ErrMoved},
		{"buckets", func() error { _, _, _, err := h.s.Buckets(ctx, schema.Logs, off); return err }, ErrMoved},
		{"delete", func() error { _, err := h.s.DeleteMoved(ctx, schema.Logs, off); return err }, ErrMoved},
		{"negative unaligned", func() error {
			_, err := h.s.DeleteMoved(ctx, schema.Logs, Moved{Before: -1, LSN: 1})
			return err
		}, ErrMoved},
		{"scan batches table", func() error { return h.s.ScanBatches(ctx, schema.Metrics5m, schema.AllTime, Moved{}, noop) }, ErrSchema},
		{"buckets table", func() error { _, _, _, err := h.s.Buckets(ctx, schema.ID(99), Moved{}); return err }, ErrSchema},
		{"delete table", func() error { _, err := h.s.DeleteMoved(ctx, schema.Metrics5m, Moved{}); return err }, ErrSchema},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	// Nothing was deleted.
	h.check(3)
}

// TestTraceDanglingEntry deletes a value behind the store's back, leaving
// its trace index entries: Trace skips them.
func TestTraceDanglingEntry(t *testing.T) {
	h := newHarness(t, time.Second, 16)
	spans := func() arrow.RecordBatch {
		return synth.Spans(h.mem, synth.SpanOptions{Rows: 40, Start: t0, Step: time.Millisecond, Seed: 3})
	}
	h.apply(schema.Spans, spans()) // lsn 1
	h.apply(schema.Spans, spans()) // lsn 2: the same traces, in the same bucket
	bucket := bucketOf(t0.UnixNano(), h.o.width)
	if err := h.s.db.Update(func(txn *badger.Txn) error {
		return txn.Delete(dataKey(schema.Spans, bucket, 1, 0))
	}); err != nil {
		t.Fatal(err)
	}
	id := synth.TraceID(3, int(t0.UnixMilli()/8))
	// The oracle's view of the store without lsn 1's value.
	without1 := Moved{Before: (bucket + 1) * h.o.width, LSN: 1}
	want := h.o.trace(id, without1)
	if len(want) == 0 {
		t.Fatal("the trace has no spans")
	}
	rec, err := h.s.Trace(context.Background(), id, Moved{})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	var got []string
	for i := 0; i < int(rec.NumRows()); i++ {
		got = append(got, strings.Join(renderRow(rec, i, nil), "\x1f"))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("trace: %d rows, want %d\n%s", len(got), len(want), firstDiff(got, want))
	}
}

// TestDeleteMovedActivityCache deletes a bucket's values and activity keys,
// then applies the same series into it again: Apply must write their
// activity keys again, although its cache saw them written.
func TestDeleteMovedActivityCache(t *testing.T) {
	h := newHarness(t, time.Second, 17)
	metrics := func() arrow.RecordBatch {
		return synth.Metrics(h.mem, synth.MetricOptions{Series: 5, Points: 1, Start: t0, Seed: 1})
	}
	h.apply(schema.Metrics, metrics()) // lsn 1
	m := h.movedAt(time.Second, 1)
	h.hide[schema.Metrics] = m
	h.deleteMoved(schema.Metrics, m)
	if got, err := h.s.Series(context.Background(), nil, schema.AllTime); err != nil || len(got) != 0 {
		t.Fatalf("Series after DeleteMoved = %v, %v; want none", got, err)
	}
	h.apply(schema.Metrics, metrics()) // lsn 2: late data
	got, err := h.s.Series(context.Background(), nil, schema.AllTime)
	if err != nil || len(got) != 5 {
		t.Fatalf("Series after late data = %v, %v; want 5 series", got, err)
	}
	h.check(5)
}

// TestDeleteMovedConcurrentApply applies late metrics while DeleteMoved
// runs: none of their activity keys may be lost.
func TestDeleteMovedConcurrentApply(t *testing.T) {
	h := newHarness(t, time.Second, 18)
	for i := range 20 {
		h.apply(schema.Metrics, h.unevenMetrics(t0.Add(time.Duration(i)*time.Second), 30))
	}
	m := h.movedAt(30*time.Second, h.lsn)
	h.hide[schema.Metrics] = m
	late := make([]arrow.RecordBatch, 40)
	for i := range late {
		late[i] = h.unevenMetrics(t0.Add(time.Duration(i%20)*time.Second), 30)
	}
	first := h.lsn + 1
	var (
		wg   sync.WaitGroup
		done = make(chan struct{})
		werr error
	)
	wg.Go(func() {
		defer close(done)
		for i, rec := range late {
			if err := h.s.Apply(first+uint64(i), schema.Metrics, rec, nil, first+uint64(i)); err != nil {
				werr = err
				return
			}
		}
	})
	for stop := false; !stop; {
		select {
		case <-done:
			stop = true
		default:
		}
		if _, err := h.s.DeleteMoved(context.Background(), schema.Metrics, m); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	for _, rec := range late {
		h.lsn++
		h.o.add(schema.Metrics, rec, h.lsn)
		h.applied = append(h.applied, appliedBatch{h.lsn, schema.Metrics, rec})
	}
	h.deleteMoved(schema.Metrics, m)
	h.check(10)
}

func TestScanBatchesStop(t *testing.T) {
	h := newHarness(t, time.Second, 19)
	for i := range 5 {
		h.apply(schema.Logs, synth.Logs(h.mem, synth.LogOptions{Rows: 10, Start: t0.Add(time.Duration(i) * time.Second)}))
	}
	stop := errors.New("stop")
	var kept arrow.RecordBatch
	calls := 0
	err := h.s.ScanBatches(context.Background(), schema.Logs, schema.AllTime, Moved{}, func(lsn uint64, rec arrow.RecordBatch) error {
		calls++
		if calls == 2 {
			rec.Retain()
			kept = rec
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Fatalf("ScanBatches = %v after %d calls, want stop after 2", err, calls)
	}
	if kept.NumRows() != 10 || kept.Column(0).Len() != 10 {
		t.Fatalf("kept batch has %d rows", kept.NumRows())
	}
	kept.Release()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.s.ScanBatches(ctx, schema.Logs, schema.AllTime, Moved{}, func(uint64, arrow.RecordBatch) error {
		t.Fatal("fn called after cancel")
		return nil
	}); !errors.Is(err, context.Canceled) {
		t.Fatalf("ScanBatches after cancel = %v", err)
	}
	if _, err := h.s.DeleteMoved(ctx, schema.Logs, h.movedAt(time.Minute, h.lsn)); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeleteMoved after cancel = %v", err)
	}
}

// TestCollectGarbage deletes every value of a sealed value-log file and
// checks that CollectGarbage reclaims its space once Badger's compactions
// have counted the garbage.
func TestCollectGarbage(t *testing.T) {
	h := newHarness(t, time.Second, 20)
	if err := h.s.CollectGarbage(); err != nil {
		t.Fatalf("CollectGarbage of an empty store: %v", err)
	}
	for i := range 40 {
		h.apply(schema.Spans, synth.Spans(h.mem, synth.SpanOptions{Rows: 500, Start: t0.Add(time.Duration(i) * time.Second), Seed: uint64(i)}))
	}
	h.reopen() // seals the value-log file holding them: Badger never rewrites the active one
	sealed := vlogFiles(t, h.dir)
	m := h.movedAt(time.Minute, h.lsn)
	h.hide[schema.Spans] = m
	h.deleteMoved(schema.Spans, m)
	// Compacting level 0 drops the deleted keys' values and counts the
	// garbage they leave in the value log. Each reopen writes the memtable
	// to a level-0 table, and Flatten compacts level 0 once it holds more
	// tables than Badger's trigger (5).
	for i := range 6 {
		h.reopen()
		if err := h.s.SetApplied(uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.s.db.Flatten(1); err != nil {
		t.Fatal(err)
	}
	if err := h.s.CollectGarbage(); err != nil {
		t.Fatal(err)
	}
	after := vlogFiles(t, h.dir)
	t.Logf("value-log files: %v before, %v after", sealed, after)
	if len(sealed) < 2 || slices.Contains(after, sealed[0]) {
		t.Fatalf("value-log file %s was not collected", sealed[0])
	}
	h.check(3)
}

// vlogFiles returns the names of the value-log files in dir, oldest first.
func vlogFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	slices.Sort(files)
	return files
}
