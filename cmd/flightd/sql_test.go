package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-adbc/go/adbc"
	adbcflight "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

var flightRE = regexp.MustCompile(`msg="flight sql listening".* addr=(\S+)`)

// flightAddr waits for flightd's Flight SQL listening line.
func (p *proc) flightAddr(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := flightRE.FindStringSubmatch(p.log()); m != nil {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no flight sql listening line:\n%s", p.log())
	return ""
}

// query runs q through arrow-go's Flight SQL client and returns the rows
// as strings.
func query(t *testing.T, addr, q string) [][]string {
	t.Helper()
	ctx := context.Background()
	cl, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	info, err := cl.Execute(ctx, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if len(info.Endpoint) != 1 {
		t.Fatalf("%s: %d endpoints", q, len(info.Endpoint))
	}
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	var out [][]string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := range int(rec.NumRows()) {
			row := make([]string, rec.NumCols())
			for j, c := range rec.Columns() {
				row[j] = strings.Clone(c.ValueStr(i))
			}
			out = append(out, row)
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sendSpans(t *testing.T, grpcAddr string, n int) {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "chatbot"))))
	tr := tp.Tracer("e2e")
	for i := range n {
		_, s := tr.Start(ctx, fmt.Sprintf("step %d", i%4))
		if i%5 == 0 {
			s.SetAttributes(attribute.String("gen_ai.request.model", "gpt-4o"), attribute.Int("gen_ai.usage.input_tokens", 10+i))
		}
		s.End()
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSQLHotThenCold sends spans over OTLP, reads them through Flight SQL,
// stops flightd, compacts everything with `flightd compact --older-than 0s`,
// restarts it and reads the same answers, now from Parquet.
func TestSQLHotThenCold(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--http", "127.0.0.1:0", "--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0"}
	p := startFlightd(t, nil, args...)
	waitReady(t, p.waitAddr(t))
	m := otlpRE.FindStringSubmatch(p.log())
	if m == nil {
		t.Fatalf("no otlp listening line:\n%s", p.log())
	}
	sendSpans(t, m[1], 60)
	addr := p.flightAddr(t)
	const q = "SELECT operation, count(*), sum(input_tokens), min(start_time) > TIMESTAMP '2020-01-01' FROM spans GROUP BY 1 ORDER BY 1"
	hot := query(t, addr, q)
	if len(hot) != 4 || hot[0][1] != "15" {
		t.Fatalf("hot answer: %v", hot)
	}
	if got := query(t, addr, "SELECT count(*) FROM _hot.spans"); got[0][0] != "60" {
		t.Fatalf("hot rows: %v", got)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.eof
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("flightd exit: %v\n%s", err, p.log())
	}

	c := exec.Command(os.Args[0], "compact", "--data-dir", dir, "--older-than", "0s")
	c.Env = append(os.Environ(), "TAEL_TEST_FLIGHTD=1")
	out, err := c.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "flightd compact done") || !strings.Contains(string(out), "rows=60") {
		t.Fatalf("flightd compact: %v\n%s", err, out)
	}

	p = startFlightd(t, nil, args...)
	waitReady(t, p.waitAddr(t))
	addr = p.flightAddr(t)
	if cold := query(t, addr, q); fmt.Sprint(cold) != fmt.Sprint(hot) {
		t.Errorf("cold answer %v, hot answer %v", cold, hot)
	}
	if got := query(t, addr, "SELECT count(*) FROM _hot.spans"); got[0][0] != "0" {
		t.Errorf("hot rows after compaction: %v", got)
	}

	// ADBC's Flight SQL driver, and the calls Grafana's data source makes.
	adbcCount(t, addr)
	grafanaCalls(t, addr)

	// The command-line client, with the query on stdin.
	c = exec.Command(os.Args[0], "sql", "--flight", addr, "--format", "csv")
	c.Env = append(os.Environ(), "TAEL_TEST_FLIGHTD=1")
	c.Stdin = strings.NewReader("SELECT count(*) AS n, count(DISTINCT trace_id) > 0 AS traced FROM spans")
	out, err = c.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "n,traced\n60,true" {
		t.Errorf("flightd sql: %v\n%s", err, out)
	}
	c = exec.Command(os.Args[0], "sql", "--flight", addr, "SELEKT 1")
	c.Env = append(os.Environ(), "TAEL_TEST_FLIGHTD=1")
	out, err = c.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "syntax error") {
		t.Errorf("flightd sql with bad SQL: %v\n%s", err, out)
	}
}

