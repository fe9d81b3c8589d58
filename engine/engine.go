package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tael/tael/engine/blob"
	"github.com/tael/tael/engine/cold"
	"github.com/tael/tael/engine/fts"
	"github.com/tael/tael/engine/hot"
	"github.com/tael/tael/engine/wal"
	"github.com/tael/tael/schema"
)

// ErrClosed is returned by operations on a closed engine.
var ErrClosed = errors.New("engine: closed")

// Options configures an Engine. The zero value of each field means its
// default (DefaultOptions).
type Options struct {
	// Logger receives the engine's logs. Nil means discard.
	Logger *slog.Logger
	// Registerer receives the engine's metrics. Nil means no metrics.
	Registerer prometheus.Registerer
	// Allocator provides every Arrow buffer the engine makes. Nil means
	// memory.DefaultAllocator.
	Allocator memory.Allocator
	// Clock is the engine's only source of time. Nil means time.Now.
	Clock func() time.Time
	// HotWindow is how long rows stay in the hot tier before compaction moves
	// them to the cold tier. Zero means 15 minutes.
	HotWindow time.Duration
	// CheckpointInterval is how often the hot tier is synced and fully applied
	// WAL segments deleted. Zero means 10 s: it bounds the WAL replayed at
	// start to roughly that many seconds of ingest.
	CheckpointInterval time.Duration
	// MaxBatchRows splits larger appended batches into WAL records of at most
	// this many rows. Zero means 65,536: it keeps one record well inside a
	// Badger transaction and a WAL record under a few tens of MiB.
	MaxBatchRows int
	// WALSegmentSize is the size in bytes at which a WAL segment is closed.
	// Zero means the WAL's default.
	WALSegmentSize int64
	// HotCodec compresses hot-tier batches. Zero means hot's default.
	HotCodec hot.Codec
	// HotBucketWidth is the hot tier's time bucket. Zero means hot's default.
	HotBucketWidth time.Duration
	// CompactInterval is how often the background loop moves hot rows
	// older than HotWindow to the cold tier, merges complete hours and
	// applies retention. Zero means 5 minutes; a negative value turns the
	// loop off (flightd compact runs it by hand).
	CompactInterval time.Duration
	// Retention is how long each table's cold partitions are kept, by table
	// (schema.Spans also covers trace_comments). A missing or zero entry
	// keeps them forever.
	Retention map[schema.ID]time.Duration
	// Cold configures the cold tier; its Logger, Allocator and Clock are the
	// engine's.
	Cold cold.Options
}

// DefaultOptions returns the options flightd runs with.
func DefaultOptions() Options {
	return Options{
		HotWindow:          15 * time.Minute,
		CheckpointInterval: 10 * time.Second,
		MaxBatchRows:       1 << 16,
		CompactInterval:    5 * time.Minute,
	}
}

func (o *Options) fill() {
	d := DefaultOptions()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.HotWindow == 0 {
		o.HotWindow = d.HotWindow
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = d.CheckpointInterval
	}
	if o.MaxBatchRows == 0 {
		o.MaxBatchRows = d.MaxBatchRows
	}
	if o.CompactInterval == 0 {
		o.CompactInterval = d.CompactInterval
	}
}

// Engine is tael's storage: a WAL in front of a hot tier. It is safe for
// concurrent use.
type Engine struct {
	dir   string
	opts  Options
	log   *slog.Logger
	mem   memory.Allocator
	lock  *dirLock
	wal   *wal.WAL
	hot   *hot.Store
	blobs *blob.Store
	fts   *fts.Index
	cold  *cold.Store
	m     *metrics

	// readers tracks reads per cold manifest version (see read.go).
	readers *readers
	// coldSeries caches the series of each rollup file (series.go).
	coldSeries coldSeries
	// compactMu serialises compactions, merges and retention.
	compactMu sync.Mutex
	// mirrorMu is held for writing by Attach while it loads a mirror, and
	// for reading around each change the mirror must see in order (an
	// applied batch, a manifest commit).
	mirrorMu sync.RWMutex
	mirror   Mirror

	applied watermark

	stop        chan struct{}
	loopDone    chan struct{}
	compactDone chan struct{}
	indexDone   chan struct{}
	indexKick   chan struct{}

	// mu guards closed; Append holds it for reading so Close waits for
	// in-flight appends.
	mu     sync.RWMutex
	closed bool
}

