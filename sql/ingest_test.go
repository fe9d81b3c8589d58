package sql

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-adbc/go/adbc"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/schema"
	"github.com/tael/tael/sql/duck"
)

var _ Ingester = (*engine.Engine)(nil)

// startEngineServer starts a server whose backend is DuckDB mirroring a
// real engine, which is also the Ingester and stores trace comments.
func startEngineServer(t *testing.T) *testServer {
	t.Helper()
	ctx := testContext(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	eng, err := engine.Open(ctx, t.TempDir(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := duck.Open(duck.Options{Allocator: mem, Append: eng.Append})
	if err != nil {
		t.Fatal(err)
	}
	// Registered first: runs after the server has stopped.
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
		if err := eng.Close(); err != nil {
			t.Error(err)
		}
		mem.AssertSize(t, 0)
	})
	if err := eng.Attach(ctx, db); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Options{Backend: db, Ingester: eng, Allocator: mem})
	ts.db = db
	return ts
}

// batch builds a record of sc from JSON rows.
func batch(t *testing.T, mem memory.Allocator, sc *arrow.Schema, rows string) arrow.RecordBatch {
	t.Helper()
	rec, _, err := array.RecordFromJSON(mem, sc, strings.NewReader(rows))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Release)
	return rec
}

func ingest(ctx context.Context, cl *flightsql.Client, table string, ifExists flightsql.TableDefinitionOptionsTableExistsOption, recs ...arrow.RecordBatch) (int64, error) {
	rdr, err := array.NewRecordReader(recs[0].Schema(), recs)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	return cl.ExecuteIngest(ctx, rdr, &flightsql.ExecuteIngestOpts{
		Table:                  table,
		TableDefinitionOptions: &flightsql.TableDefinitionOptions{IfExists: ifExists},
	})
}

