package sql

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"

	"github.com/tael/tael/sql/duck"
)

var errNoTransactions = fmt.Errorf("%w: tael has no transactions", errInvalid)

// prepare describes query, bounded by the caller's query timeout.
func (s *Server) prepare(ctx context.Context, query string) (*duck.Statement, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout(ctx, 0))
	defer cancel()
	return s.opts.Backend.Prepare(ctx, query)
}

// GetFlightInfoStatement checks the query and answers with its result
// schema and one endpoint, whose ticket carries the query.
func (s *Server) GetFlightInfoStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	const op = "GetFlightInfoStatement"
	if len(cmd.GetTransactionId()) > 0 {
		return nil, s.toStatus(op, errNoTransactions)
	}
	st, err := s.prepare(ctx, cmd.GetQuery())
	if err != nil {
		return nil, s.toStatus(op, err)
	}
	if st.Kind != duck.KindQuery {
		return nil, s.toStatus(op, fmt.Errorf("%w: the statement is an update: run it with ExecuteUpdate", errInvalid))
	}
	tk, err := ticket{kind: ticketStatement, id: newQueryID(), timeout: s.sessionTimeout(ctx), text: cmd.GetQuery()}.flightTicket()
	if err != nil {
		return nil, s.toStatus(op, err)
	}
	return s.flightInfo(desc, st.Schema, tk), nil
}

// GetSchemaStatement answers with the query's result schema.
func (s *Server) GetSchemaStatement(ctx context.Context, cmd flightsql.StatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	const op = "GetSchemaStatement"
	if len(cmd.GetTransactionId()) > 0 {
		return nil, s.toStatus(op, errNoTransactions)
	}
	st, err := s.prepare(ctx, cmd.GetQuery())
	if err != nil {
		return nil, s.toStatus(op, err)
	}
	sc := st.Schema
	if sc == nil {
		sc = arrow.NewSchema(nil, nil)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(sc, s.mem)}, nil
}

// DoGetStatement redeems a ticket of GetFlightInfoStatement or
// GetFlightInfoPreparedStatement: it runs the query and streams its rows.
func (s *Server) DoGetStatement(ctx context.Context, cmd flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	const op = "DoGetStatement"
	t, err := decodeTicket(cmd.GetStatementHandle())
	if err != nil {
		return nil, nil, s.toStatus(op, err)
	}
	switch t.kind {
	case ticketPrepared:
		return s.executePrepared(ctx, op, t.text, t.id, t.timeout)
	default:
		return s.execute(ctx, op, execution{id: t.id, timeout: t.timeout, query: t.text})
	}
}

// DoPutCommandStatementUpdate runs an update (INSERT INTO trace_comments)
// and returns the rows it inserted.
func (s *Server) DoPutCommandStatementUpdate(ctx context.Context, cmd flightsql.StatementUpdate) (int64, error) {
	const op = "DoPutCommandStatementUpdate"
	if len(cmd.GetTransactionId()) > 0 {
		return 0, s.toStatus(op, errNoTransactions)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout(ctx, 0))
	defer cancel()
	n, err := s.opts.Backend.Exec(ctx, cmd.GetQuery(), nil)
	return n, s.toStatus(op, err)
}

// CancelFlightInfo cancels the executions of a FlightInfo's ticket, running
// or not yet started: a cancelled ticket is refused from then on.
func (s *Server) CancelFlightInfo(_ context.Context, req *flight.CancelFlightInfoRequest) (flight.CancelFlightInfoResult, error) {
	const op = "CancelFlightInfo"
	info := req.GetInfo()
	if info == nil || len(info.GetEndpoint()) == 0 {
		return flight.CancelFlightInfoResult{Status: flight.CancelStatusUnspecified},
			s.toStatus(op, fmt.Errorf("%w: the FlightInfo has no endpoint", errInvalid))
	}
	st := flight.CancelStatusCancelled
	for _, ep := range info.GetEndpoint() {
		if ep.GetTicket() == nil {
			return flight.CancelFlightInfoResult{Status: flight.CancelStatusUnspecified}, s.toStatus(op, errBadTicket)
		}
		if _, err := flightsql.GetStatementQueryTicket(ep.GetTicket()); err != nil {
			// A metadata request: answered at once, nothing to cancel.
			st = flight.CancelStatusNotCancellable
			continue
		}
		t, err := ticketOf(ep.GetTicket())
		if err != nil {
			return flight.CancelFlightInfoResult{Status: flight.CancelStatusUnspecified}, s.toStatus(op, err)
		}
		s.queries.cancel(t.id)
		s.log.Debug("cancelled", "id", t.id)
	}
	return flight.CancelFlightInfoResult{Status: st}, nil
}
