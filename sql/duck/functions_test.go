package duck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/internal/tablefunc"
	"github.com/tael/tael/schema"
)

var (
	str = arrow.BinaryTypes.String
	i64 = arrow.PrimitiveTypes.Int64
)

// stringsSchema is a result of utf8 columns.
func stringsSchema(names ...string) *arrow.Schema {
	fs := make([]arrow.Field, len(names))
	for i, n := range names {
		fs[i] = arrow.Field{Name: n, Type: str, Nullable: true}
	}
	return arrow.NewSchema(fs, nil)
}

// stringsBatch builds a batch of utf8 columns from rows.
func stringsBatch(mem memory.Allocator, s *arrow.Schema, rows ...[]string) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, s)
	defer b.Release()
	for _, r := range rows {
		for j, v := range r {
			b.Field(j).(*array.StringBuilder).Append(v)
		}
	}
	return b.NewRecordBatch()
}

// allTypes is a result with a column of every type a function may return.
var allTypes = arrow.NewSchema([]arrow.Field{
	{Name: "i", Type: i64, Nullable: true},
	{Name: "s", Type: str, Nullable: true},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "ts", Type: schema.Timestamp, Nullable: true},
	{Name: "l", Type: arrow.ListOf(str), Nullable: true},
	{Name: "m", Type: arrow.MapOf(str, str), Nullable: true},
}, nil)

// allTypesBatch builds n rows of allTypes: NULLs, empty strings, lists
// and maps, and values that tell the rows apart.
func allTypesBatch(mem memory.Allocator, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, allTypes)
	defer b.Release()
	l := b.Field(6).(*array.ListBuilder)
	lv := l.ValueBuilder().(*array.StringBuilder)
	m := b.Field(7).(*array.MapBuilder)
	mk, mv := m.KeyBuilder().(*array.StringBuilder), m.ItemBuilder().(*array.StringBuilder)
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		null := i%7 == 3
		if null {
			for j := 1; j < len(allTypes.Fields()); j++ {
				b.Field(j).AppendNull()
			}
			continue
		}
		if i%5 == 0 {
			b.Field(1).(*array.StringBuilder).Append("")
		} else {
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("row %d with a string longer than twelve bytes ✓", i))
		}
		b.Field(2).(*array.Int32Builder).Append(int32(-i))
		b.Field(3).(*array.Float64Builder).Append(float64(i) / 4)
		b.Field(4).(*array.BooleanBuilder).Append(i%2 == 0)
		b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.UnixNano() + int64(i)))
		l.Append(true)
		for k := range i % 4 { // every fourth list is empty
			if k == 2 {
				lv.AppendNull()
			} else {
				lv.Append(fmt.Sprintf("e%d.%d", i, k))
			}
		}
		m.Append(true)
		for k := range i % 3 { // every third map is empty
			mk.Append(fmt.Sprintf("k%d", k))
			if k == 1 {
				mv.AppendNull()
			} else {
				mv.Append(fmt.Sprintf("v%d", i))
			}
		}
	}
	return b.NewRecordBatch()
}

