package sql

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// slowQuery runs for minutes on 2 cores unless interrupted.
const slowQuery = "SELECT count(*) FROM range(10000000000)"

// running reports how many executions the server runs.
func (ts *testServer) running() int {
	ts.queries.mu.Lock()
	defer ts.queries.mu.Unlock()
	return len(ts.queries.running)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestQueryTimeout(t *testing.T) {
	ts := startServer(t, Options{QueryTimeout: 300 * time.Millisecond})
	cl := ts.client(t)
	ctx := testContext(t)
	start := time.Now()
	_, _, err := query(ctx, t, cl, slowQuery)
	wantCode(t, err, codes.DeadlineExceeded, "timeout")
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("timed out after %v", d)
	}
	// The server is usable afterwards.
	if _, recs, err := query(ctx, t, cl, "SELECT 42"); err != nil || rowCount(recs) != 1 {
		t.Fatalf("after timeout: %v", err)
	}
}

func TestGRPCDeadline(t *testing.T) {
	ts := startServer(t, Options{})
	cl := ts.client(t)
	ctx := testContext(t)
	info, err := cl.Execute(ctx, slowQuery)
	if err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, _, err = readAll(dctx, t, cl, info)
	wantCode(t, err, codes.DeadlineExceeded, "")
	// The server stops the query too.
	waitFor(t, "the query to stop", func() bool { return ts.running() == 0 })
}

func TestSessionOptions(t *testing.T) {
	ts := startServer(t, Options{})
	cl := ts.client(t, grpc.WithTransportCredentials(insecure.NewCredentials()))
	ctx := testContext(t)
	// A client that keeps cookies.
	ccl, err := flightsql.NewClient(ts.addr, nil, []flight.ClientMiddleware{flight.NewClientCookieMiddleware()},
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer ccl.Close()
	ccl.Alloc = ts.mem

	get := func(cl *flightsql.Client) map[string]*flight.SessionOptionValue {
		t.Helper()
		res, err := cl.GetSessionOptions(ctx, &flight.GetSessionOptionsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return res.GetSessionOptions()
	}
	if o := get(ccl); o["catalog"].GetStringValue() != "tael" || o["schema"].GetStringValue() != "main" || o["timeout"] != nil {
		t.Fatalf("default options %v", o)
	}
	vals, err := flight.NewSessionOptionValues(map[string]any{
		"timeout": 0.3, "catalog": "tael", "schema": "main", "colour": "blue", "query_timeout": "soon",
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ccl.SetSessionOptions(ctx, &flight.SetSessionOptionsRequest{SessionOptions: vals})
	if err != nil {
		t.Fatal(err)
	}
	errs := res.GetErrors()
	if len(errs) != 2 || errs["colour"].GetValue() != flight.SetSessionOptionsResultErrorInvalidName ||
		errs["query_timeout"].GetValue() != flight.SetSessionOptionsResultErrorInvalidValue {
		t.Fatalf("errors %v", errs)
	}
	if o := get(ccl); o["timeout"].GetDoubleValue() != 0.3 {
		t.Fatalf("options after set %v", o)
	}
	vals, _ = flight.NewSessionOptionValues(map[string]any{"catalog": "other"})
	if res, err = ccl.SetSessionOptions(ctx, &flight.SetSessionOptionsRequest{SessionOptions: vals}); err != nil ||
		res.GetErrors()["catalog"].GetValue() != flight.SetSessionOptionsResultErrorInvalidValue {
		t.Fatalf("catalog other: %v, %v", res, err)
	}

	// The session's timeout applies to its queries, not to others'.
	_, _, err = query(ctx, t, ccl, slowQuery)
	wantCode(t, err, codes.DeadlineExceeded, "")
	if o := get(cl); o["timeout"] != nil {
		t.Fatalf("a client without the cookie sees %v", o)
	}

	// Closing the session drops its options.
	cres, err := ccl.CloseSession(ctx, &flight.CloseSessionRequest{})
	if err != nil || cres.GetStatus() != flight.CloseSessionResultClosed {
		t.Fatalf("CloseSession: %v, %v", cres, err)
	}
	if o := get(ccl); o["timeout"] != nil {
		t.Fatalf("options after close %v", o)
	}
	if n := ts.sessions.len(); n != 0 {
		t.Fatalf("%d sessions after close", n)
	}
}

func TestCancel(t *testing.T) {
	ts := startServer(t, Options{})
	cl := ts.client(t)
	ctx := testContext(t)

	t.Run("running", func(t *testing.T) {
		info, err := cl.Execute(ctx, slowQuery)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
			if err == nil {
				for rdr.Next() {
				}
				err = rdr.Err()
				rdr.Release()
			}
			done <- err
		}()
		waitFor(t, "the query to run", func() bool { return ts.running() == 1 })
		res, err := cl.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info})
		if err != nil || res.GetStatus() != flight.CancelStatusCancelled {
			t.Fatalf("CancelFlightInfo: %v, %v", res, err)
		}
		select {
		case err := <-done:
			wantCode(t, err, codes.Canceled, "cancelled")
		case <-time.After(20 * time.Second):
			t.Fatal("the cancelled query still runs")
		}
	})
	t.Run("before DoGet", func(t *testing.T) {
		info, err := cl.Execute(ctx, "SELECT 1")
		if err != nil {
			t.Fatal(err)
		}
		// The deprecated CancelQuery action ends up in CancelFlightInfo.
		if res, err := cl.CancelQuery(ctx, info); err != nil || res != flightsql.CancelResultCancelled {
			t.Fatalf("CancelQuery: %v, %v", res, err)
		}
		_, _, err = readAll(ctx, t, cl, info)
		wantCode(t, err, codes.Canceled, "")
	})
	t.Run("metadata", func(t *testing.T) {
		info, err := cl.GetCatalogs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := cl.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info})
		if err != nil || res.GetStatus() != flight.CancelStatusNotCancellable {
			t.Fatalf("CancelFlightInfo(catalogs): %v, %v", res, err)
		}
	})
}