// TestPromQLAPI writes samples with remote-write and reads them back
// through the Prometheus HTTP API on the same port.
func TestPromQLAPI(t *testing.T) {
	p := startFlightd(t, nil, "--data-dir", t.TempDir(), "--http", "127.0.0.1:0", "--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0")
	base := p.waitAddr(t)
	waitReady(t, base)
	now := time.Now().Add(-time.Minute).Truncate(time.Second)
	wr := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "queue_depth"}, {Name: "job", Value: "worker"}},
		Samples: []prompb.Sample{{Value: 3, Timestamp: now.UnixMilli()}, {Value: 7, Timestamp: now.Add(15 * time.Second).UnixMilli()}},
	}}}
	raw, err := wr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("remote-write: %s", resp.Status)
	}
	code, body := get(t, base+"/api/v1/query?query=max_over_time(queue_depth[5m])&time="+fmt.Sprint(now.Add(30*time.Second).Unix()))
	if code != http.StatusOK || !strings.Contains(body, `"job":"worker"`) || !strings.Contains(body, `"7"]`) {
		t.Fatalf("query: %d %s", code, body)
	}
	code, body = get(t, base+"/api/v1/query?query=sum(")
	if code != http.StatusBadRequest || !strings.Contains(body, `"errorType":"bad_data"`) {
		t.Fatalf("bad query: %d %s", code, body)
	}
	if code, body = get(t, base+"/api/v1/status/buildinfo"); code != http.StatusOK || !strings.Contains(body, `"version"`) {
		t.Fatalf("buildinfo: %d %s", code, body)
	}
	// promtool (Debian's, fetched by scripts/tools.sh) against the server.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found: run scripts/tools.sh (make test does)")
	}
	at := fmt.Sprint(now.Add(30 * time.Second).Unix())
	for _, args := range [][]string{
		{"query", "instant", "--time", at, base, "max_over_time(queue_depth[5m])"},
		{"query", "range", "--start", fmt.Sprint(now.Unix()), "--end", at, "--step", "15s", base, "queue_depth"},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "job=\"worker\"") || !strings.Contains(string(out), "7") {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}

// adbcCount runs a query through ADBC's Flight SQL driver.
func adbcCount(t *testing.T, addr string) {
	t.Helper()
	ctx := context.Background()
	db, err := adbcflight.NewDriver(memory.DefaultAllocator).NewDatabase(map[string]string{adbc.OptionKeyURI: "grpc+tcp://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cnxn, err := db.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cnxn.Close()
	st, err := cnxn.NewStatement()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SetSqlQuery("SELECT count(*) AS n FROM spans WHERE service = ?"); err != nil {
		t.Fatal(err)
	}
	if err := st.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	pb := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: "1", Type: arrow.BinaryTypes.String}}, nil))
	pb.Field(0).(*array.StringBuilder).Append("chatbot")
	params := pb.NewRecordBatch()
	pb.Release()
	defer params.Release()
	if err := st.Bind(ctx, params); err != nil {
		t.Fatal(err)
	}
	rr, _, err := st.ExecuteQuery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if !rr.Next() || rr.RecordBatch().Column(0).ValueStr(0) != "60" {
		t.Fatalf("ADBC count: %v %v", rr.RecordBatch(), rr.Err())
	}
}

// grafanaCalls replays what Grafana's Flight SQL data source asks before a
// query: every SqlInfo, then the tables with their schemas.
func grafanaCalls(t *testing.T, addr string) {
	t.Helper()
	ctx := context.Background()
	cl, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	info, err := cl.GetSqlInfo(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rdr.Next() {
		n += int(rdr.RecordBatch().NumRows())
	}
	rdr.Release()
	if n < 10 {
		t.Fatalf("GetSqlInfo: %d rows", n)
	}
	info, err = cl.GetTables(ctx, &flightsql.GetTablesOpts{TableTypes: []string{"TABLE"}, IncludeSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	rdr, err = cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	tables := 0
	for rdr.Next() {
		rec := rdr.RecordBatch()
		sc := rec.Column(int(rec.NumCols()) - 1).(*array.Binary)
		for i := range sc.Len() {
			s, err := flight.DeserializeSchema(sc.Value(i), memory.DefaultAllocator)
			if err != nil || s.NumFields() == 0 {
				t.Fatalf("table_schema %d: %v", i, err)
			}
			tables++
		}
	}
	if tables != 6 {
		t.Fatalf("GetTables: %d tables", tables)
	}
}
