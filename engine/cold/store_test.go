package cold

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// tableBatches returns two batches of table's rows in the hour t0, unsorted.
func tableBatches(mem memory.Allocator, table schema.ID) []arrow.RecordBatch {
	switch table {
	case schema.Spans:
		return []arrow.RecordBatch{
			spanBatch(mem, 2500, t0.Add(30*time.Minute), 500*time.Millisecond, 1),
			spanBatch(mem, 2500, t0, 700*time.Millisecond, 2),
		}
	case schema.Logs:
		return []arrow.RecordBatch{
			synth.Logs(mem, synth.LogOptions{Rows: 2000, Start: t0.Add(20 * time.Minute), Step: time.Second, Seed: 1}),
			synth.Logs(mem, synth.LogOptions{Rows: 3000, Start: t0, Step: 300 * time.Millisecond, Seed: 2}),
		}
	case schema.Metrics:
		return []arrow.RecordBatch{
			synth.Metrics(mem, synth.MetricOptions{Series: 10, Points: 240, Start: t0, Seed: 1}),
			synth.Metrics(mem, synth.MetricOptions{Series: 5, Points: 100, Start: t0.Add(7 * time.Second), Seed: 2}),
		}
	case schema.Metrics5m:
		raw := synth.Metrics(mem, synth.MetricOptions{Series: 12, Points: 240, Start: t0, Seed: 3})
		defer raw.Release()
		r, err := Rollup(mem, []arrow.RecordBatch{raw})
		if err != nil {
			panic(err)
		}
		return []arrow.RecordBatch{r}
	case schema.TraceComments:
		ids := []string{synth.TraceID(1, 1), synth.TraceID(1, 2), synth.TraceID(1, 3)}
		return []arrow.RecordBatch{
			commentBatch(mem, 300, t0.Add(time.Minute), 7*time.Second, ids),
			commentBatch(mem, 200, t0, 11*time.Second, ids[1:]),
		}
	}
	panic("no batches for " + table.String())
}

var coldTables = []schema.ID{schema.Spans, schema.Logs, schema.Metrics, schema.Metrics5m, schema.TraceComments}

func TestRoundTrip(t *testing.T) {
	for _, table := range coldTables {
		t.Run(table.String(), func(t *testing.T) {
			h := newHarness(t)
			recs := tableBatches(h.mem, table)
			defer releaseAll(recs)
			f := h.write(table, t0, recs...)

			want := filterRows(table, recs, schema.AllTime, nil)
			if f.Rows != int64(len(want)) {
				t.Fatalf("File.Rows = %d, want %d", f.Rows, len(want))
			}
			tbl, _ := schema.ByID(table)
			if !strings.HasPrefix(f.Path, tbl.Name+"/date=2024-05-06/hour=10/") || !strings.HasSuffix(f.Path, ".parquet") {
				t.Fatalf("path %s", f.Path)
			}
			if f.Hour != t0.UnixNano() {
				t.Fatalf("hour %d", f.Hour)
			}
			var lo, hi int64 = math.MaxInt64, math.MinInt64
			for _, r := range recs {
				for _, v := range r.Column(tbl.TimeIndex).(*array.Timestamp).TimestampValues() {
					lo, hi = min(lo, int64(v)), max(hi, int64(v))
				}
			}
			if f.MinTime != lo || f.MaxTime != hi {
				t.Fatalf("MinTime, MaxTime = %d, %d, want %d, %d", f.MinTime, f.MaxTime, lo, hi)
			}
			got := h.scanRows(nil, table, schema.AllTime, nil)
			if !slices.Equal(got, want) {
				t.Fatalf("round trip differs: got %d rows, want %d\nfirst got:  %.300s\nfirst want: %.300s", len(got), len(want), first(got), first(want))
			}
			// Again after a reopen, from a fresh footer cache.
			h.reopen()
			if got := h.scanRows(nil, table, schema.AllTime, nil); !slices.Equal(got, want) {
				t.Fatal("round trip differs after reopen")
			}
		})
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return "<none>"
	}
	return s[0]
}

