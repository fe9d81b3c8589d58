package rest

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tael/tael/analytics"
)

// Options configure an API. The zero value of each field means its default
// (DefaultOptions).
type Options struct {
	// Logger receives a line per failed request (500) and per failed live
	// tail. Nil means discard.
	Logger *slog.Logger
	// Timeout bounds one request (a live tail: one poll). Zero means 30 s,
	// Grafana's default data source timeout: a question over the hot
	// window takes well under a second, one over months of Parquet may
	// take seconds. Negative means no limit but the client's.
	Timeout time.Duration
	// TailInterval is how often a live tail asks for new rows. Zero means
	// 1 s: a person watching sees rows within a second, and a poll with
	// nothing new is one small query over the hot tables.
	TailInterval time.Duration
	// KeepAlive is how often a live tail with nothing to send writes an
	// SSE comment, so that proxies and clients keep the connection open.
	// Zero means 15 s (nginx's default proxy_read_timeout is 60 s).
	KeepAlive time.Duration
}

// DefaultOptions returns the options flightd serves with.
func DefaultOptions() Options {
	return Options{
		Timeout:      30 * time.Second,
		TailInterval: time.Second,
		KeepAlive:    15 * time.Second,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeout == 0 {
		o.Timeout = d.Timeout
	}
	if o.TailInterval <= 0 {
		o.TailInterval = d.TailInterval
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = d.KeepAlive
	}
	return o
}

// API is tael's REST API over an analytics.Service. It is safe for
// concurrent use.
type API struct {
	svc  *analytics.Service
	opts Options
	log  *slog.Logger
	// done is cancelled by Close: live tails end.
	done   context.Context
	cancel context.CancelFunc
}

// New returns the API over svc.
func New(svc *analytics.Service, o Options) *API {
	o = o.withDefaults()
	done, cancel := context.WithCancel(context.Background())
	return &API{svc: svc, opts: o, log: o.Logger, done: done, cancel: cancel}
}

// Close ends every live tail, now and later; the other routes keep
// working. Call it when the server shuts down (http.Server.RegisterOnShutdown),
// since Shutdown waits for handlers and a tail never ends by itself.
func (a *API) Close() { a.cancel() }

// Register adds the API's routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/traces", a.json(a.traces, "service", "operation", "min_duration_ms", "max_duration_ms", "status", "last", "limit", "attribute", "text"))
	mux.HandleFunc("GET /api/v1/traces/live", a.liveSpans)
	mux.Handle("GET /api/v1/traces/{id}", a.json(a.trace))
	mux.Handle("GET /api/v1/traces/{id}/comments", a.json(a.traceComments, "limit"))
	mux.HandleFunc("POST /api/v1/traces/{id}/comments", a.addComment)
	mux.Handle("GET /api/v1/services", a.json(a.services, "last"))
	mux.Handle("GET /api/v1/logs", a.json(a.logs, "service", "severity", "body_contains", "trace_id", "last", "limit"))
	mux.HandleFunc("GET /api/v1/logs/live", a.liveLogs)
	mux.Handle("GET /api/v1/metrics", a.json(a.metrics, "service", "name", "metric_type", "last", "limit"))
	mux.Handle("GET /api/v1/comments", a.json(a.comments, "limit"))
	mux.Handle("GET /api/v1/search", a.json(a.search, "q", "limit"))
	mux.HandleFunc("GET /api/v1/blobs/{sha256}", a.blob)
	mux.Handle("GET /api/v1/summary", a.json(a.summary, "last", "service"))
	mux.Handle("GET /api/v1/anomalies", a.json(a.anomalies, "last", "baseline", "service"))
	mux.Handle("GET /api/v1/correlate", a.json(a.correlate, "trace"))
}

// requestContext bounds a request by Options.Timeout.
func (a *API) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.opts.Timeout < 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.opts.Timeout)
}

// endpoint answers one JSON route: the value to encode, or an error.
type endpoint func(ctx context.Context, r *http.Request, p *params) (any, error)

// json serves f after checking that the query holds only the parameters
// allowed.
func (a *API) json(f endpoint, allowed ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := parseParams(r, allowed...)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		ctx, cancel := a.requestContext(r.Context())
		defer cancel()
		v, err := f(ctx, r, p)
		if err != nil {
			a.failCtx(ctx, w, r, err)
			return
		}
		a.reply(w, r, http.StatusOK, v)
	})
}
