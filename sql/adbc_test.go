package sql

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/apache/arrow-adbc/go/adbc"
	adbcflight "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	"github.com/apache/arrow-adbc/go/adbc/validation"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/suite"

	"github.com/tael/tael/sql/duck"
)

// taelQuirks describes tael to ADBC's validation suite: each test gets its
// own server over a fresh DuckDB, and the driver's and the server's Arrow
// memory are checked when it ends.
//
// What the suite cannot check on tael, and why (each such test is skipped
// with this reason, or skips itself through a quirk):
//
//   - ConnectionTests/TestMetadataGetTableSchema and
//     TestMetadataGetObjectsColumns create (and drop) a sample table: tael's
//     tables are fixed, CREATE TABLE and DROP TABLE are refused. The same
//     metadata paths (GetTables with schemas, GetObjects) are covered by
//     TestGrafanaSequence and TestADBCGetObjects on tael's own tables.
//   - StatementTests/TestSqlIngest*: SupportsBulkIngest is false because the
//     suite ingests into a table "bulk_ingest" it creates (modes create,
//     replace, create_append). tael appends to its existing tables only;
//     TestIngest covers that with ADBC's append mode.
//   - Transactions: tael has none (SupportsTransactions false); the suite
//     then checks that commit and rollback fail with INVALID_STATE.
//   - Statistics: not supported (SupportsStatistics false).
//
// Failing today, because of the Backend (sql/duck), not this server:
//
//   - StatementTests/TestSQLPrepareGetParameterSchema,
//     TestSQLPrepareSelectParams and TestSqlPrepareErrorParamCountMismatch
//     prepare "SELECT ?, ?". DuckDB cannot type those result columns before
//     parameters are bound (LogicalType UNKNOWN), and duck.DB.Prepare fails
//     converting that to Arrow ("Unsupported Arrow type UNKNOWN") instead of
//     describing such columns as arrow.Null, as it does for parameters.
//     TestPreparedUntypedResult runs the same flow over a Backend that
//     describes them as null, and passes: the server then announces no
//     schema for the bound execution and streams the runs as one result.
type taelQuirks struct {
	t   *testing.T
	ts  *testServer
	mem *memory.CheckedAllocator
}

func (q *taelQuirks) SetupDriver(t *testing.T) adbc.Driver {
	q.t = t
	q.ts = startServer(t, Options{Version: "test"})
	q.mem = memory.NewCheckedAllocator(memory.NewGoAllocator())
	mem := q.mem
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return adbcflight.NewDriver(q.mem)
}

func (q *taelQuirks) TearDownDriver(*testing.T, adbc.Driver) {}

func (q *taelQuirks) DatabaseOptions() map[string]string {
	return map[string]string{adbc.OptionKeyURI: "grpc+tcp://" + q.ts.addr}
}

func (q *taelQuirks) BindParameter(int) string { return "?" }

func (q *taelQuirks) SupportsBulkIngest(string) bool              { return false }
func (q *taelQuirks) SupportsConcurrentStatements() bool          { return true }
func (q *taelQuirks) SupportsCurrentCatalogSchema() bool          { return true }
func (q *taelQuirks) SupportsGetSetOptions() bool                 { return true }
func (q *taelQuirks) SupportsExecuteSchema() bool                 { return true }
func (q *taelQuirks) SupportsPartitionedData() bool               { return true }
func (q *taelQuirks) SupportsStatistics() bool                    { return false }
func (q *taelQuirks) SupportsTransactions() bool                  { return false }
func (q *taelQuirks) SupportsGetParameterSchema() bool            { return true }
func (q *taelQuirks) SupportsDynamicParameterBinding() bool       { return true }
func (q *taelQuirks) SupportsErrorIngestIncompatibleSchema() bool { return true }

// GetMetadata returns what the driver and tael report. The driver reads its
// own versions from the build info, as below.
func (q *taelQuirks) GetMetadata(code adbc.InfoCode) interface{} {
	const unknown = "(unknown or development build)"
	switch code {
	case adbc.InfoDriverName:
		return "ADBC Flight SQL Driver - Go"
	case adbc.InfoDriverVersion:
		return unknown
	case adbc.InfoDriverArrowVersion:
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, dep := range info.Deps {
				if strings.HasPrefix(dep.Path, "github.com/apache/arrow-go/") {
					return dep.Version
				}
			}
		}
		return unknown
	case adbc.InfoDriverADBCVersion:
		return adbc.AdbcVersion1_1_0
	case adbc.InfoVendorName:
		return "tael"
	case adbc.InfoVendorVersion:
		return "test"
	case adbc.InfoVendorArrowVersion:
		return arrow.PkgVersion
	}
	return nil
}

