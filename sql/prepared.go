package sql

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"

	"github.com/tael/tael/sql/duck"
)

// preparedStmt is a prepared statement: its SQL, what the Backend said of
// it, and the parameter rows bound last. Statements live in Server.prepared
// until closed, or unused for preparedIdle.
type preparedStmt struct {
	query string
	kind  duck.Kind
	// schema is the result schema (empty for an update).
	schema *arrow.Schema
	params *arrow.Schema

	// mu guards bound.
	mu sync.Mutex
	// bound are the parameter rows of the next execution; nil runs the
	// statement once without parameters.
	bound [][]any
}

func (p *preparedStmt) rows() [][]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bound
}

// resultSchema is the schema announced for an execution with rows: the
// prepared one, unless parameters decide some column's type (DuckDB could
// not type it without values), in which case the first run's.
func (p *preparedStmt) resultSchema(rows [][]any) *arrow.Schema {
	if len(rows) > 0 && len(rows[0]) > 0 {
		for _, f := range p.schema.Fields() {
			if f.Type.ID() == arrow.NULL {
				return nil
			}
		}
	}
	return p.schema
}

var errNoPrepared = fmt.Errorf("%w: no such prepared statement (closed, or unused for %v)", errNotFound, preparedIdle)

func (s *Server) lookupPrepared(handle []byte) (*preparedStmt, error) {
	p, ok := s.prepared.get(string(handle))
	if !ok {
		return nil, errNoPrepared
	}
	return p, nil
}

// CreatePreparedStatement checks the statement and keeps it under a random
// handle, answering with its result and parameter schemas.
func (s *Server) CreatePreparedStatement(ctx context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	const op = "CreatePreparedStatement"
	var res flightsql.ActionCreatePreparedStatementResult
	if len(req.GetTransactionId()) > 0 {
		return res, s.toStatus(op, errNoTransactions)
	}
	st, err := s.prepare(ctx, req.GetQuery())
	if err != nil {
		return res, s.toStatus(op, err)
	}
	p := &preparedStmt{query: req.GetQuery(), kind: st.Kind, schema: st.Schema, params: st.Params}
	if p.schema == nil {
		p.schema = arrow.NewSchema(nil, nil)
	}
	if p.params == nil {
		p.params = arrow.NewSchema(nil, nil)
	}
	handle := newSessionID()
	s.prepared.put(handle, p)
	isUpdate := st.Kind == duck.KindUpdate
	return flightsql.ActionCreatePreparedStatementResult{
		Handle:          []byte(handle),
		DatasetSchema:   p.schema,
		ParameterSchema: p.params,
		IsUpdate:        &isUpdate,
	}, nil
}

// ClosePreparedStatement forgets a prepared statement. Closing one that is
// gone (closed, expired) succeeds.
func (s *Server) ClosePreparedStatement(_ context.Context, req flightsql.ActionClosePreparedStatementRequest) error {
	s.prepared.remove(string(req.GetPreparedStatementHandle()))
	return nil
}

// DoPutPreparedStatementQuery binds parameter rows to a prepared query for
// its next executions: each row is one execution, their results streamed as
// one. It answers with the same handle.
func (s *Server) DoPutPreparedStatementQuery(_ context.Context, cmd flightsql.PreparedStatementQuery, rdr flight.MessageReader, _ flight.MetadataWriter) ([]byte, error) {
	const op = "DoPutPreparedStatementQuery"
	p, err := s.lookupPrepared(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, s.toStatus(op, err)
	}
	if p.kind != duck.KindQuery {
		return nil, s.toStatus(op, fmt.Errorf("%w: the prepared statement is an update: run it with ExecuteUpdate", errInvalid))
	}
	rows, err := paramRows(rdr, p.params.NumFields(), maxBoundRows)
	if err != nil {
		return nil, s.toStatus(op, err)
	}
	if len(rows) == 0 {
		rows = nil
	}
	p.mu.Lock()
	p.bound = rows
	p.mu.Unlock()
	return cmd.GetPreparedStatementHandle(), nil
}

// GetFlightInfoPreparedStatement answers with one endpoint whose ticket
// runs the prepared query with its bound parameters.
func (s *Server) GetFlightInfoPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	const op = "GetFlightInfoPreparedStatement"
	p, err := s.lookupPrepared(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, s.toStatus(op, err)
	}
	if p.kind != duck.KindQuery {
		return nil, s.toStatus(op, fmt.Errorf("%w: the prepared statement is an update: run it with ExecuteUpdate", errInvalid))
	}
	tk, err := ticket{
		kind: ticketPrepared, id: newQueryID(), timeout: s.sessionTimeout(ctx),
		text: string(cmd.GetPreparedStatementHandle()),
	}.flightTicket()
	if err != nil {
		return nil, s.toStatus(op, err)
	}
	return s.flightInfo(desc, p.resultSchema(p.rows()), tk), nil
}

// GetSchemaPreparedStatement answers with the prepared statement's result
// schema.
func (s *Server) GetSchemaPreparedStatement(_ context.Context, cmd flightsql.PreparedStatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	p, err := s.lookupPrepared(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, s.toStatus("GetSchemaPreparedStatement", err)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(p.schema, s.mem)}, nil
}

// DoGetPreparedStatement runs a prepared query with its bound parameters
// (for clients that redeem the command itself rather than our ticket).
func (s *Server) DoGetPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.executePrepared(ctx, "DoGetPreparedStatement", string(cmd.GetPreparedStatementHandle()), newQueryID(), 0)
}

func (s *Server) executePrepared(ctx context.Context, op, handle string, id queryID, timeout time.Duration) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	p, err := s.lookupPrepared([]byte(handle))
	if err != nil {
		return nil, nil, s.toStatus(op, err)
	}
	if p.kind != duck.KindQuery {
		return nil, nil, s.toStatus(op, fmt.Errorf("%w: the prepared statement is an update: run it with ExecuteUpdate", errInvalid))
	}
	rows := p.rows()
	return s.execute(ctx, op, execution{id: id, timeout: timeout, query: p.query, rows: rows, want: p.resultSchema(rows)})
}

// DoPutPreparedStatementUpdate runs a prepared update once per uploaded
// parameter row (once without parameters if none are sent) and returns
// the rows changed in all.
func (s *Server) DoPutPreparedStatementUpdate(ctx context.Context, cmd flightsql.PreparedStatementUpdate, rdr flight.MessageReader) (int64, error) {
	const op = "DoPutPreparedStatementUpdate"
	p, err := s.lookupPrepared(cmd.GetPreparedStatementHandle())
	if err != nil {
		return 0, s.toStatus(op, err)
	}
	if p.kind != duck.KindUpdate {
		return 0, s.toStatus(op, fmt.Errorf("%w: the prepared statement is a query: run it with Execute", errInvalid))
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout(ctx, 0))
	defer cancel()
	var total int64
	runs := 0
	exec := func(row []any) error {
		n, err := s.opts.Backend.Exec(ctx, p.query, row)
		total += n
		runs++
		return err
	}
	for rdr.Next() {
		if err := eachParamRow(rdr.RecordBatch(), p.params.NumFields(), exec); err != nil {
			return total, s.toStatus(op, err)
		}
	}
	if err := rdr.Err(); err != nil {
		return total, s.toStatus(op, fmt.Errorf("%w: read parameters: %v", errInvalid, err))
	}
	if runs == 0 {
		if err := exec(nil); err != nil {
			return total, s.toStatus(op, err)
		}
	}
	return total, nil
}