// TestSortOrder checks that files are sorted by their table's sort key.
func TestSortOrder(t *testing.T) {
	for _, table := range coldTables {
		t.Run(table.String(), func(t *testing.T) {
			h := newHarness(t)
			recs := tableBatches(h.mem, table)
			defer releaseAll(recs)
			h.write(table, t0, recs...)
			tbl, _ := schema.ByID(table)
			order := sortOrder(tbl, false)
			rd, err := h.s.Scan(context.Background(), nil, table, schema.AllTime, order)
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Release()
			var prev string
			for rd.Next() {
				for _, s := range rowStrings(rd.RecordBatch(), nil) {
					if s < prev && !numericLess(prev, s) {
						t.Fatalf("rows out of order: %q after %q", s, prev)
					}
					prev = s
				}
			}
		})
	}
}

// numericLess compares rows of sort-key strings whose fields may be numbers
// (series ids, timestamps): it reports whether a sorts before b by
// comparing field by field, numbers as numbers.
func numericLess(a, b string) bool {
	fa, fb := strings.Split(a, " | "), strings.Split(b, " | ")
	for i := range fa {
		if fa[i] == fb[i] {
			continue
		}
		if len(fa[i]) != len(fb[i]) && !strings.HasPrefix(fa[i], `"`) {
			return len(fa[i]) < len(fb[i]) // non-negative integers
		}
		return fa[i] < fb[i]
	}
	return false
}

func TestScanRanges(t *testing.T) {
	h := newHarness(t)
	h.opts.RowGroupRows = 300 // many row groups, so statistics prune
	h.reopen()
	// Two hours, two files in the first.
	a := spanBatch(h.mem, 1000, t0, 1700*time.Millisecond, 1)
	b := spanBatch(h.mem, 1000, t0.Add(10*time.Minute), time.Second, 2)
	c := spanBatch(h.mem, 1000, t0.Add(time.Hour), 3*time.Second, 3)
	recs := []arrow.RecordBatch{a, b, c}
	defer releaseAll(recs)
	h.write(schema.Spans, t0, a)
	h.write(schema.Spans, t0, b)
	h.write(schema.Spans, t0.Add(time.Hour), c)

	start := a.Column(7).(*array.Timestamp).Value(0)
	at := func(i int) int64 { return int64(b.Column(7).(*array.Timestamp).Value(i)) }
	for _, tc := range []struct {
		name string
		tr   schema.TimeRange
		cols []string
	}{
		{"all", schema.AllTime, nil},
		{"empty", schema.TimeRange{Min: at(10), Max: at(10)}, nil},
		{"inverted", schema.TimeRange{Min: at(20), Max: at(10)}, nil},
		{"before", schema.TimeRange{Min: 0, Max: int64(start)}, nil},
		{"min inclusive max exclusive", schema.TimeRange{Min: at(100), Max: at(400)}, nil},
		{"one instant", schema.TimeRange{Min: at(7), Max: at(7) + 1}, nil},
		{"across hours", schema.Between(t0.Add(50*time.Minute), t0.Add(70*time.Minute)), nil},
		{"second hour", schema.Between(t0.Add(time.Hour), t0.Add(2*time.Hour)), nil},
		{"after", schema.Between(t0.Add(5*time.Hour), t0.Add(6*time.Hour)), nil},
		{"projection", schema.Between(t0.Add(5*time.Minute), t0.Add(15*time.Minute)), []string{"duration_ms", "service", "attributes"}},
		{"projection repeats", schema.AllTime, []string{"span_id", "span_id", "start_time"}},
		{"projection without time", schema.Between(t0, t0.Add(time.Minute)), []string{"events", "trace_id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := filterRows(schema.Spans, recs, tc.tr, tc.cols)
			got := h.scanRows(nil, schema.Spans, tc.tr, tc.cols)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d rows, want %d", len(got), len(want))
			}
		})
	}
	if got := h.scanRows(nil, schema.Spans, schema.Between(t0, t0.Add(time.Minute)), nil); len(got) == 0 {
		t.Fatal("the ranges above must not all be empty")
	}
	t.Run("point at edges", func(t *testing.T) {
		v := at(500)
		for _, tc := range []struct {
			tr   schema.TimeRange
			want bool
		}{
			{schema.TimeRange{Min: v, Max: v + 1}, true},
			{schema.TimeRange{Min: v - 1, Max: v}, false},
			{schema.TimeRange{Min: v + 1, Max: v + 2}, false},
		} {
			got := h.scanRows(nil, schema.Spans, tc.tr, []string{"start_time"})
			if slices.Contains(got, valueString(b.Column(7), 500)) != tc.want {
				t.Fatalf("range %+v: got %v, want the row: %v", tc.tr, got, tc.want)
			}
		}
	})
	t.Run("no files", func(t *testing.T) {
		if got := h.scanRows(nil, schema.Logs, schema.AllTime, nil); len(got) != 0 {
			t.Fatalf("got %d rows", len(got))
		}
		if got := h.scanRows(&Manifest{}, schema.Spans, schema.AllTime, nil); len(got) != 0 {
			t.Fatalf("got %d rows from an empty manifest", len(got))
		}
	})
}

