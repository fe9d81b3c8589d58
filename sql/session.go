package sql

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/session"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Sessions follow arrow-go's stateful session convention: the server sets
// the cookie arrow_flight_session_id on the first SetSessionOptions, and a
// client that keeps cookies (arrow-go's and ADBC's cookie middleware, the
// JDBC driver) sends it back. A session exists only once a client sets an
// option: a client without cookies costs no state.

// sessionCookie is the cookie naming a session.
const sessionCookie = session.StatefulSessionCookieName

// Session option names.
const (
	optTimeout      = "timeout"
	optQueryTimeout = "query_timeout"
	optCatalog      = "catalog"
	optSchema       = "schema"
)

// The one catalog and schema every table is in.
const (
	catalogName = "tael"
	schemaName  = "main"
)

// sessionState is one client session's options.
type sessionState struct {
	// mu guards timeout.
	mu sync.Mutex
	// timeout is the session's query timeout; 0 means the server's.
	timeout time.Duration
}

func (st *sessionState) getTimeout() time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.timeout
}

// sessionFrom returns the session named by the call's cookie, if any.
func (s *Server) sessionFrom(ctx context.Context) (string, *sessionState) {
	c, err := session.GetIncomingCookieByName(ctx, sessionCookie)
	if err != nil || c.Value == "" {
		return "", nil
	}
	st, ok := s.sessions.get(c.Value)
	if !ok {
		return "", nil
	}
	return c.Value, st
}

// sessionTimeout is the query timeout the call's session asks for; 0 for
// none.
func (s *Server) sessionTimeout(ctx context.Context) time.Duration {
	if _, st := s.sessionFrom(ctx); st != nil {
		return st.getTimeout()
	}
	return 0
}

// SetSessionOptions sets options of the caller's session, creating the
// session (and its cookie) if there is none. Options it does not know or
// values it cannot take are answered per option in the result; the call
// itself succeeds.
func (s *Server) SetSessionOptions(ctx context.Context, req *flight.SetSessionOptionsRequest) (*flight.SetSessionOptionsResult, error) {
	_, st := s.sessionFrom(ctx)
	if st == nil {
		id := newSessionID()
		st = &sessionState{}
		s.sessions.put(id, st)
		c := http.Cookie{Name: sessionCookie, Value: id}
		if err := grpc.SetHeader(ctx, metadata.Pairs("set-cookie", c.String())); err != nil {
			return nil, s.toStatus("SetSessionOptions", fmt.Errorf("set session cookie: %w", err))
		}
	}
	res := &flight.SetSessionOptionsResult{Errors: map[string]*flight.SetSessionOptionsResultError{}}
	fail := func(name string, v pb.SetSessionOptionsResult_ErrorValue) {
		res.Errors[name] = &flight.SetSessionOptionsResultError{Value: v}
	}
	for name, v := range req.GetSessionOptions() {
		switch strings.ToLower(name) {
		case optTimeout, optQueryTimeout:
			if v.GetOptionValue() == nil { // unset: back to the server's
				st.mu.Lock()
				st.timeout = 0
				st.mu.Unlock()
				continue
			}
			d, ok := parseTimeout(v)
			if !ok {
				fail(name, flight.SetSessionOptionsResultErrorInvalidValue)
				continue
			}
			st.mu.Lock()
			st.timeout = d
			st.mu.Unlock()
		case optCatalog, optSchema:
			want := catalogName
			if strings.EqualFold(name, optSchema) {
				want = schemaName
			}
			if v.GetOptionValue() != nil && !strings.EqualFold(v.GetStringValue(), want) {
				// tael has one catalog and one schema.
				fail(name, flight.SetSessionOptionsResultErrorInvalidValue)
			}
		default:
			fail(name, flight.SetSessionOptionsResultErrorInvalidName)
		}
	}
	return res, nil
}

// parseTimeout reads a timeout in seconds: a positive number, or a string
// holding one or a Go duration ("30s").
func parseTimeout(v *flight.SessionOptionValue) (time.Duration, bool) {
	var sec float64
	switch o := v.GetOptionValue().(type) {
	case *pb.SessionOptionValue_Int64Value:
		sec = float64(o.Int64Value)
	case *pb.SessionOptionValue_DoubleValue:
		sec = o.DoubleValue
	case *pb.SessionOptionValue_StringValue:
		str := strings.TrimSpace(o.StringValue)
		if d, err := time.ParseDuration(str); err == nil {
			sec = d.Seconds()
		} else if f, err := strconv.ParseFloat(str, 64); err == nil {
			sec = f
		} else {
			return 0, false
		}
	default:
		return 0, false
	}
	if !(sec > 0) || math.IsInf(sec, 0) || sec > maxDuration.Seconds() {
		return 0, false
	}
	return time.Duration(sec * float64(time.Second)), true
}

// GetSessionOptions returns the caller's session options: always the
// catalog and schema, and the timeout (seconds) if the session set one.
func (s *Server) GetSessionOptions(ctx context.Context, _ *flight.GetSessionOptionsRequest) (*flight.GetSessionOptionsResult, error) {
	opts := map[string]any{optCatalog: catalogName, optSchema: schemaName}
	if _, st := s.sessionFrom(ctx); st != nil {
		if d := st.getTimeout(); d > 0 {
			opts[optTimeout] = d.Seconds()
		}
	}
	vals, err := flight.NewSessionOptionValues(opts)
	if err != nil {
		return nil, s.toStatus("GetSessionOptions", err)
	}
	return &flight.GetSessionOptionsResult{SessionOptions: vals}, nil
}

// CloseSession forgets the caller's session and expires its cookie.
func (s *Server) CloseSession(ctx context.Context, _ *flight.CloseSessionRequest) (*flight.CloseSessionResult, error) {
	if id, st := s.sessionFrom(ctx); st != nil {
		s.sessions.remove(id)
		c := http.Cookie{Name: sessionCookie, Value: id, MaxAge: -1}
		_ = grpc.SetHeader(ctx, metadata.Pairs("set-cookie", c.String()))
	}
	return &flight.CloseSessionResult{Status: flight.CloseSessionResultClosed}, nil
}

func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
