package sql

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tael/tael/sql/duck"
)

// testServer is a Server over a real DuckDB backend on 127.0.0.1:0, whose
// Arrow memory is checked when the test ends.
type testServer struct {
	*Server
	addr string
	db   *duck.DB
	mem  *memory.CheckedAllocator
}

// startServer starts a server with opts (Backend and Allocator are filled
// in unless set) and stops it, checking for leaks, when t ends.
func startServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	var db *duck.DB
	if opts.Backend == nil {
		var err error
		db, err = duck.Open(duck.Options{Allocator: mem})
		if err != nil {
			t.Fatal(err)
		}
		opts.Backend = db
	}
	if opts.Allocator == nil {
		opts.Allocator = mem
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.GracefulStop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if db != nil {
			if err := db.Close(); err != nil {
				t.Errorf("close DuckDB: %v", err)
			}
		}
		mem.AssertSize(t, 0)
	})
	return &testServer{Server: srv, addr: lis.Addr().String(), db: db, mem: mem}
}

// client returns an arrow-go Flight SQL client of ts, closed when t ends.
func (ts *testServer) client(t *testing.T, opts ...grpc.DialOption) *flightsql.Client {
	t.Helper()
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	cl, err := flightsql.NewClient(ts.addr, nil, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	cl.Alloc = ts.mem
	t.Cleanup(func() { cl.Close() })
	return cl
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// readAll redeems every endpoint of info and returns the batches, retained
// (released when t ends), and the stream's schema.
func readAll(ctx context.Context, t *testing.T, cl *flightsql.Client, info *flight.FlightInfo) (*arrow.Schema, []arrow.RecordBatch, error) {
	t.Helper()
	var (
		sc   *arrow.Schema
		recs []arrow.RecordBatch
	)
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return nil, nil, err
		}
		sc = rdr.Schema()
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain()
			recs = append(recs, rec)
			t.Cleanup(rec.Release)
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return sc, recs, err
		}
	}
	return sc, recs, nil
}

// query runs sql through Execute and DoGet.
func query(ctx context.Context, t *testing.T, cl *flightsql.Client, sql string) (*arrow.Schema, []arrow.RecordBatch, error) {
	t.Helper()
	info, err := cl.Execute(ctx, sql)
	if err != nil {
		return nil, nil, err
	}
	return readAll(ctx, t, cl, info)
}

func rowCount(recs []arrow.RecordBatch) int64 {
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	return n
}

// wantCode fails t unless err is a gRPC status with code (and, if msg is
// not empty, a message containing msg).
func wantCode(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		t.Fatalf("error %v: want code %s", err, code)
	}
	if msg != "" && !strings.Contains(st.Message(), msg) {
		t.Fatalf("message %q does not contain %q", st.Message(), msg)
	}
}
