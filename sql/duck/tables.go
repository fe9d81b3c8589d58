package duck

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tael/tael/schema"
)

// columnDefs returns the column definitions of a CREATE TABLE for s.
func columnDefs(s *arrow.Schema) string {
	defs := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		defs[i] = ident(f.Name) + " " + SQLType(f.Type)
	}
	return strings.Join(defs, ", ")
}

// SQLType returns the DuckDB type that holds values of the Arrow type t
// (one of those tael's tables use). Every timestamp is TIMESTAMP_NS (see
// doc.go).
func SQLType(t arrow.DataType) string {
	switch t := t.(type) {
	case *arrow.StringType:
		return "VARCHAR"
	case *arrow.Int32Type:
		return "INTEGER"
	case *arrow.Int64Type:
		return "BIGINT"
	case *arrow.Uint64Type:
		return "UBIGINT"
	case *arrow.Float64Type:
		return "DOUBLE"
	case *arrow.BooleanType:
		return "BOOLEAN"
	case *arrow.TimestampType:
		return "TIMESTAMP_NS"
	case *arrow.MapType:
		return fmt.Sprintf("MAP(%s, %s)", SQLType(t.KeyType()), SQLType(t.ItemType()))
	case *arrow.ListType:
		return SQLType(t.Elem()) + "[]"
	case *arrow.StructType:
		fs := make([]string, t.NumFields())
		for i, f := range t.Fields() {
			fs[i] = ident(f.Name) + " " + SQLType(f.Type)
		}
		return "STRUCT(" + strings.Join(fs, ", ") + ")"
	}
	panic(fmt.Sprintf("BUG: no DuckDB type for Arrow type %s", t))
}

// viewSQL returns the statement that (re)creates table t's view over its
// _hot table and the cold files.
func viewSQL(t *schema.Table, files []string) string {
	cols := make([]string, t.Schema.NumFields())
	for i, f := range t.Schema.Fields() {
		cols[i] = ident(f.Name)
	}
	// The files hold the hot side's types (times as zone-less nanoseconds,
	// engine/cold/zone.go), so the Parquet side needs no cast, and a cast
	// would stand between DuckDB's filters and the files' row-group
	// statistics.
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE OR REPLACE VIEW main.%s AS SELECT %s FROM _hot.%s", ident(t.Name), strings.Join(cols, ", "), ident(t.Name))
	if len(files) > 0 {
		quoted := make([]string, len(files))
		for i, f := range files {
			quoted[i] = quote(f)
		}
		fmt.Fprintf(&b, " UNION ALL SELECT %s FROM read_parquet([%s])", strings.Join(cols, ", "), strings.Join(quoted, ", "))
	}
	return b.String()
}
