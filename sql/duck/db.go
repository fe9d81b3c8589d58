package duck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/tael/tael/internal/tablefunc"
	"github.com/tael/tael/schema"
)

var (
	// ErrInvalid wraps DuckDB's message for a statement it cannot parse,
	// bind or run.
	ErrInvalid = errors.New("duck: invalid SQL")
	// ErrReadOnly is returned for a statement that would change data or
	// configuration: tael's SQL is read-only but for INSERT INTO
	// trace_comments.
	ErrReadOnly = errors.New("duck: SQL is read-only")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("duck: closed")
)

// AppendFunc appends a batch durably to a table (engine.Engine.Append).
type AppendFunc func(ctx context.Context, table schema.ID, rec arrow.RecordBatch) (uint64, error)

// Options configure a DB. The zero value of each field means its default.
type Options struct {
	// Logger receives the DB's messages. Nil discards them.
	Logger *slog.Logger
	// Allocator allocates the Arrow buffers of converted results. Nil means
	// memory.DefaultAllocator.
	Allocator memory.Allocator
	// Clock stamps inserted trace comments. Nil means time.Now.
	Clock func() time.Time
	// MemoryLimit is DuckDB's memory_limit ("4GB", "50%"). Empty means
	// DuckDB's default, 80% of the machine's memory.
	MemoryLimit string
	// Threads is DuckDB's worker thread count. Zero means the number of CPUs.
	Threads int
	// Connections is the number of queries that run at once; more wait.
	// Zero means 16: enough for a few dashboards on 2 cores, where DuckDB's
	// threads, not connections, bound the work.
	Connections int
	// ColdDir is the one directory SQL may read files from (the cold tier's
	// Parquet files). Empty means none.
	ColdDir string
	// Append stores trace comments inserted through SQL. Nil makes
	// INSERT INTO trace_comments fail with ErrReadOnly.
	Append AppendFunc
	// Functions are the table functions SQL may call:
	// SELECT * FROM name(args…). Open fails on one it cannot register
	// (a type outside tablefunc's list, a name DuckDB already has).
	Functions []tablefunc.Func
}

