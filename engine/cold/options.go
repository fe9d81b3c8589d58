package cold

import (
	"io"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Options configure a Store. The zero value of each field means its default.
type Options struct {
	// Logger receives what the store did on its own: orphans deleted and
	// files quarantined by Open, partitions dropped, garbage collected.
	// Nil discards it.
	Logger *slog.Logger
	// Allocator allocates the Arrow buffers the store builds itself: the
	// sorted copies Write encodes, Rollup's result, Scan batches it filters
	// and Trace results it assembles from several row groups. Nil means
	// memory.DefaultAllocator. Arrays decoded from Parquet (a Scan row group
	// whose rows all lie in range, the rows of a trace found in one row
	// group) and the Parquet library's scratch buffers come from the Go
	// heap: arrow-go leaks a small decoder buffer per column chunk and frees
	// some buffers only through finalizers (see doc.go). Release every
	// batch either way.
	Allocator memory.Allocator
	// Clock returns the current time; it stamps removed files (Garbage) and
	// decides when their grace has passed. Nil means time.Now.
	Clock func() time.Time
	// RowGroupRows is the number of rows per Parquet row group of every
	// table (a file's rows are cut into row groups of nearly equal size, at
	// most this). Zero means each table's measured default: 4,096 for spans
	// (a Trace lookup decodes about one row group's nested columns, so
	// small ones keep it fast), 65,536 for the others (fewer, larger row
	// groups compress better and scan faster); see doc.go.
	RowGroupRows int
	// GCGrace is how long a removed file stays on disk after the Commit that
	// removed it, because readers that took an older Manifest (DuckDB among
	// them) may still be scanning it. Zero means 10 minutes.
	GCGrace time.Duration
	// FaultHook is for tests: it is called with the name of each step of
	// Write ("write", "fsync", "rename") and Commit ("commit-write",
	// "commit-fsync", "commit-rename") before the step runs, and a non-nil
	// error aborts the step with that error. Nil means none.
	FaultHook func(step string) error

	// spansByService sorts spans by (service, start_time) instead of
	// (trace_id, start_time). Only the benchmarks that chose the order set
	// it; see doc.go.
	spansByService bool
	// pageBytes is the Parquet data page size limit of every table, in
	// uncompressed bytes; 0 means each table's default. Only benchmarks
	// set it.
	pageBytes int64
}

// DefaultOptions returns the options a Store uses when a field is zero.
func DefaultOptions() Options {
	return Options{
		Allocator: memory.DefaultAllocator,
		Clock:     time.Now,
		GCGrace:   10 * time.Minute,
	}
}

// withDefaults fills the zero fields of o from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Allocator == nil {
		o.Allocator = d.Allocator
	}
	if o.Clock == nil {
		o.Clock = d.Clock
	}
	if o.RowGroupRows < 0 {
		o.RowGroupRows = 0
	}
	if o.GCGrace <= 0 {
		o.GCGrace = d.GCGrace
	}
	if o.FaultHook == nil {
		o.FaultHook = func(string) error { return nil }
	}
	return o
}
