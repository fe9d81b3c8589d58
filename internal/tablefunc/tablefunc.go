// Package tablefunc is the contract between tael's SQL engine and the
// packages that answer questions in Go (analytics, PromQL): a table function
// named in SQL, its arguments and its fixed result columns. The SQL engine
// (sql/duck) registers each Func with DuckDB; the packages that implement
// them need not import it.
package tablefunc

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Arg is one argument of a table function.
type Arg struct {
	Name string
	// Type is the argument's type: arrow.BinaryTypes.String (VARCHAR),
	// arrow.PrimitiveTypes.Int64 (BIGINT), arrow.PrimitiveTypes.Float64
	// (DOUBLE) or arrow.FixedWidthTypes.Timestamp_ns (TIMESTAMP, which
	// holds microseconds: finer times are truncated). SQL values are cast
	// to it before Call sees them; one that cannot be fails the query.
	Type arrow.DataType
	// Named makes the argument optional, passed as name := value in SQL.
	// Positional arguments are required and come first; their Name is
	// only for messages.
	Named bool
}

// Func is a table function: SELECT * FROM name(args…).
type Func struct {
	Name string
	Args []Arg
	// Result is the fixed schema of every batch Call returns. Column types
	// are those the SQL engine can fill: utf8, int64, int32, float64, bool,
	// timestamp[ns, UTC], list<utf8> and map<utf8, utf8>. A batch whose
	// column types differ fails the query.
	Result *arrow.Schema
	// Doc is a one-line description for the catalog and error messages.
	// (DuckDB's catalog does not hold it: its C API takes no description.)
	Doc string
	// Call computes the result when a query using the function runs: once
	// per scan of it, never when the query is only prepared. args holds one value per Arg
	// in order: string, int64, float64 or time.Time (UTC), or nil for SQL
	// NULL or a named argument not given. ctx is the calling query's: it
	// ends when the query is cancelled or times out, or its result is
	// released, and Call should return soon after. Call may run SQL through
	// the same engine with ctx (the engine gives such queries connections
	// of their own). mem allocates the batch, which the caller releases; a
	// nil batch is no rows. Errors, and panics, are reported to the SQL
	// client as the query's error.
	Call func(ctx context.Context, mem memory.Allocator, args []any) (arrow.RecordBatch, error)
	// Shadows lets the function take the name of a DuckDB built-in
	// (tael's summary(window, service) over DuckDB's summary(TABLE)): it
	// is registered under the name _tael_<Name>, behind a table macro
	// <Name> in tael's schema, which queries find before the built-in.
	// Without it a name DuckDB already has is refused.
	Shadows bool
}
