package promql

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/stats"

	"github.com/tael/tael/engine"
)

// APIOptions configures the HTTP API and the PromQL engine behind it. The
// zero value of each field means its default (DefaultAPIOptions).
type APIOptions struct {
	// Timeout bounds the evaluation of one query. Zero means 2 minutes
	// (Prometheus's --query.timeout).
	Timeout time.Duration
	// MaxSamples is the most samples one query may hold in memory at once;
	// a query needing more fails with an execution error. Zero means
	// 50,000,000 (Prometheus's --query.max-samples).
	MaxSamples int
	// LookbackDelta is how far back an instant selector looks for a sample.
	// Zero means 5 minutes (Prometheus's --query.lookback-delta). A request
	// may override it with the lookback_delta parameter.
	LookbackDelta time.Duration
	// MaxConcurrency is the most queries (query, query_range) evaluated at
	// once; others wait for a slot. Zero means 20 (Prometheus's
	// --query.max-concurrency).
	MaxConcurrency int
	// EnableExperimentalFunctions allows PromQL's experimental functions
	// (Prometheus's --enable-feature=promql-experimental-functions). False
	// means they are parse errors.
	EnableExperimentalFunctions bool
	// MetadataWindow is how far back /api/v1/metadata looks for the types
	// and units of metrics: it reads every metrics row of that window.
	// Zero means 1 hour.
	MetadataWindow time.Duration
	// Version is the version /api/v1/status/buildinfo reports. Empty means
	// the version of the Prometheus query engine and API tael embeds, which
	// tells clients such as Grafana which API features they may use.
	Version string
	// Queryable configures the storage the queries read.
	Queryable Options
	// Logger receives the query engine's logs. Nil means discard.
	Logger *slog.Logger
	// Registerer receives the query engine's metrics (prometheus_engine_*),
	// registered by NewAPI: one API per registerer, or NewAPI panics. Nil
	// means none.
	Registerer prometheus.Registerer
	// Clock gives the default evaluation time of instant queries and the
	// end of the metadata window. Nil means time.Now.
	Clock func() time.Time
}

// prometheusVersion is the Prometheus release whose query engine and API
// tael embeds (github.com/prometheus/prometheus v0.316.0 is 3.16.0).
const prometheusVersion = "3.16.0"

// DefaultAPIOptions returns the options flightd serves the API with.
func DefaultAPIOptions() APIOptions {
	return APIOptions{
		Timeout:        2 * time.Minute,
		MaxSamples:     50_000_000,
		LookbackDelta:  5 * time.Minute,
		MaxConcurrency: 20,
		MetadataWindow: time.Hour,
		Version:        prometheusVersion,
	}
}

