package sql

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/compute/exec"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/util"
)

// execution is one redeemed ticket: a query run once per parameter row,
// its results streamed one after another as one result.
type execution struct {
	id queryID
	// timeout is the one the ticket asked for; 0 for none.
	timeout time.Duration
	query   string
	// rows are the parameter rows; nil runs the query once without
	// parameters, an empty list not at all.
	rows [][]any
	// want is the schema to stream (the one the FlightInfo announced); nil
	// means the first run's.
	want *arrow.Schema
}

// execute starts e and returns its schema and batches. Errors before the
// first batch (bad SQL, cancelled ticket) are returned; later ones end the
// stream as its last chunk. The batches are never gathered: each goes to
// the client as DuckDB produces it.
func (s *Server) execute(ctx context.Context, op string, e execution) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	qctx, done, err := s.queries.start(ctx, e.id, s.timeout(ctx, e.timeout))
	if err != nil {
		return nil, nil, s.toStatus(op, err)
	}
	rows := e.rows
	if rows == nil {
		rows = [][]any{nil}
	}
	if len(rows) == 0 {
		done()
		sc := e.want
		if sc == nil {
			sc = arrow.NewSchema(nil, nil)
		}
		return s.empty(sc)
	}
	s.log.Debug("query", "op", op, "id", e.id, "sql", e.query, "runs", len(rows))
	rdr, err := s.opts.Backend.Query(qctx, e.query, rows[0])
	if err != nil {
		done()
		return nil, nil, s.toStatus(op, err)
	}
	out := e.want
	if out == nil {
		out = rdr.Schema()
	}
	ch := make(chan flight.StreamChunk)
	go s.pump(ctx, qctx, op, e.query, out, rdr, rows[1:], ch, done)
	return out, ch, nil
}

// pump sends the batches of rdr, then of the query run with each of rest,
// on ch as schema out, and closes ch. ctx is the call's, qctx the query's;
// done unregisters the query.
func (s *Server) pump(ctx, qctx context.Context, op, query string, out *arrow.Schema, rdr array.RecordReader, rest [][]any, ch chan<- flight.StreamChunk, done func()) {
	defer close(ch)
	defer done()
	send := func(c flight.StreamChunk) bool {
		select {
		case ch <- c:
			return true
		case <-ctx.Done():
			if c.Data != nil {
				c.Data.Release()
			}
			return false
		}
	}
	fail := func(err error) { send(flight.StreamChunk{Err: s.toStatus(op, err)}) }
	for {
		for rdr.Next() {
			rec, err := conform(qctx, s.mem, rdr.RecordBatch(), out)
			if err != nil {
				rdr.Release()
				fail(err)
				return
			}
			parts := split(rec)
			for i, part := range parts {
				if !send(flight.StreamChunk{Data: part}) {
					for _, p := range parts[i+1:] {
						p.Release()
					}
					rdr.Release()
					return
				}
			}
		}
		err := rdr.Err()
		rdr.Release()
		if err != nil {
			fail(err)
			return
		}
		if len(rest) == 0 {
			return
		}
		rdr, err = s.opts.Backend.Query(qctx, query, rest[0])
		rest = rest[1:]
		if err != nil {
			fail(err)
			return
		}
	}
}

// maxMessageBytes is the size a result batch is split below: gRPC clients
// refuse messages over 4 MiB by default (arrow-go's, so Grafana's and
// ADBC's), and one DuckDB chunk of 2048 log rows with 8 KiB bodies is 16 MiB.
const maxMessageBytes = 1 << 20

// split returns rec, or slices of it of about maxMessageBytes each, taking
// over rec's reference.
func split(rec arrow.RecordBatch) []arrow.RecordBatch {
	n := rec.NumRows()
	size := util.TotalRecordSize(rec)
	if size <= maxMessageBytes || n <= 1 {
		return []arrow.RecordBatch{rec}
	}
	step := max(1, n*maxMessageBytes/size)
	parts := make([]arrow.RecordBatch, 0, (n+step-1)/step)
	for off := int64(0); off < n; off += step {
		parts = append(parts, rec.NewSlice(off, min(off+step, n)))
	}
	rec.Release()
	return parts
}

// conform returns rec (retained) as a batch of schema out. A query run with
// different parameters may give a column another type (DuckDB types a
// NULL parameter INTEGER): an all-null column becomes nulls of out's type,
// others are cast where no value changes.
func conform(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, out *arrow.Schema) (arrow.RecordBatch, error) {
	if rec.Schema().Equal(out) {
		rec.Retain()
		return rec, nil
	}
	if rec.NumCols() != int64(out.NumFields()) {
		return nil, fmt.Errorf("%w: a parameter row gives %d columns, the result has %d", errInvalid, rec.NumCols(), out.NumFields())
	}
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, col := range rec.Columns() {
		want := out.Field(i).Type
		switch {
		case arrow.TypeEqual(col.DataType(), want):
			col.Retain()
			cols[i] = col
		case col.NullN() == col.Len():
			cols[i] = array.MakeArrayOfNull(mem, want, col.Len())
		default:
			c, err := compute.CastArray(exec.WithAllocator(ctx, mem), col, compute.SafeCastOptions(want))
			if err != nil {
				return nil, fmt.Errorf("%w: column %q: a parameter row gives %s, the result has %s: bind values of one type",
					errInvalid, out.Field(i).Name, col.DataType(), want)
			}
			cols[i] = c
		}
	}
	return array.NewRecordBatch(out, cols, rec.NumRows()), nil
}
