package duck

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/tael/tael/internal/arrowtime"
	"github.com/tael/tael/schema"
)

// chunkRows is DuckDB's data chunk capacity (STANDARD_VECTOR_SIZE): a
// batch is appended in slices of at most this many rows.
const chunkRows = 2048

// Applied appends a batch the hot tier applied, written by WAL record lsn,
// to table's _hot table. rec must have the table's schema.
func (d *DB) Applied(table schema.ID, lsn uint64, rec arrow.RecordBatch) error {
	t, err := schema.ByID(table)
	if err != nil {
		return err
	}
	if rec.NumRows() == 0 {
		return nil
	}
	in := withLSN(d.mem, rec, lsn)
	defer in.Release()
	d.mirror.Lock()
	defer d.mirror.Unlock()
	if d.mirror.c == nil {
		return ErrClosed
	}
	c := d.mirror.c.c
	conv, ok := d.mirror.schemas[table]
	if !ok {
		var ed bindings.ErrorData
		conv, ed = bindings.SchemaFromArrow(c, in.Schema())
		if err := errData(ed); err != nil {
			return fmt.Errorf("duck: %s: convert schema: %w", t.Name, err)
		}
		d.mirror.schemas[table] = conv
	}
	var app bindings.Appender
	if bindings.AppenderCreate(c, "_hot", t.Name, &app) == bindings.StateError {
		msg := bindings.AppenderError(app)
		bindings.AppenderDestroy(&app)
		return fmt.Errorf("duck: %s: create appender: %s", t.Name, msg)
	}
	defer bindings.AppenderDestroy(&app)
	n := in.NumRows()
	for off := int64(0); off < n; off += chunkRows {
		part := in.NewSlice(off, min(off+chunkRows, n))
		chunk, ed := bindings.DataChunkFromArrow(c, part, conv)
		part.Release()
		if err := errData(ed); err != nil {
			return fmt.Errorf("duck: %s: convert batch: %w", t.Name, err)
		}
		st := bindings.AppendDataChunk(app, chunk)
		bindings.DestroyDataChunk(&chunk)
		if st == bindings.StateError {
			return fmt.Errorf("duck: %s: append: %s", t.Name, bindings.AppenderError(app))
		}
	}
	if bindings.AppenderClose(app) == bindings.StateError {
		return fmt.Errorf("duck: %s: append: %s", t.Name, bindings.AppenderError(app))
	}
	if table == schema.LLMPayloads {
		// _hot.llm_payloads is a staging table: see payloads.go.
		if err := d.mirror.c.exec(payloadMergeSQL); err != nil {
			return fmt.Errorf("duck: llm_payloads: %w", err)
		}
	}
	return nil
}

// withLSN returns rec with its timestamps relabelled as zone-less (so that
// DuckDB keeps nanoseconds) and an _lsn column holding lsn.
func withLSN(mem memory.Allocator, rec arrow.RecordBatch, lsn uint64) arrow.RecordBatch {
	s, _ := arrowtime.RetypeSchema(rec.Schema(), "")
	conv := arrowtime.ConvertRecord(mem, rec, s)
	defer conv.Release()
	b := array.NewUint64Builder(mem)
	defer b.Release()
	n := int(rec.NumRows())
	b.Reserve(n)
	for range n {
		b.UnsafeAppend(lsn)
	}
	lsns := b.NewArray()
	defer lsns.Release()
	fields := append(append([]arrow.Field(nil), s.Fields()...), arrow.Field{Name: "_lsn", Type: arrow.PrimitiveTypes.Uint64})
	cols := append(append([]arrow.Array(nil), conv.Columns()...), lsns)
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// Cold publishes table's live cold files (absolute paths) and drops the hot
// rows they now hold: time before movedBefore (unix ns) and _lsn at or below
// movedLSN. Both happen in one DuckDB transaction.
func (d *DB) Cold(table schema.ID, files []string, movedBefore int64, movedLSN uint64) error {
	t, err := schema.ByID(table)
	if err != nil {
		return err
	}
	d.mirror.Lock()
	defer d.mirror.Unlock()
	if d.mirror.c == nil {
		return ErrClosed
	}
	stmts := "BEGIN TRANSACTION;\n"
	if t.TimeColumn != "" && movedLSN > 0 {
		stmts += fmt.Sprintf("DELETE FROM _hot.%s WHERE _lsn <= %d AND %s < make_timestamp_ns(%d);\n",
			ident(t.Name), movedLSN, ident(t.TimeColumn), movedBefore)
	}
	stmts += viewSQL(t, files) + ";\nCOMMIT;"
	if err := d.mirror.c.exec(stmts); err != nil {
		_ = d.mirror.c.exec("ROLLBACK")
		return fmt.Errorf("duck: publish %s cold files: %w", t.Name, err)
	}
	d.mirror.files[table] = append([]string(nil), files...)
	d.log.Debug("cold files published", "table", t.Name, "files", len(files),
		"moved_before", time.Unix(0, movedBefore).UTC(), "moved_lsn", movedLSN)
	return nil
}
