package rest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tael/tael/analytics"
)

// waitSearch waits until the full-text index (filled asynchronously) finds
// q, and returns the hits.
func (e *env) waitSearch(t *testing.T, q string) []analytics.SearchHit {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ans searchAnswer
		e.getJSON(t, "/api/v1/search?q="+url.QueryEscape(q), &ans)
		if len(ans.Hits) > 0 {
			if ans.Query != q {
				t.Errorf("search answer query = %q, want %q", ans.Query, q)
			}
			return ans.Hits
		}
		if time.Now().After(deadline) {
			t.Fatalf("search %q found nothing within 15s", q)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func traceIDs(ts []analytics.TraceSummary) []string {
	var ids []string
	for _, s := range ts {
		ids = append(ids, s.TraceID)
	}
	slices.Sort(ids)
	return ids
}

// TestEndpoints asks every JSON route a question about the data fed and
// checks the answer.
func TestEndpoints(t *testing.T) {
	e := newEnv(t, Options{})
	e.feed(t)
	hits := e.waitSearch(t, "Zürich")

	t.Run("traces", func(t *testing.T) {
		f := func(query string, want ...string) {
			t.Helper()
			var ans tracesAnswer
			e.getJSON(t, "/api/v1/traces"+query, &ans)
			slices.Sort(want)
			if got := traceIDs(ans.Traces); !slices.Equal(got, want) {
				t.Errorf("traces%s = %v, want %v", query, got, want)
			}
		}
		f("", traceA, traceB)
		f("?service=checkout", traceA)
		f("?service=nobody")
		f("?operation=SELECT", traceA)
		f("?status=error", traceA)
		f("?min_duration_ms=500", traceA)
		f("?max_duration_ms=50", traceB)
		f("?min_duration_ms=10000")
		f("?attribute=http.method=GET", traceB)
		f("?attribute=http.method=POST&attribute=customer=ana", traceA)
		f("?attribute=http.method=POST&attribute=customer=bo")
		f("?text=Z%C3%BCrich", traceA)
		f("?last=30s")
		f("?last=1h", traceA, traceB)
		f("?last=7d&limit=5", traceA, traceB)
		f("?limit=1000000", traceA, traceB) // capped, not refused

		var ans tracesAnswer
		e.getJSON(t, "/api/v1/traces?limit=1", &ans)
		if len(ans.Traces) != 1 {
			t.Errorf("limit=1: %d traces", len(ans.Traces))
		}
		e.getJSON(t, "/api/v1/traces?service=checkout", &ans)
		if s := ans.Traces[0]; s.RootService != "checkout" || s.RootOperation != "POST /checkout" || s.SpanCount != 3 || s.ErrorCount != 1 {
			t.Errorf("trace summary %+v", s)
		}
	})

	t.Run("trace", func(t *testing.T) {
		var tr analytics.Trace
		e.getJSON(t, "/api/v1/traces/"+traceA, &tr)
		if tr.TraceID != traceA || len(tr.Spans) != 3 || tr.Spans[0].SpanID != spanA1 {
			t.Fatalf("trace %s: %+v", traceA, tr)
		}
		// Upper-case hex is the same trace.
		e.getJSON(t, "/api/v1/traces/"+strings.ToUpper(traceA), &tr)
		if len(tr.Spans) != 3 {
			t.Errorf("upper-case id: %d spans", len(tr.Spans))
		}
		llm := tr.Spans[2]
		if llm.LLMModel != "gpt-4o" || llm.PromptSHA256 == "" || llm.InputTokens == nil || *llm.InputTokens != 12 {
			t.Errorf("LLM span %+v", llm)
		}
		// RFC 3339 with nanoseconds.
		_, _, b := e.call(t, http.MethodGet, "/api/v1/traces/"+traceA, "")
		if want := `"start_time":"` + tr.Spans[0].StartTime.Format(time.RFC3339Nano) + `"`; !strings.Contains(string(b), want) {
			t.Errorf("trace JSON lacks %s: %s", want, b)
		}
	})

	t.Run("services", func(t *testing.T) {
		var ans servicesAnswer
		e.getJSON(t, "/api/v1/services", &ans)
		var names []string
		for _, s := range ans.Services {
			names = append(names, s.Name)
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"checkout", "search"}) {
			t.Errorf("services = %v", names)
		}
		e.getJSON(t, "/api/v1/services?last=1s", &ans)
		if len(ans.Services) != 0 {
			t.Errorf("services in the last second: %+v", ans.Services)
		}
	})

	t.Run("logs", func(t *testing.T) {
		f := func(query string, want ...string) {
			t.Helper()
			var ans logsAnswer
			e.getJSON(t, "/api/v1/logs"+query, &ans)
			var got []string
			for _, l := range ans.Logs {
				got = append(got, l.Body)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("logs%s = %q, want %q", query, got, want)
			}
		}
		f("", errBody, "query took 40ms")
		f("?service=search", "query took 40ms")
		f("?severity=warn", errBody)
		f("?body_contains=PAYMENT", errBody)
		f("?trace_id="+traceA, errBody)
		f("?limit=1&severity=error", errBody)
		f("?last=1s")
	})

	t.Run("metrics", func(t *testing.T) {
		var ans metricsAnswer
		e.getJSON(t, "/api/v1/metrics?name=queue_depth&service=checkout&metric_type=gauge", &ans)
		if len(ans.Metrics) != 3 || ans.Metrics[0].Labels["queue"] != "orders" {
			t.Fatalf("metrics = %+v", ans.Metrics)
		}
		e.getJSON(t, "/api/v1/metrics?metric_type=counter", &ans)
		if len(ans.Metrics) != 0 {
			t.Errorf("counters: %+v", ans.Metrics)
		}
		e.getJSON(t, "/api/v1/metrics?limit=2", &ans)
		if len(ans.Metrics) != 2 {
			t.Errorf("limit=2: %d points", len(ans.Metrics))
		}
	})

	t.Run("comments", func(t *testing.T) {
		var none commentsAnswer
		e.getJSON(t, "/api/v1/traces/"+traceB+"/comments", &none)
		if none.Comments == nil || len(none.Comments) != 0 {
			t.Errorf("comments of a trace without any: %#v", none.Comments)
		}
		code, ct, b := e.call(t, http.MethodPost, "/api/v1/traces/"+traceA+"/comments", `{"author":"ana","body":"the <db> was slow","span_id":"`+strings.ToUpper(spanA2)+`"}`)
		if code != http.StatusCreated || ct != "application/json" {
			t.Fatalf("POST comment = %d %s: %s", code, ct, b)
		}
		var c analytics.Comment
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		if c.ID == "" || c.TraceID != traceA || c.SpanID != spanA2 || c.Author != "ana" || c.Body != "the <db> was slow" || c.CreatedAt.IsZero() {
			t.Errorf("created comment %+v", c)
		}
		if !strings.Contains(string(b), "the <db> was slow") {
			t.Errorf("answer escapes HTML: %s", b)
		}
		for _, path := range []string{"/api/v1/traces/" + traceA + "/comments", "/api/v1/comments", "/api/v1/comments?limit=10"} {
			var ans commentsAnswer
			e.getJSON(t, path, &ans)
			if len(ans.Comments) != 1 || ans.Comments[0] != c {
				t.Errorf("GET %s = %+v, want [%+v]", path, ans.Comments, c)
			}
		}
	})

	t.Run("search and blobs", func(t *testing.T) {
		var tr analytics.Trace
		e.getJSON(t, "/api/v1/traces/"+traceA, &tr)
		sha := tr.Spans[2].PromptSHA256
		found := false
		for _, h := range hits {
			found = found || h.SHA256 == sha && h.TraceID == traceA && h.Kind == "prompt"
		}
		if !found {
			t.Errorf("search hits %+v lack the prompt %s", hits, sha)
		}
		var ans searchAnswer
		e.getJSON(t, "/api/v1/search?q=nonexistentword&limit=3", &ans)
		if ans.Hits == nil || len(ans.Hits) != 0 || ans.Query != "nonexistentword" {
			t.Errorf("search without hits: %#v", ans)
		}

		resp, err := http.Get(e.srv.URL + "/api/v1/blobs/" + strings.ToUpper(sha))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		text := readAll(t, resp)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
			resp.Header.Get("X-Tael-Blob-Kind") != "prompt" || !strings.Contains(text, prompt) {
			t.Errorf("blob %s = %d %v %q", sha, resp.StatusCode, resp.Header, text)
		}
	})

	t.Run("summary", func(t *testing.T) {
		var s analytics.Summary
		e.getJSON(t, "/api/v1/summary?last=1h", &s)
		if s.WindowSeconds != 3600 || s.ServiceFilter != nil || s.Traces.SpanCount != 4 || s.Traces.TraceCount != 2 ||
			s.Traces.ErrorCount != 1 || s.Logs.Total != 2 || s.Logs.Error != 1 || s.Metrics.PointCount != 3 || s.LLM.Calls != 1 {
			t.Errorf("summary %+v", s)
		}
		e.getJSON(t, "/api/v1/summary?last=3600&service=search", &s)
		if s.ServiceFilter == nil || *s.ServiceFilter != "search" || s.Traces.SpanCount != 1 {
			t.Errorf("summary of search %+v", s)
		}
		_, _, b := e.call(t, http.MethodGet, "/api/v1/summary?service=nobody", "")
		for _, field := range []string{`"top_services":[]`, `"top_error_operations":[]`, `"models":[]`} {
			if !strings.Contains(string(b), field) {
				t.Errorf("summary of nobody lacks %s: %s", field, b)
			}
		}
	})

	t.Run("anomalies", func(t *testing.T) {
		var a analytics.Anomalies
		e.getJSON(t, "/api/v1/anomalies?last=10m&baseline=2h&service=checkout", &a)
		if a.WindowSeconds != 600 || a.BaselineSeconds != 7200 || a.ServiceFilter == nil || *a.ServiceFilter != "checkout" || a.Anomalies == nil {
			t.Errorf("anomalies %+v", a)
		}
		e.getJSON(t, "/api/v1/anomalies", &a)
	})

	t.Run("correlate", func(t *testing.T) {
		var c analytics.Correlation
		e.getJSON(t, "/api/v1/correlate?trace="+traceA, &c)
		if c.TraceID != traceA || c.SpanCount != 3 || len(c.Spans) != 3 || c.ErrorCount != 1 ||
			len(c.Logs) != 1 || c.Logs[0].Body != errBody || len(c.Metrics) != 3 || !slices.Equal(c.Services, []string{"checkout"}) {
			t.Errorf("correlate %+v", c)
		}
	})
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestErrors checks each refusal: its status, and that it is JSON
// {"error": …} naming what was wrong.
func TestErrors(t *testing.T) {
	e := newEnv(t, Options{})
	e.feed(t)
	big := `{"author":"a","body":"` + strings.Repeat("x", maxCommentBytes) + `"}`
	comments := "/api/v1/traces/" + traceA + "/comments"
	cases := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"unknown parameter", "GET", "/api/v1/traces?foo=1", "", 400, `unknown parameter \"foo\"`},
		{"unknown parameter of summary", "GET", "/api/v1/summary?window=1h", "", 400, `unknown parameter \"window\"`},
		{"unknown parameter of a trace", "GET", "/api/v1/traces/" + traceA + "?x=1", "", 400, `unknown parameter \"x\"`},
		{"unknown parameter of a blob", "GET", "/api/v1/blobs/" + strings.Repeat("0", 64) + "?x=1", "", 400, `unknown parameter \"x\"`},
		{"unknown parameter of a live tail", "GET", "/api/v1/logs/live?limit=1", "", 400, `unknown parameter \"limit\"`},
		{"parameter twice", "GET", "/api/v1/traces?service=a&service=b", "", 400, `\"service\" given 2 times`},
		{"malformed query", "GET", "/api/v1/traces?a=%zz", "", 400, "malformed query"},
		{"bad duration", "GET", "/api/v1/traces?last=soon", "", 400, `last: invalid duration \"soon\"`},
		{"negative duration", "GET", "/api/v1/services?last=-1h", "", 400, `last: negative duration \"-1h\"`},
		{"bad baseline", "GET", "/api/v1/anomalies?baseline=1w", "", 400, `baseline: invalid duration \"1w\"`},
		{"bad limit", "GET", "/api/v1/logs?limit=ten", "", 400, `limit: \"ten\"`},
		{"negative limit", "GET", "/api/v1/metrics?limit=-1", "", 400, `limit: \"-1\"`},
		{"fractional limit", "GET", "/api/v1/comments?limit=1.5", "", 400, `limit: \"1.5\"`},
		{"bad number", "GET", "/api/v1/traces?min_duration_ms=fast", "", 400, `min_duration_ms: \"fast\"`},
		{"NaN", "GET", "/api/v1/traces?max_duration_ms=NaN", "", 400, `max_duration_ms: \"NaN\"`},
		{"attribute without value", "GET", "/api/v1/traces?attribute=novalue", "", 400, `attribute: \"novalue\" is not key=value`},
		{"unknown status", "GET", "/api/v1/traces?status=maybe", "", 400, "maybe"},
		{"unknown severity", "GET", "/api/v1/logs?severity=loud", "", 400, "loud"},
		{"unknown severity of a live tail", "GET", "/api/v1/logs/live?severity=loud", "", 400, "loud"},
		{"malformed trace id", "GET", "/api/v1/traces/xyz", "", 400, `malformed trace id \"xyz\"`},
		{"malformed trace id of comments", "GET", "/api/v1/traces/xyz/comments", "", 400, `malformed trace id \"xyz\"`},
		{"absent trace", "GET", "/api/v1/traces/" + absent, "", 404, "not found"},
		{"malformed trace_id filter", "GET", "/api/v1/logs?trace_id=abc", "", 400, `trace_id: \"abc\"`},
		{"correlate without trace", "GET", "/api/v1/correlate", "", 400, "missing parameter trace"},
		{"correlate malformed trace", "GET", "/api/v1/correlate?trace=12", "", 400, `trace: \"12\"`},
		{"search without q", "GET", "/api/v1/search?limit=3", "", 400, "missing parameter q"},
		{"blob not hex", "GET", "/api/v1/blobs/abc", "", 400, `malformed sha256 \"abc\"`},
		{"absent blob", "GET", "/api/v1/blobs/" + strings.Repeat("0", 64), "", 404, "not found"},
		{"comment: no body", "POST", comments, "", 400, "empty"},
		{"comment: bad JSON", "POST", comments, `{"author":`, 400, "invalid JSON body"},
		{"comment: not an object", "POST", comments, `["a"]`, 400, "invalid JSON body"},
		{"comment: unknown field", "POST", comments, `{"author":"a","body":"b","mood":"sad"}`, 400, `unknown field \"mood\"`},
		{"comment: two values", "POST", comments, `{"author":"a","body":"b"} {}`, 400, "more than one value"},
		{"comment: empty author", "POST", comments, `{"author":" ","body":"b"}`, 400, "author"},
		{"comment: empty body", "POST", comments, `{"author":"a","body":""}`, 400, "body"},
		{"comment: bad span id", "POST", comments, `{"author":"a","body":"b","span_id":"nope"}`, 400, `span_id \"nope\"`},
		{"comment: malformed trace id", "POST", "/api/v1/traces/xyz/comments", `{"author":"a","body":"b"}`, 400, "malformed trace id"},
		{"comment: unknown parameter", "POST", comments + "?x=1", `{"author":"a","body":"b"}`, 400, `unknown parameter \"x\"`},
		{"comment: over 1 MiB", "POST", comments, big, 413, "larger than 1048576 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, ct, b := e.call(t, c.method, c.path, c.body)
			if code != c.code || ct != "application/json" {
				t.Fatalf("%s %s = %d %s: %s; want %d", c.method, c.path, code, ct, b, c.code)
			}
			var m map[string]string
			if err := json.Unmarshal(b, &m); err != nil || len(m) != 1 || m["error"] == "" {
				t.Fatalf("error answer %s is not {\"error\": …}: %v", b, err)
			}
			if !strings.Contains(string(b), c.want) {
				t.Errorf("answer %s lacks %s", b, c.want)
			}
		})
	}

	// Nothing refused was stored.
	var ans commentsAnswer
	e.getJSON(t, "/api/v1/comments", &ans)
	if len(ans.Comments) != 0 {
		t.Errorf("refused comments stored: %+v", ans.Comments)
	}
}