func TestFunctionResultTypes(t *testing.T) {
	var calls atomic.Int64
	d, mem := openTest(t, Options{Functions: []tablefunc.Func{{
		Name:   "all_types",
		Args:   []tablefunc.Arg{{Name: "n", Type: i64}},
		Result: allTypes,
		Call: func(_ context.Context, mem memory.Allocator, args []any) (arrow.RecordBatch, error) {
			calls.Add(1)
			return allTypesBatch(mem, int(args[0].(int64))), nil
		},
	}}})
	for _, n := range []int{0, 1, 2048, 2049, 10000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			want := allTypesBatch(mem, n)
			defer want.Release()
			r, err := d.Query(context.Background(), "SELECT * FROM all_types(?)", []any{n})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Release()
			for i, f := range r.Schema().Fields() {
				if !arrow.TypeEqual(f.Type, allTypes.Field(i).Type) {
					t.Errorf("column %s is %s, want %s", f.Name, f.Type, allTypes.Field(i).Type)
				}
			}
			row := 0
			for r.Next() {
				rec := r.RecordBatch()
				for i := range int(rec.NumRows()) {
					for j, c := range rec.Columns() {
						w := want.Column(j)
						if c.IsNull(i) != w.IsNull(row) || c.ValueStr(i) != w.ValueStr(row) {
							t.Fatalf("row %d column %s: got %q (null %v), want %q (null %v)",
								row, allTypes.Field(j).Name, c.ValueStr(i), c.IsNull(i), w.ValueStr(row), w.IsNull(row))
						}
					}
					row++
				}
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			if row != n {
				t.Fatalf("%d rows, want %d", row, n)
			}
		})
	}
	// SQL reads the maps' and lists' elements.
	got := rows(t, d, "SELECT m['k0'], m['k1'], cardinality(m), len(l), l[3] IS NULL FROM all_types(8) WHERE i = 5")
	if fmt.Sprint(got) != "[[v5 (null) 2 1 true]]" {
		t.Errorf("map and list elements: %v", got)
	}
	calls.Store(0)
	// Every pooled connection sees the function; a prepared statement is
	// bound but not run.
	for range DefaultOptions().Connections + 1 {
		if got := rows(t, d, "SELECT count(*), sum(i) FROM all_types(3)"); fmt.Sprint(got) != "[[3 3]]" {
			t.Fatalf("count = %v", got)
		}
	}
	if _, err := d.Prepare(context.Background(), "SELECT * FROM all_types(5)"); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != int64(DefaultOptions().Connections+1) {
		t.Errorf("Call ran %d times, want %d (once per query, not at prepare)", n, DefaultOptions().Connections+1)
	}
}

