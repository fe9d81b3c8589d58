package engine

import (
	"context"
	"errors"
	"math"
	"path/filepath"
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

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openTest(t *testing.T, dir string, o Options) (*Engine, *memory.CheckedAllocator) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	o.Allocator = mem
	e, err := Open(context.Background(), dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return e, mem
}

func countRows(t *testing.T, e *Engine, table schema.ID, tr schema.TimeRange) int64 {
	t.Helper()
	rr, err := e.Scan(context.Background(), table, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var n int64
	for rr.Next() {
		n += rr.RecordBatch().NumRows()
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenLockedDirectory(t *testing.T) {
	dir := t.TempDir()
	e, mem := openTest(t, dir, Options{})
	_, err := Open(context.Background(), dir, Options{})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Open: err = %v, want ErrLocked naming %s", err, dir)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
	// Released on close: a new open succeeds.
	e, mem = openTest(t, dir, Options{})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
}

func TestAppendRejectsBadBatches(t *testing.T) {
	e, mem := openTest(t, t.TempDir(), Options{})
	ctx := context.Background()
	logs := synth.Logs(mem, synth.LogOptions{Rows: 10, Start: t0})
	defer logs.Release()
	cases := []struct {
		name  string
		table schema.ID
		rec   arrow.RecordBatch
		want  error
	}{
		{"logs batch into spans", schema.Spans, logs, schema.ErrSchemaMismatch},
		{"rollups are not appendable", schema.Metrics5m, logs, ErrNotAppendable},
		{"logs batch into llm_payloads", schema.LLMPayloads, logs, schema.ErrSchemaMismatch},
		{"unknown table", schema.ID(99), logs, schema.ErrUnknownTable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lsn := e.wal.LastLSN()
			if _, err := e.Append(ctx, c.table, c.rec); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if got := e.wal.LastLSN(); got != lsn {
				t.Fatalf("WAL advanced from %d to %d on a rejected batch", lsn, got)
			}
		})
	}
	if n := countRows(t, e, schema.Spans, schema.AllTime); n != 0 {
		t.Fatalf("spans has %d rows after rejected appends", n)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	logs.Release()
	logs = nil
	mem.AssertSize(t, 0)
}

func TestAppendReadBackAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	o := Options{MaxBatchRows: 100}
	e, mem := openTest(t, dir, o)
	spans := synth.Spans(mem, synth.SpanOptions{Rows: 1050, Start: t0, Seed: 7})
	logs := synth.Logs(mem, synth.LogOptions{Rows: 300, Start: t0})
	mets := synth.Metrics(mem, synth.MetricOptions{Series: 20, Points: 10, Start: t0})
	for _, a := range []struct {
		table schema.ID
		rec   arrow.RecordBatch
	}{{schema.Spans, spans}, {schema.Logs, logs}, {schema.Metrics, mets}} {
		if _, err := e.Append(ctx, a.table, a.rec); err != nil {
			t.Fatal(err)
		}
		a.rec.Release()
	}
	traceID := synth.TraceID(7, int(t0.UnixNano()/int64(time.Millisecond))/8)
	check := func(e *Engine) {
		t.Helper()
		for _, c := range []struct {
			table schema.ID
			want  int64
		}{{schema.Spans, 1050}, {schema.Logs, 300}, {schema.Metrics, 200}} {
			if n := countRows(t, e, c.table, schema.AllTime); n != c.want {
				t.Errorf("%s: %d rows, want %d", c.table, n, c.want)
			}
		}
		if n := countRows(t, e, schema.Spans, schema.Between(t0, t0.Add(100*time.Millisecond))); n != 100 {
			t.Errorf("spans in the first 100ms: %d, want 100", n)
		}
		tr, err := e.Trace(ctx, traceID)
		if err != nil {
			t.Fatal(err)
		}
		if tr.NumRows() != 8 {
			t.Errorf("trace %s: %d spans, want 8", traceID, tr.NumRows())
		}
		tr.Release()
		ser, err := e.Series(ctx, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", "svc-3")}, schema.AllTime)
		if err != nil {
			t.Fatal(err)
		}
		if len(ser) != 3 { // series 3, 11, 19 of 20
			t.Errorf("series with job=svc-3: %d, want 3", len(ser))
		}
	}
	check(e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
	e, mem = openTest(t, dir, o)
	check(e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
}

// A time the hot tier cannot store must be refused before the WAL: a
// durable record that can never be applied would stop the engine opening.
func TestAppendRejectsEndOfTime(t *testing.T) {
	dir := t.TempDir()
	e, mem := openTest(t, dir, Options{})
	comments, _ := schema.ByID(schema.TraceComments)
	b := array.NewRecordBuilder(mem, comments.Schema)
	for i, v := range []string{"c1", "4bf92f3577b34da6a3ce929d0e0e4736", "", "ana", "slow"} {
		b.Field(i).(*array.StringBuilder).Append(v)
	}
	b.Field(5).(*array.TimestampBuilder).Append(math.MaxInt64)
	rec := b.NewRecordBatch()
	b.Release()
	if _, err := e.Append(context.Background(), schema.TraceComments, rec); !errors.Is(err, schema.ErrInvalidBatch) {
		t.Fatalf("err = %v, want schema.ErrInvalidBatch", err)
	}
	rec.Release()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
	e, mem = openTest(t, dir, Options{})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
}

// WAL segments go once every record in them is applied and checkpointed; a
// restart then replays nothing and loses nothing.
func TestCheckpointRemovesWALSegments(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	// A long interval: the test checkpoints by hand.
	o := Options{WALSegmentSize: 64 << 10, CheckpointInterval: time.Hour}
	e, mem := openTest(t, dir, o)
	for i := range 20 {
		rec := synth.Spans(mem, synth.SpanOptions{Rows: 200, Start: t0.Add(time.Duration(i) * time.Second), Seed: uint64(i)})
		if _, err := e.Append(ctx, schema.Spans, rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	segments := func() int {
		t.Helper()
		m, err := filepath.Glob(filepath.Join(dir, "wal", "*.wal"))
		if err != nil {
			t.Fatal(err)
		}
		return len(m)
	}
	before := segments()
	if before < 3 {
		t.Fatalf("only %d WAL segments: the test needs rotation", before)
	}
	if err := e.checkpoint(); err != nil {
		t.Fatal(err)
	}
	if after := segments(); after != 1 {
		t.Fatalf("%d WAL segments after checkpoint (%d before), want only the active one", after, before)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
	e, mem = openTest(t, dir, o)
	if n := countRows(t, e, schema.Spans, schema.AllTime); n != 4000 {
		t.Fatalf("%d spans after reopen, want 4000", n)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
}