// TestRouting checks that the API's routes leave every other /api/v1/ path
// (and method) to the Prometheus API registered beside it.
func TestRouting(t *testing.T) {
	e := newEnv(t, Options{})
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/query?query=up"},
		{"GET", "/api/v1/labels"},
		{"POST", "/api/v1/write"},
		{"DELETE", "/api/v1/traces"},
		{"POST", "/api/v1/summary"},
	} {
		if code, _, _ := e.call(t, c.method, c.path, ""); code != http.StatusTeapot {
			t.Errorf("%s %s = %d, want the catch-all's %d", c.method, c.path, code, http.StatusTeapot)
		}
	}
	// HEAD is served by GET routes; a live tail answers it without
	// streaming.
	for path, ct := range map[string]string{"/api/v1/services": "application/json", "/api/v1/traces/live": "text/event-stream"} {
		req, _ := http.NewRequest(http.MethodHead, e.srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ct {
			t.Errorf("HEAD %s = %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

// TestTimeoutAndFailure checks the 503 of a request out of time and the
// logged 500 of a failure that is nobody's input.
func TestTimeoutAndFailure(t *testing.T) {
	e := newEnv(t, Options{})
	e.feed(t)

	// Another API over the same service, whose requests time out at once.
	slow := New(e.svc, Options{Timeout: time.Nanosecond})
	mux := http.NewServeMux()
	slow.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, path := range []string{"/api/v1/traces", "/api/v1/summary", "/api/v1/traces/" + traceA} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b := readAll(t, resp)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(b, `"error":"request timed out after 1ns"`) {
			t.Errorf("GET %s with a 1ns timeout = %d %s", path, resp.StatusCode, b)
		}
	}

	// With DuckDB closed under it, the service fails: 500, logged.
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	code, ct, b := e.call(t, http.MethodGet, "/api/v1/summary", "")
	if code != http.StatusInternalServerError || ct != "application/json" || !strings.Contains(string(b), `"error":`) {
		t.Fatalf("summary over a closed DuckDB = %d %s %s", code, ct, b)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "rest: request failed") || !strings.Contains(logs, "/api/v1/summary") {
		t.Errorf("500 not logged:\n%s", logs)
	}
}

// TestNilLists checks that an empty store answers [] for every list.
func TestNilLists(t *testing.T) {
	e := newEnv(t, Options{})
	for path, field := range map[string]string{
		"/api/v1/traces":   `{"traces":[]}`,
		"/api/v1/services": `{"services":[]}`,
		"/api/v1/logs":     `{"logs":[]}`,
		"/api/v1/metrics":  `{"metrics":[]}`,
		"/api/v1/comments": `{"comments":[]}`,
	} {
		code, ct, b := e.call(t, http.MethodGet, path, "")
		if code != http.StatusOK || ct != "application/json" || strings.TrimSpace(string(b)) != field {
			t.Errorf("GET %s on an empty store = %d %s %s, want %s", path, code, ct, b, field)
		}
	}
}
