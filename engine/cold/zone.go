package cold

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/internal/arrowtime"
	"github.com/tael/tael/schema"
)

// Files store every time as a zone-less TIMESTAMP(NANOS) (isAdjustedToUTC
// false), holding UTC nanoseconds since the epoch: DuckDB reads a
// UTC-adjusted nanosecond timestamp as TIMESTAMP WITH TIME ZONE, which holds
// microseconds, so it would lose digits and convert every value (through its
// ICU extension) when the SQL layer casts it back (bench/sqlbench measured
// that cast as 63% of a query's CPU). Batches are relabelled between the
// table's timestamp[ns, UTC] and the file's timestamp[ns] without copying.

var fileSchemas sync.Map // schema.ID → *arrow.Schema

// fileSchema returns t's schema as its files store it.
func fileSchema(t *schema.Table) *arrow.Schema {
	if s, ok := fileSchemas.Load(t.ID); ok {
		return s.(*arrow.Schema)
	}
	s, _ := arrowtime.RetypeSchema(t.Schema, "")
	fileSchemas.Store(t.ID, s)
	return s
}

// relabel returns a as type to, which differs from a's type at most in
// timestamp zones, sharing a's buffers. The caller releases the result.
func relabel(a arrow.Array, to arrow.DataType) arrow.Array {
	// Nanoseconds to nanoseconds: nothing is allocated.
	return arrowtime.ConvertArray(memory.DefaultAllocator, a, to)
}

// relabelRecord returns rec with schema to (the same columns, timestamps
// relabelled). The caller releases the result.
func relabelRecord(rec arrow.RecordBatch, to *arrow.Schema) arrow.RecordBatch {
	return arrowtime.ConvertRecord(memory.DefaultAllocator, rec, to)
}

// sameColumns reports whether a and b have the same column names and types
// in the same order (nullability and metadata aside).
func sameColumns(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.NumFields() {
		if a.Field(i).Name != b.Field(i).Name || !arrow.TypeEqual(a.Field(i).Type, b.Field(i).Type) {
			return false
		}
	}
	return true
}
