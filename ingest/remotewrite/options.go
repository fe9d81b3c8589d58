package remotewrite

import (
	"log/slog"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tael/tael/ingest"
)

// Options configure a remote-write handler.
type Options struct {
	// Allocator provides the Arrow buffers of the batches handed to the
	// Appender. Nil means memory.DefaultAllocator.
	Allocator memory.Allocator
	// Limits bound one request (MaxRequestBytes, after snappy decoding) and
	// all requests in flight (MaxInflightBytes). Zero fields mean the
	// ingest package's defaults.
	Limits ingest.Limits
	// Logger receives the handler's logs. Nil means discard.
	Logger *slog.Logger
	// Registerer receives the tael_remote_write_* metrics. Nil means no
	// metrics are registered.
	Registerer prometheus.Registerer
}

// DefaultOptions returns the options flightd starts with: the default
// allocator and limits, no logger and no registerer.
func DefaultOptions() Options {
	return Options{Limits: ingest.Limits{}.WithDefaults()}
}

func (o Options) withDefaults() Options {
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	o.Limits = o.Limits.WithDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
