package analytics

import (
	"context"

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
	w := windowFilter("timestamp", now.Add(-last), now)
	if f.Service != "" {
		w.add("service = ?", f.Service)
	}
	if f.Severity != "" {
		w.add("severity IN ("+placeholders(len(sevs))+")", anys(sevs)...)
	}
	if f.BodyContains != "" {
		w.add("contains(lower(body), lower(?))", f.BodyContains)
	}
	if f.TraceID != "" {
		id, err := traceID(f.TraceID)
		if err != nil {
			return nil, err
		}
		w.add("trace_id = ?", id)
	}
	q := "SELECT " + columns(schema.Logs, "") + " FROM logs WHERE " + w.sql() +
		" ORDER BY timestamp DESC, service, span_id, body LIMIT ?"
	return collect(ctx, s, q, append(w.params, int64(n)), logsOf)
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
	w := windowFilter("timestamp", now.Add(-last), now)
	if f.Service != "" {
		w.add("service = ?", f.Service)
	}
	if f.Name != "" {
		w.add("name = ?", f.Name)
	}
	if f.MetricType != "" {
		w.add("metric_type = ?", f.MetricType)
	}
	q := "SELECT " + columns(schema.Metrics, "") + " FROM metrics WHERE " + w.sql() +
		" ORDER BY timestamp DESC, name, series_id LIMIT ?"
	return collect(ctx, s, q, append(w.params, int64(n)), metricsOf)
}
