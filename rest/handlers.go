package rest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tael/tael/analytics"
)

// maxCommentBytes bounds a posted comment's JSON: a comment is a note for
// people, and 1 MiB is far beyond any (GitHub caps an issue comment at
// 65,536 characters).
const maxCommentBytes = 1 << 20

// The list answers. Each wraps its list in an object, so that fields can be
// added later without breaking clients.
type (
	tracesAnswer struct {
		Traces []analytics.TraceSummary `json:"traces"`
	}
	servicesAnswer struct {
		Services []analytics.ServiceInfo `json:"services"`
	}
	logsAnswer struct {
		Logs []analytics.Log `json:"logs"`
	}
	metricsAnswer struct {
		Metrics []analytics.Metric `json:"metrics"`
	}
	commentsAnswer struct {
		Comments []analytics.Comment `json:"comments"`
	}
	searchAnswer struct {
		Query string                `json:"query"`
		Hits  []analytics.SearchHit `json:"hits"`
	}
)

// list returns s, or an empty slice for nil: lists are [] in JSON, never
// null.
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (a *API) traces(ctx context.Context, _ *http.Request, p *params) (any, error) {
	var f analytics.TraceFilter
	var err error
	if f.Last, err = p.duration("last"); err != nil {
		return nil, err
	}
	if f.MinDurationMS, err = p.float("min_duration_ms"); err != nil {
		return nil, err
	}
	if f.MaxDurationMS, err = p.float("max_duration_ms"); err != nil {
		return nil, err
	}
	if f.Attributes, err = p.attributes(); err != nil {
		return nil, err
	}
	if f.Limit, err = p.limit(); err != nil {
		return nil, err
	}
	f.Service, f.Operation, f.Status, f.Text = p.str("service"), p.str("operation"), p.str("status"), p.str("text")
	ts, err := a.svc.Traces(ctx, f)
	if err != nil {
		return nil, err
	}
	return tracesAnswer{Traces: list(ts)}, nil
}

func (a *API) trace(ctx context.Context, r *http.Request, _ *params) (any, error) {
	id, err := pathTraceID(r)
	if err != nil {
		return nil, err
	}
	t, err := a.svc.Trace(ctx, id)
	if err != nil {
		return nil, err
	}
	t.Spans = list(t.Spans)
	return t, nil
}

func (a *API) services(ctx context.Context, _ *http.Request, p *params) (any, error) {
	last, err := p.duration("last")
	if err != nil {
		return nil, err
	}
	ss, err := a.svc.Services(ctx, last)
	if err != nil {
		return nil, err
	}
	return servicesAnswer{Services: list(ss)}, nil
}

func (a *API) logs(ctx context.Context, _ *http.Request, p *params) (any, error) {
	var f analytics.LogFilter
	var err error
	if f.Last, err = p.duration("last"); err != nil {
		return nil, err
	}
	if f.Limit, err = p.limit(); err != nil {
		return nil, err
	}
	if f.TraceID, err = p.traceID("trace_id"); err != nil {
		return nil, err
	}
	f.Service, f.Severity, f.BodyContains = p.str("service"), p.str("severity"), p.str("body_contains")
	ls, err := a.svc.Logs(ctx, f)
	if err != nil {
		return nil, err
	}
	return logsAnswer{Logs: list(ls)}, nil
}

func (a *API) metrics(ctx context.Context, _ *http.Request, p *params) (any, error) {
	var f analytics.MetricFilter
	var err error
	if f.Last, err = p.duration("last"); err != nil {
		return nil, err
	}
	if f.Limit, err = p.limit(); err != nil {
		return nil, err
	}
	f.Service, f.Name, f.MetricType = p.str("service"), p.str("name"), p.str("metric_type")
	ms, err := a.svc.Metrics(ctx, f)
	if err != nil {
		return nil, err
	}
	return metricsAnswer{Metrics: list(ms)}, nil
}

func (a *API) traceComments(ctx context.Context, r *http.Request, p *params) (any, error) {
	id, err := pathTraceID(r)
	if err != nil {
		return nil, err
	}
	limit, err := p.limit()
	if err != nil {
		return nil, err
	}
	cs, err := a.svc.Comments(ctx, id, limit)
	if err != nil {
		return nil, err
	}
	return commentsAnswer{Comments: list(cs)}, nil
}

func (a *API) comments(ctx context.Context, _ *http.Request, p *params) (any, error) {
	limit, err := p.limit()
	if err != nil {
		return nil, err
	}
	cs, err := a.svc.Comments(ctx, "", limit)
	if err != nil {
		return nil, err
	}
	return commentsAnswer{Comments: list(cs)}, nil
}

