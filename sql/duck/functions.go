package duck

/*
// DuckDB calls these back (table function callbacks, defined below with
// //export). Their parameters are void * so that no duckdb.h is needed;
// see https://golang.org/issue/19837 and https://golang.org/issue/19835.
void tael_duck_tf_bind(void *);
void tael_duck_tf_init(void *);
void tael_duck_tf_scan(void *, void *);
void tael_duck_tf_delete(void *);
typedef void (*tael_duck_tf_bind_t)(void *);
typedef void (*tael_duck_tf_init_t)(void *);
typedef void (*tael_duck_tf_scan_t)(void *, void *);
typedef void (*tael_duck_tf_delete_t)(void *);
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/tael/tael/internal/tablefunc"
)

// innerConnections is the size of the pool that queries run by table
// functions take their connections from. Such a query is one step of a
// function's work (analytics over the views); four, not tuned, is twice
// the two cores Options.Connections' default is sized for: enough to keep
// DuckDB's threads busy, few enough idle connections to keep.
const innerConnections = 4

// callKey marks the context a table function's Call receives. Its value is
// the nesting depth: 1 for a function called by a client's query, 2 for
// one called by a query that a function ran, and so on.
type callKey struct{}

// callDepth returns how deep inside table function calls ctx is: 0 outside.
func callDepth(ctx context.Context) int {
	n, _ := ctx.Value(callKey{}).(int)
	return n
}

// beginCalls makes ctx the context of the table functions that the query
// on c calls, until the returned function is called (it may be called
// more than once). It also cancels the calls' context, so that a call
// still running when a result is released early stops.
func (d *DB) beginCalls(c *conn, ctx context.Context) func() {
	if len(d.opts.Functions) == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	d.calls.Lock()
	d.calls.ctx[c.id] = ctx
	d.calls.Unlock()
	return sync.OnceFunc(func() {
		d.calls.Lock()
		delete(d.calls.ctx, c.id)
		d.calls.Unlock()
		cancel()
	})
}

// callContext returns the context of the query running on DuckDB
// connection id, or context.Background() if none is known.
func (d *DB) callContext(id uint64) context.Context {
	d.calls.Lock()
	defer d.calls.Unlock()
	if ctx, ok := d.calls.ctx[id]; ok {
		return ctx
	}
	return context.Background()
}

// tableFunc is a registered function: DuckDB's extra info.
type tableFunc struct {
	d *DB
	f tablefunc.Func
}

// bound is one use of a function in a statement, its arguments read:
// DuckDB's bind data.
type bound struct {
	fn   *tableFunc
	args []any
	// conn is the DuckDB connection id of the statement, which keys the
	// context of its query (DuckDB gives init no client context).
	conn uint64
}

// scan is the state of one execution of a bound function: DuckDB's init
// data. DuckDB runs it on one thread at a time (max threads 1).
type scan struct {
	rec arrow.RecordBatch
	// next is the first row not yet handed to DuckDB.
	next int
}

func (s *scan) free() {
	if s.rec != nil {
		s.rec.Release()
		s.rec = nil
	}
}

// register checks f and registers it with DuckDB on c. A function lives in
// DuckDB's system catalog (the C API offers no other), so every connection
// and catalog sees it.
func (d *DB) register(c *conn, f tablefunc.Func) error {
	if err := checkFunc(f); err != nil {
		return fmt.Errorf("duck: table function %q: %w", f.Name, err)
	}
	// DuckDB would add a function of a name it has as an overload, which
	// could change what a built-in does (or another Func): refuse the name.
	n, err := c.queryInt("SELECT count(*) FROM duckdb_functions() WHERE lower(function_name) = lower(" + quote(f.Name) + ")")
	if err != nil {
		return fmt.Errorf("duck: table function %q: %w", f.Name, err)
	}
	if n > 0 && !f.Shadows {
		return fmt.Errorf("duck: table function %q: DuckDB has a function of that name (set Shadows to hide it)", f.Name)
	}
	name := f.Name
	if f.Shadows {
		name = "_tael_" + f.Name
	}
	tf := bindings.CreateTableFunction()
	defer bindings.DestroyTableFunction(&tf)
	bindings.TableFunctionSetName(tf, name)
	for _, a := range f.Args {
		t, _ := argType(a.Type)
		lt := bindings.CreateLogicalType(t)
		if a.Named {
			bindings.TableFunctionAddNamedParameter(tf, a.Name, lt)
		} else {
			bindings.TableFunctionAddParameter(tf, lt)
		}
		bindings.DestroyLogicalType(&lt)
	}
	// DuckDB owns the extra info from here: destroying tf or closing the
	// database calls tael_duck_tf_delete.
	bindings.TableFunctionSetExtraInfo(tf, pin(&tableFunc{d: d, f: f}), deleteCallback())
	bindings.TableFunctionSetBind(tf, unsafe.Pointer(C.tael_duck_tf_bind_t(C.tael_duck_tf_bind)))
	bindings.TableFunctionSetInit(tf, unsafe.Pointer(C.tael_duck_tf_init_t(C.tael_duck_tf_init)))
	bindings.TableFunctionSetFunction(tf, unsafe.Pointer(C.tael_duck_tf_scan_t(C.tael_duck_tf_scan)))
	bindings.TableFunctionSupportsProjectionPushdown(tf, false)
	if bindings.RegisterTableFunction(c.c, tf) == bindings.StateError {
		return fmt.Errorf("duck: table function %q: DuckDB refused it", f.Name)
	}
	if f.Shadows {
		// DuckDB keeps its own function of the name in the system catalog
		// and adds no overload there; a macro in tael's main schema is
		// found first.
		var params, args []string
		for _, a := range f.Args {
			p := ident(a.Name)
			if a.Named {
				params = append(params, p+" := NULL")
				args = append(args, p+" := "+p)
				continue
			}
			params = append(params, p)
			args = append(args, p)
		}
		q := fmt.Sprintf("CREATE MACRO main.%s(%s) AS TABLE SELECT * FROM %s(%s)",
			ident(f.Name), strings.Join(params, ", "), ident(name), strings.Join(args, ", "))
		if err := c.exec(q); err != nil {
			return fmt.Errorf("duck: table function %q: %w", f.Name, err)
		}
	}
	return nil
}

// checkFunc reports what in f DuckDB cannot be given.
func checkFunc(f tablefunc.Func) error {
	switch {
	case f.Name == "":
		return errors.New("no name")
	case f.Call == nil:
		return errors.New("no Call")
	case f.Result == nil || f.Result.NumFields() == 0:
		return errors.New("no result columns")
	}
	named := map[string]bool{}
	for i, a := range f.Args {
		if _, ok := argType(a.Type); !ok {
			return fmt.Errorf("argument %q: unsupported type %s", a.Name, a.Type)
		}
		if !a.Named {
			if len(named) > 0 {
				return fmt.Errorf("positional argument %q after a named one", a.Name)
			}
			continue
		}
		if a.Name == "" || named[a.Name] {
			return fmt.Errorf("named argument %d: empty or repeated name %q", i, a.Name)
		}
		named[a.Name] = true
	}
	for _, fd := range f.Result.Fields() {
		lt, ok := resultType(fd.Type)
		if !ok {
			return fmt.Errorf("result column %q: unsupported type %s", fd.Name, fd.Type)
		}
		bindings.DestroyLogicalType(&lt)
	}
	return nil
}

// argType returns the DuckDB type of an argument of Arrow type t.
func argType(t arrow.DataType) (bindings.Type, bool) {
	switch t.ID() {
	case arrow.STRING:
		return bindings.TypeVarchar, true
	case arrow.INT64:
		return bindings.TypeBigInt, true
	case arrow.FLOAT64:
		return bindings.TypeDouble, true
	case arrow.TIMESTAMP:
		return bindings.TypeTimestamp, true
	}
	return bindings.TypeInvalid, false
}

// resultType returns the DuckDB type of a result column of Arrow type t,
// which the caller destroys.
func resultType(t arrow.DataType) (bindings.LogicalType, bool) {
	switch t := t.(type) {
	case *arrow.StringType:
		return bindings.CreateLogicalType(bindings.TypeVarchar), true
	case *arrow.Int64Type:
		return bindings.CreateLogicalType(bindings.TypeBigInt), true
	case *arrow.Int32Type:
		return bindings.CreateLogicalType(bindings.TypeInteger), true
	case *arrow.Float64Type:
		return bindings.CreateLogicalType(bindings.TypeDouble), true
	case *arrow.BooleanType:
		return bindings.CreateLogicalType(bindings.TypeBoolean), true
	case *arrow.TimestampType:
		if t.Unit == arrow.Nanosecond {
			return bindings.CreateLogicalType(bindings.TypeTimestampNS), true
		}
	case *arrow.ListType:
		if t.Elem().ID() == arrow.STRING {
			elem := bindings.CreateLogicalType(bindings.TypeVarchar)
			defer bindings.DestroyLogicalType(&elem)
			return bindings.CreateListType(elem), true
		}
	case *arrow.MapType:
		if t.KeyType().ID() == arrow.STRING && t.ItemType().ID() == arrow.STRING {
			k := bindings.CreateLogicalType(bindings.TypeVarchar)
			defer bindings.DestroyLogicalType(&k)
			v := bindings.CreateLogicalType(bindings.TypeVarchar)
			defer bindings.DestroyLogicalType(&v)
			return bindings.CreateMapType(k, v), true
		}
	}
	return bindings.LogicalType{}, false
}

// sqlTypeName names the DuckDB types arguments may have, for messages.
func sqlTypeName(t bindings.Type) string {
	switch t {
	case bindings.TypeVarchar:
		return "VARCHAR"
	case bindings.TypeBigInt:
		return "BIGINT"
	case bindings.TypeDouble:
		return "DOUBLE"
	case bindings.TypeTimestamp:
		return "TIMESTAMP"
	}
	return fmt.Sprintf("DuckDB type %d", t)
}

// argValue converts an argument's value, of DuckDB type want, to Go: a
// string, int64, float64 or time.Time (UTC); nil for NULL or a named
// argument not given (v.Ptr nil).
func argValue(v bindings.Value, want bindings.Type) (any, error) {
	if v.Ptr == nil || bindings.IsNullValue(v) {
		return nil, nil
	}
	got := bindings.GetTypeId(bindings.GetValueType(v))
	if got != want {
		// DuckDB casts each argument to its declared type before bind.
		return nil, fmt.Errorf("is %s, want %s", sqlTypeName(got), sqlTypeName(want))
	}
	switch got {
	case bindings.TypeVarchar:
		return bindings.GetVarchar(v), nil
	case bindings.TypeBigInt:
		return bindings.GetInt64(v), nil
	case bindings.TypeDouble:
		return bindings.GetDouble(v), nil
	case bindings.TypeTimestamp:
		ts := bindings.GetTimestamp(v)
		return time.UnixMicro(bindings.TimestampMembers(&ts)).UTC(), nil
	}
	panic(fmt.Sprintf("BUG: argument of DuckDB type %d", got))
}

// signature renders f's arguments for messages: name(a VARCHAR, b := BIGINT).
func signature(f *tablefunc.Func) string {
	parts := make([]string, len(f.Args))
	for i, a := range f.Args {
		t, _ := argType(a.Type)
		if a.Named {
			parts[i] = a.Name + " := " + sqlTypeName(t)
		} else {
			parts[i] = a.Name + " " + sqlTypeName(t)
		}
	}
	return f.Name + "(" + strings.Join(parts, ", ") + ")"
}

//export tael_duck_tf_bind
func tael_duck_tf_bind(infoPtr unsafe.Pointer) {
	info := bindings.BindInfo{Ptr: infoPtr}
	fn := pinned[*tableFunc](bindings.BindGetExtraInfo(info))
	f := &fn.f
	args := make([]any, len(f.Args))
	pos := 0
	for i, a := range f.Args {
		var v bindings.Value
		if a.Named {
			v = bindings.BindGetNamedParameter(info, a.Name)
		} else {
			v = bindings.BindGetParameter(info, bindings.IdxT(pos))
			pos++
		}
		t, _ := argType(a.Type)
		var err error
		args[i], err = argValue(v, t)
		bindings.DestroyValue(&v)
		if err != nil {
			bindings.BindSetError(info, fmt.Sprintf("%s: argument %s %v", signature(f), a.Name, err))
			return
		}
	}
	for _, fd := range f.Result.Fields() {
		lt, _ := resultType(fd.Type)
		bindings.BindAddResultColumn(info, fd.Name, lt)
		bindings.DestroyLogicalType(&lt)
	}
	var cc bindings.ClientContext
	bindings.TableFunctionGetClientContext(info, &cc)
	id := uint64(bindings.ClientContextGetConnectionId(cc))
	bindings.DestroyClientContext(&cc)
	// Call runs at init, not here: every statement is bound when prepared
	// (Flight SQL prepares to learn a result schema), and binding must
	// stay cheap.
	bindings.BindSetBindData(info, pin(&bound{fn: fn, args: args, conn: id}), deleteCallback())
}

//export tael_duck_tf_init
func tael_duck_tf_init(infoPtr unsafe.Pointer) {
	info := bindings.InitInfo{Ptr: infoPtr}
	b := pinned[*bound](bindings.InitGetBindData(info))
	bindings.InitSetMaxThreads(info, 1)
	d := b.fn.d
	ctx := d.callContext(b.conn)
	ctx = context.WithValue(ctx, callKey{}, callDepth(ctx)+1)
	rec, err := b.fn.call(ctx, d, b.args)
	if err != nil {
		msg := err.Error()
		if name := b.fn.f.Name; !strings.HasPrefix(msg, name+":") {
			msg = name + ": " + msg
		}
		bindings.InitSetError(info, msg)
		return
	}
	bindings.InitSetInitData(info, pin(&scan{rec: rec}), deleteCallback())
}

// call runs the function and checks that its batch has the declared
// columns. A panic in Call is an error of the query, not of the process.
func (fn *tableFunc) call(ctx context.Context, d *DB, args []any) (rec arrow.RecordBatch, err error) {
	f := &fn.f
	defer func() {
		if p := recover(); p != nil {
			d.log.Error("table function panicked", "function", f.Name, "panic", p, "stack", string(debug.Stack()))
			rec, err = nil, fmt.Errorf("%s: panic: %v", f.Name, p)
		}
	}()
	rec, err = f.Call(ctx, d.mem, args)
	if err != nil {
		if rec != nil {
			rec.Release()
		}
		return nil, err
	}
	if rec == nil {
		return nil, nil
	}
	if int(rec.NumCols()) != f.Result.NumFields() {
		rec.Release()
		return nil, fmt.Errorf("%s: Call returned %d columns, want %d", f.Name, rec.NumCols(), f.Result.NumFields())
	}
	for i, fd := range f.Result.Fields() {
		if got := rec.Column(i).DataType(); !arrow.TypeEqual(got, fd.Type) {
			rec.Release()
			return nil, fmt.Errorf("%s: Call returned column %s as %s, want %s", f.Name, fd.Name, got, fd.Type)
		}
	}
	return rec, nil
}

//export tael_duck_tf_scan
func tael_duck_tf_scan(infoPtr, outPtr unsafe.Pointer) {
	info := bindings.FunctionInfo{Ptr: infoPtr}
	out := bindings.DataChunk{Ptr: outPtr}
	s := pinned[*scan](bindings.FunctionGetInitData(info))
	if s.rec == nil || s.next >= int(s.rec.NumRows()) {
		bindings.DataChunkSetSize(out, 0)
		return
	}
	n := min(int(s.rec.NumRows())-s.next, chunkRows)
	for j, col := range s.rec.Columns() {
		if err := copyColumn(bindings.DataChunkGetVector(out, bindings.IdxT(j)), 0, col, s.next, n); err != nil {
			bindings.FunctionSetError(info, err.Error())
			return
		}
	}
	bindings.DataChunkSetSize(out, bindings.IdxT(n))
	s.next += n
}

// handle is a Go value DuckDB holds. DuckDB keeps the address of a
// pinned cgo.Handle, allocated on its own (cgo refuses a pointer into an
// object holding other Go pointers), that refers to the handle, until it
// calls tael_duck_tf_delete.
type handle struct {
	pinner runtime.Pinner
	v      any
}

// pin returns a pointer DuckDB may keep to v, released by the callback
// deleteCallback returns.
func pin(v any) unsafe.Pointer {
	h := &handle{v: v}
	p := new(cgo.Handle)
	*p = cgo.NewHandle(h)
	h.pinner.Pin(p)
	return unsafe.Pointer(p)
}

// pinned returns the value that p, from pin, points to.
func pinned[T any](p unsafe.Pointer) T {
	return (*cgo.Handle)(p).Value().(*handle).v.(T)
}

func deleteCallback() unsafe.Pointer {
	return unsafe.Pointer(C.tael_duck_tf_delete_t(C.tael_duck_tf_delete))
}

//export tael_duck_tf_delete
func tael_duck_tf_delete(p unsafe.Pointer) {
	ch := (*cgo.Handle)(p)
	h := ch.Value().(*handle)
	if s, ok := h.v.(*scan); ok {
		s.free()
	}
	ch.Delete()
	h.pinner.Unpin()
}