func TestFunctionArguments(t *testing.T) {
	echo := tablefunc.Func{
		Name: "echo",
		Args: []tablefunc.Arg{
			{Name: "s", Type: str},
			{Name: "n", Type: i64},
			{Name: "x", Type: arrow.PrimitiveTypes.Float64, Named: true},
			{Name: "t", Type: arrow.FixedWidthTypes.Timestamp_ns, Named: true},
		},
		Result: stringsSchema("s", "n", "x", "t"),
		Call: func(_ context.Context, mem memory.Allocator, args []any) (arrow.RecordBatch, error) {
			row := make([]string, len(args))
			for i, a := range args {
				if tm, ok := a.(time.Time); ok {
					a = tm.Format(time.RFC3339Nano)
				}
				row[i] = fmt.Sprintf("%T %v", args[i], a)
			}
			return stringsBatch(mem, stringsSchema("s", "n", "x", "t"), row), nil
		},
	}
	d, _ := openTest(t, Options{Functions: []tablefunc.Func{echo}})
	f := func(q string, params []any, want string) {
		t.Helper()
		if got := fmt.Sprint(rows(t, d, q, params...)); got != want {
			t.Errorf("%s:\n got %s\nwant %s", q, got, want)
		}
	}
	f("SELECT * FROM echo('a', 2)", nil, "[[string a int64 2 <nil> <nil> <nil> <nil>]]")
	f("SELECT * FROM echo('', 2, x := 3)", nil, "[[string  int64 2 float64 3 <nil> <nil>]]")
	f("SELECT * FROM echo('a', 2, t := TIMESTAMP '2026-11-27 12:00:00.123456', x := 0.5)", nil,
		"[[string a int64 2 float64 0.5 time.Time 2026-11-27T12:00:00.123456Z]]")
	f("SELECT * FROM echo('a', 2, t := '2026-11-27T12:00:00Z')", nil,
		"[[string a int64 2 <nil> <nil> time.Time 2026-11-27T12:00:00Z]]")
	f("SELECT * FROM echo(NULL, NULL, x := NULL)", nil, "[[<nil> <nil> <nil> <nil> <nil> <nil> <nil> <nil>]]")
	f("SELECT * FROM echo(?, ?)", []any{"p", int64(5)}, "[[string p int64 5 <nil> <nil> <nil> <nil>]]")
	f("SELECT * FROM echo(?, ?, x := ?, t := ?)", []any{"p", 5, 1.5, t0}, "[[string p int64 5 float64 1.5 time.Time 2026-11-27T12:00:00.123456Z]]")
	f("SELECT * FROM echo($2, $1)", []any{int64(7), nil}, "[[<nil> <nil> int64 7 <nil> <nil> <nil> <nil>]]")
	f("SELECT s, n FROM tael.main.spans, echo('in a join', 1)", nil, "[]")
	f("WITH e AS (SELECT * FROM echo('cte', 1)) SELECT s FROM e UNION ALL SELECT s FROM e", nil, "[[string cte] [string cte]]")

	st, err := d.Prepare(context.Background(), "SELECT * FROM echo(?, ?, x := ?)")
	if err != nil {
		t.Fatalf("prepare with parameters: %v", err)
	}
	if st.Params.NumFields() != 3 {
		t.Errorf("params %s", st.Params)
	}
	st, err = d.Prepare(context.Background(), "SELECT * FROM echo('a', 1)")
	if err != nil || st.Schema.NumFields() != 4 || st.Schema.Field(3).Name != "t" || st.Schema.Field(3).Type.ID() != arrow.STRING {
		t.Errorf("prepare: %v %v", st, err)
	}

	// DuckDB checks the arguments against the declared types.
	for _, c := range []struct{ q, msg string }{
		{"SELECT * FROM echo('a', 'two')", "No function matches the given name and argument types 'echo(VARCHAR, VARCHAR)'"},
		{"SELECT * FROM echo(1, 2)", "No function matches the given name and argument types 'echo(INTEGER, INTEGER)'"},
		{"SELECT * FROM echo('a')", "No function matches"},
		{"SELECT * FROM echo('a', 1, 2)", "No function matches"},
		{"SELECT * FROM echo('a', 1, y := 2)", `Invalid named parameter "y" for function echo`},
		{"SELECT * FROM echo('a', 1, t := 'yesterday-ish')", `invalid timestamp field format: "yesterday-ish"`},
		{"SELECT * FROM echo('a', (SELECT 1))", "cannot contain subqueries"},
	} {
		_, err := d.Query(context.Background(), c.q, nil)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want ErrInvalid mentioning %q", c.q, err, c.msg)
		}
	}
	if _, err := d.Query(context.Background(), "SELECT * FROM echo(?, ?)", []any{"a", "two"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("string for BIGINT parameter: %v", err)
	}
}

func TestFunctionJoinsView(t *testing.T) {
	d, mem := openTest(t, Options{Functions: []tablefunc.Func{{
		Name:   "services",
		Args:   []tablefunc.Arg{{Name: "n", Type: i64}},
		Result: arrow.NewSchema([]arrow.Field{{Name: "service", Type: str}, {Name: "weight", Type: i64}}, nil),
		Call: func(_ context.Context, mem memory.Allocator, args []any) (arrow.RecordBatch, error) {
			b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: "service", Type: str}, {Name: "weight", Type: i64}}, nil))
			defer b.Release()
			for i := range args[0].(int64) {
				b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("svc-%d", i))
				b.Field(1).(*array.Int64Builder).Append(i + 1)
			}
			return b.NewRecordBatch(), nil
		},
	}}})
	rec := synth.Spans(mem, synth.SpanOptions{Rows: 3000, Start: t0, Seed: 3})
	defer rec.Release()
	if err := d.Applied(schema.Spans, 1, rec); err != nil {
		t.Fatal(err)
	}
	want := rows(t, d, "SELECT count(*), sum(CAST(substr(service, 5) AS BIGINT) + 1) FROM spans WHERE service IN ('svc-0', 'svc-1', 'svc-2')")
	for _, c := range []struct {
		q      string
		params []any
	}{
		{"SELECT count(*), sum(weight) FROM spans JOIN services(3) USING (service)", nil},
		{"SELECT count(*), sum(weight) FROM services(?) f, spans s WHERE f.service = s.service", []any{int64(3)}},
		{"WITH f AS (SELECT * FROM services(3)) SELECT count(*), sum(weight) FROM spans JOIN f ON f.service = spans.service", nil},
		{"SELECT count(*), sum(weight) FROM (SELECT service, weight FROM services($1) WHERE weight > 0) JOIN spans USING (service)", []any{3}},
	} {
		if got := rows(t, d, c.q, c.params...); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", c.q, got, want)
		}
	}
}

