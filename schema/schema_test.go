package schema

import (
	"errors"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestTablesAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, tbl := range Tables() {
		if seen[tbl.Name] {
			t.Fatalf("duplicate table %s", tbl.Name)
		}
		seen[tbl.Name] = true
		got, err := ByName(tbl.Name)
		if err != nil || got != tbl {
			t.Fatalf("ByName(%s) = %v, %v", tbl.Name, got, err)
		}
		if got, err := ByID(tbl.ID); err != nil || got != tbl {
			t.Fatalf("ByID(%d) = %v, %v", tbl.ID, got, err)
		}
		for _, f := range tbl.Schema.Fields() {
			if f.Type.ID() == arrow.STRING_VIEW || f.Type.ID() == arrow.LARGE_STRING {
				t.Errorf("%s.%s is %s: tables use plain utf8", tbl.Name, f.Name, f.Type)
			}
			if f.Type.ID() == arrow.TIMESTAMP && !arrow.TypeEqual(f.Type, Timestamp) {
				t.Errorf("%s.%s is %s, want %s", tbl.Name, f.Name, f.Type, Timestamp)
			}
		}
	}
	for _, name := range []string{"spans", "logs", "metrics", "metrics_5m", "trace_comments", "llm_payloads"} {
		if !seen[name] {
			t.Errorf("table %s missing", name)
		}
	}
	if _, err := ByName("nope"); !errors.Is(err, ErrUnknownTable) {
		t.Fatalf("ByName(nope) err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	comments, _ := ByID(TraceComments)
	build := func(nullTime bool, ts ...arrow.Timestamp) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, comments.Schema)
		defer b.Release()
		b.Field(0).(*array.StringBuilder).Append("c1")
		b.Field(1).(*array.StringBuilder).Append("0af7651916cd43dd8448eb211c80319c")
		b.Field(2).(*array.StringBuilder).AppendNull()
		b.Field(3).(*array.StringBuilder).Append("ana")
		b.Field(4).(*array.StringBuilder).Append("slow")
		if nullTime {
			b.Field(5).(*array.TimestampBuilder).AppendNull()
		} else {
			b.Field(5).(*array.TimestampBuilder).Append(append(ts, 1)[0])
		}
		return b.NewRecordBatch()
	}
	ok := build(false)
	defer ok.Release()
	if err := comments.Validate(ok); err != nil {
		t.Fatalf("valid batch: %v", err)
	}
	bad := build(true)
	defer bad.Release()
	if err := comments.Validate(bad); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("null time: err = %v, want ErrInvalidBatch", err)
	}
	end := build(false, math.MaxInt64)
	defer end.Release()
	if err := comments.Validate(end); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("time math.MaxInt64: err = %v, want ErrInvalidBatch", err)
	}
	spans, _ := ByID(Spans)
	if err := spans.Validate(ok); !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("wrong table: err = %v, want ErrSchemaMismatch", err)
	}
}

func TestSeriesIDIsStable(t *testing.T) {
	a := SeriesID("http_requests_total", map[string]string{"job": "api", "instance": "h:1"})
	b := SeriesID("http_requests_total", map[string]string{"instance": "h:1", "job": "api"})
	if a != b {
		t.Fatalf("label order changed the id: %x vs %x", a, b)
	}
	// The id is persisted in metrics.series_id: changing the hash would orphan
	// every stored series.
	if a != 0xc96ba4a11a298680 {
		t.Fatalf("SeriesID changed: %#x", a)
	}
	if SeriesID("up", nil) == a {
		t.Fatal("distinct series collide")
	}
	if SeriesID("a", map[string]string{"b": "c"}) == SeriesID("a", map[string]string{"bc": ""}) {
		t.Fatal("separator does not separate")
	}
}
