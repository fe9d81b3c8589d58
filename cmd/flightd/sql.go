package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/internal/duration"
	"github.com/tael/tael/internal/tablefunc"
	tsql "github.com/tael/tael/sql"
	"github.com/tael/tael/sql/duck"
)

// sqlConfig is the Flight SQL part of the configuration.
type sqlConfig struct {
	authToken    string
	authBasic    string
	tlsCert      string
	tlsKey       string
	queryTimeout time.Duration
	memoryLimit  string
	threads      int
}

func addSQLFlags(fs *flag.FlagSet, c *sqlConfig) {
	fs.StringVar(&c.authToken, "auth-token", "", "bearer token Flight SQL and HTTP clients must send (Authorization: Bearer <token>); /healthz and /readyz stay open")
	fs.StringVar(&c.authBasic, "auth-basic", "", "user:password Flight SQL and HTTP clients may authenticate with (basic auth, or Flight Handshake)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate for TLS on Flight SQL and HTTP (with --tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM key for TLS on Flight SQL and HTTP (with --tls-cert)")
	c.queryTimeout = 5 * time.Minute
	fs.Var(duration.Value{D: &c.queryTimeout}, "query-timeout", "longest a SQL query may run; clients may ask for less")
	fs.StringVar(&c.memoryLimit, "sql-memory-limit", "", "DuckDB memory limit, e.g. 4GB or 50% (default: DuckDB's, 80% of RAM)")
	fs.IntVar(&c.threads, "sql-threads", 0, "DuckDB worker threads (default: the number of CPUs)")
}

func (c *sqlConfig) authenticated() bool { return c.authToken != "" || c.authBasic != "" }

func (c *sqlConfig) validate() error {
	if c.authBasic != "" && !strings.Contains(c.authBasic, ":") {
		return errors.New("--auth-basic must be user:password")
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.queryTimeout <= 0 {
		return fmt.Errorf("--query-timeout must be positive, got %s", c.queryTimeout)
	}
	if c.threads < 0 {
		return fmt.Errorf("--sql-threads must not be negative, got %d", c.threads)
	}
	return nil
}

// sqlServer is DuckDB with the engine's rows and the Flight SQL server in
// front of it.
type sqlServer struct {
	db   *duck.DB
	srv  *tsql.Server
	done chan error
}

// startSQL opens DuckDB with the table functions, loads it with the
// engine's rows, stores it in db and serves Flight SQL on c.flight.
func startSQL(ctx context.Context, c serveConfig, eng *engine.Engine, log *slog.Logger, functions []tablefunc.Func, dbp *atomic.Pointer[duck.DB]) (*sqlServer, error) {
	coldDir, err := filepath.Abs(filepath.Join(eng.Dir(), "cold"))
	if err != nil {
		return nil, err
	}
	db, err := duck.Open(duck.Options{
		Logger:      log.With("component", "duckdb"),
		Allocator:   eng.Allocator(),
		MemoryLimit: c.sql.memoryLimit,
		Threads:     c.sql.threads,
		ColdDir:     coldDir,
		Append:      eng.Append,
		Functions:   functions,
	})
	if err != nil {
		return nil, err
	}
	dbp.Store(db)
	start := time.Now()
	if err := eng.Attach(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	log.Info("sql tables loaded", "took", time.Since(start).Round(time.Millisecond))
	o := tsql.Options{
		Backend:      db,
		Ingester:     eng,
		Logger:       log.With("component", "flightsql"),
		Allocator:    eng.Allocator(),
		QueryTimeout: c.sql.queryTimeout,
		AuthToken:    c.sql.authToken,
		TLSCert:      c.sql.tlsCert,
		TLSKey:       c.sql.tlsKey,
		Version:      version,
	}
	if user, pass, ok := strings.Cut(c.sql.authBasic, ":"); ok {
		o.BasicUsers = map[string]string{user: pass}
	}
	srv, err := tsql.NewServer(o)
	if err != nil {
		db.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", c.flight)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("listen --flight %s: %w", c.flight, err)
	}
	s := &sqlServer{db: db, srv: srv, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ln) }()
	// The server logs "flight sql listening" with its address.
	return s, nil
}

// stop stops serving (in-flight calls get until ctx ends).
func (s *sqlServer) stop(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.srv.Stop()
		<-done
	}
}