func TestFunctionErrors(t *testing.T) {
	one := stringsSchema("v")
	fns := []tablefunc.Func{
		{Name: "fails", Result: one, Call: func(context.Context, memory.Allocator, []any) (arrow.RecordBatch, error) {
			return nil, errors.New("the disk is on fire")
		}},
		{Name: "panics", Result: one, Call: func(context.Context, memory.Allocator, []any) (arrow.RecordBatch, error) {
			panic("not implemented yet")
		}},
		{Name: "wrong_schema", Result: one, Call: func(_ context.Context, mem memory.Allocator, _ []any) (arrow.RecordBatch, error) {
			b := array.NewInt64Builder(mem)
			defer b.Release()
			b.Append(1)
			a := b.NewArray()
			defer a.Release()
			return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "v", Type: i64}}, nil), []arrow.Array{a}, 1), nil
		}},
		{Name: "empty", Result: one, Call: func(context.Context, memory.Allocator, []any) (arrow.RecordBatch, error) {
			return nil, nil
		}},
	}
	d, _ := openTest(t, Options{Functions: fns})
	for _, c := range []struct{ q, msg string }{
		{"SELECT * FROM fails()", "fails: the disk is on fire"},
		{"SELECT count(*) FROM spans, fails()", "fails: the disk is on fire"},
		{"SELECT * FROM panics()", "panics: panic: not implemented yet"},
		{"SELECT * FROM wrong_schema()", "column v as int64, want utf8"},
	} {
		r, err := d.Query(context.Background(), c.q, nil)
		if err == nil {
			for r.Next() {
			}
			err = r.Err()
			r.Release()
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want ErrInvalid containing %q", c.q, err, c.msg)
		}
	}
	if got := rows(t, d, "SELECT count(*) FROM empty()"); fmt.Sprint(got) != "[[0]]" {
		t.Errorf("empty: %v", got)
	}
	// The connections are usable afterwards.
	for range 20 {
		rows(t, d, "SELECT 1")
	}
}

