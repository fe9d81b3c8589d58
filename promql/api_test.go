package promql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/promql"

	"github.com/tael/tael/engine"
)

// apiNow is the time the API tests run at: their data is the hour before.
var apiNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// loadAPIData appends an hour of data at 15 s ending at apiNow:
// http_requests_total (a counter growing 1/s per series) for two instances
// and two codes, up (a gauge), and request_duration_seconds (a histogram's
// _bucket, _sum and _count series, unit seconds).
func loadAPIData(t testing.TB, e *engine.Engine) {
	t.Helper()
	counter := metadata.Metadata{Type: "counter"}
	gauge := metadata.Metadata{Type: "gauge"}
	hist := metadata.Metadata{Type: "histogram", Unit: "seconds"}
	var samples []testSample
	start := apiNow.Add(-time.Hour)
	for k := range 241 {
		ts := start.Add(time.Duration(k) * 15 * time.Second).UnixMilli()
		for _, inst := range []string{"a", "b"} {
			for _, code := range []string{"200", "500"} {
				samples = append(samples, testSample{ls: labels.FromStrings("__name__", "http_requests_total", "job", "api", "instance", inst, "code", code), t: ts, v: float64(15 * k), md: counter})
			}
			samples = append(samples, testSample{ls: labels.FromStrings("__name__", "up", "job", "api", "instance", inst), t: ts, v: 1, md: gauge})
		}
		for _, le := range []string{"0.1", "1", "+Inf"} {
			samples = append(samples, testSample{ls: labels.FromStrings("__name__", "request_duration_seconds_bucket", "job", "api", "le", le), t: ts, v: float64(k), md: hist})
		}
		samples = append(samples,
			testSample{ls: labels.FromStrings("__name__", "request_duration_seconds_sum", "job", "api"), t: ts, v: float64(k) / 2, md: hist},
			testSample{ls: labels.FromStrings("__name__", "request_duration_seconds_count", "job", "api"), t: ts, v: float64(k), md: hist},
		)
	}
	appendSamples(t, e, samples)
}

// newAPIServer serves NewAPI over a loaded engine.
func newAPIServer(t *testing.T, opts APIOptions) *httptest.Server {
	t.Helper()
	e := openEngine(t, engine.Options{Clock: func() time.Time { return apiNow }})
	loadAPIData(t, e)
	if opts.Clock == nil {
		opts.Clock = func() time.Time { return apiNow }
	}
	srv := httptest.NewServer(NewAPI(e, opts))
	t.Cleanup(srv.Close)
	return srv
}

// apiResponse is Prometheus's JSON envelope.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

// call sends a request (a POST form when form is not nil) and decodes the
// envelope.
func call(t *testing.T, srv *httptest.Server, method, path string, form url.Values) (int, apiResponse) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	} else if form != nil {
		path += "?" + form.Encode()
	}
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	var r apiResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
	return resp.StatusCode, r
}

