package engine

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/tael/tael/engine/hot"
	"github.com/tael/tael/schema"
)

// Series is a metric series: its stable id and its labels, __name__ included.
type Series = hot.Series

// Scan streams the rows of table whose time column lies in tr, with only the
// named columns in that order (nil means all). The caller releases the
// reader.
func (e *Engine) Scan(ctx context.Context, table schema.ID, tr schema.TimeRange, columns []string) (array.RecordReader, error) {
	return e.hot.Scan(ctx, table, tr, columns)
}

// Trace returns every span of the trace, in no particular order; a batch with
// no rows when there is none. The caller releases it.
func (e *Engine) Trace(ctx context.Context, traceID string) (arrow.RecordBatch, error) {
	return e.hot.Trace(ctx, traceID)
}

// Series returns the metric series matching every matcher (Prometheus
// semantics) that have points in tr.
func (e *Engine) Series(ctx context.Context, matchers []*labels.Matcher, tr schema.TimeRange) ([]Series, error) {
	return e.hot.Series(ctx, matchers, tr)
}