func TestFunctionOptionsChecked(t *testing.T) {
	call := func(context.Context, memory.Allocator, []any) (arrow.RecordBatch, error) { return nil, nil }
	one := stringsSchema("v")
	ok := tablefunc.Func{Name: "f", Result: one, Call: call}
	for _, c := range []struct {
		name string
		fs   []tablefunc.Func
		msg  string
	}{
		{"no name", []tablefunc.Func{{Result: one, Call: call}}, "no name"},
		{"no call", []tablefunc.Func{{Name: "f", Result: one}}, "no Call"},
		{"no result", []tablefunc.Func{{Name: "f", Call: call}}, "no result columns"},
		{"result type", []tablefunc.Func{{Name: "f", Call: call, Result: arrow.NewSchema([]arrow.Field{{Name: "u", Type: arrow.PrimitiveTypes.Uint64}}, nil)}},
			`result column "u": unsupported type uint64`},
		{"list type", []tablefunc.Func{{Name: "f", Call: call, Result: arrow.NewSchema([]arrow.Field{{Name: "l", Type: arrow.ListOf(i64)}}, nil)}},
			`result column "l": unsupported type list`},
		{"argument type", []tablefunc.Func{{Name: "f", Call: call, Result: one, Args: []tablefunc.Arg{{Name: "a", Type: arrow.FixedWidthTypes.Boolean}}}},
			`argument "a": unsupported type bool`},
		{"positional after named", []tablefunc.Func{{Name: "f", Call: call, Result: one, Args: []tablefunc.Arg{{Name: "a", Type: str, Named: true}, {Name: "b", Type: str}}}},
			`positional argument "b" after a named one`},
		{"repeated name", []tablefunc.Func{{Name: "f", Call: call, Result: one, Args: []tablefunc.Arg{{Name: "a", Type: str, Named: true}, {Name: "a", Type: str, Named: true}}}},
			`repeated name "a"`},
		{"built-in name", []tablefunc.Func{{Name: "Range", Result: one, Call: call}}, "DuckDB has a function of that name"},
		{"macro name", []tablefunc.Func{{Name: "date_bin", Result: one, Call: call}}, "DuckDB has a function of that name"},
		{"twice", []tablefunc.Func{ok, ok}, "DuckDB has a function of that name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := Open(Options{Functions: c.fs, Threads: 1})
			if err == nil {
				d.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), "duck: table function") || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %v, want one containing %q", err, c.msg)
			}
		})
	}
}

type testKey struct{}

func TestFunctionContext(t *testing.T) {
	started := make(chan context.Context, 1)
	d, _ := openTest(t, Options{Functions: []tablefunc.Func{{
		Name:   "blocks",
		Result: stringsSchema("v"),
		Call: func(ctx context.Context, _ memory.Allocator, _ []any) (arrow.RecordBatch, error) {
			started <- ctx
			<-ctx.Done()
			return nil, fmt.Errorf("blocks: %w", ctx.Err())
		},
	}}})
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), testKey{}, "the query's"))
	defer cancel()
	go func() {
		callCtx := <-started
		if v, _ := callCtx.Value(testKey{}).(string); v != "the query's" {
			t.Errorf("Call's context is not the query's: %v", callCtx)
		}
		cancel()
	}()
	start := time.Now()
	r, err := d.Query(ctx, "SELECT * FROM blocks()", nil)
	if err == nil {
		for r.Next() {
		}
		err = r.Err()
		r.Release()
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("cancel took %s", el)
	}
	// A deadline too, through Prepare and Query; then the connection is
	// usable.
	ctx, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := d.Prepare(ctx, "SELECT * FROM blocks()"); err != nil {
		t.Fatal(err)
	}
	go func() { <-started }()
	if _, err := d.Query(ctx, "SELECT * FROM blocks()", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	for range 20 {
		rows(t, d, "SELECT 1")
	}
}

