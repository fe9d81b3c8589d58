package analytics

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/engine"
)

// Querier runs SQL over tael's tables (sql/duck's DB).
type Querier interface {
	Query(ctx context.Context, query string, params []any) (array.RecordReader, error)
}

// Limits and defaults shared by every entry point.
const (
	// DefaultLast is the window of Traces, Logs, Metrics and Summary when
	// none is given: the last hour, what a person looking at "now" wants.
	DefaultLast = time.Hour
	// DefaultTraces is the number of traces Traces lists by default: a page.
	DefaultTraces = 20
	// DefaultRows is the number of rows Logs, Metrics, Comments, Search and
	// the tails return by default.
	DefaultRows = 100
	// MaxLimit caps every limit, so that one request cannot ask for a whole
	// table.
	MaxLimit = 10000
	// CorrelateMargin widens a trace's time range on each side when
	// Correlate looks for its logs and its services' metric points: 30 s
	// covers two Prometheus scrape intervals of 15 s.
	CorrelateMargin = 30 * time.Second
	// MaxCorrelateLogs caps the logs Correlate returns.
	MaxCorrelateLogs = 1000
	// MaxCorrelatePts caps the metric points Correlate returns.
	MaxCorrelatePts = 1000
	// DefaultServicesLast is the window of Services when none is given.
	DefaultServicesLast = 24 * time.Hour
	// DefaultCurrent and DefaultBaseline are the windows Anomalies compares
	// when none are given: the last 15 minutes against the hour before.
	DefaultCurrent  = 15 * time.Minute
	DefaultBaseline = time.Hour
	// MaxCommentBytes caps a comment's body.
	MaxCommentBytes = 64 << 10
	// searchTraceHits is how many full-text hits TraceFilter.Text considers.
	searchTraceHits = 1000
)

var (
	// ErrNotFound: no such trace or blob.
	ErrNotFound = errors.New("analytics: not found")
	// ErrInvalid wraps a bad argument (bad trace id, unknown status, …);
	// REST answers it with 400.
	ErrInvalid = errors.New("invalid argument")
)

// Options configure a Service.
type Options struct {
	// Logger receives the service's messages. Nil discards them.
	Logger *slog.Logger
	// Clock is "now" for every window. Nil means time.Now.
	Clock func() time.Time
	// Allocator provides the Arrow buffers of the batches the service
	// builds (comments it appends). Nil means memory.DefaultAllocator.
	Allocator memory.Allocator
}

// Service answers the questions. It is safe for concurrent use.
type Service struct {
	e    *engine.Engine
	q    Querier
	opts Options
	mem  memory.Allocator
}

// New returns a Service over e, running SQL through q.
func New(e *engine.Engine, q Querier, o Options) *Service {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	return &Service{e: e, q: q, opts: o, mem: o.Allocator}
}

// now returns the service's current time in UTC.
func (s *Service) now() time.Time { return s.opts.Clock().UTC() }
