package sqlbench

import (
	"context"
	gosql "database/sql"
	"database/sql/driver"
	"fmt"
	"math"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/stats"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
	tsql "github.com/tael/tael/sql"
	"github.com/tael/tael/sql/duck"
)

// t0 is the start of the data set's 24 hours.
var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

const (
	// span is the time the data set covers.
	span = 24 * time.Hour
	// loadBatchRows is the size of each appended batch.
	loadBatchRows = 5000
	// loaders append batches concurrently (group commit amortises fsyncs).
	loaders = 4
)

// fixture is the data set and the two ways of querying it, built once per
// process (the first benchmark that asks for it) and removed by TestMain.
type fixture struct {
	rows    int
	threads int
	dir     string
	eng     *engine.Engine
	db      *duck.DB
	srv     *tsql.Server
	served  chan error
	addr    string
	cl      *flightsql.Client
	wire    *wireCounter
	// files are the live cold span files tael's view reads (absolute).
	files []string
	// direct is a plain DuckDB (duckdb-go, database/sql) with one connection.
	direct *gosql.DB
	// fromFiles is the read_parquet call over files, for the direct side.
	fromFiles string

	loadTook, compactTook, attachTook time.Duration
	coldBytes                         int64
}

var (
	fxOnce sync.Once
	fx     *fixture
	fxErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fx != nil {
		fx.close()
	}
	os.Exit(code)
}

// getFixture returns the process's data set, building it on first use.
func getFixture(b *testing.B) *fixture {
	b.Helper()
	fxOnce.Do(func() {
		n := 1_000_000
		if s := os.Getenv("TAEL_BENCH_SPANS"); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v <= 0 {
				fxErr = fmt.Errorf("TAEL_BENCH_SPANS=%q: want a positive integer", s)
				return
			}
			n = v
		}
		threads := runtime.NumCPU()
		if s := os.Getenv("TAEL_BENCH_THREADS"); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v <= 0 {
				fxErr = fmt.Errorf("TAEL_BENCH_THREADS=%q: want a positive integer", s)
				return
			}
			threads = v
		}
		fx, fxErr = newFixture(n, threads)
	})
	if fxErr != nil {
		b.Fatal(fxErr)
	}
	return fx
}

// recorder is the engine's mirror: the DuckDB database, plus a copy of the
// live cold span files it is given.
type recorder struct {
	*duck.DB
	mu    sync.Mutex
	spans []string
}

func (r *recorder) Cold(table schema.ID, files []string, movedBefore int64, movedLSN uint64) error {
	if table == schema.Spans {
		r.mu.Lock()
		r.spans = append([]string(nil), files...)
		r.mu.Unlock()
	}
	return r.DB.Cold(table, files, movedBefore, movedLSN)
}