// Open opens (creating if needed) the data directory dir, replays the WAL
// into the hot tier and returns an engine ready for reads and appends. It
// fails with ErrLocked if another process has dir open.
func Open(ctx context.Context, dir string, opts Options) (*Engine, error) {
	opts.fill()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("engine: create data directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		dir:       dir,
		opts:      opts,
		log:       opts.Logger,
		mem:       opts.Allocator,
		lock:      lock,
		m:         newMetrics(opts.Registerer),
		stop:      make(chan struct{}),
		loopDone:  make(chan struct{}),
		indexDone: make(chan struct{}),
		indexKick: make(chan struct{}, 1),
		readers:   newReaders(),

		compactDone: make(chan struct{}),
	}
	if err := e.open(ctx); err != nil {
		e.closeStores()
		_ = lock.release()
		return nil, err
	}
	go e.checkpointLoop()
	go e.indexLoop()
	go e.compactLoop()
	return e, nil
}

func (e *Engine) open(ctx context.Context) error {
	ho := hot.DefaultOptions()
	ho.Logger = e.log.With("component", "hot")
	ho.Allocator = e.mem
	if e.opts.HotCodec != 0 {
		ho.Codec = e.opts.HotCodec
	}
	if e.opts.HotBucketWidth != 0 {
		ho.BucketWidth = e.opts.HotBucketWidth
	}
	h, err := hot.Open(filepath.Join(e.dir, "hot"), ho)
	if err != nil {
		return fmt.Errorf("engine: open hot tier: %w", err)
	}
	e.hot = h
	b, err := blob.Open(filepath.Join(e.dir, "blobs"), blob.Options{Logger: e.log.With("component", "blobs")})
	if err != nil {
		return fmt.Errorf("engine: open blob store: %w", err)
	}
	e.blobs = b
	x, err := fts.Open(filepath.Join(e.dir, "fts"), fts.Options{Logger: e.log.With("component", "fts")})
	if err != nil {
		return fmt.Errorf("engine: open full-text index: %w", err)
	}
	e.fts = x
	co := e.opts.Cold
	co.Logger = e.log.With("component", "cold")
	co.Allocator = e.mem
	co.Clock = e.opts.Clock
	c, err := cold.Open(filepath.Join(e.dir, "cold"), co)
	if err != nil {
		return fmt.Errorf("engine: open cold tier: %w", err)
	}
	e.cold = c
	hotApplied, err := h.AppliedLSN()
	if err != nil {
		return fmt.Errorf("engine: read applied LSN: %w", err)
	}
	blobApplied, err := b.AppliedLSN()
	if err != nil {
		return fmt.Errorf("engine: read applied LSN: %w", err)
	}
	// Each store holds every record at or below its own watermark; replay
	// from the lower one (applying is idempotent in both).
	applied := min(hotApplied, blobApplied)
	wo := wal.DefaultOptions()
	wo.Logger = e.log.With("component", "wal")
	wo.Registerer = e.opts.Registerer
	wo.FirstLSN = applied + 1
	if e.opts.WALSegmentSize != 0 {
		wo.SegmentSize = e.opts.WALSegmentSize
	}
	w, err := wal.Open(filepath.Join(e.dir, "wal"), wo)
	if err != nil {
		return fmt.Errorf("engine: open WAL: %w", err)
	}
	e.wal = w
	if last := w.LastLSN(); last < applied {
		// The hot tier is ahead of the log: segments were lost. Every row the
		// hot tier holds is still there, but say so loudly.
		e.log.Error("WAL ends before the hot tier's applied LSN; WAL segments are missing", "wal_last", last, "applied", applied)
	}
	start := time.Now()
	n, rows := 0, int64(0)
	last := applied
	err = w.Replay(ctx, applied, func(lsn uint64, table uint8, payload []byte) error {
		rec, err := h.Decode(schema.ID(table), payload)
		if err != nil {
			return fmt.Errorf("WAL record %d: %w", lsn, err)
		}
		defer rec.Release()
		// Replay is sequential: once this record's write commits, every
		// record up to lsn is applied.
		if err := e.apply(lsn, schema.ID(table), rec, payload, lsn); err != nil {
			return fmt.Errorf("apply WAL record %d: %w", lsn, err)
		}
		n++
		rows += rec.NumRows()
		last = lsn
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine: replay WAL: %w", err)
	}
	e.applied.reset(last)
	e.m.appliedLSN.Set(float64(last))
	e.m.replayed.Add(float64(n))
	e.log.Info("engine open", "dir", e.dir, "applied_lsn", applied, "replayed_records", n, "replayed_rows", rows,
		"last_lsn", last, "took", time.Since(start).Round(time.Millisecond))
	if n > 0 {
		if err := e.checkpoint(); err != nil {
			return fmt.Errorf("engine: checkpoint after replay: %w", err)
		}
	}
	return nil
}

// checkpoint makes the hot tier durable up to the applied watermark and
// deletes the WAL segments it covers.
func (e *Engine) checkpoint() error {
	w := e.applied.get()
	if err := e.hot.SetApplied(w); err != nil {
		return fmt.Errorf("record applied LSN: %w", err)
	}
	if err := e.blobs.SetApplied(w); err != nil {
		return fmt.Errorf("record applied LSN: %w", err)
	}
	if err := e.hot.Sync(); err != nil {
		return fmt.Errorf("sync hot tier: %w", err)
	}
	if err := e.blobs.Sync(); err != nil {
		return fmt.Errorf("sync blob store: %w", err)
	}
	removed, err := e.wal.Checkpoint(w)
	if err != nil {
		return fmt.Errorf("remove WAL segments: %w", err)
	}
	e.m.checkpoints.Inc()
	if removed > 0 {
		e.log.Debug("checkpoint", "applied_lsn", w, "wal_segments_removed", removed)
	}
	return nil
}

func (e *Engine) checkpointLoop() {
	defer close(e.loopDone)
	t := time.NewTicker(e.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			if err := e.checkpoint(); err != nil {
				e.log.Error("checkpoint failed; will retry", "err", err)
			}
		}
	}
}

