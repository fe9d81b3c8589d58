package analytics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tael/tael/engine"
)

// Traces lists traces matching f, newest first.
func (s *Service) Traces(ctx context.Context, f TraceFilter) ([]TraceSummary, error) {
	last, err := window("last", f.Last, DefaultLast)
	if err != nil {
		return nil, err
	}
	n, err := limit(f.Limit, DefaultTraces)
	if err != nil {
		return nil, err
	}
	if err := checkStatus(f.Status); err != nil {
		return nil, err
	}
	if err := checkDuration("min_duration_ms", f.MinDurationMS); err != nil {
		return nil, err
	}
	if err := checkDuration("max_duration_ms", f.MaxDurationMS); err != nil {
		return nil, err
	}
	now := s.now()
	from := now.Add(-last)
	w := windowFilter("start_time", from, now)
	add := w.add
	if f.Service != "" {
		add("service = ?", f.Service)
	}
	if f.Operation != "" {
		add("contains(operation, ?)", f.Operation)
	}
	if f.MinDurationMS != nil {
		add("duration_ms >= ?", *f.MinDurationMS)
	}
	if f.MaxDurationMS != nil {
		add("duration_ms <= ?", *f.MaxDurationMS)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Attributes)) {
		add("map_extract_value(attributes, ?) = ?", k, f.Attributes[k])
	}
	if f.Text != "" {
		ids, err := s.textTraces(ctx, f.Text)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return []TraceSummary{}, nil
		}
		// Trace ids are hex (checked in textTraces), so a comma separates
		// them safely.
		add("list_contains(string_split(?, ','), trace_id)", strings.Join(ids, ","))
	}
	// With no filter but the window, a trace's first matching span is its
	// first span, so the newest traces can be chosen before their spans are
	// aggregated: a default listing then aggregates 20 traces, not every
	// trace of the hour.
	matched := `SELECT DISTINCT trace_id FROM spans WHERE ` + w.sql()
	if len(w.conds) == 2 {
		matched = `SELECT trace_id FROM spans WHERE ` + w.sql() + `
  GROUP BY trace_id ORDER BY min(start_time) DESC, trace_id LIMIT ` + itoa(n)
	}
	// The root sorts first by (has a parent, start time, span id).
	q := `WITH matched AS (` + matched + `)
SELECT trace_id,
  arg_min(service, (coalesce(parent_span_id, '') <> '', start_time, span_id)) AS root_service,
  arg_min(operation, (coalesce(parent_span_id, '') <> '', start_time, span_id)) AS root_operation,
  min(start_time) AS start_time,
  (epoch_ns(max(end_time)) - epoch_ns(min(start_time))) / 1e6 AS duration_ms,
  count(*) AS span_count,
  count(*) FILTER (WHERE status = 'error') AS error_count,
  list_sort(list_distinct(list(service))) AS services
FROM spans
WHERE start_time >= ? AND start_time <= ? AND trace_id IN (SELECT trace_id FROM matched)
GROUP BY trace_id
ORDER BY min(start_time) DESC, trace_id
LIMIT ?`
	params := append(w.params, from, now, int64(n))
	out := []TraceSummary{}
	err = s.each(ctx, q, params, func(rec arrow.RecordBatch) error {
		for i := range int(rec.NumRows()) {
			c := rec.Columns()
			out = append(out, TraceSummary{
				TraceID: str(c[0], i), RootService: str(c[1], i), RootOperation: str(c[2], i),
				StartTime: ts(c[3], i), DurationMS: f64(c[4], i),
				SpanCount: i64(c[5], i), ErrorCount: i64(c[6], i), Services: strList(c[7], i),
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// textTraces returns the distinct trace ids of the first full-text hits of
// q.
func (s *Service) textTraces(ctx context.Context, q string) ([]string, error) {
	hits, err := s.search(ctx, q, searchTraceHits)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, h := range hits {
		id := strings.ToLower(h.TraceID)
		if isHex(id, 32) && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// Trace returns every span of a trace (hot and cold), by start time;
// ErrNotFound when it has none, ErrInvalid for an id that is not 32 hex
// digits.
func (s *Service) Trace(ctx context.Context, id string) (*Trace, error) {
	id, err := traceID(id)
	if err != nil {
		return nil, err
	}
	spans, err := s.traceSpans(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Trace{TraceID: id, Spans: spans}, nil
}

// traceSpans returns the spans of trace id by start time, then span id.
func (s *Service) traceSpans(ctx context.Context, id string) ([]Span, error) {
	rec, err := s.e.Trace(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("analytics: trace %s: %w", id, err)
	}
	defer rec.Release()
	if rec.NumRows() == 0 {
		return nil, fmt.Errorf("%w: trace %s", ErrNotFound, id)
	}
	spans := spansOf(rec)
	slices.SortFunc(spans, func(a, b Span) int {
		return cmp.Or(a.StartTime.Compare(b.StartTime), cmp.Compare(a.SpanID, b.SpanID))
	})
	return spans, nil
}

// Services lists the services seen in the window ending now (0: 24h), busiest
// first.
func (s *Service) Services(ctx context.Context, last time.Duration) ([]ServiceInfo, error) {
	last, err := window("last", last, DefaultServicesLast)
	if err != nil {
		return nil, err
	}
	now := s.now()
	const q = `SELECT service,
  count(*) AS span_count,
  count(*) FILTER (WHERE status = 'error') AS error_count,
  avg(duration_ms) AS avg_ms,
  quantile_cont(duration_ms, 0.95) AS p95_ms,
  count(DISTINCT operation) AS operations,
  max(start_time) AS last_seen
FROM spans
WHERE start_time >= ? AND start_time <= ?
GROUP BY service
ORDER BY span_count DESC, service`
	out := []ServiceInfo{}
	err = s.each(ctx, q, []any{now.Add(-last), now}, func(rec arrow.RecordBatch) error {
		c := rec.Columns()
		for i := range int(rec.NumRows()) {
			si := ServiceInfo{
				Name: str(c[0], i), SpanCount: i64(c[1], i), ErrorCount: i64(c[2], i),
				AvgMS: f64(c[3], i), P95MS: f64(c[4], i), Operations: i64(c[5], i), LastSeen: ts(c[6], i),
			}
			si.ErrorRate = ratio(si.ErrorCount, si.SpanCount)
			out = append(out, si)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ratio is a/b, 0 when b is 0.
func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// search runs a full-text query through the engine; a query the index
// cannot parse is ErrInvalid.
func (s *Service) search(ctx context.Context, q string, n int) ([]engine.SearchHit, error) {
	if strings.TrimSpace(q) == "" {
		return nil, fmt.Errorf("%w: search text is empty", ErrInvalid)
	}
	hits, err := s.e.Search(ctx, q, n)
	if errors.Is(err, engine.ErrBadQuery) {
		return nil, fmt.Errorf("%w: search text %q: %w", ErrInvalid, q, err)
	}
	if err != nil {
		return nil, fmt.Errorf("analytics: search: %w", err)
	}
	return hits, nil
}
