package analytics

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// topN is the length of Summary's top lists.
const topN = 10

// Summary reports the window ending now (0: DefaultLast); service "" means
// all.
func (s *Service) Summary(ctx context.Context, w time.Duration, service string) (*Summary, error) {
	w, err := window("window", w, DefaultLast)
	if err != nil {
		return nil, err
	}
	now := s.now()
	from := now.Add(-w)
	sum := &Summary{
		WindowSeconds:      w.Seconds(),
		TopServices:        []ServiceCount{},
		TopErrorOperations: []OperationErrors{},
		LLM:                LLMUsage{Models: []ModelUsage{}},
	}
	// where is the time window and the service filter, with its params.
	where := func(timeCol string) (string, []any) {
		if service == "" {
			return timeCol + " >= ? AND " + timeCol + " <= ?", []any{from, now}
		}
		return timeCol + " >= ? AND " + timeCol + " <= ? AND service = ?", []any{from, now, service}
	}
	if service != "" {
		sum.ServiceFilter = &service
	}
	// The three statements fill separate parts of sum and run at once:
	// each is planned and run while the others wait on DuckDB's threads.
	cond, params := where("timestamp")
	var wg sync.WaitGroup
	var errs [3]error
	wg.Go(func() { errs[0] = s.summarySpans(ctx, sum, where) })
	wg.Go(func() {
		errs[1] = s.each(ctx, `SELECT count(*),
  count(*) FILTER (WHERE severity IN ('error', 'fatal')),
  count(*) FILTER (WHERE severity = 'warn'),
  count(*) FILTER (WHERE severity = 'info'),
  count(*) FILTER (WHERE severity IN ('debug', 'trace'))
FROM logs WHERE `+cond, params, func(rec arrow.RecordBatch) error {
			c := rec.Columns()
			sum.Logs = LogCounts{Total: i64(c[0], 0), Error: i64(c[1], 0), Warn: i64(c[2], 0), Info: i64(c[3], 0), Debug: i64(c[4], 0)}
			return nil
		})
	})
	wg.Go(func() {
		errs[2] = s.each(ctx, "SELECT count(*), count(DISTINCT name) FROM metrics WHERE "+cond, params, func(rec arrow.RecordBatch) error {
			sum.Metrics = MetricCounts{PointCount: i64(rec.Column(0), 0), UniqueNames: i64(rec.Column(1), 0)}
			return nil
		})
	})
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return sum, nil
}

// summarySpans fills the span parts of sum in one statement that scans the
// window's spans twice: once for the scalars, once grouped by grouping sets
// for the per-operation and per-model lists (nested as list columns).
// Measured over the last hour of 10M spans in a day (416,666 spans, cold,
// 2 cores): 68 ms, against 97 ms when the window's spans were read once
// into a materialised CTE that three aggregates then scanned.
func (s *Service) summarySpans(ctx context.Context, sum *Summary, where func(string) (string, []any)) error {
	cond, params := where("start_time")
	q := summaryQuery(cond)
	return s.each(ctx, q, append(slices.Clone(params), params...), func(rec arrow.RecordBatch) error {
		r := record{rec}
		t := &sum.Traces
		t.SpanCount = i64(r.col("span_count"), 0)
		t.TraceCount = i64(r.col("trace_count"), 0)
		t.ErrorCount = i64(r.col("error_count"), 0)
		t.ErrorRate = ratio(t.ErrorCount, t.SpanCount)
		t.AvgMS = f64(r.col("avg_ms"), 0)
		t.MaxMS = f64(r.col("max_ms"), 0)
		if p, ok := r.col("pcts").(*array.List); ok && p.IsValid(0) {
			lo, _ := p.ValueOffsets(0)
			t.P50MS = f64(p.ListValues(), int(lo))
			t.P95MS = f64(p.ListValues(), int(lo)+1)
			t.P99MS = f64(p.ListValues(), int(lo)+2)
		}
		structs(r.col("top_services"), 0, func(f func(string) (arrow.Array, int)) {
			c := ServiceCount{Service: str(f("service")), SpanCount: i64(f("spans")), ErrorCount: i64(f("errors"))}
			c.ErrorRate = ratio(c.ErrorCount, c.SpanCount)
			sum.TopServices = append(sum.TopServices, c)
		})
		structs(r.col("top_errors"), 0, func(f func(string) (arrow.Array, int)) {
			sum.TopErrorOperations = append(sum.TopErrorOperations, OperationErrors{
				Service: str(f("service")), Operation: str(f("operation")), ErrorCount: i64(f("errors")), SpanCount: i64(f("spans")),
			})
		})
		u := &sum.LLM
		structs(r.col("models"), 0, func(f func(string) (arrow.Array, int)) {
			m := ModelUsage{
				Model: str(f("model")), Provider: str(f("provider")), Calls: i64(f("calls")),
				InputTokens: i64(f("input_tokens")), OutputTokens: i64(f("output_tokens")), TotalTokens: i64(f("total_tokens")),
				CostUSD: f64(f("cost_usd")), ErrorCount: i64(f("errors")), AvgMS: f64(f("avg_ms")),
			}
			u.Models = append(u.Models, m)
			u.Calls += m.Calls
			u.InputTokens += m.InputTokens
			u.OutputTokens += m.OutputTokens
			u.TotalTokens += m.TotalTokens
			u.CostUSD += m.CostUSD
		})
		return nil
	})
}

// summaryQuery is the span statement of Summary; where selects the window's
// spans and appears twice (its parameters are passed twice).
func summaryQuery(where string) string {
	return `WITH g AS (
  SELECT service, operation, llm_model AS model, grouping(llm_model) = 1 AS is_op,
    count(*) AS spans, count(*) FILTER (WHERE status = 'error') AS errors,
    min(llm_provider) AS provider,
    coalesce(sum(input_tokens), 0)::BIGINT AS input_tokens,
    coalesce(sum(output_tokens), 0)::BIGINT AS output_tokens,
    coalesce(sum(total_tokens), 0)::BIGINT AS total_tokens,
    coalesce(sum(cost_usd), 0) AS cost_usd,
    avg(duration_ms) AS avg_ms
  FROM spans WHERE ` + where + `
  GROUP BY GROUPING SETS ((service, operation), (llm_model))
),
ops AS (SELECT service, operation, spans, errors FROM g WHERE is_op),
svc AS (
  SELECT service, sum(spans)::BIGINT AS spans, sum(errors)::BIGINT AS errors FROM ops GROUP BY service
),
models AS (
  SELECT model, provider, spans AS calls, input_tokens, output_tokens, total_tokens, cost_usd, errors, avg_ms
  FROM g WHERE NOT is_op AND model IS NOT NULL
)
SELECT count(*) AS span_count,
  count(DISTINCT trace_id) AS trace_count,
  count(*) FILTER (WHERE status = 'error') AS error_count,
  avg(duration_ms) AS avg_ms,
  max(duration_ms) AS max_ms,
  quantile_cont(duration_ms, [0.5, 0.95, 0.99]) AS pcts,
  (SELECT list({'service': service, 'spans': spans, 'errors': errors} ORDER BY spans DESC, service)[1:` + itoa(topN) + `] FROM svc) AS top_services,
  (SELECT list({'service': service, 'operation': operation, 'spans': spans, 'errors': errors}
     ORDER BY errors DESC, spans DESC, service, operation)[1:` + itoa(topN) + `] FROM ops WHERE errors > 0) AS top_errors,
  (SELECT list(models ORDER BY cost_usd DESC, calls DESC, model) FROM models) AS models
FROM spans WHERE ` + where
}
