package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// canonical re-encodes JSON with every number rounded to 12 significant
// digits: sums of floats (avg_ms, cost_usd) may differ in the last bits
// with the order DuckDB adds rows in, which hot and cold change.
func canonical(t *testing.T, b []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	var round func(v any) any
	round = func(v any) any {
		switch v := v.(type) {
		case json.Number:
			f, err := v.Float64()
			if err != nil {
				t.Fatalf("number %s: %v", v, err)
			}
			return json.Number(strconv.FormatFloat(f, 'g', 12, 64))
		case []any:
			for i := range v {
				v[i] = round(v[i])
			}
		case map[string]any:
			for k := range v {
				v[k] = round(v[k])
			}
		}
		return v
	}
	out, err := json.MarshalIndent(round(v), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// golden compares v's JSON with testdata/name.json, or writes it there
// with -update when write is set.
func golden(t *testing.T, name string, v any, write bool) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".json")
	if *update && write {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -tags duckdb_arrow ./analytics -update)", err)
	}
	if g, w := canonical(t, got), canonical(t, want); g != w {
		t.Errorf("%s differs from %s:\n got %s\nwant %s", name, path, g, w)
	}
}

// waitIndexed waits until the full-text index finds q: texts are indexed
// asynchronously.
func waitIndexed(t *testing.T, v *env, q string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		hits, err := v.e.Search(context.Background(), q, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("full-text index never found %q", q)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loadFixture loads the fixed data set into v, in one of the layouts the
// golden tests run on.
func loadFixture(t *testing.T, v *env, layout string) {
	t.Helper()
	d := fixture()
	switch layout {
	case "hot":
		v.load(t, d)
	case "split":
		a, b := d.halves()
		v.load(t, a)
		v.compact(t)
		v.load(t, b)
	case "cold":
		v.load(t, d)
		v.compact(t)
	default:
		t.Fatalf("layout %q", layout)
	}
	// Scores depend on every text indexed: wait for a word of each.
	for _, w := range []string{"refund", "delivery", "Lisbon", "wind"} {
		waitIndexed(t, v, w)
	}
}

func fp(v float64) *float64 { return &v }

// TestGolden runs every question over the fixed data set, all hot, half
// compacted to cold before the other half was appended, and all cold: the
// answers are the golden files', in each layout (hot ∪ cold never misses or
// doubles a row).
func TestGolden(t *testing.T) {
	ctx := context.Background()
	for _, layout := range []string{"hot", "split", "cold"} {
		t.Run(layout, func(t *testing.T) {
			v := newEnv(t, fixNow)
			loadFixture(t, v, layout)
			if layout != "hot" {
				if n := countRows(t, v, "SELECT count(*) FROM spans WHERE start_time > TIMESTAMP '2000-01-01'"); n != int64(len(fixture().spans)) {
					t.Fatalf("spans view holds %d rows, want %d", n, len(fixture().spans))
				}
				if n := countRows(t, v, "SELECT count(*) FROM _hot.spans"); n >= int64(len(fixture().spans)) {
					t.Fatalf("%d spans hot: none in the cold tier", n)
				}
			}
			s := v.s
			cases := []struct {
				name string
				run  func() (any, error)
			}{
				{"traces", func() (any, error) { return s.Traces(ctx, TraceFilter{}) }},
				{"traces_service", func() (any, error) { return s.Traces(ctx, TraceFilter{Service: "payments"}) }},
				{"traces_slow_errors", func() (any, error) {
					return s.Traces(ctx, TraceFilter{Status: "error", MinDurationMS: fp(500), MaxDurationMS: fp(1100)})
				}},
				{"traces_attributes", func() (any, error) {
					return s.Traces(ctx, TraceFilter{Operation: "/check", Attributes: map[string]string{"http.method": "GET", "http.route": "/checkout"}, Last: 24 * time.Hour})
				}},
				{"traces_text", func() (any, error) { return s.Traces(ctx, TraceFilter{Text: "refund"}) }},
				{"traces_limit", func() (any, error) { return s.Traces(ctx, TraceFilter{Last: 48 * time.Hour, Limit: 3}) }},
				{"trace", func() (any, error) { return s.Trace(ctx, strings.ToUpper(tid(2))) }},
				{"services", func() (any, error) { return s.Services(ctx, 0) }},
				{"logs", func() (any, error) { return s.Logs(ctx, LogFilter{}) }},
				{"logs_error", func() (any, error) { return s.Logs(ctx, LogFilter{Severity: "error", Last: 24 * time.Hour}) }},
				{"logs_filters", func() (any, error) {
					return s.Logs(ctx, LogFilter{Service: "payments", Severity: "debug", BodyContains: "PAYMENT", TraceID: tid(2)})
				}},
				{"metrics", func() (any, error) { return s.Metrics(ctx, MetricFilter{Limit: 5}) }},
				{"metrics_filters", func() (any, error) {
					return s.Metrics(ctx, MetricFilter{Service: "payments", Name: "queue_depth", MetricType: "gauge", Last: 24 * time.Hour})
				}},
				{"comments_trace", func() (any, error) { return s.Comments(ctx, tid(2), 0) }},
				{"comments_all", func() (any, error) { return s.Comments(ctx, "", 2) }},
				{"search", func() (any, error) {
					hits, err := s.Search(ctx, "refund", 0)
					// bleve's scores depend on how the index is split into
					// segments (here: on how the texts were batched), so the
					// golden file holds none.
					for i := range hits {
						if hits[i].Score <= 0 {
							t.Errorf("hit %d: score %v", i, hits[i].Score)
						}
						hits[i].Score = 0
					}
					return hits, err
				}},
				{"summary", func() (any, error) { return s.Summary(ctx, 0, "") }},
				{"summary_checkout_24h", func() (any, error) { return s.Summary(ctx, 24*time.Hour, "checkout") }},
				{"summary_empty", func() (any, error) { return s.Summary(ctx, time.Minute, "") }},
				{"anomalies", func() (any, error) { return s.Anomalies(ctx, 15*time.Minute, 45*time.Minute, "") }},
				{"correlate", func() (any, error) { return s.Correlate(ctx, tid(2)) }},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					got, err := c.run()
					if err != nil {
						t.Fatal(err)
					}
					golden(t, c.name, got, layout == "hot")
				})
			}
		})
	}
}

