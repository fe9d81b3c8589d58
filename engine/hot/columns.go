package hot

import "github.com/tael/tael/schema"

// Indexes of the columns the store reads itself.
var (
	spansTraceID    = columnIndex(schema.Spans, "trace_id")
	metricsName     = columnIndex(schema.Metrics, "name")
	metricsLabels   = columnIndex(schema.Metrics, "labels")
	metricsSeriesID = columnIndex(schema.Metrics, "series_id")
)

func columnIndex(id schema.ID, name string) int {
	t, err := schema.ByID(id)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	idx := t.Schema.FieldIndices(name)
	if len(idx) != 1 {
		panic("BUG: table " + t.Name + " has no column " + name)
	}
	return idx[0]
}
