package sql

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Server is tael's Flight SQL server. Create it with NewServer, then Serve.
type Server struct {
	flightsql.BaseServer

	opts Options
	log  *slog.Logger
	mem  memory.Allocator
	now  func() time.Time

	grpc *grpc.Server
	auth *auth // nil when the server is open

	prepared *lru[*preparedStmt]
	sessions *lru[*sessionState]
	queries  *queries
	// sqlInfo holds the SqlInfo ids registered with the BaseServer.
	sqlInfo map[uint32]bool

	stopOnce sync.Once
	stop     chan struct{}
	swept    chan struct{}
}

var _ flightsql.Server = (*Server)(nil)

// NewServer returns a server over opts.Backend. It asks the Backend for
// DuckDB's keywords and functions (for GetSqlInfo) and loads the TLS
// certificate, if any.
func NewServer(opts Options) (*Server, error) {
	if opts.Backend == nil {
		return nil, errors.New("sql: Options.Backend is required")
	}
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return nil, errors.New("sql: TLSCert and TLSKey must be set together")
	}
	opts = opts.withDefaults()
	s := &Server{
		opts:  opts,
		log:   opts.Logger,
		mem:   opts.Allocator,
		now:   time.Now,
		stop:  make(chan struct{}),
		swept: make(chan struct{}),
	}
	s.Alloc = opts.Allocator
	s.prepared = newLRU[*preparedStmt](preparedIdle, maxPrepared, s.now)
	s.sessions = newLRU[*sessionState](sessionIdle, maxSessions, s.now)
	s.queries = newQueries(s.now)
	s.auth = newAuth(opts, s.now)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.registerSqlInfo(ctx); err != nil {
		return nil, err
	}

	gopts := []grpc.ServerOption{grpc.MaxRecvMsgSize(maxRecvBytes)}
	if opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("sql: load TLS certificate: %w", err)
		}
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(&tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		})))
	}
	if s.auth != nil {
		gopts = append(gopts, grpc.ChainUnaryInterceptor(s.auth.unary), grpc.ChainStreamInterceptor(s.auth.stream))
	}
	s.grpc = grpc.NewServer(gopts...)
	flight.RegisterFlightServiceServer(s.grpc, flightsql.NewFlightServerWithAllocator(s, s.mem))
	go s.sweep()
	return s, nil
}

// Serve accepts connections on lis until Stop or GracefulStop.
func (s *Server) Serve(lis net.Listener) error {
	s.log.Info("flight sql listening", "addr", lis.Addr().String(), "tls", s.opts.TLSCert != "", "auth", s.auth != nil)
	if err := s.grpc.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("sql: serve: %w", err)
	}
	return nil
}

// GracefulStop stops accepting calls and waits for running ones (their
// streams included) to finish.
func (s *Server) GracefulStop() {
	s.grpc.GracefulStop()
	s.stopSweeper()
}

// Stop closes every connection and cancels running calls.
func (s *Server) Stop() {
	s.grpc.Stop()
	s.stopSweeper()
}

func (s *Server) stopSweeper() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.swept
}

// sweep drops expired prepared statements, sessions, tokens and cancel
// marks every sweepEvery.
func (s *Server) sweep() {
	defer close(s.swept)
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.prepared.sweep()
			s.sessions.sweep()
			s.queries.cancelled.sweep()
			if s.auth != nil {
				s.auth.issued.sweep()
			}
		}
	}
}

// flightInfo returns a FlightInfo with one endpoint: the ticket tk, or for
// a nil tk the descriptor's command (metadata requests).
func (s *Server) flightInfo(desc *flight.FlightDescriptor, sc *arrow.Schema, tk *flight.Ticket) *flight.FlightInfo {
	if tk == nil {
		tk = &flight.Ticket{Ticket: desc.Cmd}
	}
	info := &flight.FlightInfo{
		Endpoint:         []*flight.FlightEndpoint{{Ticket: tk}},
		FlightDescriptor: desc,
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
	if sc != nil {
		info.Schema = flight.SerializeSchema(sc, s.mem)
	}
	return info
}

// timeout returns the timeout of a query: the server's, lowered by the
// session's and the ticket's (asked) if they are shorter.
func (s *Server) timeout(ctx context.Context, asked time.Duration) time.Duration {
	d := s.opts.QueryTimeout
	if st := s.sessionTimeout(ctx); st > 0 && st < d {
		d = st
	}
	if asked > 0 && asked < d {
		d = asked
	}
	return d
}