func (o *APIOptions) fill() {
	d := DefaultAPIOptions()
	if o.Timeout == 0 {
		o.Timeout = d.Timeout
	}
	if o.MaxSamples == 0 {
		o.MaxSamples = d.MaxSamples
	}
	if o.LookbackDelta == 0 {
		o.LookbackDelta = d.LookbackDelta
	}
	if o.MaxConcurrency == 0 {
		o.MaxConcurrency = d.MaxConcurrency
	}
	if o.MetadataWindow == 0 {
		o.MetadataWindow = d.MetadataWindow
	}
	if o.Version == "" {
		o.Version = d.Version
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
}

// api serves the Prometheus HTTP API.
type api struct {
	e      *engine.Engine
	q      *Queryable
	ng     *promql.Engine
	parser parser.Parser
	opts   APIOptions
	// slots holds a token per query being evaluated (MaxConcurrency).
	slots chan struct{}
	mux   *http.ServeMux
}

// NewAPI returns the Prometheus HTTP API (/api/v1/…) over e's metrics, with
// Prometheus's JSON envelope, error types and status codes. It serves
// /api/v1/query, query_range, series, labels, label/{name}/values, metadata,
// status/buildinfo, format_query, parse_query and query_exemplars (always
// empty: tael keeps no exemplars); any other path is 404.
func NewAPI(e *engine.Engine, opts APIOptions) http.Handler {
	opts.fill()
	p := parser.NewParser(parser.Options{EnableExperimentalFunctions: opts.EnableExperimentalFunctions})
	a := &api{
		e:      e,
		q:      NewQueryable(e, opts.Queryable),
		parser: p,
		opts:   opts,
		slots:  make(chan struct{}, opts.MaxConcurrency),
		mux:    http.NewServeMux(),
		ng:     newEngine(opts, p, opts.Registerer),
	}
	handle := func(methods, path string, f apiFunc) {
		for m := range strings.SplitSeq(methods, ",") {
			a.mux.Handle(m+" /api/v1/"+path, a.wrap(f))
		}
	}
	handle("GET,POST", "query", a.query)
	handle("GET,POST", "query_range", a.queryRange)
	handle("GET,POST", "query_exemplars", a.queryExemplars)
	handle("GET,POST", "format_query", a.formatQuery)
	handle("GET,POST", "parse_query", a.parseQuery)
	handle("GET,POST", "labels", a.labelNames)
	handle("GET", "label/{name}/values", a.labelValues)
	handle("GET,POST", "series", a.series)
	handle("GET", "metadata", a.metadata)
	handle("GET", "status/buildinfo", a.buildInfo)
	a.mux.Handle("/api/v1/", a.wrap(func(*http.Request) result {
		return fail(errNotFound, errors.New("unknown API endpoint"))
	}))
	return a.mux
}

// newEngine returns a PromQL engine configured by opts (filled), registering
// its metrics with reg (nil: none).
func newEngine(opts APIOptions, p parser.Parser, reg prometheus.Registerer) *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{
		Logger:        opts.Logger,
		Reg:           reg,
		MaxSamples:    opts.MaxSamples,
		Timeout:       opts.Timeout,
		LookbackDelta: opts.LookbackDelta,
		// Subqueries without a step use Prometheus's default evaluation
		// interval, 1 minute.
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		Parser:                   p,
	})
}

// errorType is the errorType of Prometheus's error responses.
type errorType string

const (
	errBadData     errorType = "bad_data"
	errExec        errorType = "execution"
	errTimeout     errorType = "timeout"
	errCanceled    errorType = "canceled"
	errInternal    errorType = "internal"
	errNotFound    errorType = "not_found"
	errUnavailable errorType = "unavailable"
)

// status is the HTTP status of a response with the error type.
func (t errorType) status() int {
	switch t {
	case errBadData:
		return http.StatusBadRequest
	case errExec:
		return http.StatusUnprocessableEntity
	case errCanceled:
		return 499 // client closed request, as Prometheus answers
	case errTimeout, errUnavailable:
		return http.StatusServiceUnavailable
	case errNotFound:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// result is what an endpoint answers: data (JSON-encoded, or a query
// result), or an error.
type result struct {
	data     any
	errType  errorType
	err      error
	warnings annotations.Annotations
	query    string // the query, to position annotations in it
	// done, if set, is called once the answer is written: a query's result
	// must not be used after its Close, which recycles its buffers.
	done func()
}

// queryData is the data of a query or query_range answer.
type queryData struct {
	value parser.Value
	stats stats.QueryStats
}

type apiFunc func(r *http.Request) result

func fail(t errorType, err error) result { return result{errType: t, err: err} }

func badParam(name string, err error) result {
	return fail(errBadData, fmt.Errorf("invalid parameter %q: %w", name, err))
}

// queryError classifies an error of query evaluation as Prometheus does.
func queryError(err error) result {
	var (
		canceled promql.ErrQueryCanceled
		timeout  promql.ErrQueryTimeout
		stor     promql.ErrStorage
	)
	switch {
	case errors.As(err, &canceled), errors.Is(err, context.Canceled):
		return fail(errCanceled, err)
	case errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded):
		return fail(errTimeout, err)
	case errors.As(err, &stor):
		return fail(errInternal, err)
	}
	return fail(errExec, err)
}

func (a *api) wrap(f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var res result
		if err := r.ParseForm(); err != nil {
			res = fail(errBadData, fmt.Errorf("error parsing form values: %w", err))
		} else {
			res = f(r)
		}
		if res.done != nil {
			defer res.done()
		}
		if res.err != nil {
			a.respondError(w, res)
			return
		}
		a.respond(w, r, res)
	})
}