func countRows(t *testing.T, v *env, q string) int64 {
	t.Helper()
	var n int64
	err := v.s.each(context.Background(), q, nil, func(rec arrow.RecordBatch) error {
		n = i64(rec.Column(0), 0)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestByHand checks numbers of the fixed data set worked out here from its
// rows, not from the code under test, so that the golden files are known
// right where it matters.
func TestByHand(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, fixNow)
	loadFixture(t, v, "split")
	d := fixture()
	inHour := func(at time.Time) bool { return !at.Before(fixNow.Add(-time.Hour)) && !at.After(fixNow) }

	t.Run("summary", func(t *testing.T) {
		var spans, errs, llm int64
		var cost float64
		traces := map[string]bool{}
		var durs []float64
		for _, r := range d.spans {
			if !inHour(r.Start) {
				continue
			}
			spans++
			traces[r.TraceID] = true
			durs = append(durs, float64(r.Duration)/1e6)
			if r.Status == "error" {
				errs++
			}
			if r.LLMModel != "" {
				llm++
				cost += *r.CostUSD
			}
		}
		var logErrors int64
		for _, r := range d.logs {
			if inHour(r.Time) && (r.Severity == "error" || r.Severity == "fatal") {
				logErrors++
			}
		}
		sum, err := v.s.Summary(ctx, time.Hour, "")
		if err != nil {
			t.Fatal(err)
		}
		tr := sum.Traces
		if tr.SpanCount != spans || tr.ErrorCount != errs || tr.TraceCount != int64(len(traces)) {
			t.Errorf("spans %d errors %d traces %d, want %d %d %d", tr.SpanCount, tr.ErrorCount, tr.TraceCount, spans, errs, len(traces))
		}
		if spans != 17 || errs != 4 || len(traces) != 8 { // T1–T7 and T10's child
			t.Errorf("fixture changed: %d spans, %d errors, %d traces in the hour", spans, errs, len(traces))
		}
		slices.Sort(durs)
		// quantile_cont: linear interpolation at position q·(n−1).
		pct := func(q float64) float64 {
			pos := q * float64(len(durs)-1)
			lo := int(math.Floor(pos))
			if lo+1 >= len(durs) {
				return durs[lo]
			}
			return durs[lo] + (pos-float64(lo))*(durs[lo+1]-durs[lo])
		}
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"p50", tr.P50MS, pct(0.5)}, {"p95", tr.P95MS, pct(0.95)}, {"p99", tr.P99MS, pct(0.99)}, {"max", tr.MaxMS, durs[len(durs)-1]}} {
			if math.Abs(c.got-c.want) > 1e-9 {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
		if sum.LLM.Calls != llm || llm != 3 || math.Abs(sum.LLM.CostUSD-cost) > 1e-12 {
			t.Errorf("llm calls %d cost %v, want %d %v", sum.LLM.Calls, sum.LLM.CostUSD, llm, cost)
		}
		if m := sum.LLM.Models; len(m) != 3 || m[0].Model != "gpt-4o" || m[0].TotalTokens != 1500 || m[2].Model != "gpt-4o-mini" || m[2].ErrorCount != 1 {
			t.Errorf("models %+v", m)
		}
		if sum.Logs.Error != logErrors || logErrors != 2 {
			t.Errorf("log errors %d, want %d (2)", sum.Logs.Error, logErrors)
		}
		if sum.ServiceFilter != nil {
			t.Errorf("service filter %v", *sum.ServiceFilter)
		}
		// Errors by operation: checkout POST /orders and payments charge
		// have one each; payments refund one, and llm-gateway's gpt-4o-mini.
		if op := sum.TopErrorOperations; len(op) != 4 || op[0].Service != "checkout" || op[0].Operation != "POST /orders" || op[0].SpanCount != 4 {
			t.Errorf("top error operations %+v", op)
		}
	})
	t.Run("traces", func(t *testing.T) {
		ts, err := v.s.Traces(ctx, TraceFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range ts {
			ids = append(ids, x.TraceID)
		}
		want := []string{tid(7), tid(6), tid(5), tid(4), tid(3), tid(2), tid(1), tid(10)}
		if !slices.Equal(ids, want) {
			t.Fatalf("traces %v, want %v", ids, want)
		}
		// T6 has no root: the earliest span stands for it. T10's root began
		// before the window, which holds only its child.
		if ts[1].RootService != "checkout" || ts[1].SpanCount != 2 || ts[1].ErrorCount != 1 || ts[1].DurationMS != 300 {
			t.Errorf("T6 %+v", ts[1])
		}
		if ts[7].RootService != "checkout" || ts[7].SpanCount != 1 {
			t.Errorf("T10 %+v", ts[7])
		}
		if x := ts[5]; x.DurationMS != 1200 || !slices.Equal(x.Services, []string{"checkout", "frontend", "payments"}) || x.RootOperation != "GET /checkout" {
			t.Errorf("T2 %+v", x)
		}
	})
	t.Run("services", func(t *testing.T) {
		ss, err := v.s.Services(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		// payments in 24h: 80, 1000 and 100 ms; p95 at position 1.9 of
		// [80 100 1000] is 100 + 0.9·900.
		for _, x := range ss {
			if x.Name == "payments" && (x.SpanCount != 3 || x.ErrorCount != 2 || math.Abs(x.P95MS-910) > 1e-9 || x.Operations != 2) {
				t.Errorf("payments %+v", x)
			}
		}
		if len(ss) != 5 || ss[0].Name != "frontend" || ss[0].SpanCount != 7 { // T9 is older than a day
			t.Errorf("services %+v", ss)
		}
	})
	t.Run("correlate", func(t *testing.T) {
		c, err := v.s.Correlate(ctx, tid(2))
		if err != nil {
			t.Fatal(err)
		}
		// Four logs carry T2's id; one point each of frontend, checkout and
		// payments lies 10 s after it began; llm-gateway is not in it.
		if c.SpanCount != 3 || c.ErrorCount != 2 || len(c.Logs) != 4 || len(c.Metrics) != 3 || c.DurationMS != 1200 {
			t.Errorf("correlate: %d spans, %d errors, %d logs, %d points, %v ms", c.SpanCount, c.ErrorCount, len(c.Logs), len(c.Metrics), c.DurationMS)
		}
		for _, m := range c.Metrics {
			if m.Service == "llm-gateway" {
				t.Errorf("point of a service not in the trace: %+v", m)
			}
		}
	})
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, fixNow)
	v.load(t, fixture())
	s := v.s
	unknown := strings.Repeat("0", 31) + "1"
	cases := []struct {
		name string
		want error
		run  func() error
	}{
		{"trace id too short", ErrInvalid, func() error { _, err := s.Trace(ctx, "abc"); return err }},
		{"trace id not hex", ErrInvalid, func() error { _, err := s.Trace(ctx, strings.Repeat("g", 32)); return err }},
		{"unknown trace", ErrNotFound, func() error { _, err := s.Trace(ctx, unknown); return err }},
		{"correlate unknown trace", ErrNotFound, func() error { _, err := s.Correlate(ctx, unknown); return err }},
		{"bad status", ErrInvalid, func() error { _, err := s.Traces(ctx, TraceFilter{Status: "failed"}); return err }},
		{"negative limit", ErrInvalid, func() error { _, err := s.Traces(ctx, TraceFilter{Limit: -1}); return err }},
		{"negative window", ErrInvalid, func() error { _, err := s.Traces(ctx, TraceFilter{Last: -time.Minute}); return err }},
		{"NaN duration", ErrInvalid, func() error { _, err := s.Traces(ctx, TraceFilter{MinDurationMS: fp(math.NaN())}); return err }},
		{"bad severity", ErrInvalid, func() error { _, err := s.Logs(ctx, LogFilter{Severity: "critical"}); return err }},
		{"logs negative limit", ErrInvalid, func() error { _, err := s.Logs(ctx, LogFilter{Limit: -5}); return err }},
		{"logs bad trace id", ErrInvalid, func() error { _, err := s.Logs(ctx, LogFilter{TraceID: "xyz"}); return err }},
		{"bad metric type", ErrInvalid, func() error { _, err := s.Metrics(ctx, MetricFilter{MetricType: "timer"}); return err }},
		{"comments bad trace id", ErrInvalid, func() error { _, err := s.Comments(ctx, "nope", 0); return err }},
		{"comment without author", ErrInvalid, func() error { _, err := s.AddComment(ctx, tid(1), NewComment{Body: "x"}); return err }},
		{"comment without body", ErrInvalid, func() error { _, err := s.AddComment(ctx, tid(1), NewComment{Author: "a", Body: " "}); return err }},
		{"comment too long", ErrInvalid, func() error {
			_, err := s.AddComment(ctx, tid(1), NewComment{Author: "a", Body: strings.Repeat("x", MaxCommentBytes+1)})
			return err
		}},
		{"comment bad span id", ErrInvalid, func() error {
			_, err := s.AddComment(ctx, tid(1), NewComment{Author: "a", Body: "b", SpanID: "12"})
			return err
		}},
		{"empty search", ErrInvalid, func() error { _, err := s.Search(ctx, "  ", 0); return err }},
		{"bad blob key", ErrInvalid, func() error { _, err := s.Blob(ctx, "abc"); return err }},
		{"unknown blob", ErrNotFound, func() error { _, err := s.Blob(ctx, strings.Repeat("ab", 32)); return err }},
		{"negative summary window", ErrInvalid, func() error { _, err := s.Summary(ctx, -time.Hour, ""); return err }},
		{"negative baseline", ErrInvalid, func() error { _, err := s.Anomalies(ctx, 0, -time.Hour, ""); return err }},
		{"huge baseline", ErrInvalid, func() error { _, err := s.Anomalies(ctx, time.Hour, math.MaxInt64, ""); return err }},
		{"tail bad severity", ErrInvalid, func() error { _, _, err := s.TailLogs(ctx, "", "loud", 0, 0); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
		})
	}
	// The message names the field.
	_, err := s.Traces(ctx, TraceFilter{Status: "failed"})
	if want := `invalid argument: status "failed": want unset, ok or error`; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestLimits(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, fixNow)
	var rows []synth.LogRow
	for i := range MaxLimit + 5 {
		rows = append(rows, synth.LogRow{Time: ago(time.Duration(i) * time.Millisecond), Severity: "info", Service: "s", Body: "b"})
	}
	v.append(t, schema.Logs, synth.LogRows(v.mem, rows))
	for _, c := range []struct{ limit, want int }{{0, DefaultRows}, {7, 7}, {MaxLimit + 1, MaxLimit}} {
		got, err := v.s.Logs(ctx, LogFilter{Limit: c.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.want {
			t.Errorf("limit %d: %d rows, want %d", c.limit, len(got), c.want)
		}
	}
}

func TestBlobAndSearch(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, fixNow)
	v.load(t, fixture())
	waitIndexed(t, v, "refund")
	b, err := v.s.Blob(ctx, strings.ToUpper(synth.PayloadSHA256(refundPrompt)))
	if err != nil {
		t.Fatal(err)
	}
	if b.Text != refundPrompt || b.Kind != "prompt" {
		t.Errorf("blob %+v", b)
	}
	hits, err := v.s.Search(ctx, "refund", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].TraceID != tid(4) {
		t.Errorf("hits %+v", hits)
	}
	empty, err := v.s.Traces(ctx, TraceFilter{Text: "xylophone"})
	if err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("traces for an unknown word: %v, %v", empty, err)
	}
}

func TestAddComment(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, fixNow)
	v.load(t, fixture())
	c, err := v.s.AddComment(ctx, strings.ToUpper(tid(4)), NewComment{SpanID: strings.ToUpper(sid(4, 1)), Author: "eve", Body: "hallucinated the 30 days"})
	if err != nil {
		t.Fatal(err)
	}
	if !isHex(c.ID, 32) || !c.CreatedAt.Equal(fixNow) || c.TraceID != tid(4) || c.SpanID != sid(4, 1) {
		t.Errorf("comment %+v", c)
	}
	got, err := v.s.Comments(ctx, tid(4), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1] != *c {
		t.Errorf("comments %+v, want c2 then %+v", got, *c)
	}
	all, err := v.s.Comments(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || all[3].ID != c.ID || all[0].ID != "c1" {
		t.Errorf("all comments %+v", all)
	}
}

func TestTail(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, fixNow)
	s := v.s
	spans, empty, err := s.TailSpans(ctx, "", 0, 0)
	if err != nil || len(spans) != 0 || empty == 0 {
		t.Fatalf("empty: %v %d %v", spans, empty, err)
	}
	v.load(t, fixture())
	// A tail begun on the empty store gets the first records appended.
	spans, _, err = s.TailSpans(ctx, "", empty, 0)
	if err != nil || len(spans) == 0 {
		t.Fatalf("from the empty store: %d spans, %v", len(spans), err)
	}
	spans, cur, err := s.TailSpans(ctx, "", 0, 0)
	if err != nil || len(spans) != 0 || cur == 0 {
		t.Fatalf("from now: %v %d %v", spans, cur, err)
	}
	batch := func(k int) {
		var rows []synth.SpanRow
		var logs []synth.LogRow
		for i := range 5 {
			svc := "tail-a"
			if i%2 == 1 {
				svc = "tail-b"
			}
			at := fixNow.Add(time.Duration(10*k+i) * time.Millisecond)
			rows = append(rows, synth.SpanRow{TraceID: tid(100 + k), SpanID: sid(100+k, i), Service: svc, Operation: "op", Start: at, Duration: ms(1)})
			logs = append(logs, synth.LogRow{Time: at, Severity: severities[i], Service: svc, Body: "tail"})
		}
		v.append(t, schema.Spans, synth.SpanRows(v.mem, rows))
		v.append(t, schema.Logs, synth.LogRows(v.mem, logs))
	}
	for k := range 3 {
		batch(k)
	}
	// Records are whole: the second begins at row 5, within 7 rows.
	spans, next, err := s.TailSpans(ctx, "", cur, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 10 || spans[0].TraceID != tid(100) || spans[9].TraceID != tid(101) || next <= cur {
		t.Fatalf("first poll: %d spans, cursor %d → %d", len(spans), cur, next)
	}
	spans, next2, err := s.TailSpans(ctx, "tail-b", next, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 2 || spans[0].Service != "tail-b" || spans[0].TraceID != tid(102) || next2 <= next {
		t.Fatalf("second poll: %+v, cursor %d → %d", spans, next, next2)
	}
	spans, next3, err := s.TailSpans(ctx, "", next2, 0)
	if err != nil || len(spans) != 0 || next3 != next2 {
		t.Fatalf("third poll: %v, cursor %d → %d, %v", spans, next2, next3, err)
	}
	logs, _, err := s.TailLogs(ctx, "", "warn", cur, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 6 { // warn, error and fatal of each of three batches
		t.Fatalf("tail logs: %d, want 6", len(logs))
	}
	for _, l := range logs {
		if l.Severity != "warn" && l.Severity != "error" && l.Severity != "fatal" {
			t.Errorf("tail log of severity %s", l.Severity)
		}
	}
}

func TestDefaultsEmpty(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t, fixNow)
	sum, err := v.s.Summary(ctx, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sum)
	want := `{"window_seconds":3600,"service_filter":null,"traces":{"span_count":0,"trace_count":0,"error_count":0,"error_rate":0,"avg_ms":0,"max_ms":0,"p50_ms":0,"p95_ms":0,"p99_ms":0},"top_services":[],"top_error_operations":[],"logs":{"total":0,"error":0,"warn":0,"info":0,"debug":0},"metrics":{"point_count":0,"unique_names":0},"llm":{"calls":0,"input_tokens":0,"output_tokens":0,"total_tokens":0,"cost_usd":0,"models":[]}}`
	if string(b) != want {
		t.Errorf("empty summary\n got %s\nwant %s", b, want)
	}
	for name, f := range map[string]func() (any, error){
		"traces":    func() (any, error) { return v.s.Traces(ctx, TraceFilter{}) },
		"services":  func() (any, error) { return v.s.Services(ctx, 0) },
		"logs":      func() (any, error) { return v.s.Logs(ctx, LogFilter{}) },
		"metrics":   func() (any, error) { return v.s.Metrics(ctx, MetricFilter{}) },
		"comments":  func() (any, error) { return v.s.Comments(ctx, "", 0) },
		"anomalies": func() (any, error) { a, err := v.s.Anomalies(ctx, 0, 0, ""); return a.Anomalies, err },
	} {
		got, err := f()
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(got); string(b) != "[]" {
			t.Errorf("%s: %s, want []", name, b)
		}
	}
	if _, err := v.s.Trace(ctx, tid(1)); !errors.Is(err, ErrNotFound) {
		t.Errorf("trace in an empty store: %v", err)
	}
}

// TestMetricJSON checks that a metric point whose value is not finite (a
// stale marker) still encodes, as null, and reads back as NaN.
func TestMetricJSON(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 2.5} {
		b, err := json.Marshal([]Metric{{Name: "up", Value: v, Labels: map[string]string{"a": "b"}}})
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		var back []Metric
		if err := json.Unmarshal(b, &back); err != nil || len(back) != 1 || back[0].Name != "up" || back[0].Labels["a"] != "b" {
			t.Fatalf("%v: %s read back as %+v, %v", v, b, back, err)
		}
		finite := !math.IsNaN(v) && !math.IsInf(v, 0)
		if finite && (back[0].Value != v || !strings.Contains(string(b), `"value":2.5`)) || !finite && (!math.IsNaN(back[0].Value) || !strings.Contains(string(b), `"value":null`)) {
			t.Errorf("%v: encoded %s, read back %v", v, b, back[0].Value)
		}
	}
}
