// Package arrowtime changes the time zone and unit of every timestamp in an
// Arrow type, schema or array, at any depth (structs, lists, maps): tael's
// tables hold timestamp[ns, UTC], DuckDB wants zone-less nanoseconds (its
// zone-aware type holds microseconds), and its results come back in other
// units. Nanosecond timestamps are relabelled without copying.
package arrowtime

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Retype returns dt with every timestamp, at any depth, replaced by
// timestamp[ns, tz], and whether anything changed.
func Retype(dt arrow.DataType, tz string) (arrow.DataType, bool) {
	switch t := dt.(type) {
	case *arrow.TimestampType:
		if t.Unit == arrow.Nanosecond && t.TimeZone == tz {
			return dt, false
		}
		return &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: tz}, true
	case *arrow.StructType:
		fs := make([]arrow.Field, t.NumFields())
		changed := false
		for i, f := range t.Fields() {
			nt, c := Retype(f.Type, tz)
			f.Type = nt
			fs[i] = f
			changed = changed || c
		}
		if !changed {
			return dt, false
		}
		return arrow.StructOf(fs...), true
	case *arrow.MapType:
		k, kc := Retype(t.KeyType(), tz)
		v, vc := Retype(t.ItemType(), tz)
		if !kc && !vc {
			return dt, false
		}
		m := arrow.MapOf(k, v)
		m.KeysSorted = t.KeysSorted
		return m, true
	case *arrow.ListType:
		f := t.ElemField()
		nt, c := Retype(f.Type, tz)
		if !c {
			return dt, false
		}
		f.Type = nt
		return arrow.ListOfField(f), true
	case *arrow.LargeListType:
		f := t.ElemField()
		nt, c := Retype(f.Type, tz)
		if !c {
			return dt, false
		}
		f.Type = nt
		return arrow.LargeListOfField(f), true
	case *arrow.FixedSizeListType:
		f := t.ElemField()
		nt, c := Retype(f.Type, tz)
		if !c {
			return dt, false
		}
		f.Type = nt
		return arrow.FixedSizeListOfField(t.Len(), f), true
	}
	return dt, false
}

// RetypeSchema applies Retype to every field of s.
func RetypeSchema(s *arrow.Schema, tz string) (*arrow.Schema, bool) {
	fs := make([]arrow.Field, s.NumFields())
	changed := false
	for i, f := range s.Fields() {
		nt, c := Retype(f.Type, tz)
		f.Type = nt
		fs[i] = f
		changed = changed || c
	}
	if !changed {
		return s, false
	}
	md := s.Metadata()
	return arrow.NewSchema(fs, &md), true
}

// ConvertData returns data as type to (Retype's result for data's type):
// timestamps in nanoseconds are relabelled without copying, others are
// scaled into a new buffer.
func ConvertData(mem memory.Allocator, data arrow.ArrayData, to arrow.DataType) arrow.ArrayData {
	if arrow.TypeEqual(data.DataType(), to) {
		data.Retain()
		return data
	}
	switch from := data.DataType().(type) {
	case *arrow.TimestampType:
		bufs := data.Buffers()
		if from.Unit == arrow.Nanosecond {
			return array.NewData(to, data.Len(), bufs, nil, data.NullN(), data.Offset())
		}
		var factor int64
		switch from.Unit {
		case arrow.Second:
			factor = 1e9
		case arrow.Millisecond:
			factor = 1e6
		case arrow.Microsecond:
			factor = 1e3
		}
		n := data.Offset() + data.Len()
		src := arrow.TimestampTraits.CastFromBytes(bufs[1].Bytes())[:n]
		buf := memory.NewResizableBuffer(mem)
		buf.Resize(arrow.TimestampTraits.BytesRequired(n))
		dst := arrow.TimestampTraits.CastFromBytes(buf.Bytes())
		for i, v := range src {
			dst[i] = v * arrow.Timestamp(factor)
		}
		out := array.NewData(to, data.Len(), []*memory.Buffer{bufs[0], buf}, nil, data.NullN(), data.Offset())
		buf.Release()
		return out
	case *arrow.StructType:
		toT := to.(*arrow.StructType)
		children := make([]arrow.ArrayData, len(data.Children()))
		for i, c := range data.Children() {
			children[i] = ConvertData(mem, c, toT.Field(i).Type)
		}
		out := array.NewData(to, data.Len(), data.Buffers(), children, data.NullN(), data.Offset())
		for _, c := range children {
			c.Release()
		}
		return out
	case *arrow.MapType, *arrow.ListType, *arrow.LargeListType, *arrow.FixedSizeListType:
		_ = from
		var elem arrow.DataType
		switch t := to.(type) {
		case *arrow.MapType:
			elem = t.Elem()
		case *arrow.ListType:
			elem = t.Elem()
		case *arrow.LargeListType:
			elem = t.Elem()
		case *arrow.FixedSizeListType:
			elem = t.Elem()
		}
		child := ConvertData(mem, data.Children()[0], elem)
		out := array.NewData(to, data.Len(), data.Buffers(), []arrow.ArrayData{child}, data.NullN(), data.Offset())
		child.Release()
		return out
	}
	data.Retain()
	return data
}

// ConvertRecord returns rec with schema to (RetypeSchema of rec's schema).
// The caller releases the result.
func ConvertRecord(mem memory.Allocator, rec arrow.RecordBatch, to *arrow.Schema) arrow.RecordBatch {
	cols := make([]arrow.Array, rec.NumCols())
	for i, c := range rec.Columns() {
		d := ConvertData(mem, c.Data(), to.Field(i).Type)
		cols[i] = array.MakeFromData(d)
		d.Release()
	}
	out := array.NewRecordBatch(to, cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out
}

// ConvertArray returns a as type to (Retype's result for a's type). The
// caller releases the result.
func ConvertArray(mem memory.Allocator, a arrow.Array, to arrow.DataType) arrow.Array {
	d := ConvertData(mem, a.Data(), to)
	defer d.Release()
	return array.MakeFromData(d)
}
