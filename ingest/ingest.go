package ingest

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tael/tael/schema"
)

// Appender is where receivers put decoded rows: the engine. Append returns
// once the batch is durable.
type Appender interface {
	Append(ctx context.Context, table schema.ID, rec arrow.RecordBatch) (uint64, error)
}

// Defaults for Limits.
const (
	// DefaultMaxRequestBytes is the largest request body accepted, after
	// decompression: the OpenTelemetry Collector's OTLP receiver and
	// Prometheus's remote-write receiver both cap requests in this range
	// (the Collector's gRPC default message size is 4 MiB, its HTTP
	// servers commonly run with 16-20 MiB).
	DefaultMaxRequestBytes = 16 << 20
	// DefaultMaxInflightBytes bounds the decoded bytes of all requests
	// being converted and appended at once. Past it, receivers answer
	// "retry later" (HTTP 429/503, gRPC RESOURCE_EXHAUSTED/UNAVAILABLE).
	// 256 MiB keeps a flightd under load within a few GiB (a decoded
	// request holds about 4-8x its wire size as pdata and Arrow).
	DefaultMaxInflightBytes = 256 << 20
)

// Limits bounds what one request and all requests together may hold.
type Limits struct {
	// MaxRequestBytes is the largest body accepted after decompression.
	// Zero means DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// MaxInflightBytes bounds the bodies of all requests in progress.
	// Zero means DefaultMaxInflightBytes.
	MaxInflightBytes int64
}

// WithDefaults returns l with zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxRequestBytes <= 0 {
		l.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if l.MaxInflightBytes <= 0 {
		l.MaxInflightBytes = DefaultMaxInflightBytes
	}
	return l
}

var (
	// ErrTooLarge is returned by ReadBody when a body, after
	// decompression, exceeds the limit. Reading stops at the limit, so a
	// gzip bomb costs at most that much memory.
	ErrTooLarge = errors.New("ingest: request body too large")
	// ErrEncoding is returned by ReadBody for a Content-Encoding it cannot
	// decode, or a body that is not valid in that encoding.
	ErrEncoding = errors.New("ingest: bad content encoding")
	// ErrOverloaded is returned by Gate.Acquire when admitting a request
	// would pass the in-flight budget: the client should retry later.
	ErrOverloaded = errors.New("ingest: overloaded, retry later")
)

// ReadBody reads a request body of the given Content-Encoding ("", identity
// or gzip) and returns it decompressed. It fails with ErrTooLarge as soon as
// more than max bytes have come out.
func ReadBody(r io.Reader, encoding string, max int64) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrEncoding, err)
		}
		defer zr.Close()
		b, err := readAtMost(zr, max)
		if err != nil && !errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("%w: gzip: %v", ErrEncoding, err)
		}
		return b, err
	default:
		return nil, fmt.Errorf("%w: unsupported Content-Encoding %q (use gzip or none)", ErrEncoding, encoding)
	}
	return readAtMost(r, max)
}

func readAtMost(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return b, nil
}

// Gate admits requests while the bytes they hold stay within a budget. It
// never blocks: a request that does not fit is refused at once so the client
// backs off, and memory stays bounded however many clients push.
type Gate struct {
	max int64
	// mu guards used.
	mu   sync.Mutex
	used int64
}

// NewGate returns a gate admitting up to max bytes at once.
func NewGate(max int64) *Gate { return &Gate{max: max} }

// Acquire admits n bytes or fails with ErrOverloaded. A request larger than
// the whole budget is admitted when nothing else is in flight, so one big
// (but within MaxRequestBytes) request can always make progress.
func (g *Gate) Acquire(n int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.used > 0 && g.used+n > g.max {
		return ErrOverloaded
	}
	g.used += n
	return nil
}

// Release returns n bytes admitted by Acquire.
func (g *Gate) Release(n int64) {
	g.mu.Lock()
	g.used -= n
	if g.used < 0 {
		panic("BUG: ingest.Gate released more than acquired")
	}
	g.mu.Unlock()
}

// InUse returns the bytes admitted now.
func (g *Gate) InUse() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.used
}
