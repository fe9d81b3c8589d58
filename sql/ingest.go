package sql

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/compute/exec"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/schema"
)

// ingestable are the tables bulk ingest may append to. metrics_5m is
// computed by compaction and llm_payloads is served from the blob store.
var ingestable = map[schema.ID]bool{
	schema.Spans: true, schema.Logs: true, schema.Metrics: true, schema.TraceComments: true,
}

// DoPutCommandStatementIngest appends the uploaded batches to one of tael's
// tables through the Ingester, each durable before the next is read, and
// returns the rows appended (also when it fails part-way).
//
// tael's tables are fixed: they cannot be created or replaced, so the
// ingest must append to an existing table (ADBC's mode "append"; an
// unspecified if-exists option appends too). The batches' columns are
// matched to the table's by name, in any order; strings (utf8, large_utf8,
// string_view, dictionaries of them) and timestamps of any unit and zone
// are converted to the table's types where no value changes, missing
// nullable columns are filled with nulls, and metrics.series_id, when
// missing, is computed from name and labels.
func (s *Server) DoPutCommandStatementIngest(ctx context.Context, cmd flightsql.StatementIngest, rdr flight.MessageReader) (int64, error) {
	const op = "DoPutCommandStatementIngest"
	t, err := s.ingestTarget(cmd)
	if err != nil {
		return 0, s.toStatus(op, err)
	}
	var rows int64
	for rdr.Next() {
		in := rdr.RecordBatch()
		if in.NumRows() == 0 {
			continue
		}
		rec, err := conformIngest(ctx, s.mem, in, t)
		if err != nil {
			return rows, s.toStatus(op, err)
		}
		_, err = s.opts.Ingester.Append(ctx, t.ID, rec)
		rec.Release()
		if err != nil {
			return rows, s.toStatus(op, fmt.Errorf("append to %s: %w", t.Name, err))
		}
		rows += in.NumRows()
	}
	if err := rdr.Err(); err != nil {
		return rows, s.toStatus(op, fmt.Errorf("%w: read batches: %v", errInvalid, err))
	}
	s.log.Debug("ingested", "table", t.Name, "rows", rows)
	return rows, nil
}

// ingestTarget checks an ingest request and returns its table.
func (s *Server) ingestTarget(cmd flightsql.StatementIngest) (*schema.Table, error) {
	if s.opts.Ingester == nil {
		return nil, fmt.Errorf("%w: bulk ingest is not enabled on this server", errUnsupported)
	}
	if len(cmd.GetTransactionId()) > 0 {
		return nil, errNoTransactions
	}
	if cmd.GetTemporary() {
		return nil, fmt.Errorf("%w: tael has no temporary tables", errInvalid)
	}
	if c := cmd.GetCatalog(); c != "" && !strings.EqualFold(c, catalogName) {
		return nil, fmt.Errorf("%w: catalog %q: tael's only catalog is %q", errNotFound, c, catalogName)
	}
	if sc := cmd.GetSchema(); sc != "" && !strings.EqualFold(sc, schemaName) {
		return nil, fmt.Errorf("%w: schema %q: tael's only schema is %q", errNotFound, sc, schemaName)
	}
	t, err := schema.ByName(strings.ToLower(cmd.GetTable()))
	if err != nil {
		return nil, fmt.Errorf("%w: tael's tables are fixed and new ones cannot be created", err)
	}
	if !ingestable[t.ID] {
		return nil, fmt.Errorf("%w: table %s cannot be ingested into (only spans, logs, metrics and trace_comments can)", errInvalid, t.Name)
	}
	switch cmd.GetTableDefinitionOptions().GetIfExists() {
	case flightsql.TableDefinitionOptionsTableExistsOptionFail:
		return nil, fmt.Errorf("%w: table %s exists: ingest in append mode", errExists, t.Name)
	case flightsql.TableDefinitionOptionsTableExistsOptionReplace:
		return nil, fmt.Errorf("%w: tael tables cannot be replaced: ingest into %s in append mode", errInvalid, t.Name)
	}
	return t, nil
}