// Close waits for in-flight appends, checkpoints and closes the WAL and the
// hot tier, and releases the data directory. It is safe to call twice.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	close(e.stop)
	<-e.loopDone
	<-e.indexDone
	<-e.compactDone
	err := e.checkpoint()
	if cerr := e.closeStores(); err == nil {
		err = cerr
	}
	if lerr := e.lock.release(); err == nil {
		err = lerr
	}
	e.log.Info("engine closed", "dir", e.dir, "applied_lsn", e.applied.get())
	return err
}

func (e *Engine) closeStores() error {
	var errs []error
	if e.wal != nil {
		errs = append(errs, e.wal.Close())
	}
	if e.hot != nil {
		errs = append(errs, e.hot.Close())
	}
	if e.blobs != nil {
		errs = append(errs, e.blobs.Close())
	}
	if e.fts != nil {
		errs = append(errs, e.fts.Close())
	}
	if e.cold != nil {
		errs = append(errs, e.cold.Close())
	}

	return errors.Join(errs...)
}

// Dir returns the data directory.
func (e *Engine) Dir() string { return e.dir }

// AppliedLSN returns the applied watermark: every WAL record up to it has
// been applied to the hot tier and fed to the mirror (records finish out
// of order, so a higher one may be applied too). A reader of the mirror
// that wants no gaps reads records up to it.
func (e *Engine) AppliedLSN() uint64 { return e.applied.get() }

// Allocator returns the allocator the engine's batches come from.
func (e *Engine) Allocator() memory.Allocator { return e.mem }
