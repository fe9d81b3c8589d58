package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/ingest/otlp"
	"github.com/tael/tael/ingest/remotewrite"
)

// receivers are the ingest listeners: OTLP over gRPC and HTTP on their own
// ports, and remote-write mounted on the main HTTP server.
type receivers struct {
	grpc     *grpc.Server
	otlpHTTP *http.Server
	done     chan error
}

// lateHandler serves 503 until its handler is set: routes on the main HTTP
// server that need the engine, which opens after the server starts.
type lateHandler struct{ h atomic.Pointer[http.Handler] }

func (l *lateHandler) set(h http.Handler) { l.h.Store(&h) }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := l.h.Load()
	if h == nil {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "flightd is starting: the engine is not open yet", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

// startReceivers binds the OTLP listeners and sets the remote-write handler.
// Clients that connect while the engine opens get "connection refused" and
// retry, as OTLP exporters do.
func startReceivers(c serveConfig, eng *engine.Engine, reg prometheus.Registerer, log *slog.Logger, write *lateHandler) (*receivers, error) {
	conv := otlp.DefaultOptions()
	conv.CaptureLLMContent = c.captureLLMContent
	conv.Allocator = eng.Allocator()
	recv := otlp.NewReceiver(eng, otlp.ReceiverOptions{
		Convert:    conv,
		Logger:     log.With("component", "otlp"),
		Registerer: reg,
	})
	write.set(remotewrite.NewHandler(eng, remotewrite.Options{
		Allocator:  eng.Allocator(),
		Logger:     log.With("component", "remote-write"),
		Registerer: reg,
	}))

	lg, err := net.Listen("tcp", c.otlpGRPC)
	if err != nil {
		return nil, fmt.Errorf("listen --otlp-grpc %s: %w", c.otlpGRPC, err)
	}
	lh, err := net.Listen("tcp", c.otlpHTTP)
	if err != nil {
		lg.Close()
		return nil, fmt.Errorf("listen --otlp-http %s: %w", c.otlpHTTP, err)
	}
	r := &receivers{
		grpc:     grpc.NewServer(recv.GRPCServerOptions()...),
		otlpHTTP: &http.Server{Handler: recv.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		done:     make(chan error, 2),
	}
	recv.RegisterGRPC(r.grpc)
	go func() { r.done <- r.grpc.Serve(lg) }()
	go func() {
		if err := r.otlpHTTP.Serve(lh); !errors.Is(err, http.ErrServerClosed) {
			r.done <- err
		}
	}()
	log.Info("otlp listening", "grpc", lg.Addr().String(), "http", lh.Addr().String())
	return r, nil
}

// stop stops accepting and waits for in-flight requests (their appends
// finish and are answered) until ctx ends, then cuts the rest off.
func (r *receivers) stop(ctx context.Context) {
	stopped := make(chan struct{})
	go func() { r.grpc.GracefulStop(); close(stopped) }()
	if err := r.otlpHTTP.Shutdown(ctx); err != nil {
		_ = r.otlpHTTP.Close()
	}
	select {
	case <-stopped:
	case <-ctx.Done():
		r.grpc.Stop()
	}
}