// conformIngest returns rec as a batch with t's exact columns, or an error
// wrapping errInvalid that names the offending column.
func conformIngest(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, t *schema.Table) (arrow.RecordBatch, error) {
	in := rec.Schema()
	// Index the batch's columns by name: exact match first, then ignoring
	// case (SQL identifiers do).
	byName := map[string]int{}
	folded := map[string][]int{}
	for i, f := range in.Fields() {
		if _, dup := byName[f.Name]; dup {
			return nil, fmt.Errorf("%w: column %q appears twice", errInvalid, f.Name)
		}
		byName[f.Name] = i
		folded[strings.ToLower(f.Name)] = append(folded[strings.ToLower(f.Name)], i)
	}
	used := make([]bool, in.NumFields())
	n := int(rec.NumRows())
	cols := make([]arrow.Array, t.Schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	var missingSeries = -1
	for j, f := range t.Schema.Fields() {
		i, ok := byName[f.Name]
		if !ok {
			if c := folded[strings.ToLower(f.Name)]; len(c) == 1 {
				i, ok = c[0], true
			} else if len(c) > 1 {
				return nil, fmt.Errorf("%w: column %q matches %d columns that differ only in case", errInvalid, f.Name, len(c))
			}
		}
		if !ok {
			switch {
			case t.ID == schema.Metrics && f.Name == "series_id":
				missingSeries = j
				continue
			case f.Nullable:
				cols[j] = array.MakeArrayOfNull(mem, f.Type, n)
				continue
			}
			return nil, fmt.Errorf("%w: column %q of table %s is missing (it is NOT NULL)", errInvalid, f.Name, t.Name)
		}
		used[i] = true
		c, err := convertColumn(ctx, mem, rec.Column(i), f.Type)
		if err != nil {
			return nil, fmt.Errorf("%w: column %q: %s cannot be stored as %s: %v", errInvalid, f.Name, rec.Column(i).DataType(), f.Type, err)
		}
		cols[j] = c
		if !f.Nullable && c.NullN() > 0 {
			return nil, fmt.Errorf("%w: column %q of table %s is NOT NULL but has %d nulls", errInvalid, f.Name, t.Name, c.NullN())
		}
	}
	for i, u := range used {
		if !u {
			return nil, fmt.Errorf("%w: column %q is not a column of table %s", errInvalid, in.Field(i).Name, t.Name)
		}
	}
	if missingSeries >= 0 {
		c, err := seriesIDs(mem, t, cols)
		if err != nil {
			return nil, err
		}
		cols[missingSeries] = c
	}
	return array.NewRecordBatch(t.Schema, cols, int64(n)), nil
}

// seriesIDs computes metrics.series_id from the converted name and labels
// columns, as the ingest receivers do.
func seriesIDs(mem memory.Allocator, t *schema.Table, cols []arrow.Array) (arrow.Array, error) {
	idx := func(name string) int { return t.Schema.FieldIndices(name)[0] }
	names := cols[idx("name")].(*array.String)
	labels := cols[idx("labels")].(*array.Map)
	keys, items := labels.Keys().(*array.String), labels.Items().(*array.String)
	b := array.NewUint64Builder(mem)
	defer b.Release()
	for r := range names.Len() {
		m := map[string]string{}
		if labels.IsValid(r) {
			start, end := labels.ValueOffsets(r)
			for k := start; k < end; k++ {
				if items.IsValid(int(k)) {
					m[keys.Value(int(k))] = items.Value(int(k))
				}
			}
		}
		b.Append(schema.SeriesID(names.Value(r), m))
	}
	return b.NewArray(), nil
}

// convertColumn returns arr as type to: relabelled when only field names,
// nullability or a timestamp's zone differ, converted where no value
// changes otherwise.
func convertColumn(ctx context.Context, mem memory.Allocator, arr arrow.Array, to arrow.DataType) (arrow.Array, error) {
	from := arr.DataType()
	if arrow.TypeEqual(from, to) {
		arr.Retain()
		return arr, nil
	}
	if sameLayout(from, to) {
		return array.MakeFromData(relabel(arr.Data(), to)), nil
	}
	if m, ok := to.(*arrow.MapType); ok {
		return convertStringMap(mem, arr, m)
	}
	if !convertible(from, to) {
		return nil, fmt.Errorf("no lossless conversion")
	}
	return compute.CastArray(exec.WithAllocator(ctx, mem), arr, compute.SafeCastOptions(to))
}

// convertible reports whether convertColumn may cast from to to: between
// string types, timestamps, integers (range-checked) and floats, through
// lists and structs.
func convertible(from, to arrow.DataType) bool {
	if d, ok := from.(*arrow.DictionaryType); ok {
		from = d.ValueType
	}
	switch to := to.(type) {
	case *arrow.StringType:
		switch from.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
			return true
		}
	case *arrow.TimestampType:
		return from.ID() == arrow.TIMESTAMP
	case *arrow.Float64Type:
		return from.ID() == arrow.FLOAT32 || from.ID() == arrow.FLOAT16
	case *arrow.ListType:
		switch f := from.(type) {
		case *arrow.ListType:
			return convertible(f.Elem(), to.Elem()) || arrow.TypeEqual(f.Elem(), to.Elem())
		case *arrow.LargeListType:
			return convertible(f.Elem(), to.Elem()) || arrow.TypeEqual(f.Elem(), to.Elem())
		}
	case *arrow.StructType:
		f, ok := from.(*arrow.StructType)
		if !ok || f.NumFields() != to.NumFields() {
			return false
		}
		for i, tf := range to.Fields() {
			ff := f.Field(i)
			if ff.Name != tf.Name || !(arrow.TypeEqual(ff.Type, tf.Type) || sameLayout(ff.Type, tf.Type) || convertible(ff.Type, tf.Type)) {
				return false
			}
		}
		return true
	default:
		if arrow.IsInteger(to.ID()) {
			return arrow.IsInteger(from.ID())
		}
	}
	return false
}