// scalar runs a one-value query and returns the value as a string.
func scalar(ctx context.Context, t *testing.T, cl *flightsql.Client, q string) string {
	t.Helper()
	_, recs, err := query(ctx, t, cl, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if rowCount(recs) != 1 {
		t.Fatalf("%s: %d rows", q, rowCount(recs))
	}
	for _, r := range recs {
		if r.NumRows() == 1 {
			return r.Column(0).ValueStr(0)
		}
	}
	return ""
}

const appendMode = flightsql.TableDefinitionOptionsTableExistsOptionAppend

func TestIngest(t *testing.T) {
	ts := startEngineServer(t)
	cl := ts.client(t)
	ctx := testContext(t)
	mem := ts.mem

	t.Run("spans converted", func(t *testing.T) {
		// Columns out of order, large strings, microsecond timestamps
		// without a zone, nullable columns left out.
		sc := arrow.NewSchema([]arrow.Field{
			{Name: "service", Type: arrow.BinaryTypes.LargeString},
			{Name: "trace_id", Type: arrow.BinaryTypes.LargeString},
			{Name: "span_id", Type: arrow.BinaryTypes.String},
			{Name: "operation", Type: arrow.BinaryTypes.String},
			{Name: "kind", Type: arrow.BinaryTypes.String},
			{Name: "start_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
			{Name: "END_TIME", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Zurich"}},
			{Name: "duration_ms", Type: arrow.PrimitiveTypes.Float64},
			{Name: "status", Type: arrow.BinaryTypes.String},
			{Name: "attributes", Type: arrow.MapOf(arrow.BinaryTypes.LargeString, arrow.BinaryTypes.LargeString)},
		}, nil)
		rec := batch(t, mem, sc, `[
			{"service": "checkout", "trace_id": "t1", "span_id": "s1", "operation": "GET /", "kind": "server",
			 "start_time": "2024-05-01T12:00:00.000001", "END_TIME": "2024-05-01T12:00:00.250001Z", "duration_ms": 250, "status": "ok",
			 "attributes": [{"key": "http.method", "value": "GET"}]},
			{"service": "checkout", "trace_id": "t1", "span_id": "s2", "operation": "db", "kind": "client",
			 "start_time": "2024-05-01T12:00:00.1", "END_TIME": "2024-05-01T12:00:00.2Z", "duration_ms": 100, "status": "error",
			 "attributes": null}
		]`)
		n, err := ingest(ctx, cl, "spans", appendMode, rec, rec)
		if err != nil || n != 4 {
			t.Fatalf("ingest: %d, %v", n, err)
		}
		if got := scalar(ctx, t, cl, "SELECT count(*) FROM spans WHERE service = 'checkout'"); got != "4" {
			t.Fatalf("count %s", got)
		}
		if got := scalar(ctx, t, cl, "SELECT max(epoch_ns(start_time)) FROM spans"); got != "1714564800100000000" {
			t.Fatalf("start_time %s", got)
		}
		if got := scalar(ctx, t, cl, "SELECT attributes['http.method'] FROM spans WHERE span_id = 's1' LIMIT 1"); got != "GET" {
			t.Fatalf("attribute %s", got)
		}
		if got := scalar(ctx, t, cl, "SELECT count(*) FROM spans WHERE parent_span_id IS NULL AND llm_model IS NULL"); got != "4" {
			t.Fatalf("nulls %s", got)
		}
	})

	t.Run("metrics series_id computed", func(t *testing.T) {
		sc := arrow.NewSchema([]arrow.Field{
			{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
			{Name: "name", Type: arrow.BinaryTypes.String},
			{Name: "labels", Type: schema.Attributes},
			{Name: "service", Type: arrow.BinaryTypes.String},
			{Name: "value", Type: arrow.PrimitiveTypes.Float64},
			{Name: "metric_type", Type: arrow.BinaryTypes.String},
		}, nil)
		rec := batch(t, mem, sc, `[{"timestamp": "2024-05-01T12:00:00Z", "name": "queue_depth", "labels": [{"key": "job", "value": "w"}],
			"service": "w", "value": 3, "metric_type": "gauge"}]`)
		if n, err := ingest(ctx, cl, "metrics", appendMode, rec); err != nil || n != 1 {
			t.Fatalf("ingest: %d, %v", n, err)
		}
		want := schema.SeriesID("queue_depth", map[string]string{"job": "w"})
		if got := scalar(ctx, t, cl, "SELECT series_id FROM metrics"); got != arrowUint(want) {
			t.Fatalf("series_id %s, want %d", got, want)
		}
	})

	t.Run("logs through ADBC", func(t *testing.T) {
		cnxn, cmem := adbcConn(t, ts, nil)
		stmt, err := cnxn.NewStatement()
		if err != nil {
			t.Fatal(err)
		}
		defer stmt.Close()
		sc := arrow.NewSchema([]arrow.Field{
			{Name: "timestamp", Type: schema.Timestamp},
			{Name: "severity", Type: arrow.BinaryTypes.String},
			{Name: "severity_number", Type: arrow.PrimitiveTypes.Int64}, // narrowed to int32
			{Name: "body", Type: arrow.BinaryTypes.StringView},
			{Name: "service", Type: arrow.BinaryTypes.String},
		}, nil)
		rec := batch(t, cmem, sc, `[{"timestamp": "2024-05-01T12:00:00Z", "severity": "info", "severity_number": 9, "body": "hello", "service": "api"}]`)
		for k, v := range map[string]string{adbc.OptionKeyIngestTargetTable: "logs", adbc.OptionKeyIngestMode: adbc.OptionValueIngestModeAppend} {
			if err := stmt.SetOption(k, v); err != nil {
				t.Fatal(err)
			}
		}
		// BindStream, not Bind: the v1.12.0 driver never releases the reader
		// it wraps around a Bind batch for ingest (a leak of its own).
		rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
		if err != nil {
			t.Fatal(err)
		}
		defer rdr.Release()
		if err := stmt.BindStream(ctx, rdr); err != nil {
			t.Fatal(err)
		}
		if n, err := stmt.ExecuteUpdate(ctx); err != nil || n != 1 {
			t.Fatalf("ADBC ingest: %d, %v", n, err)
		}
		if got := scalar(ctx, t, cl, "SELECT body || ' ' || severity_number FROM logs"); got != "hello 9" {
			t.Fatalf("log %q", got)
		}
	})

	t.Run("refused", func(t *testing.T) {
		full := batch(t, mem, arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "trace_id", Type: arrow.BinaryTypes.String},
			{Name: "body", Type: arrow.BinaryTypes.String}, {Name: "created_at", Type: schema.Timestamp},
		}, nil), `[{"id": "c1", "trace_id": "t1", "body": "b", "created_at": "2024-05-01T12:00:00Z"}]`)
		f := func(name, table string, mode flightsql.TableDefinitionOptionsTableExistsOption, rec arrow.RecordBatch, code codes.Code, msg string) {
			t.Run(name, func(t *testing.T) {
				n, err := ingest(ctx, cl, table, mode, rec)
				wantCode(t, err, code, msg)
				if n != 0 {
					t.Fatalf("%d rows ingested", n)
				}
			})
		}
		f("create mode", "trace_comments", flightsql.TableDefinitionOptionsTableExistsOptionFail, full, codes.AlreadyExists, "append")
		f("replace", "trace_comments", flightsql.TableDefinitionOptionsTableExistsOptionReplace, full, codes.InvalidArgument, "tael tables cannot be replaced")
		f("unknown table", "bulk_ingest", appendMode, full, codes.NotFound, "bulk_ingest")
		f("rollups", "metrics_5m", appendMode, full, codes.InvalidArgument, "metrics_5m")
		f("extra column", "trace_comments", appendMode, batch(t, mem, arrow.NewSchema([]arrow.Field{
			{Name: "trace_id", Type: arrow.BinaryTypes.String}, {Name: "body", Type: arrow.BinaryTypes.String},
			{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "created_at", Type: schema.Timestamp},
			{Name: "mood", Type: arrow.BinaryTypes.String},
		}, nil), `[{"id": "c", "trace_id": "t", "body": "b", "created_at": "2024-05-01T12:00:00Z", "mood": "x"}]`), codes.InvalidArgument, `"mood"`)
		f("missing column", "trace_comments", appendMode, batch(t, mem, arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "trace_id", Type: arrow.BinaryTypes.String},
			{Name: "created_at", Type: schema.Timestamp},
		}, nil), `[{"id": "c", "trace_id": "t", "created_at": "2024-05-01T12:00:00Z"}]`), codes.InvalidArgument, `"body"`)
		f("wrong type", "trace_comments", appendMode, batch(t, mem, arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "trace_id", Type: arrow.BinaryTypes.String},
			{Name: "body", Type: arrow.PrimitiveTypes.Int64}, {Name: "created_at", Type: schema.Timestamp},
		}, nil), `[{"id": "c", "trace_id": "t", "body": 7, "created_at": "2024-05-01T12:00:00Z"}]`), codes.InvalidArgument, `"body"`)
		f("null in NOT NULL", "trace_comments", appendMode, batch(t, mem, full.Schema(),
			`[{"id": "c", "trace_id": null, "body": "b", "created_at": "2024-05-01T12:00:00Z"}]`), codes.InvalidArgument, `"trace_id"`)
		f("overflow", "logs", appendMode, batch(t, mem, arrow.NewSchema([]arrow.Field{
			{Name: "timestamp", Type: schema.Timestamp}, {Name: "severity", Type: arrow.BinaryTypes.String},
			{Name: "severity_number", Type: arrow.PrimitiveTypes.Int64}, {Name: "service", Type: arrow.BinaryTypes.String},
		}, nil), `[{"timestamp": "2024-05-01T12:00:00Z", "severity": "x", "severity_number": 9999999999, "service": "s"}]`), codes.InvalidArgument, `"severity_number"`)
		if got := scalar(ctx, t, cl, "SELECT count(*) FROM trace_comments"); got != "0" {
			t.Fatalf("%s comments after refused ingests", got)
		}
		// The same batch in append mode goes in.
		if n, err := ingest(ctx, cl, "trace_comments", appendMode, full); err != nil || n != 1 {
			t.Fatalf("append: %d, %v", n, err)
		}
	})
}