func (q *taelQuirks) CreateSampleTable(string, arrow.RecordBatch) error {
	q.t.Skip("unsupported: CREATE TABLE (tael's tables are fixed; the suite's sample table cannot be made)")
	return nil
}

func (q *taelQuirks) DropTable(adbc.Connection, string) error {
	q.t.Skip("unsupported: DROP TABLE (tael's tables are fixed)")
	return nil
}

func (q *taelQuirks) SampleTableSchemaMetadata(string, arrow.DataType) arrow.Metadata {
	return arrow.Metadata{}
}

func (q *taelQuirks) Catalog() string         { return "tael" }
func (q *taelQuirks) DBSchema() string        { return "main" }
func (q *taelQuirks) Alloc() memory.Allocator { return q.mem }

func TestADBCValidation(t *testing.T) {
	q := &taelQuirks{}
	suite.Run(t, &validation.DatabaseTests{Quirks: q})
	suite.Run(t, &validation.ConnectionTests{Quirks: q})
	suite.Run(t, &validation.StatementTests{Quirks: q})
}

// adbcConn opens an ADBC Flight SQL connection to ts, closed when t ends.
func adbcConn(t *testing.T, ts *testServer, opts map[string]string) (adbc.Connection, *memory.CheckedAllocator) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	o := map[string]string{adbc.OptionKeyURI: "grpc+tcp://" + ts.addr}
	for k, v := range opts {
		o[k] = v
	}
	db, err := adbcflight.NewDriver(mem).NewDatabase(o)
	if err != nil {
		t.Fatal(err)
	}
	cnxn, err := db.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cnxn.Close(); err != nil {
			t.Error(err)
		}
		if err := db.Close(); err != nil {
			t.Error(err)
		}
		mem.AssertSize(t, 0)
	})
	return cnxn, mem
}