// maxAnnotations is how many warnings and infos a response lists (each
// kind); Prometheus's API lists 10.
const maxAnnotations = 10

// gzipMinSize is the smallest body sent gzip-compressed to a client that
// accepts it: below about a kilobyte the gzip framing and CPU cost more
// than they save.
const gzipMinSize = 1024

func (a *api) respond(w http.ResponseWriter, r *http.Request, res result) {
	b := make([]byte, 0, 512)
	b = append(b, `{"status":"success","data":`...)
	switch d := res.data.(type) {
	case queryData:
		b = append(b, `{"resultType":`...)
		b = appendString(b, string(d.value.Type()))
		b = append(b, `,"result":`...)
		b = appendValue(b, d.value)
		if d.stats != nil {
			js, err := json.Marshal(d.stats)
			if err != nil {
				a.respondError(w, fail(errInternal, fmt.Errorf("encode stats: %w", err)))
				return
			}
			b = append(b, `,"stats":`...)
			b = append(b, js...)
		}
		b = append(b, '}')
	default:
		js, err := json.Marshal(d)
		if err != nil {
			a.respondError(w, fail(errInternal, fmt.Errorf("encode response: %w", err)))
			return
		}
		b = append(b, js...)
	}
	warnings, infos := res.warnings.AsStrings(res.query, maxAnnotations, maxAnnotations)
	b = appendStrings(b, "warnings", warnings)
	b = appendStrings(b, "infos", infos)
	b = append(b, '}')

	h := w.Header()
	h.Set("Content-Type", "application/json")
	if len(b) >= gzipMinSize && acceptsGzip(r) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		_, _ = zw.Write(b)
		if err := zw.Close(); err == nil {
			h.Set("Content-Encoding", "gzip")
			h.Add("Vary", "Accept-Encoding")
			b = buf.Bytes()
		}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (a *api) respondError(w http.ResponseWriter, res result) {
	b := []byte(`{"status":"error","errorType":`)
	b = appendString(b, string(res.errType))
	b = append(b, `,"error":`...)
	b = appendString(b, res.err.Error())
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(res.errType.status())
	_, _ = w.Write(b)
}

func appendStrings(b []byte, key string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, ',')
	b = appendString(b, key)
	b = append(b, ":["...)
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
				return true
			}
		}
	}
	return false
}

// acquire waits for a query slot; the returned func frees it.
func (a *api) acquire(ctx context.Context) (func(), error) {
	select {
	case a.slots <- struct{}{}:
		return func() { <-a.slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a query slot: %w", ctx.Err())
	}
}

// queryOpts returns the per-request engine options (lookback_delta, stats)
// and the request's context with its timeout parameter applied.
func (a *api) queryOpts(r *http.Request) (context.Context, context.CancelFunc, promql.QueryOpts, *result) {
	ctx, cancel := r.Context(), context.CancelFunc(func() {})
	if v := r.FormValue("timeout"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			res := badParam("timeout", err)
			return nil, nil, nil, &res
		}
		if d <= 0 {
			res := badParam("timeout", fmt.Errorf("timeout must be positive, got %s", d))
			return nil, nil, nil, &res
		}
		ctx, cancel = context.WithTimeout(ctx, d)
	}
	var lookback time.Duration
	if v := r.FormValue("lookback_delta"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			cancel()
			res := fail(errBadData, fmt.Errorf("error parsing lookback delta duration: %w", err))
			return nil, nil, nil, &res
		}
		lookback = d
	}
	return ctx, cancel, promql.NewPrometheusQueryOpts(r.FormValue("stats") == "all", lookback, nil), nil
}

