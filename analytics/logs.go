package analytics

import (
	"context"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tael/tael/schema"
)

// Logs lists log records matching f, newest first.
func (s *Service) Logs(ctx context.Context, f LogFilter) ([]Log, error) {
	last, err := window("last", f.Last, DefaultLast)
	if err != nil {
		return nil, err
	}
	n, err := limit(f.Limit, DefaultRows)
	if err != nil {
		return nil, err
	}
	sevs, err := atLeast(f.Severity)
	if err != nil {
		return nil, err
	}
	now := s.now()
	conds := []string{"timestamp >= ?", "timestamp <= ?"}
	params := []any{now.Add(-last), now}
	if f.Service != "" {
		conds = append(conds, "service = ?")
		params = append(params, f.Service)
	}
	if f.Severity != "" {
		conds = append(conds, "severity IN ("+placeholders(len(sevs))+")")
		for _, v := range sevs {
			params = append(params, v)
		}
	}
	if f.BodyContains != "" {
		conds = append(conds, "contains(lower(body), lower(?))")
		params = append(params, f.BodyContains)
	}
	if f.TraceID != "" {
		id, err := traceID(f.TraceID)
		if err != nil {
			return nil, err
		}
		conds = append(conds, "trace_id = ?")
		params = append(params, id)
	}
	q := "SELECT " + columns(schema.Logs, "") + " FROM logs WHERE " + strings.Join(conds, " AND ") +
		" ORDER BY timestamp DESC, service, span_id, body LIMIT ?"
	out := []Log{}
	err = s.each(ctx, q, append(params, int64(n)), func(rec arrow.RecordBatch) error {
		out = append(out, logsOf(rec)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Metrics lists metric points matching f, newest first.
func (s *Service) Metrics(ctx context.Context, f MetricFilter) ([]Metric, error) {
	last, err := window("last", f.Last, DefaultLast)
	if err != nil {
		return nil, err
	}
	n, err := limit(f.Limit, DefaultRows)
	if err != nil {
		return nil, err
	}
	if err := checkMetricType(f.MetricType); err != nil {
		return nil, err
	}
	now := s.now()
	conds := []string{"timestamp >= ?", "timestamp <= ?"}
	params := []any{now.Add(-last), now}
	if f.Service != "" {
		conds = append(conds, "service = ?")
		params = append(params, f.Service)
	}
	if f.Name != "" {
		conds = append(conds, "name = ?")
		params = append(params, f.Name)
	}
	if f.MetricType != "" {
		conds = append(conds, "metric_type = ?")
		params = append(params, f.MetricType)
	}
	q := "SELECT " + columns(schema.Metrics, "") + " FROM metrics WHERE " + strings.Join(conds, " AND ") +
		" ORDER BY timestamp DESC, name, series_id LIMIT ?"
	out := []Metric{}
	err = s.each(ctx, q, append(params, int64(n)), func(rec arrow.RecordBatch) error {
		out = append(out, metricsOf(rec)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
