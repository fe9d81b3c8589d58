package sql

import (
	"context"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/schema"
	"github.com/tael/tael/sql/duck"
)

// Backend runs SQL. *duck.DB implements it.
type Backend interface {
	// Prepare parses and checks one statement and describes its result and
	// parameters.
	Prepare(ctx context.Context, query string) (*duck.Statement, error)
	// Query runs a query with positional parameters and streams its rows.
	Query(ctx context.Context, query string, params []any) (array.RecordReader, error)
	// Exec runs an update and returns the number of rows it changed.
	Exec(ctx context.Context, query string, params []any) (int64, error)
}

// Ingester appends record batches durably. *engine.Engine implements it.
type Ingester interface {
	// Append writes rec, which has the table's exact columns, to table and
	// returns once it is durable.
	Append(ctx context.Context, table schema.ID, rec arrow.RecordBatch) (uint64, error)
}

var _ Backend = (*duck.DB)(nil)

// Options configure a Server. The zero value of each field means its
// default (see DefaultOptions).
type Options struct {
	// Backend runs the SQL. Required.
	Backend Backend
	// Ingester stores batches sent with bulk ingest (ADBC ingest, Flight SQL
	// CommandStatementIngest). Nil disables bulk ingest.
	Ingester Ingester
	// Logger receives the server's messages. Nil discards them.
	Logger *slog.Logger
	// Allocator allocates the Arrow memory the server builds itself
	// (metadata results, converted ingest batches). Nil means
	// memory.DefaultAllocator.
	Allocator memory.Allocator

	// QueryTimeout bounds each query, from the start of its execution to
	// the end of its stream. A client may lower it for its session (the
	// "timeout" session option, in seconds) or for one call (a gRPC
	// deadline), never raise it. Zero means 5 minutes.
	QueryTimeout time.Duration

	// AuthToken is a bearer token that authorizes every call
	// ("authorization: Bearer <AuthToken>"). Empty means none.
	AuthToken string
	// BasicUsers maps user names to passwords accepted with HTTP Basic
	// credentials, on each call or once through Handshake, which answers
	// with a bearer token for the session. Empty means none.
	//
	// With neither AuthToken nor BasicUsers the server is open.
	BasicUsers map[string]string

	// TLSCert and TLSKey are the paths of a PEM certificate (chain) and its
	// key. Both set means the server speaks TLS only; both empty means
	// plaintext. One without the other is an error.
	TLSCert, TLSKey string

	// Version is reported as the server's version (SqlInfo
	// FLIGHT_SQL_SERVER_VERSION). Empty means "dev".
	Version string
}

// Default values, and where they come from.
const (
	// DefaultQueryTimeout bounds a query when Options.QueryTimeout is zero:
	// long enough for a scan of the cold tier, short enough that a runaway
	// query does not hold a DuckDB connection all day.
	DefaultQueryTimeout = 5 * time.Minute

	// preparedIdle is how long an unused prepared statement lives (the
	// SqlInfo FLIGHT_SQL_SERVER_STATEMENT_TIMEOUT we report).
	preparedIdle = 30 * time.Minute
	// maxPrepared caps the prepared statements held at once; the least
	// recently used goes first. A statement costs its SQL text, two schemas
	// and its bound values; 4096 of them is a few MB.
	maxPrepared = 4096
	// maxBoundRows caps the parameter rows bound to one prepared query
	// (each row is one execution), so bound values stay a few MB.
	maxBoundRows = 10000

	// sessionIdle is how long an unused session (its options) lives: as
	// long as a prepared statement.
	sessionIdle = 30 * time.Minute
	// maxSessions caps the sessions held at once. A session is a few dozen
	// bytes; 10,000 is far more clients than a tael serves, so only a
	// client that never sends its cookie back (a new session per call)
	// reaches it, and then loses nothing but its own options.
	maxSessions = 10000

	// tokenIdle is how long a bearer token issued by Handshake stays valid
	// after its last use. JDBC and ADBC keep a connection (and its token)
	// for hours; a day of idleness is the usual upper bound for a
	// dashboard that is left open.
	tokenIdle = 24 * time.Hour
	// maxTokens caps the issued tokens held at once (one per Handshake;
	// as for sessions, far more than live connections).
	maxTokens = 10000

	// cancelledKeep is how long a cancel request for a query that was not
	// running is remembered, so its ticket is refused if it arrives later.
	cancelledKeep = time.Hour
	// maxCancelled caps those marks (16 bytes each).
	maxCancelled = 10000

	// maxRecvBytes is the largest message the server accepts (gRPC's
	// default is 4 MiB): one bulk-ingest batch of 65,536 spans with a few
	// attributes each is about 30 MB.
	maxRecvBytes = 64 << 20

	// sweepEvery is how often expired state is dropped.
	sweepEvery = time.Minute
)

// DefaultOptions returns the options a Server uses when a field is zero.
func DefaultOptions() Options {
	return Options{
		Allocator:    memory.DefaultAllocator,
		QueryTimeout: DefaultQueryTimeout,
		Version:      "dev",
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Allocator == nil {
		o.Allocator = d.Allocator
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = d.QueryTimeout
	}
	if o.Version == "" {
		o.Version = d.Version
	}
	return o
}
