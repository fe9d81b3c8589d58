package analytics

import (
	"context"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tael/tael/schema"
)

// Correlate gathers a trace's spans, logs and metrics.
func (s *Service) Correlate(ctx context.Context, id string) (*Correlation, error) {
	tr, err := s.Trace(ctx, id)
	if err != nil {
		return nil, err
	}
	id, spans := tr.TraceID, tr.Spans
	c := &Correlation{TraceID: id, SpanCount: int64(len(spans)), Spans: spans, Logs: []Log{}, Metrics: []Metric{}}
	c.StartTime, c.EndTime = spans[0].StartTime, spans[0].EndTime
	for _, sp := range spans {
		if sp.StartTime.Before(c.StartTime) {
			c.StartTime = sp.StartTime
		}
		if sp.EndTime.After(c.EndTime) {
			c.EndTime = sp.EndTime
		}
		if sp.Status == "error" {
			c.ErrorCount++
		}
		if !slices.Contains(c.Services, sp.Service) {
			c.Services = append(c.Services, sp.Service)
		}
	}
	slices.Sort(c.Services)
	c.DurationMS = float64(c.EndTime.Sub(c.StartTime).Nanoseconds()) / 1e6
	from, to := c.StartTime.Add(-CorrelateMargin), c.EndTime.Add(CorrelateMargin)

	q := "SELECT " + columns(schema.Logs, "") + ` FROM logs
WHERE trace_id = ? AND timestamp >= ? AND timestamp <= ?
ORDER BY timestamp, span_id, body LIMIT ?`
	err = s.each(ctx, q, []any{id, from, to, int64(MaxCorrelateLogs)}, func(rec arrow.RecordBatch) error {
		c.Logs = append(c.Logs, logsOf(rec)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	params := []any{from, to}
	for _, svc := range c.Services {
		params = append(params, svc)
	}
	q = "SELECT " + columns(schema.Metrics, "") + ` FROM metrics
WHERE timestamp >= ? AND timestamp <= ? AND service IN (` + placeholders(len(c.Services)) + `)
ORDER BY timestamp, name, series_id LIMIT ?`
	err = s.each(ctx, q, append(params, int64(MaxCorrelatePts)), func(rec arrow.RecordBatch) error {
		c.Metrics = append(c.Metrics, metricsOf(rec)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
