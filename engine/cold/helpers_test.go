package cold

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// t0 is the start of an hour partition used by the tests.
var t0 = time.Date(2024, 5, 6, 10, 0, 0, 0, time.UTC)

// checkedMem returns an allocator that fails t if anything allocated from it
// is still live when t ends.
func checkedMem(t testing.TB) *memory.CheckedAllocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is a store in a test directory, reopenable with the same options.
type harness struct {
	t     testing.TB
	dir   string
	opts  Options
	s     *Store
	mem   *memory.CheckedAllocator
	clock *fakeClock
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), mem: checkedMem(t), clock: &fakeClock{now: t0.Add(48 * time.Hour)}}
	h.opts = Options{Allocator: h.mem, Clock: h.clock.Now, RowGroupRows: 1000}
	h.reopen()
	t.Cleanup(func() {
		if h.s != nil {
			_ = h.s.Close()
		}
	})
	return h
}

// reopen closes the store (if open) and opens it again.
func (h *harness) reopen() {
	h.t.Helper()
	if h.s != nil {
		_ = h.s.Close()
		h.s = nil
	}
	s, err := Open(h.dir, h.opts)
	if err != nil {
		h.t.Fatalf("open: %v", err)
	}
	h.s = s
}

// write writes recs as one file of table in hour and commits it.
func (h *harness) write(table schema.ID, hour time.Time, recs ...arrow.RecordBatch) File {
	h.t.Helper()
	f, err := h.s.Write(context.Background(), table, hour.UnixNano(), recs)
	if err != nil {
		h.t.Fatalf("write: %v", err)
	}
	if _, err := h.s.Commit(Change{Add: []File{f}}); err != nil {
		h.t.Fatalf("commit: %v", err)
	}
	return f
}

// scanRows returns the rows Scan returns, as strings (see rowStrings).
func (h *harness) scanRows(m *Manifest, table schema.ID, tr schema.TimeRange, columns []string) []string {
	h.t.Helper()
	rd, err := h.s.Scan(context.Background(), m, table, tr, columns)
	if err != nil {
		h.t.Fatalf("scan: %v", err)
	}
	defer rd.Release()
	var out []string
	for rd.Next() {
		rec := rd.RecordBatch()
		if !rec.Schema().Equal(rd.Schema()) {
			h.t.Fatalf("batch schema %s, reader schema %s", rec.Schema(), rd.Schema())
		}
		out = append(out, rowStrings(rec, nil)...)
	}
	if err := rd.Err(); err != nil {
		h.t.Fatalf("scan: %v", err)
	}
	slices.Sort(out)
	return out
}

// rowStrings renders each row of rec as one string of its column values
// (of the named columns, nil for all), so that row sets can be compared.
func rowStrings(rec arrow.RecordBatch, columns []string) []string {
	cols := make([]arrow.Array, 0, rec.NumCols())
	if columns == nil {
		cols = rec.Columns()
	} else {
		for _, c := range columns {
			cols = append(cols, rec.Column(rec.Schema().FieldIndices(c)[0]))
		}
	}
	out := make([]string, rec.NumRows())
	var sb strings.Builder
	for i := range out {
		sb.Reset()
		for j, c := range cols {
			if j > 0 {
				sb.WriteString(" | ")
			}
			sb.WriteString(valueString(c, i))
		}
		out[i] = sb.String()
	}
	return out
}

// valueString renders one value exactly (timestamps as ns integers).
func valueString(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch a := a.(type) {
	case *array.Timestamp:
		return fmt.Sprint(int64(a.Value(i)))
	case *array.Float64:
		return fmt.Sprintf("%b", a.Value(i)) // exact bits
	case *array.String:
		return fmt.Sprintf("%q", a.Value(i))
	}
	return a.ValueStr(i)
}

// filterRows returns the rows of recs whose time column lies in tr, as
// strings of the named columns.
func filterRows(table schema.ID, recs []arrow.RecordBatch, tr schema.TimeRange, columns []string) []string {
	tbl, _ := schema.ByID(table)
	var out []string
	for _, r := range recs {
		rows := rowStrings(r, columns)
		ts := r.Column(tbl.TimeIndex).(*array.Timestamp)
		for i, s := range rows {
			if tr.Contains(int64(ts.Value(i))) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// files returns the paths of the regular files under dir, relative to it.
func files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// spanBatch returns synth spans starting at start, step apart.
func spanBatch(mem memory.Allocator, rows int, start time.Time, step time.Duration, seed uint64) arrow.RecordBatch {
	return synth.Spans(mem, synth.SpanOptions{Rows: rows, Start: start, Step: step, Jitter: step, LLMEvery: 5, Seed: seed})
}

// commentBatch builds trace_comments rows: comment i on trace traceIDs[i%len]
// at start+i*step.
func commentBatch(mem memory.Allocator, rows int, start time.Time, step time.Duration, traceIDs []string) arrow.RecordBatch {
	tbl, _ := schema.ByID(schema.TraceComments)
	b := array.NewRecordBuilder(mem, tbl.Schema)
	defer b.Release()
	for i := range rows {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("c%05d", i))
		b.Field(1).(*array.StringBuilder).Append(traceIDs[i%len(traceIDs)])
		if i%3 == 0 {
			b.Field(2).(*array.StringBuilder).AppendNull()
			b.Field(3).(*array.StringBuilder).AppendNull()
		} else {
			b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("%016x", i))
			b.Field(3).(*array.StringBuilder).Append("ana")
		}
		b.Field(4).(*array.StringBuilder).Append(fmt.Sprintf("comment %d: slow", i))
		b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(start.Add(time.Duration(i) * step).UnixNano()))
	}
	return b.NewRecordBatch()
}
