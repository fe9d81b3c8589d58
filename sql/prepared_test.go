package sql

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"google.golang.org/grpc/codes"
)

// fakeClock is a settable clock for expiry tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestLRU(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	c := newLRU[int](time.Minute, 3, clk.now)
	for i := range 3 {
		c.put(strconv.Itoa(i), i)
	}
	if v, ok := c.get("0"); !ok || v != 0 {
		t.Fatal("0 missing")
	}
	c.put("3", 3) // evicts 1, the least recently used
	if _, ok := c.get("1"); ok {
		t.Fatal("1 not evicted")
	}
	if c.len() != 3 {
		t.Fatalf("len %d", c.len())
	}
	clk.add(50 * time.Second)
	c.get("3") // used: stays
	clk.add(20 * time.Second)
	if _, ok := c.get("0"); ok {
		t.Fatal("0 not expired")
	}
	c.sweep()
	if c.len() != 1 {
		t.Fatalf("len %d after sweep", c.len())
	}
	if v, ok := c.remove("3"); !ok || v != 3 {
		t.Fatal("remove 3")
	}
	if _, ok := c.remove("3"); ok {
		t.Fatal("removed twice")
	}
}

func TestPreparedStatements(t *testing.T) {
	ts := startServer(t, Options{})
	clk := &fakeClock{t: time.Now()}
	ts.prepared.now = clk.now
	cl := ts.client(t)
	ctx := testContext(t)

	ps, err := cl.Prepare(ctx, "SELECT x, x * 2 AS y FROM range(5) t(x) WHERE x < ?")
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close(ctx)
	if ds := ps.DatasetSchema(); ds == nil || ds.NumFields() != 2 || ds.Field(1).Name != "y" {
		t.Fatalf("dataset schema %v", ds)
	}
	if p := ps.ParameterSchema(); p == nil || p.NumFields() != 1 || p.Field(0).Type.ID() != arrow.INT64 {
		t.Fatalf("parameter schema %v", p)
	}
	if u, ok := ps.IsUpdate(); !ok || u {
		t.Fatalf("IsUpdate %v %v", u, ok)
	}
	bind := func(vals ...int64) {
		b := array.NewInt64Builder(ts.mem)
		defer b.Release()
		b.AppendValues(vals, nil)
		col := b.NewArray()
		defer col.Release()
		rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "p", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, int64(len(vals)))
		defer rec.Release()
		ps.SetParameters(rec)
	}
	bind(3)
	info, err := ps.Execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Endpoint) != 1 || info.TotalRecords != -1 {
		t.Fatalf("FlightInfo %v", info)
	}
	if _, recs, err := readAll(ctx, t, cl, info); err != nil || rowCount(recs) != 3 {
		t.Fatalf("x < 3: %d rows, %v", rowCount(recs), err)
	}
	// The FlightInfo's ticket can be redeemed again, from another client.
	other := ts.client(t)
	if _, recs, err := readAll(ctx, t, other, info); err != nil || rowCount(recs) != 3 {
		t.Fatalf("redeemed by another client: %d rows, %v", rowCount(recs), err)
	}

	// Wrong parameter count.
	b := array.NewRecordBuilder(ts.mem, arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "b", Type: arrow.PrimitiveTypes.Int64}}, nil))
	b.Field(0).(*array.Int64Builder).Append(1)
	b.Field(1).(*array.Int64Builder).Append(2)
	two := b.NewRecordBatch()
	b.Release()
	defer two.Release()
	ps.SetParameters(two)
	_, err = ps.Execute(ctx)
	wantCode(t, err, codes.InvalidArgument, "takes 1 parameter(s)")

	// A query is not an update.
	bind(1)
	_, err = ps.ExecuteUpdate(ctx)
	wantCode(t, err, codes.InvalidArgument, "query")

	// Unused for 30 minutes, it is gone.
	clk.add(preparedIdle + time.Second)
	_, err = ps.Execute(ctx)
	wantCode(t, err, codes.NotFound, "prepared statement")

	// Closed, it is gone too.
	ps2, err := cl.Prepare(ctx, "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	if err := ps2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ts.prepared.len() != 0 {
		t.Fatalf("%d prepared statements left", ts.prepared.len())
	}

	// Bad SQL fails at prepare.
	_, err = cl.Prepare(ctx, "SELECT FROM WHERE")
	wantCode(t, err, codes.InvalidArgument, "syntax error")
	_, err = cl.Prepare(ctx, "DROP TABLE spans")
	wantCode(t, err, codes.InvalidArgument, "read-only")
}
