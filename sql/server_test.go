package sql

import (
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	"google.golang.org/grpc/codes"

	"github.com/tael/tael/schema"
)

// decodeSqlInfo decodes GetSqlInfo batches into id → value (string, bool,
// int64, int32, []string or map[int32][]int32).
func decodeSqlInfo(t *testing.T, recs []arrow.RecordBatch) map[flightsql.SqlInfo]any {
	t.Helper()
	out := map[flightsql.SqlInfo]any{}
	for _, rec := range recs {
		if !rec.Schema().Equal(schema_ref.SqlInfo) {
			t.Fatalf("SqlInfo schema %s", rec.Schema())
		}
		ids := rec.Column(0).(*array.Uint32)
		vals := rec.Column(1).(*array.DenseUnion)
		for i := range int(rec.NumRows()) {
			off := int(vals.ValueOffset(i))
			var v any
			switch child := vals.Field(vals.ChildID(i)).(type) {
			case *array.String:
				v = child.Value(off)
			case *array.Boolean:
				v = child.Value(off)
			case *array.Int64:
				v = child.Value(off)
			case *array.Int32:
				v = child.Value(off)
			case *array.List:
				start, end := child.ValueOffsets(off)
				strs := child.ListValues().(*array.String)
				var l []string
				for j := start; j < end; j++ {
					l = append(l, strs.Value(int(j)))
				}
				v = l
			case *array.Map:
				m := map[int32][]int32{}
				keys := child.Keys().(*array.Int32)
				items := child.Items().(*array.List)
				start, end := child.ValueOffsets(off)
				for j := start; j < end; j++ {
					s, e := items.ValueOffsets(int(j))
					ints := items.ListValues().(*array.Int32)
					for k := s; k < e; k++ {
						m[keys.Value(int(j))] = append(m[keys.Value(int(j))], ints.Value(int(k)))
					}
				}
				v = m
			default:
				t.Fatalf("SqlInfo %d: unexpected value type %s", ids.Value(i), child.DataType())
			}
			out[flightsql.SqlInfo(ids.Value(i))] = v
		}
	}
	return out
}

