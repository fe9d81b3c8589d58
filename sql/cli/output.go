package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// writer prints a result: begin with its schema (once per endpoint, the
// first one counts), write each batch, end.
type writer interface {
	begin(*arrow.Schema) error
	write(arrow.RecordBatch) error
	end() error
}

func newWriter(format string, w io.Writer) (writer, error) {
	switch format {
	case "table":
		return &tableWriter{w: w}, nil
	case "csv":
		return &csvWriter{w: csv.NewWriter(w)}, nil
	case "json":
		return &jsonWriter{w: bufio.NewWriter(w)}, nil
	case "arrow":
		return &arrowWriter{w: w}, nil
	}
	return nil, fmt.Errorf("%w: unknown format %q", errUsage, format)
}

// tableWriter prints aligned columns under a header, then "(N rows)". It
// holds the formatted cells until the end, to know the widths.
type tableWriter struct {
	w       io.Writer
	schema  *arrow.Schema
	right   []bool // right-aligned (numeric) columns
	rows    [][]string
	started bool
}

func (t *tableWriter) begin(sc *arrow.Schema) error {
	if t.started {
		return nil
	}
	t.started, t.schema = true, sc
	t.right = make([]bool, sc.NumFields())
	for i, f := range sc.Fields() {
		t.right[i] = arrow.IsInteger(f.Type.ID()) || arrow.IsFloating(f.Type.ID()) || arrow.IsDecimal(f.Type.ID())
	}
	return nil
}

func (t *tableWriter) write(rec arrow.RecordBatch) error {
	for r := range int(rec.NumRows()) {
		row := make([]string, rec.NumCols())
		for c := range row {
			row[c] = cell(rec.Column(c), r)
		}
		t.rows = append(t.rows, row)
	}
	return nil
}

// cell formats one value for the table: NULL for nulls, control characters
// escaped so that each row stays on one line.
func cell(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	s := a.ValueStr(i)
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' }) {
		q := strconv.Quote(s)
		s = q[1 : len(q)-1]
	}
	return s
}

// end prints the table. Numeric columns, headers included, are aligned
// right.
func (t *tableWriter) end() error {
	if t.schema == nil {
		return nil
	}
	bw := bufio.NewWriter(t.w)
	n := t.schema.NumFields()
	widths := make([]int, n)
	header := make([]string, n)
	for i, f := range t.schema.Fields() {
		header[i] = f.Name
		widths[i] = utf8.RuneCountInString(f.Name)
	}
	for _, row := range t.rows {
		for i, v := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(v))
		}
	}
	line := func(cells []string) {
		for i, v := range cells {
			if i > 0 {
				bw.WriteString(" | ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(v))
			if t.right[i] {
				bw.WriteString(pad + v)
			} else if i == len(cells)-1 {
				bw.WriteString(v) // no trailing blanks
			} else {
				bw.WriteString(v + pad)
			}
		}
		bw.WriteByte('\n')
	}
	line(header)
	for i, w := range widths {
		if i > 0 {
			bw.WriteString("-+-")
		}
		bw.WriteString(strings.Repeat("-", w))
	}
	bw.WriteByte('\n')
	for _, row := range t.rows {
		line(row)
	}
	fmt.Fprintf(bw, "(%d %s)\n", len(t.rows), plural(int64(len(t.rows)), "row", "rows"))
	return bw.Flush()
}

// csvWriter prints RFC 4180 CSV with a header line; nulls are empty.
type csvWriter struct {
	w       *csv.Writer
	started bool
}

func (c *csvWriter) begin(sc *arrow.Schema) error {
	if c.started {
		return nil
	}
	c.started = true
	header := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		header[i] = f.Name
	}
	return c.w.Write(header)
}

func (c *csvWriter) write(rec arrow.RecordBatch) error {
	row := make([]string, rec.NumCols())
	for r := range int(rec.NumRows()) {
		for i := range row {
			if col := rec.Column(i); col.IsNull(r) {
				row[i] = ""
			} else {
				row[i] = col.ValueStr(r)
			}
		}
		if err := c.w.Write(row); err != nil {
			return err
		}
	}
	return nil
}

func (c *csvWriter) end() error {
	c.w.Flush()
	return c.w.Error()
}

// jsonWriter prints one JSON object per row, keys in column order.
type jsonWriter struct {
	w    *bufio.Writer
	keys [][]byte
}

func (j *jsonWriter) begin(sc *arrow.Schema) error {
	if j.keys != nil {
		return nil
	}
	j.keys = make([][]byte, sc.NumFields())
	for i, f := range sc.Fields() {
		k, err := json.Marshal(f.Name)
		if err != nil {
			return err
		}
		j.keys[i] = k
	}
	return nil
}

func (j *jsonWriter) write(rec arrow.RecordBatch) error {
	for r := range int(rec.NumRows()) {
		j.w.WriteByte('{')
		for c := range int(rec.NumCols()) {
			if c > 0 {
				j.w.WriteByte(',')
			}
			j.w.Write(j.keys[c])
			j.w.WriteByte(':')
			v, err := json.Marshal(jsonValue(rec.Column(c), r))
			if err != nil {
				return fmt.Errorf("column %s: %w", rec.ColumnName(c), err)
			}
			j.w.Write(v)
		}
		j.w.WriteString("}\n")
	}
	return nil
}

func (j *jsonWriter) end() error { return j.w.Flush() }

// jsonValue returns row i of a as a value encoding/json writes naturally:
// numbers as numbers (NaN and infinities as strings), timestamps as RFC 3339
// strings, maps with string keys as objects.
func jsonValue(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Float64:
		return jsonFloat(a.Value(i))
	case *array.Float32:
		return jsonFloat(float64(a.Value(i)))
	case *array.Decimal128, *array.Decimal256:
		return json.Number(a.ValueStr(i))
	case *array.Timestamp, *array.Date32, *array.Date64, *array.Time32, *array.Time64:
		return a.ValueStr(i)
	case *array.Map:
		if keys, ok := a.Keys().(*array.String); ok {
			m := map[string]any{}
			start, end := a.ValueOffsets(i)
			for k := int(start); k < int(end); k++ {
				m[keys.Value(k)] = jsonValue(a.Items(), k)
			}
			return m
		}
	case *array.List:
		start, end := a.ValueOffsets(i)
		l := make([]any, 0, end-start)
		for k := int(start); k < int(end); k++ {
			l = append(l, jsonValue(a.ListValues(), k))
		}
		return l
	case *array.Struct:
		m := map[string]any{}
		st := a.DataType().(*arrow.StructType)
		for f := range a.NumField() {
			m[st.Field(f).Name] = jsonValue(a.Field(f), i)
		}
		return m
	}
	return a.GetOneForMarshal(i)
}

func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return f
}

// arrowWriter writes an Arrow IPC stream.
type arrowWriter struct {
	w  io.Writer
	wr *ipc.Writer
}

func (a *arrowWriter) begin(sc *arrow.Schema) error {
	if a.wr == nil {
		a.wr = ipc.NewWriter(a.w, ipc.WithSchema(sc))
	}
	return nil
}

func (a *arrowWriter) write(rec arrow.RecordBatch) error { return a.wr.Write(rec) }

func (a *arrowWriter) end() error {
	if a.wr == nil {
		return nil
	}
	return a.wr.Close()
}
