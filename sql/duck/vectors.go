package duck

import (
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	bindings "github.com/duckdb/duckdb-go-bindings"
)

// copyColumn writes rows [src, src+n) of arr to the DuckDB vector vec
// from row dst on. vec has the type resultType gives arr's, and room for
// dst+n rows (a chunk's vectors hold chunkRows; a list's child is
// reserved by copyList).
func copyColumn(vec bindings.Vector, dst int, arr arrow.Array, src, n int) error {
	if n == 0 {
		return nil
	}
	if arr.NullN() > 0 {
		setNulls(vec, dst, arr, src, n)
	}
	data := bindings.VectorGetData(vec)
	switch a := arr.(type) {
	case *array.String:
		for i := range n {
			if a.IsValid(src + i) {
				bindings.VectorAssignStringElement(vec, bindings.IdxT(dst+i), a.Value(src+i))
			}
		}
	case *array.Int64:
		copy(unsafe.Slice((*int64)(data), dst+n)[dst:], a.Int64Values()[src:src+n])
	case *array.Int32:
		copy(unsafe.Slice((*int32)(data), dst+n)[dst:], a.Int32Values()[src:src+n])
	case *array.Float64:
		copy(unsafe.Slice((*float64)(data), dst+n)[dst:], a.Float64Values()[src:src+n])
	case *array.Timestamp:
		copy(unsafe.Slice((*arrow.Timestamp)(data), dst+n)[dst:], a.TimestampValues()[src:src+n])
	case *array.Boolean:
		out := unsafe.Slice((*bool)(data), dst+n)[dst:]
		for i := range n {
			out[i] = a.Value(src + i)
		}
	case *array.Map:
		return copyList(vec, dst, a.List, src, n, func(child bindings.Vector, dst, src, n int) error {
			if err := copyColumn(bindings.StructVectorGetChild(child, 0), dst, a.Keys(), src, n); err != nil {
				return err
			}
			return copyColumn(bindings.StructVectorGetChild(child, 1), dst, a.Items(), src, n)
		})
	case *array.List:
		return copyList(vec, dst, a, src, n, func(child bindings.Vector, dst, src, n int) error {
			return copyColumn(child, dst, a.ListValues(), src, n)
		})
	default:
		panic(fmt.Sprintf("BUG: no copy to DuckDB for Arrow type %s", arr.DataType()))
	}
	return nil
}

// setNulls marks the null rows of arr's [src, src+n) invalid in vec's
// validity mask (a bit per row, set when valid), from row dst on.
func setNulls(vec bindings.Vector, dst int, arr arrow.Array, src, n int) {
	bindings.VectorEnsureValidityWritable(vec)
	mask := unsafe.Slice((*uint64)(bindings.VectorGetValidity(vec)), (dst+n+63)/64)
	for i := range n {
		if arr.IsNull(src + i) {
			r := dst + i
			mask[r/64] &^= 1 << (r % 64)
		}
	}
}

// copyList writes lists [src, src+n) of a to the list vector vec from row
// dst on: it appends their elements to vec's child with fill, and points
// each row's entry (offset, length) at them.
func copyList(vec bindings.Vector, dst int, a *array.List, src, n int, fill func(child bindings.Vector, dst, src, n int) error) error {
	base := int(bindings.ListVectorGetSize(vec))
	first, _ := a.ValueOffsets(src)
	_, last := a.ValueOffsets(src + n - 1)
	total := int(last - first)
	if bindings.ListVectorReserve(vec, bindings.IdxT(base+total)) == bindings.StateError ||
		bindings.ListVectorSetSize(vec, bindings.IdxT(base+total)) == bindings.StateError {
		return fmt.Errorf("duck: cannot grow a list vector to %d elements", base+total)
	}
	entries := unsafe.Slice((*bindings.ListEntry)(bindings.VectorGetData(vec)), dst+n)[dst:]
	for i := range n {
		start, end := a.ValueOffsets(src + i)
		entries[i] = bindings.NewListEntry(uint64(base)+uint64(start-first), uint64(end-start))
	}
	return fill(bindings.ListVectorGetChild(vec), base, int(first), total)
}
