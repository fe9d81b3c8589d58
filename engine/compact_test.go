package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// fixture loads the same rows into an engine: spans over two hours, logs,
// metrics, trace comments, in several appends.
type fixture struct {
	traceIDs []string
}

func loadFixture(t *testing.T, e *Engine, mem memory.Allocator) fixture {
	t.Helper()
	ctx := context.Background()
	var f fixture
	app := func(table schema.ID, rec arrow.RecordBatch) {
		t.Helper()
		defer rec.Release()
		if _, err := e.Append(ctx, table, rec); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		// 4 × 3000 spans, 1.2 s apart → 0..~4 h span; jitter unsorts.
		start := t0.Add(time.Duration(i) * time.Hour)
		app(schema.Spans, synth.Spans(mem, synth.SpanOptions{Rows: 3000, Start: start, Step: 1200 * time.Millisecond, Jitter: time.Second, LLMEvery: 7, Seed: uint64(i + 1)}))
		first := int(start.UnixNano()/int64(1200*time.Millisecond)) / 8 // synth's numbering
		for n := range 3 {
			f.traceIDs = append(f.traceIDs, synth.TraceID(uint64(i+1), first+n*50))
		}
		app(schema.Logs, synth.Logs(mem, synth.LogOptions{Rows: 2000, Start: start, Step: 1500 * time.Millisecond, Seed: uint64(i + 1)}))
		app(schema.Metrics, synth.Metrics(mem, synth.MetricOptions{Series: 20, Points: 240, Start: start, Step: 15 * time.Second, Seed: uint64(i + 1)}))
	}
	b := array.NewRecordBuilder(mem, mustSchema(t, schema.TraceComments))
	for i, id := range f.traceIDs {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("c%d", i))
		b.Field(1).(*array.StringBuilder).Append(id)
		b.Field(2).(*array.StringBuilder).AppendNull()
		b.Field(3).(*array.StringBuilder).Append("ana")
		b.Field(4).(*array.StringBuilder).Append("looks slow")
		b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.Add(time.Duration(i) * 10 * time.Minute).UnixNano()))
	}
	app(schema.TraceComments, b.NewRecordBatch())
	b.Release()
	return f
}

func mustSchema(t *testing.T, id schema.ID) *arrow.Schema {
	t.Helper()
	tb, err := schema.ByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return tb.Schema
}

// answers runs the acceptance queries — full scans, time windows,
// projections, trace lookups — and returns their results as sorted row
// strings, so that the same rows read from anywhere give the same answer.
func answers(t *testing.T, e *Engine, f fixture) map[string][]string {
	t.Helper()
	ctx := context.Background()
	out := map[string][]string{}
	scan := func(name string, table schema.ID, tr schema.TimeRange, cols []string) {
		t.Helper()
		rr, err := e.Scan(ctx, table, tr, cols)
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Release()
		var rows []string
		for rr.Next() {
			rows = append(rows, rowStrings(rr.RecordBatch())...)
		}
		if err := rr.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sort.Strings(rows)
		out[name] = rows
	}
	for _, tb := range schema.Tables() {
		if tb.ID == schema.LLMPayloads || tb.ID == schema.Metrics5m {
			continue
		}
		scan(tb.Name+"/all", tb.ID, schema.AllTime, nil)
		scan(tb.Name+"/window", tb.ID, schema.Between(t0.Add(50*time.Minute), t0.Add(130*time.Minute+17*time.Second)), nil)
		scan(tb.Name+"/empty", tb.ID, schema.Between(t0.Add(-time.Hour), t0), nil)
	}
	scan("spans/projection", schema.Spans, schema.Between(t0.Add(time.Hour), t0.Add(2*time.Hour)), []string{"service", "duration_ms", "trace_id"})
	scan("metrics/projection", schema.Metrics, schema.AllTime, []string{"series_id", "value"})
	for _, w := range []schema.TimeRange{schema.AllTime, schema.Between(t0.Add(time.Hour), t0.Add(2*time.Hour))} {
		ms := []*labels.Matcher{
			labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, "http_requests_total"),
			labels.MustNewMatcher(labels.MatchRegexp, "job", "svc-[0-3]"),
		}
		ser, err := e.Series(ctx, ms, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(ser) == 0 {
			t.Fatalf("no series in %v", w)
		}
		var rows []string
		for _, s := range ser {
			rows = append(rows, fmt.Sprint(s.ID, s.Labels))
		}
		out[fmt.Sprint("series/", w)] = rows
	}
	for _, id := range f.traceIDs {
		rec, err := e.Trace(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		rows := rowStrings(rec)
		rec.Release()
		if len(rows) == 0 {
			t.Fatalf("trace %s: no spans", id)
		}
		sort.Strings(rows)
		out["trace/"+id] = rows
	}
	return out
}

func rowStrings(rec arrow.RecordBatch) []string {
	out := make([]string, rec.NumRows())
	for i := range out {
		var b strings.Builder
		for j, c := range rec.Columns() {
			if j > 0 {
				b.WriteByte('|')
			}
			b.WriteString(c.ValueStr(i))
		}
		out[i] = b.String()
	}
	return out
}

func sameAnswers(t *testing.T, what string, want, got map[string][]string) {
	t.Helper()
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Errorf("%s: %s: %d rows, want %d", what, k, len(g), len(w))
			continue
		}
		for i := range w {
			if g[i] != w[i] {
				t.Errorf("%s: %s: row %d differs:\n got %s\nwant %s", what, k, i, g[i], w[i])
				break
			}
		}
	}
}

