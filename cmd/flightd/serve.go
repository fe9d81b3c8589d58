package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tael/tael/analytics"
	"github.com/tael/tael/engine"
	"github.com/tael/tael/promql"
	"github.com/tael/tael/rest"
	"github.com/tael/tael/sql/duck"
)

// shutdownTimeout bounds a graceful stop: in-flight requests get this long
// before their connections are closed, leaving time to close the engine
// within the 10 s a supervisor (systemd's default is 90 s, Kubernetes' 30 s)
// is promised.
const shutdownTimeout = 7 * time.Second

type serveConfig struct {
	dataDir   string
	otlpGRPC  string
	otlpHTTP  string
	flight    string
	http      string
	hotWindow time.Duration
	insecure  bool
	logLevel  string
	logFormat string

	captureLLMContent bool

	storage storageConfig
	sql     sqlConfig
}

func newServeFlags(c *serveConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("flightd serve", flag.ContinueOnError)
	fs.StringVar(&c.dataDir, "data-dir", "./data", "data directory (WAL, hot tier, cold tier)")
	fs.StringVar(&c.otlpGRPC, "otlp-grpc", "127.0.0.1:4317", "OTLP/gRPC listen address")
	fs.StringVar(&c.otlpHTTP, "otlp-http", "127.0.0.1:4318", "OTLP/HTTP listen address")
	fs.StringVar(&c.flight, "flight", "127.0.0.1:8815", "Arrow Flight SQL listen address")
	fs.StringVar(&c.http, "http", "127.0.0.1:7701", "HTTP listen address: PromQL API, remote-write, REST, /healthz, /readyz, /metrics")
	fs.DurationVar(&c.hotWindow, "hot-window", 15*time.Minute, "how long rows stay in the hot tier before compaction to Parquet")
	fs.BoolVar(&c.captureLLMContent, "capture-llm-content", true, "keep LLM prompt and completion text (blob store and full-text index); false keeps no text at all")
	fs.BoolVar(&c.insecure, "insecure", false, "allow listening on non-loopback addresses without authentication")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	addStorageFlags(fs, &c.storage)
	addSQLFlags(fs, &c.sql)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: flightd [serve] [flags]\n\nEvery flag can also be set as TAEL_<FLAG>, e.g. TAEL_DATA_DIR.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

func (c *serveConfig) validate() error {
	if err := c.storage.validate(); err != nil {
		return err
	}
	if err := c.sql.validate(); err != nil {
		return err
	}
	if c.hotWindow <= 0 {
		return fmt.Errorf("--hot-window must be positive, got %s", c.hotWindow)
	}
	for _, a := range []struct{ flag, addr string }{
		{"otlp-grpc", c.otlpGRPC}, {"otlp-http", c.otlpHTTP}, {"flight", c.flight}, {"http", c.http},
	} {
		host, _, err := net.SplitHostPort(a.addr)
		if err != nil {
			return fmt.Errorf("--%s %q: %w", a.flag, a.addr, err)
		}
		if (a.flag == "flight" || a.flag == "http") && c.sql.authenticated() {
			continue
		}
		if !isLoopback(host) && !c.insecure {
			return fmt.Errorf("--%s %q listens beyond loopback, and authentication is not configured; pass --insecure to allow it", a.flag, a.addr)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, got %q", format)
}

func serve(args []string) int {
	var c serveConfig
	fs := newServeFlags(&c)
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "flightd: %v\n", err)
		return 2
	}
	log, err := newLogger(c.logLevel, c.logFormat)
	if err == nil {
		err = c.storage.load(fs)
	}
	if err == nil {
		err = c.validate()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "flightd: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := runServer(ctx, c, log); err != nil {
		log.Error("flightd stopped", "err", err)
		return 1
	}
	return 0
}

// runServer serves until ctx is cancelled, then stops gracefully.
func runServer(ctx context.Context, c serveConfig, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var ready atomic.Bool

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready: engine opening or closing", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	var write, prom lateHandler
	mux.Handle("/api/v1/write", &write)
	// The Prometheus HTTP API: every other /api/v1/ path.
	mux.Handle("/api/v1/", &prom)

	ln, err := net.Listen("tcp", c.http)
	if err != nil {
		return fmt.Errorf("listen --http %s: %w", c.http, err)
	}
	hs := &http.Server{Handler: newHTTPAuth(mux, c.sql), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	httpDone := make(chan error, 1)
	go func() {
		if c.sql.tlsCert != "" {
			httpDone <- hs.ServeTLS(ln, c.sql.tlsCert, c.sql.tlsKey)
			return
		}
		httpDone <- hs.Serve(ln)
	}()
	log.Info("http listening", "addr", ln.Addr().String())

	// The HTTP listener is up before the engine opens so that /healthz
	// answers (and /readyz says 503) while a long WAL replay runs.
	eo := engine.DefaultOptions()
	eo.Logger = log.With("component", "engine")
	eo.Registerer = reg
	eo.HotWindow = c.hotWindow
	c.storage.apply(&eo)
	eng, err := engine.Open(ctx, c.dataDir, eo)
	if err != nil {
		shutdownHTTP(hs, log)
		return err
	}
	closeEngine := func() {
		if cerr := eng.Close(); cerr != nil {
			log.Error("close engine", "err", cerr)
		}
	}
	// The questions (REST, and SQL's table functions) run SQL through the
	// DuckDB that serves those functions: bind it once it is open.
	var sqlDB atomic.Pointer[duck.DB]
	svc := analytics.New(eng, analytics.QueryFunc(func(ctx context.Context, q string, params []any) (array.RecordReader, error) {
		db := sqlDB.Load()
		if db == nil {
			return nil, errors.New("flightd: SQL engine starting")
		}
		return db.Query(ctx, q, params)
	}), analytics.Options{
		Logger:    log.With("component", "analytics"),
		Allocator: eng.Allocator(),
	})
	po := promql.DefaultAPIOptions()
	po.Logger = log.With("component", "promql")
	po.Registerer = reg
	po.Version = version
	functions := append(svc.Functions(), promql.Function(eng, po))
	sqls, err := startSQL(ctx, c, eng, log, functions, &sqlDB)
	if err != nil {
		shutdownHTTP(hs, log)
		closeEngine()
		return err
	}
	recv, err := startReceivers(c, eng, reg, log, &write)
	if err != nil {
		sqls.stop(context.Background())
		shutdownHTTP(hs, log)
		closeEngine()
		sqls.db.Close()
		return err
	}
	// The REST API's routes are more specific than the Prometheus API's
	// /api/v1/, which answers 503 for them until they are registered here.
	ro := rest.DefaultOptions()
	ro.Logger = log.With("component", "rest")
	api := rest.New(svc, ro)
	// Shutdown waits for running handlers: live tails must end first.
	hs.RegisterOnShutdown(api.Close)
	api.Register(mux)
	prom.set(promql.NewAPI(eng, po))
	ready.Store(true)
	log.Info("flightd ready", "version", version, "data_dir", c.dataDir, "hot_window", c.hotWindow)

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-httpDone:
		err = fmt.Errorf("http server: %w", err)
	case err = <-recv.done:
		err = fmt.Errorf("otlp server: %w", err)
	case err = <-sqls.done:
		err = fmt.Errorf("flight sql server: %w", err)
	}
	ready.Store(false)
	// Stop taking data first, so every request still in flight is appended
	// and answered before the engine closes.
	stopCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	recv.stop(stopCtx)
	sqls.stop(stopCtx)
	cancel()
	shutdownHTTP(hs, log)
	if cerr := eng.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close engine: %w", cerr)
	}
	if cerr := sqls.db.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close duckdb: %w", cerr)
	}
	if err == nil {
		log.Info("flightd stopped cleanly")
	}
	return err
}

func shutdownHTTP(hs *http.Server, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		log.Warn("http shutdown: closing remaining connections", "err", err)
		_ = hs.Close()
	}
}