// sameLayout reports whether arrays of from can be read as to unchanged:
// the types differ only in field names, nullability, map key order or a
// timestamp's zone (Arrow stores instants in UTC whatever the zone).
func sameLayout(from, to arrow.DataType) bool {
	if from.ID() != to.ID() {
		return false
	}
	switch to := to.(type) {
	case *arrow.TimestampType:
		return from.(*arrow.TimestampType).Unit == to.Unit
	case *arrow.ListType:
		return sameLayout(from.(*arrow.ListType).Elem(), to.Elem())
	case *arrow.MapType:
		f := from.(*arrow.MapType)
		return sameLayout(f.KeyType(), to.KeyType()) && sameLayout(f.ItemType(), to.ItemType())
	case *arrow.StructType:
		f := from.(*arrow.StructType)
		if f.NumFields() != to.NumFields() {
			return false
		}
		for i := range to.NumFields() {
			if f.Field(i).Name != to.Field(i).Name || !sameLayout(f.Field(i).Type, to.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return arrow.TypeEqual(from, to)
}

// relabel returns data, whose type has sameLayout as to, typed as to.
func relabel(data arrow.ArrayData, to arrow.DataType) arrow.ArrayData {
	var childTypes []arrow.DataType
	switch to := to.(type) {
	case *arrow.ListType:
		childTypes = []arrow.DataType{to.Elem()}
	case *arrow.MapType:
		childTypes = []arrow.DataType{to.Elem()}
	case *arrow.StructType:
		for _, f := range to.Fields() {
			childTypes = append(childTypes, f.Type)
		}
	}
	children := make([]arrow.ArrayData, len(data.Children()))
	for i, c := range data.Children() {
		children[i] = relabel(c, childTypes[i])
	}
	out := array.NewData(to, data.Len(), data.Buffers(), children, data.NullN(), data.Offset())
	for _, c := range children {
		c.Release()
	}
	return out
}

// convertStringMap converts a map whose keys and items are strings of any
// type (utf8, large_utf8, string_view) to m, a map of utf8 to utf8.
func convertStringMap(mem memory.Allocator, arr arrow.Array, m *arrow.MapType) (arrow.Array, error) {
	src, ok := arr.(*array.Map)
	if !ok {
		return nil, fmt.Errorf("not a map")
	}
	key, kok := stringer(src.Keys())
	item, iok := stringer(src.Items())
	if !kok || !iok || m.KeyType().ID() != arrow.STRING || m.ItemType().ID() != arrow.STRING {
		return nil, fmt.Errorf("map keys and values must be strings")
	}
	b := array.NewMapBuilderWithType(mem, m)
	defer b.Release()
	kb, ib := b.KeyBuilder().(*array.StringBuilder), b.ItemBuilder().(*array.StringBuilder)
	for r := range src.Len() {
		if src.IsNull(r) {
			b.AppendNull()
			continue
		}
		b.Append(true)
		start, end := src.ValueOffsets(r)
		for k := int(start); k < int(end); k++ {
			kb.Append(key(k))
			if src.Items().IsNull(k) {
				ib.AppendNull()
			} else {
				ib.Append(item(k))
			}
		}
	}
	return b.NewArray(), nil
}

// stringer returns a func reading string i of a string array of any type.
func stringer(a arrow.Array) (func(int) string, bool) {
	switch a := a.(type) {
	case *array.String:
		return a.Value, true
	case *array.LargeString:
		return a.Value, true
	case *array.StringView:
		return a.Value, true
	}
	return nil, false
}