func TestFunctionReentrant(t *testing.T) {
	var d *DB
	count := func(ctx context.Context, mem memory.Allocator, q string) (arrow.RecordBatch, error) {
		r, err := d.Query(ctx, q, nil)
		if err != nil {
			return nil, err
		}
		defer r.Release()
		var n string
		for r.Next() {
			n = strings.Clone(r.RecordBatch().Column(0).ValueStr(0))
		}
		if err := r.Err(); err != nil {
			return nil, err
		}
		return stringsBatch(mem, stringsSchema("n"), []string{n}), nil
	}
	const conns = 2
	d, mem := openTest(t, Options{Connections: conns, Functions: []tablefunc.Func{
		{Name: "span_count", Result: stringsSchema("n"), Call: func(ctx context.Context, mem memory.Allocator, _ []any) (arrow.RecordBatch, error) {
			return count(ctx, mem, "SELECT count(*) FROM spans")
		}},
		// A function whose query calls a function that queries.
		{Name: "nested_count", Result: stringsSchema("n"), Call: func(ctx context.Context, mem memory.Allocator, _ []any) (arrow.RecordBatch, error) {
			return count(ctx, mem, "SELECT n FROM span_count()")
		}},
	}})
	rec := synth.Spans(mem, synth.SpanOptions{Rows: 1000, Start: t0, Seed: 4})
	defer rec.Release()
	if err := d.Applied(schema.Spans, 1, rec); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			q := "SELECT n FROM span_count()"
			if g%4 == 3 {
				q = "SELECT n FROM nested_count()"
			}
			for range 3 {
				r, err := d.Query(ctx, q, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if !r.Next() {
					t.Errorf("%s: %v", q, r.Err())
				} else if got := r.RecordBatch().Column(0).ValueStr(0); got != "1000" {
					t.Errorf("%s = %q", q, got)
				}
				r.Release()
			}
		})
		if g == conns+1 {
			// conns+2 queries at once is enough to deadlock a shared
			// pool; the rest add load.
			wg.Wait()
			if ctx.Err() != nil {
				t.Fatal("deadlocked")
			}
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("deadlocked")
	}
}

func TestFunctionExec(t *testing.T) {
	var stored []arrow.RecordBatch
	d, _ := openTest(t, Options{
		Append: func(_ context.Context, _ schema.ID, rec arrow.RecordBatch) (uint64, error) {
			rec.Retain()
			stored = append(stored, rec)
			return 1, nil
		},
		Functions: []tablefunc.Func{{
			Name:   "notes",
			Args:   []tablefunc.Arg{{Name: "trace", Type: str}},
			Result: stringsSchema("trace_id", "body"),
			Call: func(ctx context.Context, mem memory.Allocator, args []any) (arrow.RecordBatch, error) {
				if ctx.Value(testKey{}) == nil {
					return nil, errors.New("not the query's context")
				}
				return stringsBatch(mem, stringsSchema("trace_id", "body"), []string{args[0].(string), "a"}, []string{args[0].(string), "b"}), nil
			},
		}},
	})
	defer func() {
		for _, r := range stored {
			r.Release()
		}
	}()
	ctx := context.WithValue(context.Background(), testKey{}, true)
	n, err := d.Exec(ctx, "INSERT INTO trace_comments (trace_id, body) SELECT * FROM notes(?)", []any{"abc"})
	if err != nil || n != 2 {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

// TestFunctionShadows registers a function under the name of DuckDB's own
// summary(TABLE): with Shadows, queries get tael's, named arguments
// included.
func TestFunctionShadows(t *testing.T) {
	call := func(_ context.Context, mem memory.Allocator, args []any) (arrow.RecordBatch, error) {
		b := array.NewRecordBuilder(mem, stringsSchema("v"))
		defer b.Release()
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("%v|%v", args[0], args[1]))
		return b.NewRecordBatch(), nil
	}
	f := tablefunc.Func{Name: "summary", Shadows: true, Result: stringsSchema("v"), Call: call,
		Args: []tablefunc.Arg{{Name: "window", Type: str}, {Name: "opt", Type: str, Named: true}}}
	d, _ := openTest(t, Options{Functions: []tablefunc.Func{f}})
	if got := rows(t, d, "SELECT * FROM summary('1h')"); len(got) != 1 || got[0][0] != "1h|<nil>" {
		t.Errorf("summary('1h') = %v", got)
	}
	if got := rows(t, d, "SELECT * FROM summary('1h', opt := 'x')"); len(got) != 1 || got[0][0] != "1h|x" {
		t.Errorf("summary('1h', opt := 'x') = %v", got)
	}
	if got := rows(t, d, "SELECT * FROM tael.main.summary(?)", "2h"); len(got) != 1 || got[0][0] != "2h|<nil>" {
		t.Errorf("tael.main.summary(?) = %v", got)
	}
}