// addComment serves POST /api/v1/traces/{id}/comments: a NewComment in,
// 201 and the stored Comment out.
func (a *API) addComment(w http.ResponseWriter, r *http.Request) {
	if _, err := parseParams(r); err != nil {
		a.fail(w, r, err)
		return
	}
	id, err := pathTraceID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := decodeComment(http.MaxBytesReader(w, r.Body, maxCommentBytes))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ctx, cancel := a.requestContext(r.Context())
	defer cancel()
	out, err := a.svc.AddComment(ctx, id, c)
	if err != nil {
		a.failCtx(ctx, w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/traces/"+id+"/comments")
	a.reply(w, r, http.StatusCreated, out)
}

// decodeComment reads one NewComment object and nothing after it.
func decodeComment(body io.Reader) (analytics.NewComment, error) {
	var c analytics.NewComment
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, bodyError(err)
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		if err == nil {
			return c, badRequest("invalid JSON body: more than one value")
		}
		return c, bodyError(err)
	}
	if strings.TrimSpace(c.Author) == "" {
		return c, badRequest("comment needs an author")
	}
	if strings.TrimSpace(c.Body) == "" {
		return c, badRequest("comment needs a body")
	}
	if c.SpanID != "" {
		id, ok := hexID(c.SpanID, 16)
		if !ok {
			return c, badRequest("malformed span_id %q: want 16 hex digits", c.SpanID)
		}
		c.SpanID = id
	}
	return c, nil
}

// bodyError turns a JSON decoding error into its answer: 413 for a body
// over the limit, 400 otherwise.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	if errors.Is(err, io.EOF) {
		return badRequest("invalid JSON body: empty")
	}
	return badRequest("invalid JSON body: %v", err)
}

func (a *API) search(ctx context.Context, _ *http.Request, p *params) (any, error) {
	q := p.str("q")
	if strings.TrimSpace(q) == "" {
		return nil, badRequest("missing parameter q (the full-text query)")
	}
	limit, err := p.limit()
	if err != nil {
		return nil, err
	}
	hits, err := a.svc.Search(ctx, q, limit)
	if err != nil {
		return nil, err
	}
	return searchAnswer{Query: q, Hits: list(hits)}, nil
}

// blob serves GET /api/v1/blobs/{sha256}: the stored text itself, its kind
// in X-Tael-Blob-Kind.
func (a *API) blob(w http.ResponseWriter, r *http.Request) {
	if _, err := parseParams(r); err != nil {
		a.fail(w, r, err)
		return
	}
	s := r.PathValue("sha256")
	sha, ok := hexID(s, 64)
	if !ok {
		a.fail(w, r, badRequest("malformed sha256 %q: want 64 hex digits", s))
		return
	}
	ctx, cancel := a.requestContext(r.Context())
	defer cancel()
	b, err := a.svc.Blob(ctx, sha)
	if err != nil {
		a.failCtx(ctx, w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Tael-Blob-Kind", b.Kind)
	// A text is named by its hash: it never changes.
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = io.WriteString(w, b.Text)
}

func (a *API) summary(ctx context.Context, _ *http.Request, p *params) (any, error) {
	last, err := p.duration("last")
	if err != nil {
		return nil, err
	}
	s, err := a.svc.Summary(ctx, last, p.str("service"))
	if err != nil {
		return nil, err
	}
	s.TopServices, s.TopErrorOperations, s.LLM.Models = list(s.TopServices), list(s.TopErrorOperations), list(s.LLM.Models)
	return s, nil
}

func (a *API) anomalies(ctx context.Context, _ *http.Request, p *params) (any, error) {
	last, err := p.duration("last")
	if err != nil {
		return nil, err
	}
	baseline, err := p.duration("baseline")
	if err != nil {
		return nil, err
	}
	an, err := a.svc.Anomalies(ctx, last, baseline, p.str("service"))
	if err != nil {
		return nil, err
	}
	an.Anomalies = list(an.Anomalies)
	return an, nil
}

func (a *API) correlate(ctx context.Context, _ *http.Request, p *params) (any, error) {
	id, err := p.traceID("trace")
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, badRequest("missing parameter trace (a trace id)")
	}
	c, err := a.svc.Correlate(ctx, id)
	if err != nil {
		return nil, err
	}
	c.Services, c.Spans, c.Logs, c.Metrics = list(c.Services), list(c.Spans), list(c.Logs), list(c.Metrics)
	return c, nil
}
