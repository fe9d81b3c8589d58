package duck

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/tael/tael/internal/arrowtime"
)

// Kind says what a statement does.
type Kind int

const (
	// KindQuery returns rows and changes nothing.
	KindQuery Kind = iota + 1
	// KindUpdate changes data (INSERT INTO trace_comments) and returns a
	// row count.
	KindUpdate
)

// Statement describes a prepared statement.
type Statement struct {
	Kind Kind
	// Schema is the result schema of a query, in tael's result types; nil
	// for an update.
	Schema *arrow.Schema
	// Params has one field per parameter, named "1", "2", …, typed as
	// DuckDB inferred them (arrow.Null when it could not).
	Params *arrow.Schema
}

// prepared is a statement prepared on one connection.
type prepared struct {
	stmt bindings.PreparedStatement
	kind Kind
	// insert is set for an INSERT INTO trace_comments: the statement
	// prepared is its source query.
	insert *insertPlan
}

func (p *prepared) close() { bindings.DestroyPrepare(&p.stmt) }

// prepare parses query, which must be exactly one statement, and checks
// that it is allowed.
func (c *conn) prepare(query string) (*prepared, error) {
	if ins, ok, err := parseInsert(query); ok || err != nil {
		if err != nil {
			return nil, err
		}
		p, err := c.prepareOne(ins.source)
		if err != nil {
			return nil, err
		}
		if p.kind != KindQuery {
			p.close()
			return nil, fmt.Errorf("%w: the rows to insert must come from VALUES or a query", ErrReadOnly)
		}
		p.kind = KindUpdate
		p.insert = ins
		return p, nil
	}
	return c.prepareOne(query)
}