// run executes a built query and makes its answer, which closes the query
// once written.
func (a *api) run(ctx context.Context, r *http.Request, qry promql.Query, limit int) result {
	release, err := a.acquire(ctx)
	if err != nil {
		qry.Close()
		return queryError(err)
	}
	defer release()
	res := qry.Exec(ctx)
	if res.Err != nil {
		out := queryError(res.Err)
		out.warnings = res.Warnings
		out.done = qry.Close
		return out
	}
	ws := res.Warnings
	v := res.Value
	if limit > 0 {
		truncated := false
		switch m := v.(type) {
		case promql.Matrix:
			if len(m) > limit {
				v, truncated = m[:limit], true
			}
		case promql.Vector:
			if len(m) > limit {
				v, truncated = m[:limit], true
			}
		}
		if truncated {
			ws = ws.Add(errors.New("results truncated due to limit"))
		}
	}
	d := queryData{value: v}
	if r.FormValue("stats") != "" {
		d.stats = stats.NewQueryStats(qry.Stats())
	}
	return result{data: d, warnings: ws, query: r.FormValue("query"), done: qry.Close}
}

// buildError classifies an error building a query: a bad query, or a
// timeout or cancellation while it was being built.
func buildError(err error) result {
	var (
		canceled promql.ErrQueryCanceled
		timeout  promql.ErrQueryTimeout
	)
	if errors.As(err, &canceled) || errors.As(err, &timeout) {
		return queryError(err)
	}
	return badParam("query", err)
}

func (a *api) query(r *http.Request) result {
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return badParam("limit", err)
	}
	ts, err := parseTimeParam(r, "time", a.opts.Clock())
	if err != nil {
		return badParam("time", err)
	}
	ctx, cancel, opts, bad := a.queryOpts(r)
	if bad != nil {
		return *bad
	}
	defer cancel()
	qry, err := a.ng.NewInstantQuery(ctx, a.q, opts, r.FormValue("query"), ts)
	if err != nil {
		return buildError(err)
	}
	return a.run(ctx, r, qry, limit)
}

// maxPoints is the most points per series a range query may ask for,
// Prometheus's limit ("60s resolution for a week").
const maxPoints = 11000

func (a *api) queryRange(r *http.Request) result {
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return badParam("limit", err)
	}
	start, err := parseTime(r.FormValue("start"))
	if err != nil {
		return badParam("start", err)
	}
	end, err := parseTime(r.FormValue("end"))
	if err != nil {
		return badParam("end", err)
	}
	if end.Before(start) {
		return badParam("end", errors.New("end timestamp must not be before start time"))
	}
	step, err := parseDuration(r.FormValue("step"))
	if err != nil {
		return badParam("step", err)
	}
	if step <= 0 {
		return badParam("step", errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"))
	}
	if end.Sub(start)/step > maxPoints {
		return fail(errBadData, errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"))
	}
	ctx, cancel, opts, bad := a.queryOpts(r)
	if bad != nil {
		return *bad
	}
	defer cancel()
	qry, err := a.ng.NewRangeQuery(ctx, a.q, opts, r.FormValue("query"), start, end, step)
	if err != nil {
		return buildError(err)
	}
	return a.run(ctx, r, qry, limit)
}

func (a *api) queryExemplars(r *http.Request) result {
	start, err := parseTimeParam(r, "start", minTime)
	if err != nil {
		return badParam("start", err)
	}
	end, err := parseTimeParam(r, "end", maxTime)
	if err != nil {
		return badParam("end", err)
	}
	if end.Before(start) {
		return fail(errBadData, errors.New("end timestamp must not be before start timestamp"))
	}
	if _, err := a.parser.ParseExpr(r.FormValue("query")); err != nil {
		return fail(errBadData, err)
	}
	return result{data: []struct{}{}}
}

func (a *api) formatQuery(r *http.Request) result {
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return badParam("query", err)
	}
	return result{data: expr.Pretty(0)}
}

func (a *api) parseQuery(r *http.Request) result {
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return badParam("query", err)
	}
	return result{data: translateAST(expr)}
}

// labelsRequest is what labels and label values requests share.
type labelsRequest struct {
	q     storage.Querier
	sets  [][]*labels.Matcher
	limit int
	hints *storage.LabelHints
}