func arrowUint(v uint64) string {
	b := array.NewUint64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.Append(v)
	a := b.NewArray()
	defer a.Release()
	return a.ValueStr(0)
}

func TestUpdates(t *testing.T) {
	ts := startEngineServer(t)
	cl := ts.client(t)
	ctx := testContext(t)

	n, err := cl.ExecuteUpdate(ctx, "INSERT INTO trace_comments (trace_id, author, body) VALUES ('t1', 'ann', 'slow db'), ('t1', 'bob', 'agreed')")
	if err != nil || n != 2 {
		t.Fatalf("insert: %d, %v", n, err)
	}
	// A prepared INSERT with parameter rows, through ADBC: one execution
	// per row.
	cnxn, cmem := adbcConn(t, ts, nil)
	stmt, err := cnxn.NewStatement()
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	if err := stmt.SetSqlQuery("INSERT INTO trace_comments (trace_id, body) VALUES (?, ?)"); err != nil {
		t.Fatal(err)
	}
	if err := stmt.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	rec := batch(t, cmem, arrow.NewSchema([]arrow.Field{
		{Name: "trace", Type: arrow.BinaryTypes.String}, {Name: "text", Type: arrow.BinaryTypes.String}}, nil),
		`[{"trace": "t2", "text": "one"}, {"trace": "t2", "text": "two"}, {"trace": "t3", "text": "three"}]`)
	if err := stmt.Bind(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if n, err := stmt.ExecuteUpdate(ctx); err != nil || n != 3 {
		t.Fatalf("prepared insert: %d, %v", n, err)
	}
	if got := scalar(ctx, t, cl, "SELECT count(*) FROM trace_comments"); got != "5" {
		t.Fatalf("%s comments", got)
	}
	if got := scalar(ctx, t, cl, "SELECT string_agg(body, ',' ORDER BY body) FROM trace_comments WHERE trace_id = 't2'"); got != "one,two" {
		t.Fatalf("t2 comments %q", got)
	}
	// Updates are refused as queries, and queries as updates.
	_, err = cl.Execute(ctx, "INSERT INTO trace_comments (trace_id, body) VALUES ('t', 'b')")
	wantCode(t, err, codes.InvalidArgument, "update")
	_, err = cl.ExecuteUpdate(ctx, "SELECT 1")
	wantCode(t, err, codes.InvalidArgument, "")
	_, err = cl.ExecuteUpdate(ctx, "INSERT INTO trace_comments (trace_id) VALUES ('no body')")
	wantCode(t, err, codes.InvalidArgument, "")
}