func TestScanErrors(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name  string
		table schema.ID
		cols  []string
		want  error
	}{
		{"unknown column", schema.Spans, []string{"nope"}, ErrColumn},
		{"unknown table", 99, nil, ErrInvalid},
		{"llm_payloads", schema.LLMPayloads, nil, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h.s.Scan(context.Background(), nil, tc.table, schema.AllTime, tc.cols); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestScanCancel(t *testing.T) {
	h := newHarness(t)
	r := spanBatch(h.mem, 5000, t0, 500*time.Millisecond, 1)
	defer r.Release()
	h.write(schema.Spans, t0, r)
	ctx, cancel := context.WithCancel(context.Background())
	rd, err := h.s.Scan(ctx, nil, schema.Spans, schema.AllTime, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	if !rd.Next() {
		t.Fatalf("no first batch: %v", rd.Err())
	}
	cancel()
	if rd.Next() {
		t.Fatal("Next after cancel returned a batch")
	}
	if !errors.Is(rd.Err(), context.Canceled) {
		t.Fatalf("Err = %v, want context.Canceled", rd.Err())
	}
}

func TestTrace(t *testing.T) {
	for _, byService := range []bool{false, true} {
		t.Run(fmt.Sprintf("byService=%v", byService), func(t *testing.T) { testTrace(t, byService) })
	}
}

func testTrace(t *testing.T, byService bool) {
	h := newHarness(t)
	h.opts.RowGroupRows = 256
	h.opts.spansByService = byService
	h.reopen()
	// Three files in two hours. Seeds 1 and 2 share trace ids where their
	// trace numbers overlap (synth derives ids from seed and number), so use
	// distinct seeds and look traces up by the ids in the batches.
	a := spanBatch(h.mem, 2000, t0, time.Second, 1)
	b := spanBatch(h.mem, 2000, t0.Add(40*time.Minute), 500*time.Millisecond, 2)
	c := spanBatch(h.mem, 2000, t0.Add(time.Hour), time.Second, 3)
	recs := []arrow.RecordBatch{a, b, c}
	defer releaseAll(recs)
	h.write(schema.Spans, t0, a)
	h.write(schema.Spans, t0, b)
	h.write(schema.Spans, t0.Add(time.Hour), c)
	// A trace split across two files: its spans from a and c under one id.
	split := commentlessSplitTrace(h.mem, a, c)
	defer split.Release()
	h.write(schema.Spans, t0.Add(time.Hour), split)
	recs = append(recs, split)

	ids := map[string]bool{}
	for _, r := range recs {
		col := r.Column(0).(*array.String)
		for i := 0; i < col.Len(); i += 97 {
			ids[col.Value(i)] = true
		}
	}
	ids[a.Column(0).(*array.String).Value(0)] = true // the split trace
	ids["00000000000000000000000000000000"] = false
	ids["ffffffffffffffffffffffffffffffff"] = false
	ids["not-a-trace"] = false
	byTrace := traceRows(recs)
	for id := range ids {
		want := byTrace[id]
		rec, err := h.s.Trace(context.Background(), nil, id)
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Schema().Equal(mustTable(schema.Spans).Schema) {
			t.Fatalf("schema %s", rec.Schema())
		}
		got := rowStrings(rec, nil)
		rec.Release()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("trace %s: got %d spans, want %d", id, len(got), len(want))
		}
		if len(want) == 0 && ids[id] {
			t.Fatalf("trace %s: test data has no spans", id)
		}
	}
	rec, err := h.s.Trace(context.Background(), &Manifest{}, a.Column(0).(*array.String).Value(0))
	if err != nil || rec.NumRows() != 0 {
		t.Fatalf("empty manifest: %v rows, err %v", rec.NumRows(), err)
	}
	rec.Release()
}

// commentlessSplitTrace returns a spans batch in c's hour whose rows carry
// the trace id of a's first span: the second half of a trace that began
// in a's hour.
func commentlessSplitTrace(mem memory.Allocator, a, c arrow.RecordBatch) arrow.RecordBatch {
	id := a.Column(0).(*array.String).Value(0)
	part := c.NewSlice(0, 3)
	defer part.Release()
	b := array.NewStringBuilder(mem)
	defer b.Release()
	for range 3 {
		b.Append(id)
	}
	ids := b.NewArray()
	defer ids.Release()
	cols := slices.Clone(part.Columns())
	cols[0] = ids
	return array.NewRecordBatch(part.Schema(), cols, 3)
}

// traceRows returns the rows of recs by trace id, each list sorted.
func traceRows(recs []arrow.RecordBatch) map[string][]string {
	out := map[string][]string{}
	for _, r := range recs {
		rows := rowStrings(r, nil)
		col := r.Column(0).(*array.String)
		for i := range rows {
			out[col.Value(i)] = append(out[col.Value(i)], rows[i])
		}
	}
	for _, rows := range out {
		slices.Sort(rows)
	}
	return out
}

func mustTable(id schema.ID) *schema.Table {
	t, err := schema.ByID(id)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWriteRejects(t *testing.T) {
	h := newHarness(t)
	spans := spanBatch(h.mem, 100, t0.Add(59*time.Minute+59*time.Second), 100*time.Millisecond, 1) // runs into the next hour
	defer spans.Release()
	logs := synth.Logs(h.mem, synth.LogOptions{Rows: 10, Start: t0})
	defer logs.Release()
	for _, tc := range []struct {
		name  string
		table schema.ID
		hour  int64
		recs  []arrow.RecordBatch
	}{
		{"row past the hour", schema.Spans, t0.UnixNano(), []arrow.RecordBatch{spans}},
		{"wrong table", schema.Spans, t0.UnixNano(), []arrow.RecordBatch{logs}},
		{"unaligned hour", schema.Logs, t0.UnixNano() + 1, []arrow.RecordBatch{logs}},
		{"row before the hour", schema.Logs, t0.Add(time.Hour).UnixNano(), []arrow.RecordBatch{logs}},
		{"no rows", schema.Logs, t0.UnixNano(), nil},
		{"llm_payloads", schema.LLMPayloads, t0.UnixNano(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h.s.Write(context.Background(), tc.table, tc.hour, tc.recs); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	if got := files(t, h.dir); len(got) != 0 {
		t.Fatalf("files left: %v", got)
	}
}

func TestWriteCancel(t *testing.T) {
	h := newHarness(t)
	r := spanBatch(h.mem, 3000, t0, time.Second, 1)
	defer r.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.s.Write(ctx, schema.Spans, t0.UnixNano(), []arrow.RecordBatch{r}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	for _, f := range files(t, h.dir) {
		if strings.HasSuffix(f, ".parquet") || strings.HasSuffix(f, ".tmp") {
			t.Fatalf("left %s", f)
		}
	}
}

func TestMerge(t *testing.T) {
	h := newHarness(t)
	var recs []arrow.RecordBatch
	for i := range 3 {
		r := synth.Logs(h.mem, synth.LogOptions{Rows: 700, Start: t0.Add(time.Duration(i) * 13 * time.Minute), Step: time.Second, Seed: uint64(i)})
		recs = append(recs, r)
		h.write(schema.Logs, t0, r)
	}
	other := synth.Logs(h.mem, synth.LogOptions{Rows: 50, Start: t0.Add(time.Hour), Seed: 9})
	defer other.Release()
	h.write(schema.Logs, t0.Add(time.Hour), other)
	defer releaseAll(recs)
	all := append(slices.Clone(recs), other)
	want := filterRows(schema.Logs, all, schema.AllTime, nil)

	before := h.s.Manifest()
	f, merged, err := h.s.Merge(context.Background(), schema.Logs, t0.UnixNano())
	if err != nil || !merged {
		t.Fatalf("merge: %v, %v", merged, err)
	}
	m := h.s.Manifest()
	if got := m.TableFiles(schema.Logs, schema.Between(t0, t0.Add(time.Hour))); len(got) != 1 || got[0] != f {
		t.Fatalf("files after merge: %+v", got)
	}
	if f.Rows != 2100 || len(m.Garbage) != 3 {
		t.Fatalf("merged %d rows, %d garbage", f.Rows, len(m.Garbage))
	}
	if got := h.scanRows(nil, schema.Logs, schema.AllTime, nil); !slices.Equal(got, want) {
		t.Fatal("rows differ after merge")
	}
	// A reader of the old version still reads the old files.
	if got := h.scanRows(before, schema.Logs, schema.AllTime, nil); !slices.Equal(got, want) {
		t.Fatal("rows differ through the old manifest")
	}
	if _, merged, err := h.s.Merge(context.Background(), schema.Logs, t0.UnixNano()); merged || err != nil {
		t.Fatalf("second merge: %v, %v", merged, err)
	}
	if _, merged, err := h.s.Merge(context.Background(), schema.Logs, t0.Add(5*time.Hour).UnixNano()); merged || err != nil {
		t.Fatalf("merge of an empty hour: %v, %v", merged, err)
	}
	h.reopen()
	if got := h.scanRows(nil, schema.Logs, schema.AllTime, nil); !slices.Equal(got, want) {
		t.Fatal("rows differ after reopen")
	}
}

func TestMergeConflict(t *testing.T) {
	h := newHarness(t)
	for i := range 2 {
		r := synth.Logs(h.mem, synth.LogOptions{Rows: 100, Start: t0.Add(time.Duration(i) * time.Minute), Seed: uint64(i)})
		h.write(schema.Logs, t0, r)
		r.Release()
	}
	// Retention drops the hour while the merge writes: the merge's commit
	// must fail and leave no file behind.
	h.opts.FaultHook = func(step string) error {
		if step == "rename" {
			if _, err := h.s.DropBefore(context.Background(), schema.Logs, t0.Add(time.Hour).UnixNano()); err != nil {
				t.Error(err)
			}
		}
		return nil
	}
	h.reopen()
	if _, _, err := h.s.Merge(context.Background(), schema.Logs, t0.UnixNano()); !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	m := h.s.Manifest()
	if len(m.Files) != 0 || len(m.Garbage) != 2 {
		t.Fatalf("manifest %+v", m)
	}
	if got := files(t, h.dir); len(got) != 3 { // MANIFEST and the two garbage files
		t.Fatalf("files %v", got)
	}
}

func TestDropBeforeAndGarbage(t *testing.T) {
	h := newHarness(t)
	h.opts.GCGrace = 10 * time.Minute
	h.reopen()
	for i := range 4 {
		hour := t0.Add(time.Duration(i) * time.Hour)
		r := synth.Logs(h.mem, synth.LogOptions{Rows: 100, Start: hour.Add(time.Minute), Seed: uint64(i)})
		h.write(schema.Logs, hour, r)
		if i == 1 {
			h.write(schema.Logs, hour, r) // two files in one partition
		}
		r.Release()
	}
	sp := spanBatch(h.mem, 10, t0, time.Second, 1)
	h.write(schema.Spans, t0, sp)
	sp.Release()

	// Ends at t0+2h: hours t0 and t0+1h go, t0+2h (ends at t0+3h) stays.
	cut := t0.Add(2*time.Hour + 30*time.Minute)
	dropped, err := h.s.DropBefore(context.Background(), schema.Logs, cut.UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 3 {
		t.Fatalf("dropped %d files, want 3", len(dropped))
	}
	for _, f := range dropped {
		if f.Hour+hourNs > cut.UnixNano() {
			t.Fatalf("dropped %s, which ends after the cut", f.Path)
		}
	}
	m := h.s.Manifest()
	if got := len(m.TableFiles(schema.Logs, schema.AllTime)); got != 2 {
		t.Fatalf("%d logs files left", got)
	}
	if got := len(m.TableFiles(schema.Spans, schema.AllTime)); got != 1 {
		t.Fatal("spans were dropped")
	}
	if len(m.Garbage) != 3 || m.Garbage[0].Removed != h.clock.Now().UnixNano() {
		t.Fatalf("garbage %+v", m.Garbage)
	}
	if again, err := h.s.DropBefore(context.Background(), schema.Logs, cut.UnixNano()); err != nil || len(again) != 0 {
		t.Fatalf("second drop: %v, %v", again, err)
	}

	// The grace has not passed: the files stay, also across a reopen.
	h.clock.Advance(9 * time.Minute)
	if n, err := h.s.CollectGarbage(); n != 0 || err != nil {
		t.Fatalf("early collect: %d, %v", n, err)
	}
	h.reopen()
	for _, f := range dropped {
		if _, err := os.Stat(h.s.path(f.Path)); err != nil {
			t.Fatalf("garbage deleted before its grace: %v", err)
		}
	}
	if got := h.scanRows(m, schema.Logs, schema.AllTime, nil); len(got) != 200 {
		t.Fatalf("old readers see %d rows", len(got))
	}
	h.clock.Advance(time.Minute)
	if n, err := h.s.CollectGarbage(); n != 3 || err != nil {
		t.Fatalf("collect: %d, %v", n, err)
	}
	for _, f := range dropped {
		if _, err := os.Stat(h.s.path(f.Path)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("garbage %s not deleted: %v", f.Path, err)
		}
		if _, err := os.Stat(filepath.Dir(h.s.path(f.Path))); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("empty partition directory of %s left", f.Path)
		}
	}
	if m := h.s.Manifest(); len(m.Garbage) != 0 {
		t.Fatalf("garbage left in the manifest: %+v", m.Garbage)
	}
	if n, err := h.s.CollectGarbage(); n != 0 || err != nil {
		t.Fatalf("collect again: %d, %v", n, err)
	}
	h.reopen()
	if got := h.scanRows(nil, schema.Logs, schema.AllTime, nil); len(got) != 200 {
		t.Fatalf("%d rows left, want 200", len(got))
	}
}

func TestGarbageCollectedByOpen(t *testing.T) {
	h := newHarness(t)
	r := synth.Logs(h.mem, synth.LogOptions{Rows: 10, Start: t0})
	f := h.write(schema.Logs, t0, r)
	r.Release()
	if _, err := h.s.Commit(Change{Remove: []string{f.Path}}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(11 * time.Minute) // past the default grace
	h.reopen()
	if _, err := os.Stat(h.s.path(f.Path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open did not collect garbage: %v", err)
	}
}

func TestCommitRejects(t *testing.T) {
	h := newHarness(t)
	r := synth.Logs(h.mem, synth.LogOptions{Rows: 10, Start: t0})
	defer r.Release()
	f := h.write(schema.Logs, t0, r)
	if _, err := h.s.Commit(Change{Moved: map[schema.ID]Moved{schema.Logs: {Before: 100, LSN: 7}}}); err != nil {
		t.Fatal(err)
	}
	bad := f
	bad.Path = "logs/date=2024-05-06/hour=11/x.parquet"
	for _, tc := range []struct {
		name string
		c    Change
		want error
	}{
		{"remove twice", Change{Remove: []string{f.Path, f.Path}}, ErrConflict},
		{"remove unknown", Change{Remove: []string{"logs/x.parquet"}}, ErrConflict},
		{"add live", Change{Add: []File{f}}, ErrConflict},
		{"add outside its partition", Change{Add: []File{bad}}, ErrInvalid},
		{"moved back", Change{Moved: map[schema.ID]Moved{schema.Logs: {Before: 99, LSN: 8}}}, ErrConflict},
		{"lsn back", Change{Moved: map[schema.ID]Moved{schema.Logs: {Before: 101, LSN: 6}}}, ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := h.s.Manifest().Version
			if _, err := h.s.Commit(tc.c); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if h.s.Manifest().Version != v {
				t.Fatal("a rejected change made a version")
			}
		})
	}
	m, err := h.s.Commit(Change{Moved: map[schema.ID]Moved{schema.Logs: {Before: 100, LSN: 9}, schema.Spans: {Before: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	if m.MovedOf(schema.Logs) != (Moved{Before: 100, LSN: 9}) || m.MovedOf(schema.Metrics) != (Moved{}) {
		t.Fatalf("moved %+v", m.Moved)
	}
	h.reopen()
	if got := h.s.Manifest(); got.Version != m.Version || got.MovedOf(schema.Spans) != (Moved{Before: 5}) || len(got.Files) != 1 {
		t.Fatalf("after reopen: %+v", got)
	}
}

func TestClosed(t *testing.T) {
	h := newHarness(t)
	if err := h.s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.Commit(Change{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("commit: %v", err)
	}
	if _, err := h.s.Scan(context.Background(), nil, schema.Spans, schema.AllTime, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("scan: %v", err)
	}
	if _, err := h.s.Write(context.Background(), schema.Spans, t0.UnixNano(), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("write: %v", err)
	}
	h.s = nil
}

func TestNewID(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_123)
	a, err := newID(now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newID(now.Add(time.Millisecond))
	if len(a) != 26 || a >= b || a[:10] != "01HF7YAT3V" {
		t.Fatalf("ids %s, %s", a, b)
	}
	var max [16]byte
	for i := range max {
		max[i] = 0xff
	}
	if got := encodeID(max); got != "7ZZZZZZZZZZZZZZZZZZZZZZZZZ" {
		t.Fatalf("encodeID(max) = %s", got)
	}
	if got := encodeID([16]byte{15: 1}); got != "00000000000000000000000001" {
		t.Fatalf("encodeID(1) = %s", got)
	}
}

func TestManifestEncoding(t *testing.T) {
	m := &Manifest{
		Version: 3,
		Files: []File{{Table: schema.Metrics, Path: "metrics/date=2024-05-06/hour=10/A.parquet", Hour: t0.UnixNano(),
			MinTime: t0.UnixNano() + 5, MaxTime: t0.UnixNano() + 9, Rows: 2, Bytes: 100}},
		Moved:   map[schema.ID]Moved{schema.Metrics: {Before: 7, LSN: 8}},
		Garbage: []Garbage{{Path: "metrics/date=2024-05-06/hour=10/B.parquet", Removed: 4}},
	}
	b, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `\"table\": \"metrics\"`) && !strings.Contains(string(b), `"table":"metrics"`) {
		t.Logf("%s", b)
	}
	got, err := decodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 3 || !slices.Equal(got.Files, m.Files) || got.Moved[schema.Metrics] != m.Moved[schema.Metrics] || !slices.Equal(got.Garbage, m.Garbage) {
		t.Fatalf("decoded %+v", got)
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"truncated", b[:len(b)/2]},
		{"empty", nil},
		{"flipped", []byte(strings.Replace(string(b), "100", "101", 1))},
		{"not json", []byte("hello")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeManifest(tc.b); !errors.Is(err, ErrCorruptManifest) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestCorruptManifest(t *testing.T) {
	h := newHarness(t)
	r := synth.Logs(h.mem, synth.LogOptions{Rows: 10, Start: t0})
	f := h.write(schema.Logs, t0, r)
	r.Release()
	_ = h.s.Close()
	h.s = nil
	name := filepath.Join(h.dir, "MANIFEST")
	b, _ := os.ReadFile(name)
	if err := os.WriteFile(name, b[:len(b)-20], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(h.dir, h.opts)
	if !errors.Is(err, ErrCorruptManifest) || !strings.Contains(err.Error(), name) {
		t.Fatalf("err = %v, want ErrCorruptManifest naming %s", err, name)
	}
	// The data file is still there: nothing was deleted as an orphan.
	if _, err := os.Stat(filepath.Join(h.dir, f.Path)); err != nil {
		t.Fatal(err)
	}
}

// TestTraceOTel looks up traces of OTel-like spans (variable trace sizes,
// exception events) in files of both sort orders, with default row groups
// and pages.
func TestTraceOTel(t *testing.T) {
	for _, byService := range []bool{false, true} {
		t.Run(fmt.Sprintf("byService=%v", byService), func(t *testing.T) {
			h := newHarness(t)
			h.opts.RowGroupRows = 0
			h.opts.spansByService = byService
			h.reopen()
			gen := newOTelGen(3)
			var recs []arrow.RecordBatch
			for i := range 2 {
				r := gen.spans(h.mem, 9000, t0.Add(time.Duration(i)*30*time.Minute), 30*time.Minute)
				recs = append(recs, r)
				h.write(schema.Spans, t0, r)
			}
			defer releaseAll(recs)
			byTrace := traceRows(recs)
			n := 0
			for id, want := range byTrace {
				if n++; n > 60 {
					break
				}
				rec, err := h.s.Trace(context.Background(), nil, id)
				if err != nil {
					t.Fatal(err)
				}
				got := rowStrings(rec, nil)
				rec.Release()
				slices.Sort(got)
				if !slices.Equal(got, want) {
					for i := range min(len(got), len(want)) {
						if got[i] != want[i] {
							t.Logf("got  %s\nwant %s", got[i], want[i])
							break
						}
					}
					t.Fatalf("trace %s: got %d spans, want %d", id, len(got), len(want))
				}
			}
		})
	}
}

// TestScanNames checks that a scan for some metric names skips the row
// groups of others, yet returns every row of the names asked for.
func TestScanNames(t *testing.T) {
	h := newHarness(t) // 1,000-row row groups
	rec := synth.Metrics(h.mem, synth.MetricOptions{Series: 40, Points: 100, Start: t0, Seed: 5})
	defer rec.Release()
	h.write(schema.Metrics, t0, rec)
	names := map[string]int{}
	nameCol := rec.Column(1).(*array.String)
	for i := range nameCol.Len() {
		names[nameCol.Value(i)]++
	}
	if len(names) < 3 {
		t.Fatalf("synth gave %d metric names; the test needs several", len(names))
	}
	count := func(want []string) (total, matching int) {
		rr, err := h.s.ScanNames(context.Background(), nil, schema.AllTime, []string{"name"}, want)
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Release()
		for rr.Next() {
			col := rr.RecordBatch().Column(0).(*array.String)
			for i := range col.Len() {
				total++
				if slices.Contains(want, col.Value(i)) {
					matching++
				}
			}
		}
		if err := rr.Err(); err != nil {
			t.Fatal(err)
		}
		return total, matching
	}
	for name, n := range names {
		total, matching := count([]string{name})
		if matching != n {
			t.Errorf("ScanNames(%s): %d of its rows, want %d", name, matching, n)
		}
		if total >= int(rec.NumRows()) {
			t.Errorf("ScanNames(%s) read all %d rows: no row group skipped", name, total)
		}
	}
	if total, _ := count([]string{"no_such_metric"}); total != 0 {
		t.Errorf("ScanNames(no_such_metric) returned %d rows", total)
	}
	all := slices.Sorted(maps.Keys(names))
	if total, matching := count(all); total != int(rec.NumRows()) || matching != total {
		t.Errorf("ScanNames(all) = %d rows (%d matching), want %d", total, matching, rec.NumRows())
	}
}