func (a *api) labelsRequest(r *http.Request) (*labelsRequest, *result) {
	bad := func(res result) (*labelsRequest, *result) { return nil, &res }
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return bad(badParam("limit", err))
	}
	start, err := parseTimeParam(r, "start", minTime)
	if err != nil {
		return bad(badParam("start", err))
	}
	end, err := parseTimeParam(r, "end", maxTime)
	if err != nil {
		return bad(badParam("end", err))
	}
	sets, err := a.parseMatchers(r.Form["match[]"])
	if err != nil {
		return bad(fail(errBadData, err))
	}
	q, err := a.q.Querier(timestamp.FromTime(start), timestamp.FromTime(end))
	if err != nil {
		return bad(queryError(err))
	}
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	return &labelsRequest{q: q, sets: sets, limit: limit, hints: &storage.LabelHints{Limit: hintLimit(limit)}}, nil
}

// collect calls f per match[] set and returns the union of its answers,
// sorted and cut to the limit.
func (lr *labelsRequest) collect(f func(ms []*labels.Matcher) ([]string, annotations.Annotations, error)) result {
	defer lr.q.Close()
	var ws annotations.Annotations
	set := make(map[string]struct{})
	for _, ms := range lr.sets {
		vals, w, err := f(ms)
		if err != nil {
			return fail(errExec, err)
		}
		ws.Merge(w)
		for _, v := range vals {
			set[v] = struct{}{}
		}
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	if lr.limit > 0 && len(out) > lr.limit {
		out = out[:lr.limit]
		ws = ws.Add(errors.New("results truncated due to limit"))
	}
	return result{data: out, warnings: ws}
}

func (a *api) labelNames(r *http.Request) result {
	lr, bad := a.labelsRequest(r)
	if bad != nil {
		return *bad
	}
	return lr.collect(func(ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return lr.q.LabelNames(r.Context(), lr.hints, ms...)
	})
}

func (a *api) labelValues(r *http.Request) result {
	name := r.PathValue("name")
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		return fail(errBadData, fmt.Errorf("invalid label name: %q", name))
	}
	lr, bad := a.labelsRequest(r)
	if bad != nil {
		return *bad
	}
	return lr.collect(func(ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return lr.q.LabelValues(r.Context(), name, lr.hints, ms...)
	})
}

func (a *api) series(r *http.Request) result {
	if len(r.Form["match[]"]) == 0 {
		return fail(errBadData, errors.New("no match[] parameter provided"))
	}
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return badParam("limit", err)
	}
	start, err := parseTimeParam(r, "start", minTime)
	if err != nil {
		return badParam("start", err)
	}
	end, err := parseTimeParam(r, "end", maxTime)
	if err != nil {
		return badParam("end", err)
	}
	sets, err := a.parseMatchers(r.Form["match[]"])
	if err != nil {
		return badParam("match[]", err)
	}
	mint, maxt := timestamp.FromTime(start), timestamp.FromTime(end)
	q, err := a.q.Querier(mint, maxt)
	if err != nil {
		return queryError(err)
	}
	defer q.Close()
	hints := &storage.SelectHints{Start: mint, End: maxt, Func: "series", Limit: hintLimit(limit)}
	var set storage.SeriesSet
	if len(sets) == 1 {
		set = q.Select(r.Context(), false, hints, sets[0]...)
	} else {
		ss := make([]storage.SeriesSet, 0, len(sets))
		for _, ms := range sets {
			ss = append(ss, q.Select(r.Context(), true, hints, ms...))
		}
		set = storage.NewMergeSeriesSet(ss, 0, storage.ChainedSeriesMerge)
	}
	out := []labels.Labels{}
	var ws annotations.Annotations
	for set.Next() {
		out = append(out, set.At().Labels())
		if limit > 0 && len(out) > limit {
			out = out[:limit]
			ws = ws.Add(errors.New("results truncated due to limit"))
			break
		}
	}
	if err := set.Err(); err != nil {
		return queryError(err)
	}
	ws.Merge(set.Warnings())
	return result{data: out, warnings: ws}
}

// buildInfo is the data of /api/v1/status/buildinfo (Prometheus's
// PrometheusVersion).
type buildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

func (a *api) buildInfo(*http.Request) result {
	return result{data: buildInfo{
		Version:   a.opts.Version,
		Revision:  "tael",
		Branch:    "tael",
		BuildUser: "tael",
		GoVersion: runtime.Version(),
	}}
}