// DefaultOptions returns the options a DB uses when a field is zero.
func DefaultOptions() Options {
	return Options{
		Allocator:   memory.DefaultAllocator,
		Clock:       time.Now,
		Threads:     runtime.NumCPU(),
		Connections: 16,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Allocator == nil {
		o.Allocator = d.Allocator
	}
	if o.Clock == nil {
		o.Clock = d.Clock
	}
	if o.Threads == 0 {
		o.Threads = d.Threads
	}
	if o.Connections == 0 {
		o.Connections = d.Connections
	}
	return o
}

// DB is an embedded DuckDB database holding tael's views. It is safe for
// concurrent use.
type DB struct {
	opts Options
	log  *slog.Logger
	mem  memory.Allocator
	db   bindings.Database
	// pool holds the idle query connections.
	pool chan *conn
	// inner holds the idle connections of queries that table functions
	// run (see functions.go).
	inner chan *conn

	// calls maps a DuckDB connection id to the context of the query
	// running on it, for the table functions it calls.
	calls struct {
		sync.Mutex
		ctx map[uint64]context.Context
	}

	// mirror serialises changes to the _hot tables and the views (Applied,
	// Cold) on their own connection.
	mirror struct {
		sync.Mutex
		c *conn
		// files is the live cold file list of each table.
		files map[schema.ID][]string
		// schemas caches DuckDB's conversion of each table's input schema.
		schemas map[schema.ID]bindings.ArrowConvertedSchema
	}

	// mu guards closed; queries hold it for reading while they take a
	// connection.
	mu     sync.RWMutex
	closed bool
	// wg counts connections handed out.
	wg sync.WaitGroup
}

// conn is one DuckDB connection.
type conn struct {
	c bindings.Connection
	// id is DuckDB's connection id, which table functions see.
	id uint64
	// pool is where the connection goes back when released; nil closes
	// it instead.
	pool chan *conn
}

// Open starts an in-memory DuckDB with tael's tables (empty) and views,
// sealed for user queries.
func Open(opts Options) (*DB, error) {
	opts = opts.withDefaults()
	d := &DB{opts: opts, log: opts.Logger, mem: opts.Allocator}
	d.calls.ctx = map[uint64]context.Context{}
	var cfg bindings.Config
	if bindings.CreateConfig(&cfg) == bindings.StateError {
		return nil, errors.New("duck: create config")
	}
	defer bindings.DestroyConfig(&cfg)
	settings := [][2]string{
		{"threads", fmt.Sprint(opts.Threads)},
		{"autoinstall_known_extensions", "false"},
		{"autoload_known_extensions", "false"},
		// Results stream to clients that cannot read string views.
		{"produce_arrow_string_view", "false"},
	}
	if opts.MemoryLimit != "" {
		settings = append(settings, [2]string{"memory_limit", opts.MemoryLimit})
	}
	for _, s := range settings {
		if bindings.SetConfig(cfg, s[0], s[1]) == bindings.StateError {
			return nil, fmt.Errorf("duck: set %s=%s: invalid setting", s[0], s[1])
		}
	}
	var errMsg string
	if bindings.OpenExt(":memory:", &d.db, cfg, &errMsg) == bindings.StateError {
		return nil, fmt.Errorf("duck: open DuckDB: %s", errMsg)
	}
	mc, err := d.connect()
	if err != nil {
		bindings.Close(&d.db)
		return nil, err
	}
	d.mirror.c = mc
	d.mirror.files = map[schema.ID][]string{}
	d.mirror.schemas = map[schema.ID]bindings.ArrowConvertedSchema{}
	if err := d.setup(); err != nil {
		d.closeAll()
		return nil, err
	}
	d.pool = make(chan *conn, opts.Connections)
	d.inner = make(chan *conn, innerConnections)
	for _, p := range []chan *conn{d.pool, d.inner} {
		for range cap(p) {
			c, err := d.connect()
			if err != nil {
				d.closeAll()
				return nil, err
			}
			c.pool = p
			p <- c
		}
	}
	return d, nil
}

func (d *DB) connect() (*conn, error) {
	var c bindings.Connection
	if bindings.Connect(d.db, &c) == bindings.StateError {
		return nil, errors.New("duck: connect to DuckDB")
	}
	var cc bindings.ClientContext
	bindings.ConnectionGetClientContext(c, &cc)
	cn := &conn{c: c, id: uint64(bindings.ClientContextGetConnectionId(cc))}
	bindings.DestroyClientContext(&cc)
	if d.pool != nil || d.mirror.c != nil {
		if err := cn.exec("USE tael"); err != nil {
			bindings.Disconnect(&cn.c)
			return nil, fmt.Errorf("duck: connect: %w", err)
		}
	}
	return cn, nil
}

// setup creates the _hot tables and the views, then seals the database.
func (d *DB) setup() error {
	var b strings.Builder
	// Everything lives in a catalog named "tael", the one Flight SQL
	// reports, so that tael.main.spans resolves. (A named in-memory
	// database, ":memory:tael", would be shared by every DB of the
	// process.)
	b.WriteString("ATTACH ':memory:' AS tael; USE tael; CREATE SCHEMA _hot;\n")
	for _, t := range schema.Tables() {
		fmt.Fprintf(&b, "CREATE TABLE _hot.%s (%s, _lsn UBIGINT);\n", t.Name, columnDefs(t.Schema))
		if t.ID == schema.LLMPayloads {
			continue // see payloads.go
		}
		b.WriteString(viewSQL(t, nil))
		b.WriteString(";\n")
	}
	b.WriteString(payloadTablesSQL)
	// Grafana's Flight SQL data source writes DataFusion's date_bin.
	b.WriteString("CREATE MACRO date_bin(stride, source) AS time_bucket(stride, CAST(source AS TIMESTAMP), TIMESTAMP '1970-01-01'),\n" +
		"  (stride, source, origin) AS time_bucket(stride, CAST(source AS TIMESTAMP), CAST(origin AS TIMESTAMP));\n")
	if err := d.mirror.c.exec(b.String()); err != nil {
		return fmt.Errorf("duck: create tables: %w", err)
	}
	for _, f := range d.opts.Functions {
		if err := d.register(d.mirror.c, f); err != nil {
			return err
		}
	}
	// GLOBAL: a plain SET of a setting with a session scope (TimeZone,
	// parquet_metadata_cache) holds only on the connection that ran it,
	// not on the pooled ones that run queries.
	seal := []string{
		"SET GLOBAL TimeZone = 'UTC'",
		// Cold files never change (a new version is a new file), so their
		// footers can be cached: every query of a view reads every file's
		// footer, about 3 ms for a 400,000-span file uncached.
		"SET GLOBAL parquet_metadata_cache = true",
		"SET GLOBAL autoinstall_known_extensions = false",
		"SET GLOBAL autoload_known_extensions = false",
	}
	if d.opts.ColdDir != "" {
		seal = append(seal, fmt.Sprintf("SET allowed_directories = [%s]", quote(strings.TrimRight(d.opts.ColdDir, "/")+"/")))
	}
	seal = append(seal,
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	)
	for _, s := range seal {
		if err := d.mirror.c.exec(s); err != nil {
			return fmt.Errorf("duck: %s: %w", s, err)
		}
	}
	return nil
}

// exec runs statements that return no rows we need.
func (c *conn) exec(query string) error {
	var res bindings.Result
	state := bindings.Query(c.c, query, &res)
	defer bindings.DestroyResult(&res)
	if state == bindings.StateError {
		return fmt.Errorf("%w: %s", ErrInvalid, bindings.ResultError(&res))
	}
	return nil
}

// queryInt runs a query whose first value is an integer and returns it.
func (c *conn) queryInt(query string) (int64, error) {
	var res bindings.Result
	state := bindings.Query(c.c, query, &res)
	defer bindings.DestroyResult(&res)
	if state == bindings.StateError {
		return 0, fmt.Errorf("%w: %s", ErrInvalid, bindings.ResultError(&res))
	}
	return bindings.ValueInt64(&res, 0, 0), nil
}

// acquire takes an idle connection, waiting for one if all are busy. A
// query run by a table function's Call takes one of the inner pool, and
// one run by a function that such a query calls a new connection, so that
// no query waits for a connection its own caller holds (see functions.go).
func (d *DB) acquire(ctx context.Context) (*conn, error) {
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return nil, ErrClosed
	}
	d.wg.Add(1)
	d.mu.RUnlock()
	pool := d.pool
	switch depth := callDepth(ctx); {
	case depth == 1:
		pool = d.inner
	case depth > 1:
		if err := ctx.Err(); err != nil {
			d.wg.Done()
			return nil, err
		}
		c, err := d.connect()
		if err != nil {
			d.wg.Done()
			return nil, err
		}
		return c, nil
	}
	select {
	case c := <-pool:
		return c, nil
	case <-ctx.Done():
		d.wg.Done()
		return nil, ctx.Err()
	}
}

func (d *DB) release(c *conn) {
	if c.pool != nil {
		c.pool <- c
	} else {
		bindings.Disconnect(&c.c)
	}
	d.wg.Done()
}

// Close interrupts nothing: it waits for running queries to be released,
// then closes DuckDB.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.wg.Wait()
	d.closeAll()
	return nil
}

func (d *DB) closeAll() {
	d.mirror.Lock()
	for id, s := range d.mirror.schemas {
		bindings.DestroyArrowConvertedSchema(&s)
		delete(d.mirror.schemas, id)
	}
	if d.mirror.c != nil {
		bindings.Disconnect(&d.mirror.c.c)
		d.mirror.c = nil
	}
	d.mirror.Unlock()
	for _, p := range []chan *conn{d.pool, d.inner} {
		if p == nil {
			continue
		}
		for {
			select {
			case c := <-p:
				bindings.Disconnect(&c.c)
				continue
			default:
			}
			break
		}
	}
	bindings.Close(&d.db)
}

// quote returns s as a SQL string literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// ident returns s as a quoted SQL identifier.
func ident(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
