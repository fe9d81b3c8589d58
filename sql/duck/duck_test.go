package duck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tael/tael/internal/arrowtime"
	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 123456789, time.UTC)

func openTest(t *testing.T, opts Options) (*DB, *memory.CheckedAllocator) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	opts.Allocator = mem
	if opts.Threads == 0 {
		opts.Threads = 2
	}
	if opts.MemoryLimit == "" {
		opts.MemoryLimit = "1GB"
	}
	d, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
		mem.AssertSize(t, 0)
	})
	return d, mem
}

// rows runs q and returns its rows rendered as strings.
func rows(t *testing.T, d *DB, q string, params ...any) [][]string {
	t.Helper()
	r, err := d.Query(context.Background(), q, params)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer r.Release()
	var out [][]string
	for r.Next() {
		rec := r.RecordBatch()
		for i := range int(rec.NumRows()) {
			row := make([]string, rec.NumCols())
			for j, c := range rec.Columns() {
				row[j] = strings.Clone(c.ValueStr(i)) // ValueStr aliases the batch
			}
			out = append(out, row)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func TestBasics(t *testing.T) {
	d, _ := openTest(t, Options{})
	if got := rows(t, d, "select 1"); len(got) != 1 || got[0][0] != "1" {
		t.Fatalf("select 1 = %v", got)
	}
	tables := rows(t, d, "SHOW TABLES")
	var names []string
	for _, r := range tables {
		names = append(names, r[0])
	}
	for _, tb := range schema.Tables() {
		if !strings.Contains(strings.Join(names, ","), tb.Name) {
			t.Errorf("SHOW TABLES = %v, missing %s", names, tb.Name)
		}
	}
	desc := rows(t, d, "DESCRIBE spans")
	if len(desc) != mustTable(t, schema.Spans).Schema.NumFields() {
		t.Errorf("DESCRIBE spans has %d rows", len(desc))
	}
	if got := rows(t, d, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'"); got[0][0] != fmt.Sprint(len(schema.Tables())) {
		t.Errorf("information_schema: %v", got)
	}
	if got := rows(t, d, "SELECT $1::BIGINT + 1, $2", int64(41), "x"); got[0][0] != "42" || got[0][1] != "x" {
		t.Errorf("params: %v", got)
	}
	if got := rows(t, d, "SELECT current_database(), count(*) FROM tael.main.spans"); got[0][0] != "tael" {
		t.Errorf("catalog: %v", got)
	}
	st, err := d.Prepare(context.Background(), "SELECT ?, ? + 1")
	if err != nil || st.Params.NumFields() != 2 { // the result is typed only once bound
		t.Errorf("prepare SELECT ?: %+v, %v", st, err)
	}
}

func mustTable(t *testing.T, id schema.ID) *schema.Table {
	t.Helper()
	tb, err := schema.ByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestHotRowsTypesAndMacros(t *testing.T) {
	d, mem := openTest(t, Options{})
	rec := synth.Spans(mem, synth.SpanOptions{Rows: 5000, Start: t0, Step: time.Millisecond, LLMEvery: 10, Seed: 1})
	defer rec.Release()
	if err := d.Applied(schema.Spans, 7, rec); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, d, "SELECT count(*), count(DISTINCT service) FROM spans"); got[0][0] != "5000" || got[0][1] != "8" {
		t.Fatalf("count = %v", got)
	}
	// Projection and filter on the time column.
	from := t0.Add(100 * time.Millisecond)
	got := rows(t, d, "SELECT count(*) FROM spans WHERE start_time >= $1 AND start_time < $2", from, from.Add(50*time.Millisecond))
	if got[0][0] != "50" {
		t.Errorf("time filter = %v", got)
	}
	// Nanoseconds survive and come back as timestamp[ns, UTC].
	r, err := d.Query(context.Background(), "SELECT start_time, events FROM spans ORDER BY start_time LIMIT 1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Next() {
		t.Fatal(r.Err())
	}
	ts := r.RecordBatch().Column(0)
	if !arrow.TypeEqual(ts.DataType(), schema.Timestamp) {
		t.Errorf("start_time type %s", ts.DataType())
	}
	if v := ts.(*array.Timestamp).Value(0); int64(v) != t0.UnixNano() {
		t.Errorf("start_time %d, want %d", v, t0.UnixNano())
	}
	if et := r.RecordBatch().Column(1).DataType().(*arrow.ListType).Elem().(*arrow.StructType).Field(0).Type; !arrow.TypeEqual(et, schema.Timestamp) {
		t.Errorf("events.time type %s", et)
	}
	r.Release()
	// Grafana's Flight SQL macros (DataFusion dialect).
	got = rows(t, d, "SELECT date_bin(interval '1 minute', start_time, timestamp '1970-01-01T00:00:00Z') AS t, count(*) FROM spans GROUP BY 1")
	if len(got) != 1 || got[0][1] != "5000" {
		t.Errorf("date_bin: %v", got)
	}
	got = rows(t, d, "SELECT datepart('minute', start_time) AS m, count(*) FROM spans GROUP BY 1")
	if len(got) != 1 || got[0][0] != "0" {
		t.Errorf("datepart: %v", got)
	}
}

func TestReadOnlyAndSealed(t *testing.T) {
	cold := t.TempDir()
	d, _ := openTest(t, Options{ColdDir: cold})
	secret := filepath.Join(t.TempDir(), "secret.csv")
	if err := os.WriteFile(secret, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE x (a INT)",
		"DROP VIEW spans",
		"DELETE FROM _hot.spans",
		"INSERT INTO _hot.logs SELECT * FROM _hot.logs",
		"UPDATE _hot.spans SET service = 'x'",
		"COPY (SELECT 1) TO '" + filepath.Join(cold, "x.csv") + "'",
		"EXPORT DATABASE '" + t.TempDir() + "'",
		"ATTACH '" + filepath.Join(t.TempDir(), "x.db") + "' AS x",
		"INSTALL httpfs",
		"LOAD httpfs",
		"SET enable_external_access = true",
		"SET lock_configuration = false",
		"PRAGMA threads = 1",
		"SELECT 1; DROP VIEW spans",
		"SELECT * FROM read_csv('" + secret + "')",
		"SELECT * FROM read_text('/etc/passwd')",
		"SELECT * FROM read_parquet('https://example.com/x.parquet')",
		"CALL pragma_version()",
	} {
		_, err := d.Query(context.Background(), q, nil)
		if err == nil {
			t.Errorf("%s: no error", q)
			continue
		}
		if !errors.Is(err, ErrReadOnly) && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v is neither ErrReadOnly nor ErrInvalid", q, err)
		}
	}
	// The views are still there.
	rows(t, d, "SELECT count(*) FROM spans")
	if _, err := d.Query(context.Background(), "SELEKT 1", nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "syntax error") {
		t.Errorf("bad SQL: %v", err)
	}
}

func TestInterrupt(t *testing.T) {
	d, _ := openTest(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	r, err := d.Query(ctx, "SELECT count(*) FROM range(100000000000)", nil)
	if err == nil {
		for r.Next() {
		}
		err = r.Err()
		r.Release()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("interrupt took %s", el)
	}
	// The connection is usable afterwards.
	for range 20 {
		rows(t, d, "select 1")
	}
}

// writeParquet writes rec as tael's cold tier does: times as zone-less
// nanoseconds (DuckDB reads UTC-adjusted nanoseconds as microseconds).
func writeParquet(t *testing.T, path string, rec arrow.RecordBatch) {
	t.Helper()
	s, _ := arrowtime.RetypeSchema(rec.Schema(), "")
	rec = arrowtime.ConvertRecord(memory.DefaultAllocator, rec, s)
	defer rec.Release()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), f,
		parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestColdUnion(t *testing.T) {
	cold := t.TempDir()
	d, mem := openTest(t, Options{ColdDir: cold})
	// Rows 0–2999 written by LSN 1, 3000–4999 by LSN 2; then the first
	// 3000 (before t0+3s) move to a Parquet file.
	all := synth.Spans(mem, synth.SpanOptions{Rows: 5000, Start: t0, Step: time.Millisecond, Seed: 2})
	defer all.Release()
	a, b := all.NewSlice(0, 3000), all.NewSlice(3000, 5000)
	defer a.Release()
	defer b.Release()
	if err := d.Applied(schema.Spans, 1, a); err != nil {
		t.Fatal(err)
	}
	if err := d.Applied(schema.Spans, 2, b); err != nil {
		t.Fatal(err)
	}
	before := rows(t, d, "SELECT count(*), sum(epoch_ns(start_time)), min(start_time) FROM spans")
	file := filepath.Join(cold, "spans", "date=2026-11-27", "hour=12", "a.parquet")
	writeParquet(t, file, a)
	if err := d.Cold(schema.Spans, []string{file}, t0.Add(3*time.Second).UnixNano(), 1); err != nil {
		t.Fatal(err)
	}
	after := rows(t, d, "SELECT count(*), sum(epoch_ns(start_time)), min(start_time) FROM spans")
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("before %v, after %v", before, after)
	}
	if got := rows(t, d, "SELECT count(*) FROM _hot.spans"); got[0][0] != "2000" {
		t.Errorf("hot rows left: %v", got)
	}
	// Every column of the cold rows reads back as it went in.
	got := rows(t, d, "SELECT * FROM spans WHERE start_time < $1 ORDER BY start_time", t0.Add(3*time.Second))
	if len(got) != 3000 {
		t.Fatalf("%d cold rows", len(got))
	}
	for i := range 3000 {
		for j, c := range a.Columns() {
			if want := c.ValueStr(i); got[i][j] != want && !(c.IsNull(i) && got[i][j] == "(null)") {
				t.Fatalf("row %d column %s: got %q, want %q", i, a.Schema().Field(j).Name, got[i][j], want)
			}
		}
	}
}

func TestInsertComments(t *testing.T) {
	var stored []arrow.RecordBatch
	d, _ := openTest(t, Options{Append: func(_ context.Context, table schema.ID, rec arrow.RecordBatch) (uint64, error) {
		if table != schema.TraceComments {
			return 0, fmt.Errorf("table %s", table)
		}
		rec.Retain()
		stored = append(stored, rec)
		return 1, nil
	}, Clock: func() time.Time { return t0 }})
	defer func() {
		for _, r := range stored {
			r.Release()
		}
	}()
	n, err := d.Exec(context.Background(), "INSERT INTO trace_comments (trace_id, author, body) VALUES ($1, 'ana', 'slow'), ('abc', NULL, 'ok');", []any{"0123"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || len(stored) != 1 || stored[0].NumRows() != 2 {
		t.Fatalf("n=%d stored=%v", n, stored)
	}
	rec := stored[0]
	if rec.Column(1).ValueStr(0) != "0123" || rec.Column(3).ValueStr(0) != "ana" || !rec.Column(3).IsNull(1) || rec.Column(4).ValueStr(1) != "ok" {
		t.Errorf("rows: %v", rec)
	}
	if int64(rec.Column(5).(*array.Timestamp).Value(0)) != t0.UnixNano() || len(rec.Column(0).ValueStr(0)) != 32 {
		t.Errorf("defaults: %v", rec)
	}
	if _, err := d.Exec(context.Background(), "INSERT INTO trace_comments (author) VALUES ('x')", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("missing trace_id: %v", err)
	}
	if _, err := d.Exec(context.Background(), "INSERT INTO spans SELECT * FROM spans", nil); !errors.Is(err, ErrReadOnly) {
		t.Errorf("insert into spans: %v", err)
	}
	st, err := d.Prepare(context.Background(), "INSERT INTO trace_comments (trace_id, body) VALUES (?, ?)")
	if err != nil || st.Kind != KindUpdate || st.Params.NumFields() != 2 {
		t.Errorf("prepare insert: %+v %v", st, err)
	}
}

func TestPrepareDescribes(t *testing.T) {
	d, _ := openTest(t, Options{})
	st, err := d.Prepare(context.Background(), "SELECT trace_id, start_time, duration_ms FROM spans WHERE service = ? AND duration_ms > $2")
	if err != nil {
		t.Fatal(err)
	}
	if st.Kind != KindQuery || st.Schema.NumFields() != 3 || !arrow.TypeEqual(st.Schema.Field(1).Type, schema.Timestamp) || st.Schema.Field(0).Type.ID() != arrow.STRING {
		t.Errorf("schema %s", st.Schema)
	}
	if st.Params.NumFields() != 2 {
		t.Errorf("params %s", st.Params)
	}
}

// TestSettingsOnEveryConnection checks that the settings Open makes hold on
// the pooled connections that run queries, not only on the one that made
// them.
func TestSettingsOnEveryConnection(t *testing.T) {
	d, _ := openTest(t, Options{Connections: 3})
	for range 6 {
		got := rows(t, d, "SELECT current_setting('parquet_metadata_cache'), current_setting('TimeZone'), current_setting('enable_external_access')")
		if len(got) != 1 || got[0][0] != "true" || got[0][1] != "UTC" || got[0][2] != "false" {
			t.Fatalf("settings on a pooled connection: %v", got)
		}
	}
}