func newFixture(n, threads int) (f *fixture, err error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tael-sqlbench-")
	if err != nil {
		return nil, err
	}
	f = &fixture{rows: n, threads: threads, dir: dir}
	defer func() {
		if err != nil {
			f.close()
			f = nil
		}
	}()
	f.eng, err = engine.Open(ctx, dir, engine.Options{CompactInterval: -1})
	if err != nil {
		return f, err
	}

	// Load: n spans in batches, start times spread evenly over 24 hours.
	start := time.Now()
	step := span / time.Duration(n)
	batches := (n + loadBatchRows - 1) / loadBatchRows
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, loaders)
	for range loaders {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= batches {
					return
				}
				first := i * loadBatchRows
				rec := synth.Spans(memory.DefaultAllocator, synth.SpanOptions{
					Rows:     min(loadBatchRows, n-first),
					Start:    t0.Add(time.Duration(first) * step),
					Step:     step,
					LLMEvery: 10,
					Seed:     uint64(i + 1),
				})
				_, err := f.eng.Append(ctx, schema.Spans, rec)
				rec.Release()
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return f, fmt.Errorf("load: %w", err)
	}
	f.loadTook = time.Since(start)

	// Compact: every hot row to Parquet.
	start = time.Now()
	st, err := f.eng.Compact(ctx, engine.CompactOptions{All: true})
	if err != nil {
		return f, fmt.Errorf("compact: %w", err)
	}
	if st.Rows != int64(n) {
		return f, fmt.Errorf("compaction moved %d rows, want %d", st.Rows, n)
	}
	f.compactTook = time.Since(start)

	// Serve: DuckDB attached to the engine, Flight SQL on loopback.
	start = time.Now()
	coldDir, err := filepath.Abs(filepath.Join(f.eng.Dir(), "cold"))
	if err != nil {
		return f, err
	}
	f.db, err = duck.Open(duck.Options{ColdDir: coldDir, Append: f.eng.Append, Threads: threads})
	if err != nil {
		return f, err
	}
	rec := &recorder{DB: f.db}
	if err := f.eng.Attach(ctx, rec); err != nil {
		return f, err
	}
	f.attachTook = time.Since(start)
	rec.mu.Lock()
	f.files = rec.spans
	rec.mu.Unlock()
	if len(f.files) == 0 {
		return f, fmt.Errorf("no cold span files after compaction")
	}
	// The brief is "the files under cold/spans"; the engine's live list is
	// what tael reads, so check the two agree (no merged-away garbage).
	onDisk, err := filepath.Glob(filepath.Join(coldDir, "spans", "*", "*", "*.parquet"))
	if err != nil {
		return f, err
	}
	if !slices.Equal(sorted(onDisk), sorted(f.files)) {
		return f, fmt.Errorf("cold/spans holds %d Parquet files, the engine lists %d live", len(onDisk), len(f.files))
	}
	for _, p := range f.files {
		fi, err := os.Stat(p)
		if err != nil {
			return f, err
		}
		f.coldBytes += fi.Size()
	}

	f.srv, err = tsql.NewServer(tsql.Options{Backend: f.db, Ingester: f.eng})
	if err != nil {
		return f, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return f, err
	}
	f.addr = lis.Addr().String()
	f.served = make(chan error, 1)
	go func() { f.served <- f.srv.Serve(lis) }()
	f.wire = &wireCounter{}
	f.cl, err = flightsql.NewClient(f.addr, nil, nil,
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithStatsHandler(f.wire))
	if err != nil {
		return f, err
	}

	// The direct DuckDB: same thread count, the same files.
	// Its time zone is tael's (UTC), so that time literals mean the same
	// instants on both sides.
	conn, err := duckdb.NewConnector("?threads="+strconv.Itoa(threads), func(ex driver.ExecerContext) error {
		_, err := ex.ExecContext(ctx, "SET TimeZone = 'UTC'", nil)
		return err
	})
	if err != nil {
		return f, err
	}
	f.direct = gosql.OpenDB(conn)
	f.direct.SetMaxOpenConns(1)
	quoted := make([]string, len(f.files))
	for i, p := range f.files {
		quoted[i] = "'" + strings.ReplaceAll(p, "'", "''") + "'"
	}
	f.fromFiles = "read_parquet([" + strings.Join(quoted, ", ") + "])"

	// Both sides must see every row, and agree on each query.
	count := "SELECT count(*) AS n FROM %s"
	for _, side := range []string{"tael", "direct"} {
		got, err := f.query(ctx, side, count)
		if err != nil {
			return f, err
		}
		if len(got) != 1 || got[0][0] != "i:"+strconv.Itoa(n) {
			return f, fmt.Errorf("%s: count(*) = %v, want %d", side, got, n)
		}
	}
	for _, q := range queries {
		a, err := f.query(ctx, "tael", q.sql)
		if err != nil {
			return f, fmt.Errorf("%s: tael: %w", q.name, err)
		}
		d, err := f.query(ctx, "direct", q.sql)
		if err != nil {
			return f, fmt.Errorf("%s: direct: %w", q.name, err)
		}
		if err := sameRows(a, d); err != nil {
			return f, fmt.Errorf("%s: tael and direct DuckDB disagree: %w", q.name, err)
		}
		if len(a) < q.minRows {
			return f, fmt.Errorf("%s: %d rows, want at least %d", q.name, len(a), q.minRows)
		}
	}
	return f, nil
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func (f *fixture) close() {
	if f.cl != nil {
		f.cl.Close()
	}
	if f.srv != nil {
		f.srv.GracefulStop()
		if f.served != nil {
			<-f.served
		}
	}
	if f.direct != nil {
		f.direct.Close()
	}
	if f.eng != nil {
		f.eng.Close()
	}
	if f.db != nil {
		f.db.Close()
	}
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
}

// summary describes the data set for the benchmark log.
func (f *fixture) summary() string {
	return fmt.Sprintf("%d spans over 24h in %d Parquet files (%.0f MB, %.0f B/span); load %s (%.0f spans/s), compact %s, attach %s; DuckDB threads=%d (both sides)",
		f.rows, len(f.files), float64(f.coldBytes)/1e6, float64(f.coldBytes)/float64(f.rows),
		f.loadTook.Round(time.Millisecond), float64(f.rows)/f.loadTook.Seconds(),
		f.compactTook.Round(time.Millisecond), f.attachTook.Round(time.Millisecond), f.threads)
}

// tael runs query through Flight SQL and returns the rows (drain == nil)
// or hands each batch to drain.
func (f *fixture) tael(ctx context.Context, query string, drain func(arrow.RecordBatch)) ([][]any, error) {
	info, err := f.cl.Execute(ctx, query)
	if err != nil {
		return nil, err
	}
	var out [][]any
	for _, ep := range info.Endpoint {
		rdr, err := f.cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return nil, err
		}
		for rdr.Next() {
			rec := rdr.RecordBatch()
			if drain != nil {
				drain(rec)
				continue
			}
			for i := range int(rec.NumRows()) {
				row := make([]any, rec.NumCols())
				for j, c := range rec.Columns() {
					row[j] = arrowCell(c, i)
				}
				out = append(out, row)
			}
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// directRows runs query in the direct DuckDB and returns its rows.
func (f *fixture) directRows(ctx context.Context, query string) ([][]any, error) {
	rs, err := f.direct.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			vals[i] = goCell(v)
		}
		out = append(out, vals)
	}
	return out, rs.Err()
}

