package cold

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// gather returns a new array holding a's values at idx, in that order.
// Strings, fixed-width numbers and maps of strings are copied directly;
// other types go through compute.TakeArray, which for strings and maps
// costs 3–4 times as much (BenchmarkWriteSpans: it was 40% of a Write).
func gather(ctx context.Context, mem memory.Allocator, a arrow.Array, idx []int32) (arrow.Array, error) {
	d, err := gatherData(ctx, mem, a, idx)
	if err != nil {
		return nil, err
	}
	defer d.Release()
	return array.MakeFromData(d), nil
}

func gatherData(ctx context.Context, mem memory.Allocator, a arrow.Array, idx []int32) (arrow.ArrayData, error) {
	switch a := a.(type) {
	case *array.String:
		return gatherString(mem, a, idx), nil
	case *array.Int32:
		return gatherFixed(mem, a, a.Int32Values(), idx), nil
	case *array.Int64:
		return gatherFixed(mem, a, a.Int64Values(), idx), nil
	case *array.Uint64:
		return gatherFixed(mem, a, a.Uint64Values(), idx), nil
	case *array.Float64:
		return gatherFixed(mem, a, a.Float64Values(), idx), nil
	case *array.Timestamp:
		return gatherFixed(mem, a, a.TimestampValues(), idx), nil
	case *array.Map:
		if _, ok := a.Keys().(*array.String); ok {
			if _, ok := a.Items().(*array.String); ok {
				return gatherMap(ctx, mem, a, idx)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ind := int32Array(mem, idx)
	defer ind.Release()
	// Not ctx: arrow-go's take kernels leak their buffers when their
	// context is cancelled mid-way (seen in engine's TestCrashRecovery). A
	// take of one row group is short; ctx is checked between columns.
	out, err := compute.TakeArray(compute.WithAllocator(context.Background(), mem), a, ind)
	if err != nil {
		return nil, fmt.Errorf("take %s: %w", a.DataType(), err)
	}
	defer out.Release()
	d := out.Data()
	d.Retain()
	return d, nil
}

// int32Array returns idx as an Arrow array.
func int32Array(mem memory.Allocator, idx []int32) arrow.Array {
	b := array.NewInt32Builder(mem)
	defer b.Release()
	b.AppendValues(idx, nil)
	return b.NewArray()
}

// gatherValidity returns the validity bitmap of a's rows idx and its null
// count, or nil when a has no nulls.
func gatherValidity(mem memory.Allocator, a arrow.Array, idx []int32) (*memory.Buffer, int) {
	if a.NullN() == 0 {
		return nil, 0
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(len(idx)))))
	bits := buf.Bytes()
	clear(bits)
	nulls := 0
	for i, j := range idx {
		if a.IsValid(int(j)) {
			bitutil.SetBit(bits, i)
		} else {
			nulls++
		}
	}
	return buf, nulls
}

func gatherFixed[T int32 | int64 | uint64 | float64 | arrow.Timestamp](mem memory.Allocator, a arrow.Array, vals []T, idx []int32) arrow.ArrayData {
	valid, nulls := gatherValidity(mem, a, idx)
	buf := memory.NewResizableBuffer(mem)
	var zero T
	buf.Resize(len(idx) * int(sizeOf(zero)))
	out := arrow.GetData[T](buf.Bytes())
	for i, j := range idx {
		out[i] = vals[j]
	}
	d := array.NewData(a.DataType(), len(idx), []*memory.Buffer{valid, buf}, nil, nulls, 0)
	release(valid, buf)
	return d
}

func sizeOf[T int32 | int64 | uint64 | float64 | arrow.Timestamp](T) uintptr {
	var z T
	switch any(z).(type) {
	case int32:
		return 4
	}
	return 8
}

func gatherString(mem memory.Allocator, a *array.String, idx []int32) arrow.ArrayData {
	valid, nulls := gatherValidity(mem, a, idx)
	offs := a.ValueOffsets()
	src := a.ValueBytes()
	base := offs[0]
	total := 0
	for _, j := range idx {
		total += int(offs[j+1] - offs[j])
	}
	ob := memory.NewResizableBuffer(mem)
	ob.Resize((len(idx) + 1) * 4)
	outOffs := arrow.Int32Traits.CastFromBytes(ob.Bytes())
	db := memory.NewResizableBuffer(mem)
	db.Resize(total)
	data := db.Bytes()
	pos := int32(0)
	for i, j := range idx {
		outOffs[i] = pos
		lo, hi := offs[j]-base, offs[j+1]-base
		pos += int32(copy(data[pos:], src[lo:hi]))
	}
	outOffs[len(idx)] = pos
	d := array.NewData(a.DataType(), len(idx), []*memory.Buffer{valid, ob, db}, nil, nulls, 0)
	release(valid, ob, db)
	return d
}

// gatherMap gathers a map<utf8, utf8> array: the entries of each chosen row,
// in order.
func gatherMap(ctx context.Context, mem memory.Allocator, a *array.Map, idx []int32) (arrow.ArrayData, error) {
	valid, nulls := gatherValidity(mem, a, idx)
	ob := memory.NewResizableBuffer(mem)
	ob.Resize((len(idx) + 1) * 4)
	outOffs := arrow.Int32Traits.CastFromBytes(ob.Bytes())
	n := 0
	for _, j := range idx {
		lo, hi := a.ValueOffsets(int(j))
		n += int(hi - lo)
	}
	entries := make([]int32, 0, n)
	for i, j := range idx {
		outOffs[i] = int32(len(entries))
		lo, hi := a.ValueOffsets(int(j))
		for e := lo; e < hi; e++ {
			entries = append(entries, int32(e))
		}
	}
	outOffs[len(idx)] = int32(len(entries))
	defer release(valid, ob)
	st := a.ListValues().(*array.Struct)
	if st.NullN() > 0 {
		return nil, fmt.Errorf("BUG: map entries with nulls")
	}
	// Field slices the children to the struct's own offset and length, as
	// the entry numbers in offs count.
	kd := gatherString(mem, st.Field(0).(*array.String), entries)
	defer kd.Release()
	id := gatherString(mem, st.Field(1).(*array.String), entries)
	defer id.Release()
	sd := array.NewData(st.DataType(), len(entries), []*memory.Buffer{nil}, []arrow.ArrayData{kd, id}, 0, 0)
	defer sd.Release()
	return array.NewData(a.DataType(), len(idx), []*memory.Buffer{valid, ob}, []arrow.ArrayData{sd}, nulls, 0), nil
}

func release(bufs ...*memory.Buffer) {
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
}
