package sql

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
)

// Parameters arrive as record batches: each row is one execution, column
// i is parameter i+1. Values become the Go values the Backend binds.

// paramRows reads every row of rdr as a parameter row. A statement with n
// parameters takes batches of n columns. At most limit rows are read
// (limit <= 0: no limit).
func paramRows(rdr flight.MessageReader, n, limit int) ([][]any, error) {
	var rows [][]any
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if err := eachParamRow(rec, n, func(row []any) error {
			if limit > 0 && len(rows) >= limit {
				return fmt.Errorf("%w: more than %d parameter rows bound to one query", errInvalid, limit)
			}
			rows = append(rows, row)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if err := rdr.Err(); err != nil {
		return nil, fmt.Errorf("%w: read parameters: %v", errInvalid, err)
	}
	return rows, nil
}

// eachParamRow calls f with each row of rec as parameter values.
func eachParamRow(rec arrow.RecordBatch, n int, f func([]any) error) error {
	if rec.NumRows() == 0 {
		return nil
	}
	if int(rec.NumCols()) != n {
		return fmt.Errorf("%w: the statement takes %d parameter(s), the bound batch has %d column(s)", errInvalid, n, rec.NumCols())
	}
	for r := range int(rec.NumRows()) {
		row := make([]any, n)
		for c := range n {
			v, err := paramValue(rec.Column(c), r)
			if err != nil {
				return fmt.Errorf("%w: parameter %d (%s): %v", errInvalid, c+1, rec.Schema().Field(c).Name, err)
			}
			row[c] = v
		}
		if err := f(row); err != nil {
			return err
		}
	}
	return nil
}

// paramValue returns row i of arr as a bindable Go value: nil, bool, an
// integer, a float, string, []byte or time.Time.
func paramValue(arr arrow.Array, i int) (any, error) {
	if arr.IsNull(i) {
		return nil, nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return a.Value(i), nil
	case *array.Int8:
		return a.Value(i), nil
	case *array.Int16:
		return a.Value(i), nil
	case *array.Int32:
		return a.Value(i), nil
	case *array.Int64:
		return a.Value(i), nil
	case *array.Uint8:
		return a.Value(i), nil
	case *array.Uint16:
		return a.Value(i), nil
	case *array.Uint32:
		return a.Value(i), nil
	case *array.Uint64:
		return a.Value(i), nil
	case *array.Float16:
		return a.Value(i).Float32(), nil
	case *array.Float32:
		return a.Value(i), nil
	case *array.Float64:
		return a.Value(i), nil
	case *array.String:
		return a.Value(i), nil
	case *array.LargeString:
		return a.Value(i), nil
	case *array.StringView:
		return a.Value(i), nil
	case *array.Binary:
		return append([]byte(nil), a.Value(i)...), nil
	case *array.LargeBinary:
		return append([]byte(nil), a.Value(i)...), nil
	case *array.BinaryView:
		return append([]byte(nil), a.Value(i)...), nil
	case *array.FixedSizeBinary:
		return append([]byte(nil), a.Value(i)...), nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC(), nil
	case *array.Date32:
		return a.Value(i).ToTime().UTC(), nil
	case *array.Date64:
		return a.Value(i).ToTime().UTC(), nil
	case *array.Decimal128:
		// DuckDB casts the text to the parameter's DECIMAL exactly.
		return a.ValueStr(i), nil
	case *array.Decimal256:
		return a.ValueStr(i), nil
	case *array.Dictionary:
		return paramValue(a.Dictionary(), a.GetValueIndex(i))
	case array.Union:
		child, off := unionChild(a, i)
		return paramValue(child, off)
	case *array.Null:
		return nil, nil
	}
	return nil, fmt.Errorf("values of type %s cannot be bound", arr.DataType())
}

// unionChild returns the child array and index holding row i of a union.
func unionChild(u array.Union, i int) (arrow.Array, int) {
	child := u.Field(u.ChildID(i))
	if d, ok := u.(*array.DenseUnion); ok {
		return child, int(d.ValueOffset(i))
	}
	return child, i
}