func coldOptions(now time.Time) Options {
	return Options{Clock: func() time.Time { return now }, CompactInterval: -1, HotWindow: 15 * time.Minute}
}

// TestCompactHotColdSplit runs the acceptance queries with the data all
// hot, split between hot and cold, and all cold (after a reopen): the
// answers are identical.
func TestCompactHotColdSplit(t *testing.T) {
	dir := t.TempDir()
	now := t0.Add(5 * time.Hour)
	e, mem := openTest(t, dir, coldOptions(now))
	f := loadFixture(t, e, mem)
	hot := answers(t, e, f)
	ctx := context.Background()

	// Split: rows older than 2.5 h before now (t0+2h30m) move.
	st, err := e.Compact(ctx, CompactOptions{OlderThan: 150 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows == 0 || st.Files == 0 {
		t.Fatalf("split compaction moved nothing: %+v", st)
	}
	sameAnswers(t, "split", hot, answers(t, e, f))

	// The rest; a second run moves nothing more.
	if _, err := e.Compact(ctx, CompactOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	again, err := e.Compact(ctx, CompactOptions{All: true})
	if err != nil || again.Rows != 0 {
		t.Fatalf("second full compaction: %+v, %v", again, err)
	}
	sameAnswers(t, "cold", hot, answers(t, e, f))
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)

	e, mem = openTest(t, dir, coldOptions(now))
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
		mem.AssertSize(t, 0)
	}()
	sameAnswers(t, "cold after reopen", hot, answers(t, e, f))
	// Nothing is left in the hot tier, and each complete hour is one file.
	for _, id := range mirrorTables {
		_, _, n, err := e.hot.Buckets(ctx, id, hotMoved(e.cold.Manifest().MovedOf(id)))
		if err != nil || n != 0 {
			t.Errorf("%s: %d hot values visible after full compaction (%v)", id, n, err)
		}
	}
	perHour := map[string]int{}
	for _, fl := range e.cold.Manifest().Files {
		perHour[fmt.Sprint(fl.Table, fl.Hour)]++
	}
	for k, n := range perHour {
		if n > 1 {
			t.Errorf("%s: %d files in a complete hour", k, n)
		}
	}
}

// TestCompactFaults injects a failure at each step of a compaction, then
// reopens: every row is read exactly once, and a later compaction finishes
// the job.
func TestCompactFaults(t *testing.T) {
	for _, step := range []string{"write", "fsync", "rename", "commit-write", "commit-fsync", "commit-rename"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			now := t0.Add(5 * time.Hour)
			o := coldOptions(now)
			fail := true
			o.Cold.FaultHook = func(s string) error {
				if s == step && fail {
					return fmt.Errorf("injected fault at %s: %w", s, errors.ErrUnsupported)
				}
				return nil
			}
			e, mem := openTest(t, dir, o)
			f := loadFixture(t, e, mem)
			want := answers(t, e, f)
			if _, err := e.Compact(context.Background(), CompactOptions{OlderThan: 150 * time.Minute}); !errors.Is(err, errors.ErrUnsupported) {
				t.Fatalf("compaction with a fault at %s: err = %v", step, err)
			}
			sameAnswers(t, "after fault", want, answers(t, e, f))
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			mem.AssertSize(t, 0)
			fail = false
			e, mem = openTest(t, dir, o)
			sameAnswers(t, "reopened", want, answers(t, e, f))
			if _, err := e.Compact(context.Background(), CompactOptions{All: true}); err != nil {
				t.Fatal(err)
			}
			sameAnswers(t, "compacted", want, answers(t, e, f))
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			mem.AssertSize(t, 0)
			// No temp or orphan file is left.
			err := filepath.Walk(filepath.Join(dir, "cold"), func(p string, info os.FileInfo, err error) error {
				if err == nil && strings.HasSuffix(p, ".tmp") {
					t.Errorf("left behind: %s", p)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCompactRollups checks metrics_5m against the raw points, computed
// here independently.
func TestCompactRollups(t *testing.T) {
	now := t0.Add(5 * time.Hour)
	e, mem := openTest(t, t.TempDir(), coldOptions(now))
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
		mem.AssertSize(t, 0)
	}()
	ctx := context.Background()
	rec := synth.Metrics(mem, synth.MetricOptions{Series: 6, Points: 100, Start: t0, Step: 15 * time.Second, Seed: 9})
	type agg struct {
		min, max, sum, last float64
		n                   int64
		lastT               int64
	}
	want := map[string]*agg{}
	ts := rec.Column(0).(*array.Timestamp)
	vals := rec.Column(4).(*array.Float64)
	ids := rec.Column(7).(*array.Uint64)
	for i := range int(rec.NumRows()) {
		t := int64(ts.Value(i))
		k := fmt.Sprint(ids.Value(i), "/", floorTo(t, compactAlign))
		a := want[k]
		v := vals.Value(i)
		if a == nil {
			a = &agg{min: v, max: v, lastT: t, last: v}
			want[k] = a
		}
		a.min, a.max, a.sum, a.n = min(a.min, v), max(a.max, v), a.sum+v, a.n+1
		if t >= a.lastT {
			a.lastT, a.last = t, v
		}
	}
	if _, err := e.Append(ctx, schema.Metrics, rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if _, err := e.Compact(ctx, CompactOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	rr, err := e.Scan(ctx, schema.Metrics5m, schema.AllTime, []string{"series_id", "bucket_start", "min", "max", "sum", "count", "last"})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	got := 0
	for rr.Next() {
		r := rr.RecordBatch()
		for i := range int(r.NumRows()) {
			got++
			k := fmt.Sprint(r.Column(0).(*array.Uint64).Value(i), "/", int64(r.Column(1).(*array.Timestamp).Value(i)))
			a := want[k]
			if a == nil {
				t.Fatalf("rollup row %s not expected", k)
			}
			f := func(c int) float64 { return r.Column(c).(*array.Float64).Value(i) }
			if f(2) != a.min || f(3) != a.max || f(4) != a.sum || r.Column(5).(*array.Int64).Value(i) != a.n || f(6) != a.last {
				t.Errorf("rollup %s = min %v max %v sum %v count %v last %v, want %+v", k, f(2), f(3), f(4), r.Column(5).(*array.Int64).Value(i), f(6), *a)
			}
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	if got != len(want) {
		t.Errorf("%d rollup rows, want %d", got, len(want))
	}
}
