package arrowtime

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestConvert(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	us := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	st := arrow.StructOf(arrow.Field{Name: "t", Type: us, Nullable: true})
	lt := arrow.ListOf(st)
	b := array.NewListBuilder(mem, st)
	defer b.Release()
	sb := b.ValueBuilder().(*array.StructBuilder)
	tb := sb.FieldBuilder(0).(*array.TimestampBuilder)
	b.Append(true)
	sb.Append(true)
	tb.Append(1_500)
	sb.Append(true)
	tb.AppendNull()
	b.AppendNull()
	a := b.NewArray()
	defer a.Release()

	to, changed := Retype(lt, "")
	if !changed {
		t.Fatal("Retype changed nothing")
	}
	want := arrow.ListOf(arrow.StructOf(arrow.Field{Name: "t", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}, Nullable: true}))
	if !arrow.TypeEqual(to, want) {
		t.Fatalf("Retype = %s, want %s", to, want)
	}
	c := ConvertArray(mem, a, to)
	defer c.Release()
	ts := c.(*array.List).ListValues().(*array.Struct).Field(0).(*array.Timestamp)
	if ts.Value(0) != 1_500_000 || !ts.IsNull(1) || !c.IsNull(1) {
		t.Errorf("converted %v", c)
	}
	// Nanoseconds are relabelled, not copied.
	back, _ := Retype(to, "UTC")
	d := ConvertArray(mem, c, back)
	defer d.Release()
	if &d.(*array.List).ListValues().(*array.Struct).Field(0).Data().Buffers()[1].Bytes()[0] != &ts.Data().Buffers()[1].Bytes()[0] {
		t.Error("a nanosecond relabel copied its values")
	}
	if _, changed := Retype(arrow.BinaryTypes.String, "UTC"); changed {
		t.Error("a string was retyped")
	}
}