// TestStreamsManyBatches reads a result much larger than one batch.
func TestStreamsManyBatches(t *testing.T) {
	ts := startServer(t, Options{})
	cl := ts.client(t)
	ctx := testContext(t)
	sc, recs, err := query(ctx, t, cl, "SELECT x, 'row ' || x AS s FROM range(300000) t(x)")
	if err != nil {
		t.Fatal(err)
	}
	if rowCount(recs) != 300000 || len(recs) < 2 || sc.NumFields() != 2 {
		t.Fatalf("%d rows in %d batches, schema %s", rowCount(recs), len(recs), sc)
	}
	// DuckDB chunks of 16 MiB (2048 rows of 8 KiB) reach a client that
	// takes messages of 4 MiB at most (gRPC's default).
	_, recs, err = query(ctx, t, cl, "SELECT repeat('x', 8192) AS body FROM range(5000)")
	if err != nil {
		t.Fatal(err)
	}
	if rowCount(recs) != 5000 {
		t.Fatalf("%d rows", rowCount(recs))
	}
}

// TestFlightInfoSchema checks that the schema a FlightInfo announces is the
// stream's (ADBC refuses a stream whose schema differs).
func TestFlightInfoSchema(t *testing.T) {
	ts := startServer(t, Options{})
	cl := ts.client(t)
	ctx := testContext(t)
	for _, q := range []string{
		"SELECT 1",
		"SELECT NULL AS n",
		"SELECT 1.5 AS d, 2::HUGEINT AS h, 3::UTINYINT AS u, true AS b",
		"SELECT TIMESTAMP '2024-01-01 00:00:00' AS ts, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS tz, DATE '2024-01-01' AS d, INTERVAL 1 HOUR AS i",
		"SELECT [1, 2] AS l, {'a': 1} AS s, MAP {'k': 'v'} AS m, 'x'::BLOB AS bl, uuid() AS id",
		"SELECT * FROM spans",
		"SELECT * FROM logs",
		"SELECT * FROM metrics",
		"DESCRIBE spans",
		"SHOW TABLES",
		"SELECT table_name FROM information_schema.tables",
		"EXPLAIN SELECT 1",
	} {
		t.Run(q, func(t *testing.T) {
			info, err := cl.Execute(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := flight.DeserializeSchema(info.Schema, ts.mem)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := readAll(ctx, t, cl, info)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(want) {
				t.Fatalf("stream schema\n%s\nFlightInfo schema\n%s", got, want)
			}
		})
	}
}
