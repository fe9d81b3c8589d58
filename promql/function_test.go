package promql

import (
	"context"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/internal/tablefunc"
	"github.com/tael/tael/sql/duck"
)

// functionRows runs the promql table function's Call and returns its rows
// as "labels@unix=value" strings, labels in the API's form.
func functionRows(t *testing.T, f func(context.Context, memory.Allocator, []any) (arrow.RecordBatch, error), args ...any) ([]string, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	rec, err := f(context.Background(), mem, args)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	if !rec.Schema().Equal(FunctionSchema) {
		t.Fatalf("schema %s, want %s", rec.Schema(), FunctionSchema)
	}
	ts := rec.Column(0).(*array.Timestamp)
	val := rec.Column(1).(*array.Float64)
	name := rec.Column(2).(*array.String)
	m := rec.Column(3).(*array.Map)
	keys, items := m.Keys().(*array.String), m.Items().(*array.String)
	var out []string
	for i := range int(rec.NumRows()) {
		var b strings.Builder
		b.WriteString(name.Value(i) + "{")
		lo, hi := m.ValueOffsets(i)
		for j := lo; j < hi; j++ {
			if j > lo {
				b.WriteString(",")
			}
			b.WriteString(keys.Value(int(j)) + "=" + items.Value(int(j)))
		}
		b.WriteString("}@")
		b.WriteString(time.Unix(0, int64(ts.Value(i))).UTC().Format(time.RFC3339))
		b.WriteString("=" + strconvF(val.Value(i)))
		out = append(out, b.String())
	}
	return out, nil
}

func strconvF(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// apiRow renders one sample of a query_range answer like functionRows.
func apiRow(metric map[string]string, v [2]any) string {
	var keys []string
	for k := range metric {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(metric["__name__"] + "{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(k + "=" + metric[k])
	}
	sec := v[0].(float64)
	b.WriteString("}@" + time.Unix(int64(sec), 0).UTC().Format(time.RFC3339))
	b.WriteString("=" + v[1].(string))
	return b.String()
}

// newAPIServerOver serves NewAPI over e.
func newAPIServerOver(t *testing.T, e *engine.Engine) *httptest.Server {
	srv := httptest.NewServer(NewAPI(e, APIOptions{Clock: func() time.Time { return apiNow }}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFunction checks promql(query, start, end, step) against the HTTP
// API's query_range answer for the same query over the same data.
func TestFunction(t *testing.T) {
	e := openEngine(t, engine.Options{Clock: func() time.Time { return apiNow }})
	loadAPIData(t, e)
	srv := newAPIServerOver(t, e)
	f := Function(e, APIOptions{}).Call
	start, end := apiNow.Add(-30*time.Minute), apiNow
	for _, q := range []string{
		"sum by (code) (rate(http_requests_total[5m]))",
		"up",
		"histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))",
		"vector(2)",
		"1 + 1",
	} {
		t.Run(q, func(t *testing.T) {
			got, err := functionRows(t, f, q, start, end, "1m")
			if err != nil {
				t.Fatal(err)
			}
			var data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Values [][2]any          `json:"values"`
				} `json:"result"`
			}
			mustSucceed(t, srv, "GET", "/api/v1/query_range", url.Values{"query": {q}, "start": {unixString(start)}, "end": {unixString(end)}, "step": {"60"}}, &data)
			var want []string
			for _, s := range data.Result {
				for _, v := range s.Values {
					want = append(want, apiRow(s.Metric, v))
				}
			}
			if len(want) == 0 {
				t.Fatal("the API returned no samples: the test data does not cover the query")
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("promql() rows:\n%s\nAPI query_range:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestFunctionErrors(t *testing.T) {
	e := openEngine(t, engine.Options{Clock: func() time.Time { return apiNow }})
	f := Function(e, APIOptions{}).Call
	now := apiNow
	for _, c := range []struct {
		args []any
		want string
	}{
		{[]any{"sum(", now, now, "1m"}, "parse error"},
		{[]any{"", now, now, "1m"}, "must not be empty"},
		{[]any{nil, now, now, "1m"}, "must not be empty"},
		{[]any{"up", nil, now, "1m"}, "start and end must not be NULL"},
		{[]any{"up", now, now.Add(-time.Minute), "1m"}, "is before start"},
		{[]any{"up", now, now, "x"}, "step"},
		{[]any{"up", now, now, "0s"}, "step must be positive"},
		{[]any{"up", now, now, nil}, "step must not be NULL"},
		{[]any{"up", now.Add(-24 * time.Hour), now, "1s"}, "11,000 points"},
		{[]any{`"a string"`, now, now, "1m"}, "string"},
	} {
		_, err := functionRows(t, f, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("promql(%v): error %v, want one containing %q", c.args, err, c.want)
		}
	}
}

// TestFunctionSQL runs promql() through tael's SQL engine, alone and joined
// with the metrics view, as a notebook would.
func TestFunctionSQL(t *testing.T) {
	e := openEngine(t, engine.Options{Clock: func() time.Time { return apiNow }})
	loadAPIData(t, e)
	db, err := duck.Open(duck.Options{Threads: 2, MemoryLimit: "1GB", Functions: []tablefunc.Func{Function(e, APIOptions{})}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := e.Attach(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	query := func(q string, params ...any) []string {
		t.Helper()
		rr, err := db.Query(context.Background(), q, params)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rr.Release()
		var out []string
		for rr.Next() {
			rec := rr.RecordBatch()
			for i := range int(rec.NumRows()) {
				var cells []string
				for _, c := range rec.Columns() {
					cells = append(cells, c.ValueStr(i))
				}
				out = append(out, strings.Join(cells, " "))
			}
		}
		if err := rr.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return out
	}
	// rate() of a counter growing 1/s is 1 per series; two codes per instance.
	got := query(`SELECT labels['code'] AS code, count(*), round(min(value), 9), round(max(value), 9)
		FROM promql('sum by (code) (rate(http_requests_total[5m]))', TIMESTAMP '2026-03-01 11:30:00', TIMESTAMP '2026-03-01 12:00:00', '5m')
		GROUP BY 1 ORDER BY 1`)
	want := []string{"200 7 2 2", "500 7 2 2"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rate by code:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Joined with the raw points: each instance's up samples against the
	// points PromQL saw at the same instants.
	got = query(`SELECT p.labels['instance'], count(*), sum(p.value = m.value::DOUBLE)
		FROM promql('up', ?::TIMESTAMP, ?::TIMESTAMP, '15m') p
		JOIN metrics m ON m.name = 'up' AND m.timestamp = p.timestamp AND m.labels['instance'] = p.labels['instance']
		GROUP BY 1 ORDER BY 1`, "2026-03-01 11:00:00", "2026-03-01 12:00:00")
	want = []string{"a 5 5", "b 5 5"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("join with metrics:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := db.Query(context.Background(), `SELECT * FROM promql('sum(', TIMESTAMP '2026-03-01 11:00:00', TIMESTAMP '2026-03-01 12:00:00', '1m')`, nil); err == nil || !strings.Contains(err.Error(), "parse error") {
		t.Errorf("bad PromQL: error %v, want a parse error", err)
	}
}
