package cold

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

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
	fs := make([]arrow.Field, t.Schema.NumFields())
	for i, f := range t.Schema.Fields() {
		f.Type = zoneless(f.Type)
		fs[i] = f
	}
	s := arrow.NewSchema(fs, nil)
	fileSchemas.Store(t.ID, s)
	return s
}

// zoneless returns dt with every timestamp, at any depth, without its zone.
func zoneless(dt arrow.DataType) arrow.DataType {
	switch t := dt.(type) {
	case *arrow.TimestampType:
		return &arrow.TimestampType{Unit: t.Unit}
	case *arrow.StructType:
		fs := make([]arrow.Field, t.NumFields())
		for i, f := range t.Fields() {
			f.Type = zoneless(f.Type)
			fs[i] = f
		}
		return arrow.StructOf(fs...)
	case *arrow.ListType:
		f := t.ElemField()
		f.Type = zoneless(f.Type)
		return arrow.ListOfField(f)
	case *arrow.MapType:
		m := arrow.MapOf(zoneless(t.KeyType()), zoneless(t.ItemType()))
		m.KeysSorted = t.KeysSorted
		return m
	}
	return dt
}

// relabel returns a as type to, which differs from a's type at most in
// timestamp zones, sharing a's buffers. The caller releases the result.
func relabel(a arrow.Array, to arrow.DataType) arrow.Array {
	if arrow.TypeEqual(a.DataType(), to) {
		a.Retain()
		return a
	}
	d := relabelData(a.Data(), to)
	defer d.Release()
	return array.MakeFromData(d)
}

func relabelData(d arrow.ArrayData, to arrow.DataType) arrow.ArrayData {
	var children []arrow.ArrayData
	switch t := to.(type) {
	case *arrow.StructType:
		for i, c := range d.Children() {
			children = append(children, relabelData(c, t.Field(i).Type))
		}
	case *arrow.ListType:
		children = []arrow.ArrayData{relabelData(d.Children()[0], t.Elem())}
	case *arrow.MapType:
		children = []arrow.ArrayData{relabelData(d.Children()[0], t.Elem())}
	default:
		children = d.Children()
		for _, c := range children {
			c.Retain()
		}
	}
	out := array.NewData(to, d.Len(), d.Buffers(), children, d.NullN(), d.Offset())
	for _, c := range children {
		c.Release()
	}
	return out
}

// relabelRecord returns rec with schema to (the same columns, timestamps
// relabelled). The caller releases the result.
func relabelRecord(rec arrow.RecordBatch, to *arrow.Schema) arrow.RecordBatch {
	cols := make([]arrow.Array, rec.NumCols())
	for i, c := range rec.Columns() {
		cols[i] = relabel(c, to.Field(i).Type)
	}
	out := array.NewRecordBatch(to, cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out
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