// TestGrafanaSequence replays what Grafana's Flight SQL data source does:
// a health check (select 1), GetSqlInfo for everything, GetTables by type
// and with schemas for its query builder, then a query.
func TestGrafanaSequence(t *testing.T) {
	ts := startServer(t, Options{Version: "1.2.3"})
	cl := ts.client(t)
	ctx := testContext(t)

	sc, recs, err := query(ctx, t, cl, "select 1")
	if err != nil {
		t.Fatal(err)
	}
	if sc.NumFields() != 1 || rowCount(recs) != 1 {
		t.Fatalf("select 1: %s, %d rows", sc, rowCount(recs))
	}

	info, err := cl.GetSqlInfo(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Endpoint) != 1 {
		t.Fatalf("GetSqlInfo: %d endpoints", len(info.Endpoint))
	}
	_, recs, err = readAll(ctx, t, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	si := decodeSqlInfo(t, recs)
	for id, want := range map[flightsql.SqlInfo]any{
		flightsql.SqlInfoFlightSqlServerName:             "tael",
		flightsql.SqlInfoFlightSqlServerVersion:          "1.2.3",
		flightsql.SqlInfoFlightSqlServerArrowVersion:     arrow.PkgVersion,
		flightsql.SqlInfoFlightSqlServerReadOnly:         true,
		flightsql.SqlInfoFlightSqlServerSql:              true,
		flightsql.SqlInfoFlightSqlServerSubstrait:        false,
		flightsql.SqlInfoFlightSqlServerCancel:           true,
		flightsql.SqlInfoFlightSqlServerTransaction:      int32(flightsql.SqlTransactionNone),
		flightsql.SqlInfoFlightSqlServerStatementTimeout: int32(1800000),
		flightsql.SqlInfoIdentifierQuoteChar:             `"`,
		flightsql.SqlInfoIdentifierCase:                  int64(flightsql.SqlCaseSensitivityCaseInsensitive),
		flightsql.SqlInfoTransactionsSupported:           false,
		flightsql.SqlInfoMaxColumnNameLen:                int64(0),
	} {
		if got := si[id]; got != want {
			t.Errorf("SqlInfo %s = %#v, want %#v", id, got, want)
		}
	}
	for _, id := range []flightsql.SqlInfo{flightsql.SqlInfoKeywords, flightsql.SqlInfoNumericFunctions,
		flightsql.SqlInfoStringFunctions, flightsql.SqlInfoSystemFunctions, flightsql.SqlInfoDateTimeFunctions} {
		l, _ := si[id].([]string)
		if len(l) == 0 {
			t.Errorf("SqlInfo %s is empty", id)
		}
	}
	if kw := si[flightsql.SqlInfoKeywords].([]string); !slices.Contains(kw, "SELECT") {
		t.Errorf("keywords lack SELECT: %v", kw[:10])
	}
	if !slices.Contains(si[flightsql.SqlInfoNumericFunctions].([]string), "ABS") ||
		!slices.Contains(si[flightsql.SqlInfoStringFunctions].([]string), "LOWER") ||
		!slices.Contains(si[flightsql.SqlInfoDateTimeFunctions].([]string), "DATE_TRUNC") ||
		!slices.Contains(si[flightsql.SqlInfoSystemFunctions].([]string), "CURRENT_SCHEMA") {
		t.Errorf("function lists miss ABS, LOWER, DATE_TRUNC or CURRENT_SCHEMA")
	}
	if m, _ := si[flightsql.SqlInfoSupportsConvert].(map[int32][]int32); len(m) == 0 {
		t.Errorf("SupportsConvert is empty")
	}

	// A subset: unknown ids are left out, not an error.
	info, err = cl.GetSqlInfo(ctx, []flightsql.SqlInfo{flightsql.SqlInfoFlightSqlServerName, flightsql.SqlInfoFlightSqlServerSubstraitMinVersion})
	if err != nil {
		t.Fatal(err)
	}
	_, recs, err = readAll(ctx, t, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	if si := decodeSqlInfo(t, recs); len(si) != 1 || si[flightsql.SqlInfoFlightSqlServerName] != "tael" {
		t.Errorf("GetSqlInfo(name, substrait min) = %v", si)
	}

	// Tables by type, without schemas.
	info, err = cl.GetTables(ctx, &flightsql.GetTablesOpts{TableTypes: []string{"TABLE"}})
	if err != nil {
		t.Fatal(err)
	}
	sc, recs, err = readAll(ctx, t, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Equal(schema_ref.Tables) {
		t.Fatalf("GetTables schema %s", sc)
	}
	var names []string
	for _, rec := range recs {
		for i := range int(rec.NumRows()) {
			names = append(names, rec.Column(2).(*array.String).Value(i))
			if c := rec.Column(0).(*array.String).Value(i); c != "tael" {
				t.Errorf("catalog %q", c)
			}
			if s := rec.Column(1).(*array.String).Value(i); s != "main" {
				t.Errorf("schema %q", s)
			}
			if ty := rec.Column(3).(*array.String).Value(i); ty != "TABLE" {
				t.Errorf("table type %q", ty)
			}
		}
	}
	var want []string
	for _, tb := range schema.Tables() {
		want = append(want, tb.Name)
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("tables %v, want %v", names, want)
	}

	// Views: none.
	info, err = cl.GetTables(ctx, &flightsql.GetTablesOpts{TableTypes: []string{"VIEW"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, recs, err = readAll(ctx, t, cl, info); err != nil || rowCount(recs) != 0 {
		t.Fatalf("views: %d rows, %v", rowCount(recs), err)
	}

	// With schemas: every table_schema decodes to the table's columns.
	info, err = cl.GetTables(ctx, &flightsql.GetTablesOpts{IncludeSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	sc, recs, err = readAll(ctx, t, cl, info)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Equal(schema_ref.TablesWithIncludedSchema) {
		t.Fatalf("GetTables(include schema) schema %s", sc)
	}
	seen := 0
	for _, rec := range recs {
		for i := range int(rec.NumRows()) {
			name := rec.Column(2).(*array.String).Value(i)
			tb, err := schema.ByName(name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := flight.DeserializeSchema(rec.Column(4).(*array.Binary).Value(i), ts.mem)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !sameColumns(got, tb.Schema) {
				t.Errorf("%s: schema\n%s\nwant\n%s", name, got, tb.Schema)
			}
			if tn, ok := got.Field(0).Metadata.GetValue(flightsql.TypeNameKey); !ok || tn == "" {
				t.Errorf("%s: no type name metadata", name)
			}
			seen++
		}
	}
	if seen != len(schema.Tables()) {
		t.Fatalf("%d table schemas, want %d", seen, len(schema.Tables()))
	}

	// The query Grafana's builder would send.
	sc, recs, err = query(ctx, t, cl, `SELECT service, count(*) AS n FROM spans GROUP BY service`)
	if err != nil {
		t.Fatal(err)
	}
	if sc.NumFields() != 2 || sc.Field(0).Type.ID() != arrow.STRING || rowCount(recs) != 0 {
		t.Fatalf("spans query: %s, %d rows", sc, rowCount(recs))
	}
}

// sameColumns compares names, types and nullability, not metadata.
func sameColumns(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.NumFields() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Nullable != fb.Nullable || !arrow.TypeEqual(fa.Type, fb.Type) {
			return false
		}
	}
	return true
}

func TestCatalogFilters(t *testing.T) {
	ts := startServer(t, Options{})
	cl := ts.client(t)
	ctx := testContext(t)
	str := func(s string) *string { return &s }
	tables := func(o *flightsql.GetTablesOpts) []string {
		t.Helper()
		info, err := cl.GetTables(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		_, recs, err := readAll(ctx, t, cl, info)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, rec := range recs {
			for i := range int(rec.NumRows()) {
				out = append(out, rec.Column(2).(*array.String).Value(i))
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		opts *flightsql.GetTablesOpts
		want string
	}{
		{"all", &flightsql.GetTablesOpts{}, "llm_payloads logs metrics metrics_5m spans trace_comments"},
		{"catalog", &flightsql.GetTablesOpts{Catalog: str("tael")}, "llm_payloads logs metrics metrics_5m spans trace_comments"},
		{"other catalog", &flightsql.GetTablesOpts{Catalog: str("memory")}, ""},
		{"schema pattern", &flightsql.GetTablesOpts{DbSchemaFilterPattern: str("ma%")}, "llm_payloads logs metrics metrics_5m spans trace_comments"},
		{"other schema", &flightsql.GetTablesOpts{DbSchemaFilterPattern: str("public")}, ""},
		{"name pattern", &flightsql.GetTablesOpts{TableNameFilterPattern: str("metric%")}, "metrics metrics_5m"},
		{"underscore", &flightsql.GetTablesOpts{TableNameFilterPattern: str("l_gs")}, "logs"},
		{"escape", &flightsql.GetTablesOpts{TableNameFilterPattern: str(`metrics\_%`)}, "metrics_5m"},
		{"case", &flightsql.GetTablesOpts{TableNameFilterPattern: str("SPANS")}, "spans"},
		{"view", &flightsql.GetTablesOpts{TableTypes: []string{"VIEW"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(tables(tc.opts), " "); got != tc.want {
				t.Errorf("tables %q, want %q", got, tc.want)
			}
		})
	}

	info, err := cl.GetDBSchemas(ctx, &flightsql.GetDBSchemasOpts{DbSchemaFilterPattern: str("m_in")})
	if err != nil {
		t.Fatal(err)
	}
	_, recs, err := readAll(ctx, t, cl, info)
	if err != nil || rowCount(recs) != 1 || recs[0].Column(1).(*array.String).Value(0) != "main" {
		t.Fatalf("GetDBSchemas: %v, %v", recs, err)
	}
	info, err = cl.GetDBSchemas(ctx, &flightsql.GetDBSchemasOpts{DbSchemaFilterPattern: str("x%")})
	if err != nil {
		t.Fatal(err)
	}
	if _, recs, err = readAll(ctx, t, cl, info); err != nil || rowCount(recs) != 0 {
		t.Fatalf("GetDBSchemas(x%%): %d rows, %v", rowCount(recs), err)
	}
	info, err = cl.GetCatalogs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, recs, err = readAll(ctx, t, cl, info); err != nil || rowCount(recs) != 1 || recs[0].Column(0).(*array.String).Value(0) != "tael" {
		t.Fatalf("GetCatalogs: %v, %v", recs, err)
	}
	info, err = cl.GetTableTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, recs, err = readAll(ctx, t, cl, info); err != nil || rowCount(recs) != 2 {
		t.Fatalf("GetTableTypes: %v, %v", recs, err)
	}
	for _, f := range []func() (*flight.FlightInfo, error){
		func() (*flight.FlightInfo, error) { return cl.GetPrimaryKeys(ctx, flightsql.TableRef{Table: "spans"}) },
		func() (*flight.FlightInfo, error) { return cl.GetImportedKeys(ctx, flightsql.TableRef{Table: "spans"}) },
		func() (*flight.FlightInfo, error) { return cl.GetExportedKeys(ctx, flightsql.TableRef{Table: "spans"}) },
		func() (*flight.FlightInfo, error) {
			return cl.GetCrossReference(ctx, flightsql.TableRef{Table: "spans"}, flightsql.TableRef{Table: "logs"})
		},
	} {
		info, err := f()
		if err != nil {
			t.Fatal(err)
		}
		if _, recs, err := readAll(ctx, t, cl, info); err != nil || rowCount(recs) != 0 {
			t.Fatalf("keys: %d rows, %v", rowCount(recs), err)
		}
	}
	// XDBC type info: all, and filtered by data type.
	info, err = cl.GetXdbcTypeInfo(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, recs, err = readAll(ctx, t, cl, info); err != nil || rowCount(recs) != int64(len(xdbcTypes)) {
		t.Fatalf("GetXdbcTypeInfo: %d rows, %v", rowCount(recs), err)
	}
	bigint := int32(jdbcBigInt)
	info, err = cl.GetXdbcTypeInfo(ctx, &bigint)
	if err != nil {
		t.Fatal(err)
	}
	if _, recs, err = readAll(ctx, t, cl, info); err != nil || rowCount(recs) != 2 {
		t.Fatalf("GetXdbcTypeInfo(BIGINT): %d rows, %v", rowCount(recs), err)
	}
}

func TestLikeMatch(t *testing.T) {
	f := func(p, s string, want bool) {
		t.Helper()
		if got := likeMatch(p, s); got != want {
			t.Errorf("likeMatch(%q, %q) = %v", p, s, got)
		}
	}
	f("%", "", true)
	f("%", "spans", true)
	f("", "spans", false)
	f("spans", "spans", true)
	f("SPANS", "spans", true)
	f("sp%", "spans", true)
	f("%ns", "spans", true)
	f("%a%", "spans", true)
	f("s_ans", "spans", true)
	f("s_ns", "spans", false)
	f("%_5m", "metrics_5m", true)
	f(`metrics\_5m`, "metrics_5m", true)
	f(`metrics\_5m`, "metricsx5m", false)
	f(`a\%`, "a%", true)
	f(`a\%`, "ab", false)
	f("%%%s", "spans", true)
	f("s%s%s", "spans", false)
	f("ü_", "üx", true)
}

func TestErrors(t *testing.T) {
	ts := startServer(t, Options{})
	cl := ts.client(t)
	ctx := testContext(t)

	t.Run("bad SQL", func(t *testing.T) {
		_, err := cl.Execute(ctx, "SELEC 1")
		wantCode(t, err, codes.InvalidArgument, `syntax error at or near "SELEC"`)
		_, err = cl.Execute(ctx, "SELECT nope FROM spans")
		wantCode(t, err, codes.InvalidArgument, "nope")
	})
	for _, q := range []string{
		"CREATE TABLE x (a INT)",
		"COPY spans TO '/tmp/x.parquet'",
		"ATTACH '/tmp/x.db' AS x",
		"DROP TABLE spans",
		"INSERT INTO spans (trace_id) VALUES ('x')",
		"SET threads = 1",
	} {
		t.Run("write "+q, func(t *testing.T) {
			_, err := cl.Execute(ctx, q)
			wantCode(t, err, codes.InvalidArgument, "")
			_, err = cl.ExecuteUpdate(ctx, q)
			wantCode(t, err, codes.InvalidArgument, "")
		})
	}
	t.Run("malformed ticket", func(t *testing.T) {
		for _, raw := range [][]byte{nil, []byte("garbage"), []byte("tq\x01\x01short")} {
			tk, err := flightsql.CreateStatementQueryTicket(raw)
			if err != nil {
				t.Fatal(err)
			}
			rdr, err := cl.DoGet(ctx, &flight.Ticket{Ticket: tk})
			if err == nil {
				for rdr.Next() {
				}
				err = rdr.Err()
				rdr.Release()
			}
			wantCode(t, err, codes.InvalidArgument, "malformed ticket")
		}
		// Not even a Flight SQL ticket.
		rdr, err := cl.DoGet(ctx, &flight.Ticket{Ticket: []byte{0xff, 0x01}})
		if err == nil {
			for rdr.Next() {
			}
			err = rdr.Err()
			rdr.Release()
		}
		wantCode(t, err, codes.InvalidArgument, "")
	})
	t.Run("transactions", func(t *testing.T) {
		_, err := cl.BeginTransaction(ctx)
		wantCode(t, err, codes.Unimplemented, "")
	})
	t.Run("no ingest", func(t *testing.T) {
		rec := array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 0)
		defer rec.Release()
		rdr, _ := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
		defer rdr.Release()
		_, err := cl.ExecuteIngest(ctx, rdr, &flightsql.ExecuteIngestOpts{Table: "spans", TableDefinitionOptions: &flightsql.TableDefinitionOptions{
			IfExists: flightsql.TableDefinitionOptionsTableExistsOptionAppend,
		}})
		wantCode(t, err, codes.Unimplemented, "bulk ingest")
	})
}