func (c *conn) prepareOne(query string) (*prepared, error) {
	var ext bindings.ExtractedStatements
	n := bindings.ExtractStatements(c.c, query, &ext)
	defer bindings.DestroyExtracted(&ext)
	if n == 0 {
		if msg := bindings.ExtractStatementsError(ext); msg != "" {
			return nil, fmt.Errorf("%w: %s", ErrInvalid, msg)
		}
		return nil, fmt.Errorf("%w: empty statement", ErrInvalid)
	}
	if n > 1 {
		return nil, fmt.Errorf("%w: %d statements: send one at a time", ErrInvalid, n)
	}
	var stmt bindings.PreparedStatement
	if bindings.PrepareExtractedStatement(c.c, ext, 0, &stmt) == bindings.StateError {
		msg := bindings.PrepareError(stmt)
		bindings.DestroyPrepare(&stmt)
		if strings.Contains(msg, "lock_configuration") || strings.Contains(msg, "configuration has been locked") {
			return nil, fmt.Errorf("%w: %s", ErrReadOnly, msg)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	p := &prepared{stmt: stmt}
	switch t := bindings.PreparedStatementType(stmt); t {
	case bindings.StatementTypeSelect, bindings.StatementTypeExplain:
		p.kind = KindQuery
	default:
		p.close()
		return nil, fmt.Errorf("%w: only queries may run (and INSERT INTO trace_comments); this is a %s statement", ErrReadOnly, statementName(t))
	}
	return p, nil
}

func statementName(t bindings.StatementType) string {
	switch t {
	case bindings.StatementTypeInsert:
		return "INSERT"
	case bindings.StatementTypeUpdate:
		return "UPDATE"
	case bindings.StatementTypeDelete:
		return "DELETE"
	case bindings.StatementTypeCreate, bindings.StatementTypeCreateFunc:
		return "CREATE"
	case bindings.StatementTypeDrop:
		return "DROP"
	case bindings.StatementTypeAlter:
		return "ALTER"
	case bindings.StatementTypeCopy:
		return "COPY"
	case bindings.StatementTypeExport:
		return "EXPORT"
	case bindings.StatementTypeAttach:
		return "ATTACH"
	case bindings.StatementTypeDetach:
		return "DETACH"
	case bindings.StatementTypeLoad, bindings.StatementTypeExtension:
		return "INSTALL/LOAD"
	case bindings.StatementTypeSet, bindings.StatementTypeVariableSet:
		return "SET"
	case bindings.StatementTypePragma:
		return "PRAGMA"
	case bindings.StatementTypeCall:
		return "CALL"
	case bindings.StatementTypeTransaction:
		return "transaction"
	case bindings.StatementTypeVacuum, bindings.StatementTypeAnalyze:
		return "maintenance"
	case bindings.StatementTypePrepare, bindings.StatementTypeExecute:
		return "PREPARE/EXECUTE"
	}
	return "non-query"
}

// describe returns the statement's result and parameter schemas.
func (c *conn) describe(p *prepared) (*Statement, error) {
	st := &Statement{Kind: p.kind}
	var opts bindings.ArrowOptions
	bindings.ConnectionGetArrowOptions(c.c, &opts)
	defer bindings.DestroyArrowOptions(&opts)
	if p.kind == KindQuery {
		n := bindings.PreparedStatementColumnCount(p.stmt)
		types := make([]bindings.LogicalType, n)
		names := make([]string, n)
		for i := range n {
			types[i] = bindings.PreparedStatementColumnLogicalType(p.stmt, i)
			names[i] = bindings.PreparedStatementColumnName(p.stmt, i)
		}
		s, ed := bindings.NewArrowSchema(opts, types, names)
		if err := errData(ed); err != nil {
			// A column DuckDB cannot type before binding (SELECT ?):
			// describe column by column, such a one as null.
			fields := make([]arrow.Field, n)
			for i := range n {
				fields[i] = arrow.Field{Name: names[i], Type: arrow.Null, Nullable: true}
				one, ed := bindings.NewArrowSchema(opts, types[i:i+1], names[i:i+1])
				if errData(ed) == nil && one.NumFields() == 1 {
					fields[i] = one.Field(0)
				}
			}
			s = arrow.NewSchema(fields, nil)
		}
		for i := range types {
			bindings.DestroyLogicalType(&types[i])
		}
		st.Schema, _ = arrowtime.RetypeSchema(s, "UTC")
	}
	np := bindings.NParams(p.stmt)
	fields := make([]arrow.Field, np)
	for i := range np {
		fields[i] = arrow.Field{Name: fmt.Sprint(i + 1), Type: arrow.Null, Nullable: true}
		lt := bindings.ParamLogicalType(p.stmt, i+1)
		if lt.Ptr == nil {
			continue
		}
		s, ed := bindings.NewArrowSchema(opts, []bindings.LogicalType{lt}, []string{"p"})
		bindings.DestroyLogicalType(&lt)
		if errData(ed) == nil && s.NumFields() == 1 {
			fields[i].Type, _ = arrowtime.Retype(s.Field(0).Type, "UTC")
		}
	}
	st.Params = arrow.NewSchema(fields, nil)
	return st, nil
}

func errData(ed bindings.ErrorData) error {
	defer bindings.DestroyErrorData(&ed)
	if !bindings.ErrorDataHasError(ed) {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalid, bindings.ErrorDataMessage(ed))
}

// Prepare parses and checks one statement and describes it.
func (d *DB) Prepare(ctx context.Context, query string) (*Statement, error) {
	c, err := d.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer d.release(c)
	p, err := c.prepare(query)
	if err != nil {
		return nil, err
	}
	defer p.close()
	return c.describe(p)
}

// Query runs one query with positional params and streams its rows. The
// caller releases the reader, which holds one of the DB's connections
// until then. When ctx ends, DuckDB is interrupted and the reader's Err
// reports ctx's error.
func (d *DB) Query(ctx context.Context, query string, params []any) (array.RecordReader, error) {
	c, err := d.acquire(ctx)
	if err != nil {
		return nil, err
	}
	p, err := c.prepare(query)
	if err != nil {
		d.release(c)
		return nil, err
	}
	if p.kind != KindQuery {
		p.close()
		d.release(c)
		return nil, fmt.Errorf("%w: an INSERT returns no rows: run it as an update", ErrInvalid)
	}
	r, err := d.run(ctx, c, p, params)
	if err != nil {
		p.close()
		d.release(c)
		return nil, err
	}
	return r, nil
}

// run executes p streaming and returns its reader, which owns c and p.
func (d *DB) run(ctx context.Context, c *conn, p *prepared, params []any) (*reader, error) {
	if err := bindAll(p.stmt, params); err != nil {
		return nil, err
	}
	r := &reader{d: d, c: c, p: p, ctx: ctx, done: make(chan struct{}), watched: make(chan struct{})}
	r.refs.Store(1)
	// The table functions the query calls see ctx, until the reader is
	// released (functions.go).
	r.endCalls = d.beginCalls(c, ctx)
	// Interrupt DuckDB when ctx ends, until the reader is released.
	go func() {
		defer close(r.watched)
		select {
		case <-ctx.Done():
			r.interrupted.Store(true)
			bindings.Interrupt(c.c)
		case <-r.done:
		}
	}()
	var pending bindings.PendingResult
	if bindings.PendingPreparedStreaming(p.stmt, &pending) == bindings.StateError {
		msg := bindings.PendingError(pending)
		bindings.DestroyPending(&pending)
		r.stop()
		return nil, fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	var idle idleWait
	for {
		st := bindings.PendingExecuteTask(pending)
		if st == bindings.PendingStateNoTasksAvailable {
			idle.wait()
		} else {
			idle = idleWait{}
		}
		if st == bindings.PendingStateError {
			msg := bindings.PendingError(pending)
			bindings.DestroyPending(&pending)
			r.stop()
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("duck: query interrupted: %w", err)
			}
			return nil, fmt.Errorf("%w: %s", ErrInvalid, msg)
		}
		if bindings.PendingExecutionIsFinished(st) {
			break
		}
	}
	if bindings.ExecutePending(pending, &r.res) == bindings.StateError {
		msg := bindings.ResultError(&r.res)
		bindings.DestroyResult(&r.res)
		bindings.DestroyPending(&pending)
		r.stop()
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("duck: query interrupted: %w", err)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	bindings.DestroyPending(&pending)
	r.opts = bindings.ResultGetArrowOptions(&r.res)
	n := bindings.ColumnCount(&r.res)
	types := make([]bindings.LogicalType, n)
	names := make([]string, n)
	for i := range n {
		types[i] = bindings.ColumnLogicalType(&r.res, i)
		names[i] = bindings.ColumnName(&r.res, i)
	}
	s, ed := bindings.NewArrowSchema(r.opts, types, names)
	for i := range types {
		bindings.DestroyLogicalType(&types[i])
	}
	if err := errData(ed); err != nil {
		r.free()
		return nil, fmt.Errorf("duck: result schema: %w", err)
	}
	r.in = s
	r.out, r.convert = arrowtime.RetypeSchema(s, "UTC")
	return r, nil
}

// idleWait paces the loop that drives a pending query while the query's
// remaining work runs on DuckDB's worker threads (or in a table function's
// Call, which may take seconds): the C API offers no way to wait for it,
// and spinning would take a core from that very work.
type idleWait struct{ n int }

// The loop yields idleYields times, then sleeps 10µs, 20µs, … up to
// idleMaxSleep, which bounds the latency added to a query whose last task
// ends while the loop sleeps. The values are a first choice, not tuned;
// against the former busy loop, on 2 cores with Threads 2, they cut a
// query's CPU while a table function slept 1s from 990ms to 70ms, and
// took SELECT sum(i) FROM range(20000000) from about 100ms to 45ms and a
// GROUP BY over 200,000 hot spans from 5.5–12ms to 5.3ms (the spinning
// loop took a core from DuckDB's worker).
const (
	idleYields   = 100
	idleMaxSleep = time.Millisecond
)

func (w *idleWait) wait() {
	w.n++
	if w.n <= idleYields {
		runtime.Gosched()
		return
	}
	time.Sleep(min(time.Duration(w.n-idleYields)*10*time.Microsecond, idleMaxSleep))
}

// reader streams a query's result. It owns a connection and a prepared
// statement until released.
type reader struct {
	d    *DB
	c    *conn
	p    *prepared
	ctx  context.Context
	res  bindings.Result
	opts bindings.ArrowOptions
	in   *arrow.Schema
	out  *arrow.Schema
	// convert is set when DuckDB's types differ from tael's (timestamps).
	convert bool

	refs        atomic.Int64
	interrupted atomic.Bool
	// endCalls ends the context the query's table functions see.
	endCalls func()
	done     chan struct{} // closed on release: stops the interrupt watcher
	watched  chan struct{} // closed when the watcher has exited
	stopOnce sync.Once

	cur   arrow.RecordBatch
	chunk bindings.DataChunk // backs cur
	err   error
	eof   bool
}

func (r *reader) freeChunk() {
	if r.chunk.Ptr != nil {
		bindings.DestroyDataChunk(&r.chunk)
		r.chunk.Ptr = nil
	}
}

var _ array.RecordReader = (*reader)(nil)

func (r *reader) Schema() *arrow.Schema { return r.out }

func (r *reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.eof || r.err != nil {
		return false
	}
	if err := r.ctx.Err(); err != nil {
		r.err = fmt.Errorf("duck: query interrupted: %w", err)
		return false
	}
	for {
		chunk := bindings.FetchChunk(r.res)
		if chunk.Ptr == nil {
			r.eof = true
			if msg := bindings.ResultError(&r.res); msg != "" || r.interrupted.Load() {
				if err := r.ctx.Err(); err != nil {
					r.err = fmt.Errorf("duck: query interrupted: %w", err)
				} else {
					r.err = fmt.Errorf("%w: %s", ErrInvalid, msg)
				}
			}
			return false
		}
		rec, ed := bindings.DataChunkToArrowArray(r.opts, r.in, chunk)
		// The batch may point into the chunk's memory (strings): keep the
		// chunk until the batch is done with.
		r.freeChunk()
		r.chunk = chunk
		if err := errData(ed); err != nil {
			r.err = fmt.Errorf("duck: convert result: %w", err)
			return false
		}
		if rec.NumRows() == 0 {
			rec.Release()
			continue
		}
		if r.convert {
			c := arrowtime.ConvertRecord(r.d.mem, rec, r.out)
			rec.Release()
			rec = c
		}
		r.cur = rec
		return true
	}
}

func (r *reader) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *reader) Record() arrow.RecordBatch      { return r.cur }
func (r *reader) Err() error                     { return r.err }
func (r *reader) Retain()                        { r.refs.Add(1) }

func (r *reader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.freeChunk()
	r.free()
}

// free destroys the result and returns the connection.
func (r *reader) free() {
	// A table function still running (a scan that a released stream never
	// reached the end of) sees its context end.
	r.endCalls()
	bindings.DestroyArrowOptions(&r.opts)
	bindings.DestroyResult(&r.res)
	r.stop()
	r.p.close()
	r.d.release(r.c)
}

// stop ends the interrupt watcher and waits for it, so that no interrupt
// reaches the connection's next query.
func (r *reader) stop() {
	r.stopOnce.Do(func() {
		close(r.done)
		r.endCalls()
	})
	<-r.watched
}

// Exec runs an update: INSERT INTO trace_comments, stored through
// Options.Append. It returns the number of rows inserted.
func (d *DB) Exec(ctx context.Context, query string, params []any) (int64, error) {
	if d.opts.Append == nil {
		return 0, fmt.Errorf("%w: this server stores no comments", ErrReadOnly)
	}
	c, err := d.acquire(ctx)
	if err != nil {
		return 0, err
	}
	p, err := c.prepare(query)
	if err != nil {
		d.release(c)
		return 0, err
	}
	if p.kind != KindUpdate {
		p.close()
		d.release(c)
		return 0, fmt.Errorf("%w: a query is not an update", ErrInvalid)
	}
	ins := p.insert
	r, err := d.run(ctx, c, p, params)
	if err != nil {
		p.close()
		d.release(c)
		return 0, err
	}
	rec, err := ins.rows(d.mem, r, d.opts.Clock())
	r.Release()
	if err != nil {
		return 0, err
	}
	defer rec.Release()
	if _, err := d.opts.Append(ctx, tableTraceComments, rec); err != nil {
		return 0, fmt.Errorf("duck: store comments: %w", err)
	}
	return rec.NumRows(), nil
}

// bindAll binds params to the statement's parameters 1…n.
func bindAll(stmt bindings.PreparedStatement, params []any) error {
	n := int(bindings.NParams(stmt))
	if len(params) != n {
		return fmt.Errorf("%w: the statement has %d parameters, %d values given", ErrInvalid, n, len(params))
	}
	for i, v := range params {
		if err := bindOne(stmt, bindings.IdxT(i+1), v); err != nil {
			return fmt.Errorf("parameter %d: %w", i+1, err)
		}
	}
	return nil
}

func bindOne(stmt bindings.PreparedStatement, i bindings.IdxT, v any) error {
	var st bindings.State
	switch v := v.(type) {
	case nil:
		st = bindings.BindNull(stmt, i)
	case bool:
		st = bindings.BindBoolean(stmt, i, v)
	case int:
		st = bindings.BindInt64(stmt, i, int64(v))
	case int8:
		st = bindings.BindInt8(stmt, i, v)
	case int16:
		st = bindings.BindInt16(stmt, i, v)
	case int32:
		st = bindings.BindInt32(stmt, i, v)
	case int64:
		st = bindings.BindInt64(stmt, i, v)
	case uint8:
		st = bindings.BindUInt8(stmt, i, v)
	case uint16:
		st = bindings.BindUInt16(stmt, i, v)
	case uint32:
		st = bindings.BindUInt32(stmt, i, v)
	case uint64:
		st = bindings.BindUInt64(stmt, i, v)
	case float32:
		st = bindings.BindFloat(stmt, i, v)
	case float64:
		st = bindings.BindDouble(stmt, i, v)
	case string:
		st = bindings.BindVarchar(stmt, i, v)
	case []byte:
		st = bindings.BindBlob(stmt, i, v)
	case time.Time:
		val := bindings.CreateTimestampNS(bindings.NewTimestampNS(v.UnixNano()))
		st = bindings.BindValue(stmt, i, val)
		bindings.DestroyValue(&val)
	default:
		return fmt.Errorf("%w: cannot bind a %T", ErrInvalid, v)
	}
	if st == bindings.StateError {
		return fmt.Errorf("%w: cannot bind %v", ErrInvalid, v)
	}
	return nil
}