// query runs a query template (%s is the table) on one side: "tael"
// (Flight SQL, the spans view) or "direct" (read_parquet of the files).
func (f *fixture) query(ctx context.Context, side, tmpl string) ([][]any, error) {
	if side == "tael" {
		return f.tael(ctx, fmt.Sprintf(tmpl, "spans"), nil)
	}
	return f.directRows(ctx, fmt.Sprintf(tmpl, f.fromFiles))
}

// Cells are compared as nil, float64 or a tagged string: "s:" text, "i:"
// integer, "t:" Unix nanoseconds, "b:" boolean.

func arrowCell(col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch c := col.(type) {
	case *array.String:
		return "s:" + c.Value(i)
	case *array.LargeString:
		return "s:" + c.Value(i)
	case *array.Int64:
		return "i:" + strconv.FormatInt(c.Value(i), 10)
	case *array.Int32:
		return "i:" + strconv.FormatInt(int64(c.Value(i)), 10)
	case *array.Uint64:
		return "i:" + strconv.FormatUint(c.Value(i), 10)
	case *array.Decimal128:
		sc := c.DataType().(*arrow.Decimal128Type).Scale
		if sc == 0 {
			return "i:" + c.Value(i).BigInt().String()
		}
		return c.Value(i).ToFloat64(sc)
	case *array.Float64:
		return c.Value(i)
	case *array.Timestamp:
		unit := c.DataType().(*arrow.TimestampType).Unit
		return "t:" + strconv.FormatInt(c.Value(i).ToTime(unit).UnixNano(), 10)
	case *array.Boolean:
		return "b:" + strconv.FormatBool(c.Value(i))
	}
	return fmt.Sprintf("?%s:%s", col.DataType(), col.ValueStr(i))
}

func goCell(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return "s:" + v
	case int64:
		return "i:" + strconv.FormatInt(v, 10)
	case int32:
		return "i:" + strconv.FormatInt(int64(v), 10)
	case uint64:
		return "i:" + strconv.FormatUint(v, 10)
	case *big.Int:
		return "i:" + v.String()
	case float64:
		return v
	case time.Time:
		return "t:" + strconv.FormatInt(v.UnixNano(), 10)
	case bool:
		return "b:" + strconv.FormatBool(v)
	}
	return fmt.Sprintf("?%T:%v", v, v)
}

// sameRows reports how a and b differ, if they do. Floats may differ in
// the last bits: parallel sums add in any order.
func sameRows(a, b [][]any) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d rows against %d", len(a), len(b))
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return fmt.Errorf("row %d: %d columns against %d", i, len(a[i]), len(b[i]))
		}
		for j := range a[i] {
			x, y := a[i][j], b[i][j]
			if fx, ok := x.(float64); ok {
				if fy, ok := y.(float64); ok && math.Abs(fx-fy) <= 1e-9*max(math.Abs(fx), math.Abs(fy), 1e-300) {
					continue
				}
			} else if x == y {
				continue
			}
			return fmt.Errorf("row %d column %d: %v against %v", i, j, x, y)
		}
	}
	return nil
}

// wireCounter counts the gRPC message bytes the client receives: the Arrow
// IPC data in FlightData messages, plus their protobuf framing.
type wireCounter struct{ n atomic.Int64 }

func (w *wireCounter) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (w *wireCounter) HandleRPC(_ context.Context, s stats.RPCStats) {
	if p, ok := s.(*stats.InPayload); ok {
		w.n.Add(int64(p.WireLength))
	}
}
func (w *wireCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (w *wireCounter) HandleConn(context.Context, stats.ConnStats)                       {}

// memPeak samples the Go heap in use and the process's resident set while
// a benchmark runs.
type memPeak struct {
	stop, done chan struct{}
	heap, rss  uint64
}

func startMemPeak(every time.Duration) *memPeak {
	m := &memPeak{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(every)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			m.heap = max(m.heap, ms.HeapInuse)
			m.rss = max(m.rss, rss())
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// Stop ends sampling and returns the peaks in bytes.
func (m *memPeak) Stop() (heap, rss uint64) {
	close(m.stop)
	<-m.done
	return m.heap, m.rss
}

// rss returns the process's resident set size (0 where unknown).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fs := strings.Fields(string(b))
	if len(fs) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(fs[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// cpuTime returns the CPU time this process has used (user + system, every
// thread: DuckDB's workers, the server, the client).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadavg returns /proc/loadavg's first three fields.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	fs := strings.Fields(string(b))
	if len(fs) < 3 {
		return "?"
	}
	return strings.Join(fs[:3], " ")
}
