package promql

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/internal/tablefunc"
)

// FunctionSchema is the result of the promql table function: one row per
// sample of the range query's answer. labels holds every label but
// __name__, which is metric_name ("" for a scalar or a series without one).
var FunctionSchema = arrow.NewSchema([]arrow.Field{
	{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
	{Name: "value", Type: arrow.PrimitiveTypes.Float64},
	{Name: "metric_name", Type: arrow.BinaryTypes.String},
	{Name: "labels", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)},
}, nil)

// Function returns the SQL table function promql(query, start, end, step):
// the PromQL range query over e's metrics, evaluated by the same engine
// settings as the HTTP API (opts), one row per sample. start and end are
// TIMESTAMPs (string literals cast), step a Prometheus duration or seconds
// ('15s', '1m', '30'). Native-histogram samples are not rows (tael stores
// none).
func Function(e *engine.Engine, opts APIOptions) tablefunc.Func {
	opts.fill()
	p := parser.NewParser(parser.Options{EnableExperimentalFunctions: opts.EnableExperimentalFunctions})
	f := &function{q: NewQueryable(e, opts.Queryable), ng: newEngine(opts, p, nil)}
	ts := arrow.FixedWidthTypes.Timestamp_ns
	return tablefunc.Func{
		Name: "promql",
		Args: []tablefunc.Arg{
			{Name: "query", Type: arrow.BinaryTypes.String},
			{Name: "start", Type: ts},
			{Name: "end", Type: ts},
			{Name: "step", Type: arrow.BinaryTypes.String},
		},
		Result: FunctionSchema,
		Doc:    "PromQL range query: promql(query, start, end, step) → timestamp, value, metric_name, labels",
		Call:   f.call,
	}
}

type function struct {
	q  *Queryable
	ng *promql.Engine
}

func (f *function) call(ctx context.Context, mem memory.Allocator, args []any) (arrow.RecordBatch, error) {
	query, _ := args[0].(string)
	start, okStart := args[1].(time.Time)
	end, okEnd := args[2].(time.Time)
	stepText, okStep := args[3].(string)
	switch {
	case query == "":
		return nil, errors.New("promql: query must not be empty or NULL")
	case !okStart || !okEnd:
		return nil, errors.New("promql: start and end must not be NULL")
	case !okStep:
		return nil, errors.New("promql: step must not be NULL")
	case end.Before(start):
		return nil, fmt.Errorf("promql: end %s is before start %s", end.Format(time.RFC3339Nano), start.Format(time.RFC3339Nano))
	}
	step, err := parseDuration(stepText)
	if err != nil {
		return nil, fmt.Errorf("promql: step: %w", err)
	}
	if step <= 0 {
		return nil, fmt.Errorf("promql: step must be positive, got %q", stepText)
	}
	if end.Sub(start)/step > maxPoints {
		return nil, errors.New("promql: exceeded maximum resolution of 11,000 points per timeseries; use a larger step")
	}
	qry, err := f.ng.NewRangeQuery(ctx, f.q, nil, query, start, end, step)
	if err != nil {
		return nil, fmt.Errorf("promql: %w", err)
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("promql: %w", res.Err)
	}
	m, err := res.Matrix()
	if err != nil {
		return nil, fmt.Errorf("promql: %w", err)
	}
	return matrixBatch(mem, m), nil
}

// matrixBatch converts a range query's answer to FunctionSchema rows,
// series by series (the engine sorts them by labels), samples by time.
func matrixBatch(mem memory.Allocator, m promql.Matrix) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, FunctionSchema)
	defer b.Release()
	tsB := b.Field(0).(*array.TimestampBuilder)
	valB := b.Field(1).(*array.Float64Builder)
	nameB := b.Field(2).(*array.StringBuilder)
	mapB := b.Field(3).(*array.MapBuilder)
	keyB := mapB.KeyBuilder().(*array.StringBuilder)
	itemB := mapB.ItemBuilder().(*array.StringBuilder)
	for _, s := range m {
		name := s.Metric.Get(labels.MetricName)
		for _, pt := range s.Floats {
			tsB.Append(arrow.Timestamp(pt.T * int64(time.Millisecond)))
			valB.Append(pt.F)
			nameB.Append(name)
			mapB.Append(true)
			s.Metric.Range(func(l labels.Label) {
				if l.Name == labels.MetricName {
					return
				}
				keyB.Append(l.Name)
				itemB.Append(l.Value)
			})
		}
	}
	return b.NewRecordBatch()
}
