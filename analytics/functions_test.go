package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// sqlRows runs q through the env's DB and returns its schema and rows, each
// value rendered as a string ("(null)" for NULL).
func sqlRows(t *testing.T, v *env, q string, params ...any) (*arrow.Schema, [][]string) {
	t.Helper()
	r, err := v.db.Query(context.Background(), q, params)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer r.Release()
	var out [][]string
	for r.Next() {
		rec := r.RecordBatch()
		for i := range int(rec.NumRows()) {
			row := make([]string, rec.NumCols())
			for j, c := range rec.Columns() {
				row[j] = strings.Clone(c.ValueStr(i))
			}
			out = append(out, row)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return r.Schema(), out
}

// sqlError runs q and returns its error.
func sqlError(v *env, q string) error {
	r, err := v.db.Query(context.Background(), q, nil)
	if err != nil {
		return err
	}
	defer r.Release()
	for r.Next() {
	}
	return r.Err()
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func names(s *arrow.Schema) string {
	var n []string
	for _, f := range s.Fields() {
		n = append(n, f.Name+" "+f.Type.String())
	}
	return strings.Join(n, ", ")
}

// TestFunctions calls the table functions through SQL, as a Flight SQL
// client would, and checks them against the Go API.
func TestFunctions(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, fixNow)
	loadFixture(t, v, "split")

	t.Run("summary", func(t *testing.T) {
		for _, c := range []struct {
			args    string
			window  time.Duration
			service string
		}{
			{"'1h', NULL", time.Hour, ""},
			{"NULL, NULL", 0, ""},
			{"'24h', 'checkout'", 24 * time.Hour, "checkout"},
			{"'86400', ''", 24 * time.Hour, ""},
			{"'7d', 'payments'", 7 * 24 * time.Hour, "payments"},
		} {
			t.Run(c.args, func(t *testing.T) {
				sch, rows := sqlRows(t, v, "SELECT * FROM summary("+c.args+")")
				if len(rows) != 1 {
					t.Fatalf("%d rows", len(rows))
				}
				want, err := v.s.Summary(ctx, c.window, c.service)
				if err != nil {
					t.Fatal(err)
				}
				report, _ := json.Marshal(want)
				row := map[string]string{}
				for i, f := range sch.Fields() {
					row[f.Name] = rows[0][i]
				}
				if row["report"] != string(report) {
					t.Errorf("report\n got %s\nwant %s", row["report"], report)
				}
				filter := "(null)"
				if c.service != "" {
					filter = c.service
				}
				for col, w := range map[string]string{
					"window_seconds": fmt.Sprint(want.WindowSeconds), "service_filter": filter,
					"span_count": fmt.Sprint(want.Traces.SpanCount), "error_count": fmt.Sprint(want.Traces.ErrorCount),
					"p95_ms": fmt.Sprint(want.Traces.P95MS), "log_error": fmt.Sprint(want.Logs.Error),
					"metric_names": fmt.Sprint(want.Metrics.UniqueNames), "llm_calls": fmt.Sprint(want.LLM.Calls),
					"llm_cost_usd": fmt.Sprint(want.LLM.CostUSD),
				} {
					if row[col] != w {
						t.Errorf("%s = %s, want %s", col, row[col], w)
					}
				}
			})
		}
		sch, _ := sqlRows(t, v, "SELECT * FROM summary('1m', NULL)")
		const cols = "window_seconds float64, service_filter utf8, span_count int64, trace_count int64, error_count int64, " +
			"error_rate float64, avg_ms float64, max_ms float64, p50_ms float64, p95_ms float64, p99_ms float64, " +
			"log_total int64, log_error int64, log_warn int64, log_info int64, log_debug int64, metric_points int64, " +
			"metric_names int64, llm_calls int64, llm_total_tokens int64, llm_cost_usd float64, report utf8"
		if got := names(sch); got != cols {
			t.Errorf("columns\n got %s\nwant %s", got, cols)
		}
		if err := sqlError(v, "SELECT * FROM summary('an hour', NULL)"); err == nil || !strings.Contains(err.Error(), "window") {
			t.Errorf("bad window: %v", err)
		}
	})

	t.Run("anomalies", func(t *testing.T) {
		var g gen
		g.both("burst", 240, 60, 100*time.Millisecond, 300*time.Millisecond, 5, 19)
		v.append(t, schema.Spans, synth.SpanRows(v.mem, g.spans))
		want, err := v.s.Anomalies(ctx, 15*time.Minute, time.Hour, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(want.Anomalies) != 2 {
			t.Fatalf("anomalies %+v, want error_rate and latency_p95 of burst", want.Anomalies)
		}
		sch, rows := sqlRows(t, v, "SELECT * FROM anomalies('15m', '3600', NULL)")
		const cols = "kind utf8, scope utf8, subject utf8, severity utf8, current float64, baseline float64, delta float64, message utf8"
		if got := names(sch); got != cols {
			t.Errorf("columns\n got %s\nwant %s", got, cols)
		}
		if len(rows) != len(want.Anomalies) {
			t.Fatalf("%d rows, want %d", len(rows), len(want.Anomalies))
		}
		for i, a := range want.Anomalies {
			w := []string{a.Kind, a.Scope, a.Subject, a.Severity, fmt.Sprint(a.Current), fmt.Sprint(a.Baseline), fmt.Sprint(a.Delta), a.Message}
			if fmt.Sprint(rows[i]) != fmt.Sprint(w) {
				t.Errorf("row %d: %v, want %v", i, rows[i], w)
			}
		}
		_, rows = sqlRows(t, v, "SELECT count(*) FROM anomalies(NULL, NULL, 'nobody')")
		if rows[0][0] != "0" {
			t.Errorf("anomalies of an unknown service: %v", rows)
		}
	})

	t.Run("correlate", func(t *testing.T) {
		want, err := v.s.Correlate(ctx, tid(2))
		if err != nil {
			t.Fatal(err)
		}
		sch, rows := sqlRows(t, v, "SELECT source, time, service, name, trace_id, span_id, duration_ms, status, body, value, labels FROM correlate(?)", strings.ToUpper(tid(2)))
		const cols = "source utf8, time timestamp[ns, tz=UTC], service utf8, name utf8, trace_id utf8, span_id utf8, " +
			"duration_ms float64, status utf8, body utf8, value float64, labels map<utf8, utf8, items_nullable>"
		if got := names(sch); got != cols {
			t.Errorf("columns\n got %s\nwant %s", got, cols)
		}
		if n := len(want.Spans) + len(want.Logs) + len(want.Metrics); len(rows) != n || n != 10 {
			t.Fatalf("%d rows, want %d (10)", len(rows), n)
		}
		var sources []string
		for i, r := range rows {
			sources = append(sources, r[0])
			if i > 0 && parseTime(t, r[1]).Before(parseTime(t, rows[i-1][1])) {
				t.Errorf("row %d out of time order: %v after %v", i, r[1], rows[i-1][1])
			}
		}
		// T2: three spans within 50 ms, then its logs, then the points 10 s
		// later.
		if got := strings.Join(sources, " "); got != "span span span log log log log metric metric metric" {
			t.Errorf("sources %s", got)
		}
		if r := rows[2]; r[3] != "charge" || r[6] != "1000" || r[7] != "error" || r[8] != "(null)" || r[9] != "(null)" || !strings.Contains(r[10], "amex") {
			t.Errorf("span row %v", r)
		}
		if r := rows[5]; r[3] != "error" || r[8] != "Payment failed: card declined" || r[6] != "(null)" {
			t.Errorf("log row %v", r)
		}
		if r := rows[9]; r[0] != "metric" || r[3] != "queue_depth" || r[9] != "4" || r[4] != "(null)" || !strings.Contains(r[10], "charges") {
			t.Errorf("metric row %v", r)
		}
		err = sqlError(v, "SELECT * FROM correlate('"+strings.Repeat("0", 32)+"')")
		if err == nil || !strings.Contains(err.Error(), "trace "+strings.Repeat("0", 32)+" not found") {
			t.Errorf("unknown trace: %v", err)
		}
		if err := sqlError(v, "SELECT * FROM correlate('xyz')"); err == nil || !strings.Contains(err.Error(), "trace id") {
			t.Errorf("bad trace id: %v", err)
		}
	})

	t.Run("search", func(t *testing.T) {
		sch, rows := sqlRows(t, v, `SELECT * FROM search('refund', "limit" := 1)`)
		const cols = "sha256 utf8, kind utf8, score float64, fragment utf8, trace_id utf8, span_id utf8"
		if got := names(sch); got != cols {
			t.Errorf("columns\n got %s\nwant %s", got, cols)
		}
		if len(rows) != 1 {
			t.Fatalf("limit 1: %v", rows)
		}
		_, rows = sqlRows(t, v, `SELECT trace_id, kind FROM search('refund') ORDER BY kind`)
		if fmt.Sprint(rows) != fmt.Sprintf("[[%s prompt]]", tid(4)) {
			t.Errorf("search refund: %v", rows)
		}
		// A function's rows join the tables like any others.
		_, rows = sqlRows(t, v, `SELECT s.service, count(*) FROM search('refund') h JOIN spans s
			ON s.trace_id = h.trace_id AND s.start_time >= TIMESTAMP '2026-03-01' GROUP BY 1 ORDER BY 1`)
		if fmt.Sprint(rows) != "[[frontend 1] [llm-gateway 1]]" {
			t.Errorf("join: %v", rows)
		}
	})
}