// mustSucceed calls and decodes the data into v.
func mustSucceed(t *testing.T, srv *httptest.Server, method, path string, form url.Values, v any) apiResponse {
	t.Helper()
	code, r := call(t, srv, method, path, form)
	if code != http.StatusOK || r.Status != "success" {
		t.Fatalf("%s %s %v: %d %+v", method, path, form, code, r)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("%s %s: data %s: %v", method, path, r.Data, err)
	}
	return r
}

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// TestAPIGrafana replays the calls Grafana's Prometheus data source makes:
// Save & test (buildinfo, then 1+1), the metric browser and query editor
// (labels, __name__ values, series, metadata), and a dashboard panel
// (query_range with rate).
func TestAPIGrafana(t *testing.T) {
	srv := newAPIServer(t, APIOptions{})
	start, end := unixString(apiNow.Add(-time.Hour)), unixString(apiNow)

	var bi map[string]string
	mustSucceed(t, srv, "GET", "/api/v1/status/buildinfo", nil, &bi)
	if bi["version"] != prometheusVersion || bi["goVersion"] == "" {
		t.Errorf("buildinfo %v", bi)
	}

	type queryData struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	var qd queryData
	mustSucceed(t, srv, "POST", "/api/v1/query", url.Values{"query": {"1+1"}, "time": {"1772366400.5"}}, &qd)
	if qd.ResultType != "scalar" || string(qd.Result) != `[1772366400.500,"2"]` {
		t.Errorf("1+1: %s %s", qd.ResultType, qd.Result)
	}

	var names []string
	mustSucceed(t, srv, "GET", "/api/v1/labels", url.Values{"start": {start}, "end": {end}}, &names)
	if want := []string{"__name__", "code", "instance", "job", "le"}; !slices.Equal(names, want) {
		t.Errorf("labels %v, want %v", names, want)
	}
	mustSucceed(t, srv, "GET", "/api/v1/label/__name__/values", url.Values{"start": {start}, "end": {end}}, &names)
	if want := []string{"http_requests_total", "request_duration_seconds_bucket", "request_duration_seconds_count", "request_duration_seconds_sum", "up"}; !slices.Equal(names, want) {
		t.Errorf("__name__ values %v, want %v", names, want)
	}
	mustSucceed(t, srv, "GET", "/api/v1/label/instance/values", url.Values{"match[]": {`http_requests_total{code="500"}`}}, &names)
	if want := []string{"a", "b"}; !slices.Equal(names, want) {
		t.Errorf("instance values %v, want %v", names, want)
	}

	var series []map[string]string
	mustSucceed(t, srv, "GET", "/api/v1/series", url.Values{"match[]": {"up", `http_requests_total{instance="a"}`}, "start": {start}, "end": {end}}, &series)
	if len(series) != 4 || series[0]["__name__"] != "http_requests_total" || series[3]["__name__"] != "up" {
		t.Errorf("series %v", series)
	}

	var md map[string][]map[string]string
	mustSucceed(t, srv, "GET", "/api/v1/metadata", nil, &md)
	want := map[string][]map[string]string{
		"http_requests_total":      {{"type": "counter", "help": "", "unit": ""}},
		"up":                       {{"type": "gauge", "help": "", "unit": ""}},
		"request_duration_seconds": {{"type": "histogram", "help": "", "unit": "seconds"}},
	}
	if fmt.Sprint(md) != fmt.Sprint(want) {
		t.Errorf("metadata %v, want %v", md, want)
	}
	md = nil
	mustSucceed(t, srv, "GET", "/api/v1/metadata", url.Values{"metric": {"up"}}, &md)
	if len(md) != 1 || md["up"] == nil {
		t.Errorf("metadata of up: %v", md)
	}

	var matrix []struct {
		Metric map[string]string `json:"metric"`
		Values [][2]any          `json:"values"`
	}
	var rd queryData
	mustSucceed(t, srv, "POST", "/api/v1/query_range", url.Values{
		"query": {"sum by (code) (rate(http_requests_total[5m]))"},
		"start": {unixString(apiNow.Add(-30 * time.Minute))}, "end": {end}, "step": {"60"},
	}, &rd)
	if rd.ResultType != "matrix" {
		t.Fatalf("query_range resultType %s", rd.ResultType)
	}
	if err := json.Unmarshal(rd.Result, &matrix); err != nil {
		t.Fatal(err)
	}
	if len(matrix) != 2 || matrix[0].Metric["code"] != "200" || len(matrix[0].Values) != 31 {
		t.Fatalf("query_range: %s", rd.Result)
	}
	for _, p := range matrix[0].Values {
		// Two instances, each counting 1/s.
		if v, _ := strconv.ParseFloat(p[1].(string), 64); math.Abs(v-2) > 1e-9 {
			t.Errorf("rate at %v: %v, want 2", p[0], p[1])
		}
	}

	// An instant vector, and the GET form.
	var vector []struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	mustSucceed(t, srv, "GET", "/api/v1/query", url.Values{"query": {`up{instance="b"}`}}, &qd)
	if err := json.Unmarshal(qd.Result, &vector); err != nil {
		t.Fatal(err)
	}
	if qd.ResultType != "vector" || len(vector) != 1 || vector[0].Metric["instance"] != "b" || vector[0].Value[1] != "1" || vector[0].Value[0] != float64(apiNow.Unix()) {
		t.Errorf("up{instance=b}: %s", qd.Result)
	}
}