// collect reads every row of rdr as strings, one per column.
func collect(t *testing.T, rdr array.RecordReader) [][]string {
	t.Helper()
	defer rdr.Release()
	var rows [][]string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := range int(rec.NumRows()) {
			row := make([]string, rec.NumCols())
			for c := range row {
				row[c] = rec.Column(c).ValueStr(i)
			}
			rows = append(rows, row)
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestADBCPreparedParameters(t *testing.T) {
	ts := startServer(t, Options{})
	cnxn, mem := adbcConn(t, ts, nil)
	ctx := testContext(t)
	stmt, err := cnxn.NewStatement()
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	if err := stmt.SetSqlQuery("SELECT x, 'v' || x AS s FROM range(10) t(x) WHERE x >= ? AND x < ? ORDER BY x"); err != nil {
		t.Fatal(err)
	}
	if err := stmt.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	ps, err := stmt.GetParameterSchema()
	if err != nil {
		t.Fatal(err)
	}
	if ps.NumFields() != 2 || ps.Field(0).Type.ID() != arrow.INT64 {
		t.Fatalf("parameter schema %s", ps)
	}
	bind := func(pairs ...int64) {
		t.Helper()
		b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
			{Name: "lo", Type: arrow.PrimitiveTypes.Int64}, {Name: "hi", Type: arrow.PrimitiveTypes.Int64}}, nil))
		defer b.Release()
		for i := 0; i < len(pairs); i += 2 {
			b.Field(0).(*array.Int64Builder).Append(pairs[i])
			b.Field(1).(*array.Int64Builder).Append(pairs[i+1])
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		if err := stmt.Bind(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	run := func() string {
		t.Helper()
		rdr, _, err := stmt.ExecuteQuery(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range collect(t, rdr) {
			out = append(out, r[0]+"/"+r[1])
		}
		return strings.Join(out, " ")
	}
	// One parameter row: one execution.
	bind(2, 4)
	if got := run(); got != "2/v2 3/v3" {
		t.Fatalf("(2,4): %q", got)
	}
	// Two rows: two executions, one result.
	bind(1, 2, 7, 9)
	if got := run(); got != "1/v1 7/v7 8/v8" {
		t.Fatalf("(1,2),(7,9): %q", got)
	}
	// The bound values stay for the next execution.
	if got := run(); got != "1/v1 7/v7 8/v8" {
		t.Fatalf("re-run: %q", got)
	}
}

// TestADBCGetObjects lists tael's tables and columns through ADBC's
// GetObjects (GetCatalogs, GetDbSchemas, GetTables with schemas).
func TestADBCGetObjects(t *testing.T) {
	ts := startServer(t, Options{})
	cnxn, _ := adbcConn(t, ts, nil)
	ctx := testContext(t)
	col := "trace%"
	tbl := "spans"
	rdr, err := cnxn.GetObjects(ctx, adbc.ObjectDepthColumns, nil, nil, &tbl, &col, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	var found []string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		cats := rec.Column(0).(*array.String)
		schemas := rec.Column(1).(*array.List)
		sv := schemas.ListValues().(*array.Struct)
		tables := sv.Field(1).(*array.List)
		tv := tables.ListValues().(*array.Struct)
		cols := tv.Field(2).(*array.List)
		cv := cols.ListValues().(*array.Struct)
		for r := range int(rec.NumRows()) {
			s0, s1 := schemas.ValueOffsets(r)
			for s := s0; s < s1; s++ {
				t0, t1 := tables.ValueOffsets(int(s))
				for ti := t0; ti < t1; ti++ {
					c0, c1 := cols.ValueOffsets(int(ti))
					for c := c0; c < c1; c++ {
						found = append(found, cats.Value(r)+"."+sv.Field(0).(*array.String).Value(int(s))+"."+
							tv.Field(0).(*array.String).Value(int(ti))+"."+cv.Field(0).(*array.String).Value(int(c)))
					}
				}
			}
		}
	}
	if got := strings.Join(found, " "); got != "tael.main.spans.trace_id tael.main.spans.trace_state" {
		t.Fatalf("GetObjects: %q", got)
	}
}

// untypedParams is a Backend that describes "SELECT ?, ?" as DuckDB would
// if it typed what it cannot infer as null: a statement whose result types
// come from its parameters.
type untypedParams struct{ Backend }

func (b untypedParams) Prepare(ctx context.Context, q string) (*duck.Statement, error) {
	if q != "SELECT ?, ?" {
		return b.Backend.Prepare(ctx, q)
	}
	null := func(names ...string) *arrow.Schema {
		fs := make([]arrow.Field, len(names))
		for i, n := range names {
			fs[i] = arrow.Field{Name: n, Type: arrow.Null, Nullable: true}
		}
		return arrow.NewSchema(fs, nil)
	}
	return &duck.Statement{Kind: duck.KindQuery, Schema: null("$1", "$2"), Params: null("1", "2")}, nil
}

// TestPreparedUntypedResult binds rows with nulls to a statement whose
// result types come from its parameters (the suite's
// TestSQLPrepareSelectParams): the runs' results form one stream, a NULL
// parameter's column (DuckDB types it INTEGER) taking the other runs' type.
func TestPreparedUntypedResult(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := duck.Open(duck.Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after the server has stopped.
	t.Cleanup(func() {
		db.Close()
		mem.AssertSize(t, 0)
	})
	ts := startServer(t, Options{Backend: untypedParams{db}, Allocator: mem})
	cnxn, cmem := adbcConn(t, ts, nil)
	ctx := testContext(t)
	stmt, err := cnxn.NewStatement()
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	if err := stmt.SetSqlQuery("SELECT ?, ?"); err != nil {
		t.Fatal(err)
	}
	if err := stmt.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(cmem, arrow.NewSchema([]arrow.Field{
		{Name: "int64s", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "strings", Type: arrow.BinaryTypes.String, Nullable: true}}, nil))
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{42, -42, 0}, []bool{true, true, false})
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"", "", "bar"}, []bool{true, false, true})
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := stmt.Bind(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rdr, _, err := stmt.ExecuteQuery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sc := rdr.Schema(); sc.Field(0).Type.ID() != arrow.INT64 || sc.Field(1).Type.ID() != arrow.STRING {
		t.Fatalf("schema %s", sc)
	}
	got := collect(t, rdr)
	if want := [][]string{{"42", ""}, {"-42", "(null)"}, {"(null)", "bar"}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rows %q, want %q", got, want)
	}
}
