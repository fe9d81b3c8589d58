package sql

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tael/tael/schema"
	"github.com/tael/tael/sql/duck"
)

// Errors of this package. They become gRPC status codes in toStatus.
var (
	// errInvalid marks a request this server cannot accept
	// (INVALID_ARGUMENT).
	errInvalid = errors.New("sql: invalid request")
	// errNotFound marks a reference to something that does not exist
	// (NOT_FOUND).
	errNotFound = errors.New("sql: not found")
	// errExists marks a request to create what exists (ALREADY_EXISTS).
	errExists = errors.New("sql: already exists")
	// errUnsupported marks a feature tael does not have (UNIMPLEMENTED).
	errUnsupported = errors.New("sql: unsupported")
)

// toStatus maps err to a gRPC status error. op names the call, for the log.
// Status errors pass through unchanged.
func (s *Server) toStatus(op string, err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return st.Err()
	}
	var code codes.Code
	switch {
	case errors.Is(err, duck.ErrInvalid), errors.Is(err, duck.ErrReadOnly),
		errors.Is(err, errInvalid), errors.Is(err, schema.ErrSchemaMismatch),
		errors.Is(err, schema.ErrInvalidBatch):
		code = codes.InvalidArgument
	case errors.Is(err, context.DeadlineExceeded):
		return status.Errorf(codes.DeadlineExceeded, "%s: the query ran past its timeout", op)
	case errors.Is(err, context.Canceled):
		return status.Errorf(codes.Canceled, "%s: the query was cancelled", op)
	case errors.Is(err, schema.ErrUnknownTable), errors.Is(err, errNotFound):
		code = codes.NotFound
	case errors.Is(err, errExists):
		code = codes.AlreadyExists
	case errors.Is(err, errUnsupported):
		code = codes.Unimplemented
	default:
		s.log.Error("internal error", "op", op, "err", err)
		return status.Errorf(codes.Internal, "%s: %v", op, err)
	}
	return status.Error(code, message(err))
}

// message returns err's text without this module's sentinel prefixes
// ("duck: invalid SQL: "), so a client sees DuckDB's message as DuckDB
// wrote it.
func message(err error) string {
	msg := err.Error()
	for _, p := range []error{duck.ErrInvalid, errInvalid, errNotFound, errExists, errUnsupported} {
		msg = strings.Replace(msg, p.Error()+": ", "", 1)
	}
	// "duck: SQL is read-only: …" keeps its reason, without the package.
	return strings.Replace(msg, "duck: ", "", 1)
}