func TestAPIEndpoints(t *testing.T) {
	srv := newAPIServer(t, APIOptions{})
	var s string
	mustSucceed(t, srv, "GET", "/api/v1/format_query", url.Values{"query": {"sum(rate(x[5m]))by(job)"}}, &s)
	if s != "sum by (job) (rate(x[5m]))" {
		t.Errorf("format_query: %q", s)
	}
	var ast map[string]any
	mustSucceed(t, srv, "POST", "/api/v1/parse_query", url.Values{"query": {"sum by (job) (rate(x[5m]))"}}, &ast)
	if ast["type"] != "aggregation" || ast["op"] != "sum" || ast["expr"].(map[string]any)["type"] != "call" {
		t.Errorf("parse_query: %v", ast)
	}
	var ex []any
	mustSucceed(t, srv, "GET", "/api/v1/query_exemplars", url.Values{"query": {"up"}}, &ex)
	if ex == nil || len(ex) != 0 {
		t.Errorf("query_exemplars: %v", ex)
	}

	// limit cuts results and says so.
	var names []string
	r := mustSucceed(t, srv, "GET", "/api/v1/label/__name__/values", url.Values{"limit": {"2"}}, &names)
	if len(names) != 2 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "truncated") {
		t.Errorf("limited values %v, warnings %v", names, r.Warnings)
	}
	var series []map[string]string
	r = mustSucceed(t, srv, "GET", "/api/v1/series", url.Values{"match[]": {"http_requests_total"}, "limit": {"3"}}, &series)
	if len(series) != 3 || len(r.Warnings) != 1 {
		t.Errorf("limited series %v, warnings %v", series, r.Warnings)
	}
	var v struct {
		Result []any `json:"result"`
	}
	r = mustSucceed(t, srv, "GET", "/api/v1/query", url.Values{"query": {"http_requests_total"}, "limit": {"1"}}, &v)
	if len(v.Result) != 1 || len(r.Warnings) != 1 {
		t.Errorf("limited query %v, warnings %v", v.Result, r.Warnings)
	}

	// Annotations come as infos and warnings.
	r = mustSucceed(t, srv, "GET", "/api/v1/query", url.Values{"query": {"rate(up[5m])"}}, &v)
	if len(r.Infos) != 1 || !strings.Contains(r.Infos[0], "might not be a counter") {
		t.Errorf("rate(up) infos %v", r.Infos)
	}

	// stats=all adds statistics.
	var st struct {
		Stats map[string]any `json:"stats"`
	}
	mustSucceed(t, srv, "GET", "/api/v1/query", url.Values{"query": {"up"}, "stats": {"all"}}, &st)
	if st.Stats["timings"] == nil || st.Stats["samples"] == nil {
		t.Errorf("stats %v", st.Stats)
	}

	// Large answers are compressed for clients that take gzip (Go's client
	// asks for it and decompresses transparently).
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/query?query=http_requests_total[1h]", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := srv.Client().Transport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("large answer not compressed: %v", resp.Header)
	}
}

func TestAPIErrors(t *testing.T) {
	srv := newAPIServer(t, APIOptions{})
	for _, tc := range []struct {
		name, method, path string
		form               url.Values
		code               int
		errorType, error   string
	}{
		{"bad PromQL", "POST", "/api/v1/query", url.Values{"query": {"sum(up"}}, 400, "bad_data", `invalid parameter "query": 1:7: parse error: unclosed left parenthesis`},
		{"bad time", "GET", "/api/v1/query", url.Values{"query": {"up"}, "time": {"yesterday"}}, 400, "bad_data", `invalid parameter "time": invalid time value for 'time': cannot parse "yesterday" to a valid timestamp`},
		{"RFC 3339 time", "GET", "/api/v1/query", url.Values{"query": {"up"}, "time": {"2026-03-01T12:00:00Z"}}, 200, "", ""},
		{"no start", "GET", "/api/v1/query_range", url.Values{"query": {"up"}, "end": {"10"}, "step": {"1"}}, 400, "bad_data", `invalid parameter "start": cannot parse "" to a valid timestamp`},
		{"end before start", "GET", "/api/v1/query_range", url.Values{"query": {"up"}, "start": {"10"}, "end": {"5"}, "step": {"1"}}, 400, "bad_data", "end timestamp must not be before start time"},
		{"zero step", "GET", "/api/v1/query_range", url.Values{"query": {"up"}, "start": {"0"}, "end": {"5"}, "step": {"0"}}, 400, "bad_data", "zero or negative query resolution step"},
		{"duration step", "GET", "/api/v1/query_range", url.Values{"query": {"up"}, "start": {"0"}, "end": {"600"}, "step": {"1m"}}, 200, "", ""},
		{"bad step", "GET", "/api/v1/query_range", url.Values{"query": {"up"}, "start": {"0"}, "end": {"5"}, "step": {"soon"}}, 400, "bad_data", `cannot parse "soon" to a valid duration`},
		{"too many points", "GET", "/api/v1/query_range", url.Values{"query": {"up"}, "start": {"0"}, "end": {"100000"}, "step": {"1"}}, 400, "bad_data", "exceeded maximum resolution of 11,000 points"},
		{"bad timeout", "GET", "/api/v1/query", url.Values{"query": {"up"}, "timeout": {"-1s"}}, 400, "bad_data", `invalid parameter "timeout"`},
		{"bad limit", "GET", "/api/v1/query", url.Values{"query": {"up"}, "limit": {"-1"}}, 400, "bad_data", "limit must be non-negative"},
		{"execution error", "GET", "/api/v1/query", url.Values{"query": {`http_requests_total + on(job) http_requests_total`}}, 422, "execution", "many-to-many matching not allowed"},
		{"series without match", "GET", "/api/v1/series", nil, 400, "bad_data", "no match[] parameter provided"},
		{"empty matcher", "GET", "/api/v1/series", url.Values{"match[]": {`{job=""}`}}, 400, "bad_data", "match[] must contain at least one non-empty matcher"},
		{"bad matcher", "GET", "/api/v1/labels", url.Values{"match[]": {`{job=`}}, 400, "bad_data", "parse error"},
		{"bad label name", "GET", "/api/v1/label/a%ffb/values", nil, 400, "bad_data", "invalid label name"},
		{"bad metadata limit", "GET", "/api/v1/metadata", url.Values{"limit": {"x"}}, 400, "bad_data", "limit must be a number"},
		{"unknown endpoint", "GET", "/api/v1/targets", nil, 404, "not_found", "unknown API endpoint"},
		{"bad format_query", "GET", "/api/v1/format_query", url.Values{"query": {"1 +"}}, 400, "bad_data", `invalid parameter "query"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, r := call(t, srv, tc.method, tc.path, tc.form)
			if code != tc.code || r.ErrorType != tc.errorType || !strings.Contains(r.Error, tc.error) {
				t.Errorf("got %d %q %q, want %d %q %q", code, r.ErrorType, r.Error, tc.code, tc.errorType, tc.error)
			}
			if tc.code != 200 && r.Status != "error" {
				t.Errorf("status %q", r.Status)
			}
		})
	}
}

// TestAPILimits checks the engine options' limits: a timeout is 503
// timeout, too many samples 422 execution.
func TestAPILimits(t *testing.T) {
	srv := newAPIServer(t, APIOptions{Timeout: time.Nanosecond})
	code, r := call(t, srv, "GET", "/api/v1/query", url.Values{"query": {"up"}})
	if code != http.StatusServiceUnavailable || r.ErrorType != "timeout" {
		t.Errorf("timeout: got %d %+v, want 503 timeout", code, r)
	}
	srv = newAPIServer(t, APIOptions{MaxSamples: 100})
	code, r = call(t, srv, "GET", "/api/v1/query", url.Values{"query": {"http_requests_total[1h]"}})
	if code != http.StatusUnprocessableEntity || r.ErrorType != "execution" || !strings.Contains(r.Error, "too many samples") {
		t.Errorf("max samples: got %d %+v, want 422 execution", code, r)
	}
	// Experimental functions are off by default.
	code, r = call(t, srv, "GET", "/api/v1/query", url.Values{"query": {"sort_by_label(up, \"instance\")"}})
	if code != http.StatusBadRequest || !strings.Contains(r.Error, "not enabled") {
		t.Errorf("experimental function: got %d %+v, want 400", code, r)
	}
	srv = newAPIServer(t, APIOptions{EnableExperimentalFunctions: true})
	if code, r = call(t, srv, "GET", "/api/v1/query", url.Values{"query": {"sort_by_label(up, \"instance\")"}}); code != 200 {
		t.Errorf("experimental function enabled: got %d %+v", code, r)
	}
}

func TestQueryErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want errorType
	}{
		{promql.ErrQueryCanceled("x"), errCanceled},
		{fmt.Errorf("scan: %w", context.Canceled), errCanceled},
		{promql.ErrQueryTimeout("x"), errTimeout},
		{fmt.Errorf("scan: %w", context.DeadlineExceeded), errTimeout},
		{promql.ErrStorage{Err: errors.New("disk")}, errInternal},
		{promql.ErrTooManySamples("x"), errExec},
		{errors.New("other"), errExec},
	} {
		if got := queryError(tc.err); got.errType != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, got.errType, tc.want)
		}
	}
	for typ, code := range map[errorType]int{errBadData: 400, errExec: 422, errCanceled: 499, errTimeout: 503, errInternal: 500, errNotFound: 404} {
		if typ.status() != code {
			t.Errorf("%s: %d, want %d", typ, typ.status(), code)
		}
	}
}

// TestAPIConcurrent sends more queries at once than there are query slots:
// they wait for one and all succeed.
func TestAPIConcurrent(t *testing.T) {
	srv := newAPIServer(t, APIOptions{MaxConcurrency: 2})
	form := url.Values{
		"query": {"sum by (instance) (rate(http_requests_total[5m]))"},
		"start": {unixString(apiNow.Add(-time.Hour))}, "end": {unixString(apiNow)}, "step": {"15s"},
	}
	errs := make(chan error, 10)
	for range 10 {
		go func() {
			resp, err := srv.Client().PostForm(srv.URL+"/api/v1/query_range", form)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			errs <- err
		}()
	}
	for range 10 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
