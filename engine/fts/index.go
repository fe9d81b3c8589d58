package fts

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/index/scorch"
)

// Errors. Each is wrapped with detail; test for it with errors.Is.
var (
	// ErrQuery reports a query Search cannot run: malformed syntax, an
	// unknown kind, a prefix too short or too broad, or no searchable word.
	// REST and SQL answer it as a client error (HTTP 400).
	ErrQuery = errors.New("fts: bad query")
	// ErrDoc reports a document or ID that Index or Delete refuses: an ID
	// that is not 64 lowercase hex digits, or an unknown kind.
	ErrDoc = errors.New("fts: bad document")
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("fts: index closed")
	// ErrFormat is returned by Open when the directory holds an index written
	// with another analysis or mapping than this version's: it must be
	// rebuilt from the blob store.
	ErrFormat = errors.New("fts: index format mismatch")
)

// Kinds of text. Every document has one or more.
const (
	KindPrompt     = "prompt"
	KindCompletion = "completion"
	KindLogBody    = "log_body"
)

// kinds lists the valid kinds in their canonical order: a document's kinds
// are stored in this order, and Hit.Kind is the first of them that matches.
var kinds = [...]string{KindPrompt, KindCompletion, KindLogBody}

func validKind(k string) bool {
	for _, v := range kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Options configure an Index. The zero value of each field means its default.
type Options struct {
	// Logger receives the index's messages. Nil discards them.
	Logger *slog.Logger
	// BatchSize is the number of documents per bleve batch: Index splits
	// larger calls into batches of this many. Zero means DefaultBatchSize.
	BatchSize int
}

// DefaultBatchSize is the batch size when Options.BatchSize is zero.
// Measured with BenchmarkIndex (1.1 KB average texts, 2 cores), in CPU per
// document: 680 µs at 64, 480 µs at 256, 360 µs at 1,024 and 340 µs at
// 4,096. Every batch becomes a segment, and each segment has a fixed cost
// to build and later merge; 1,024 gets most of the gain while one batch's
// in-memory segment stays around 10 MB.
const DefaultBatchSize = 1024

// DefaultOptions returns the options flightd runs with.
func DefaultOptions() Options {
	return Options{BatchSize: DefaultBatchSize}
}

// Index is a full-text index of texts keyed by their sha256. It is safe for
// concurrent use.
type Index struct {
	log       *slog.Logger
	batchSize int
	storeDir  string            // bleve's segment files and root.bolt, fsync'd by Flush
	analyzer  analysis.Analyzer // textAnalyzer, for query words

	// mu guards the index's life: every method holds it shared, Close
	// exclusively, so no call runs against a closed bleve index.
	mu struct {
		sync.RWMutex
		closed bool
	}
	idx bleve.Index

	// writer is held (a token in a channel of capacity 1, so waiting for it
	// can be cancelled) by the one goroutine writing batches: looking up a
	// document's kinds and writing the merged document must not interleave
	// with another write, and batches must be introduced in the order of
	// their sequence numbers (see persistence).
	writer     chan struct{}
	queue      writeQueue // Index calls waiting for the writer
	p          persistence
	maxPending int64 // maxUnpersistedBytes; tests lower it
}

// Layout of dir:
//
//	bleve/       the bleve (scorch) index
//	bleve.tmp/   an index being created; removed by Open
const (
	indexDirName = "bleve"
	tmpDirName   = "bleve.tmp"
)

// formatKey is the bleve internal key holding formatVersion. Bump
// formatVersion whenever the mapping or analysis changes.
const (
	formatKey     = "tael_fts_format"
	formatVersion = "1"
)

// persisterNapMS is how long scorch's persister waits between rounds, in
// milliseconds, so that the segments of several batches pile up in memory
// and are merged into one file instead of being written and merged on disk
// one by one (bleve's advice for unsafe batches). Measured with
// BenchmarkIndex, calls of 8 documents: 1,450 µs of CPU per document at 0
// (bleve's default), 890 at 100, 610 at 200, 620 at 500; batches of 1,024
// are unaffected. It adds up to 200 ms to a Flush.
const persisterNapMS = 200

// boltTimeout bounds how long Open waits for bleve's root.bolt file lock: a
// second Open of the same directory fails after it instead of hanging.
const boltTimeout = "2s"

// Open opens the index in dir, creating dir and the index when missing.
func Open(dir string, o Options) (*Index, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bs := o.BatchSize
	if bs <= 0 {
		bs = DefaultBatchSize
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("fts: open: %w", err)
	}
	path := filepath.Join(dir, indexDirName)
	if err := os.RemoveAll(filepath.Join(dir, tmpDirName)); err != nil {
		return nil, fmt.Errorf("fts: open: remove unfinished index: %w", err)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := create(dir); err != nil {
			return nil, fmt.Errorf("fts: create index in %s: %w", dir, err)
		}
		log.Info("fts: created index", "dir", path)
	} else if err != nil {
		return nil, fmt.Errorf("fts: open: %w", err)
	}

	idx, err := bleve.OpenUsing(path, map[string]any{
		// Batch returns once the batch is searchable; the persister writes
		// it to disk in the background and Flush waits for that (doc.go).
		"unsafe_batch": true,
		"bolt_timeout": boltTimeout,
		"scorchPersisterOptions": map[string]any{
			"PersisterNapTimeMSec": persisterNapMS,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("fts: open %s: %w", path, err)
	}
	v, err := idx.GetInternal([]byte(formatKey))
	if err == nil && string(v) != formatVersion {
		err = fmt.Errorf("%w: %s has format %q, want %q", ErrFormat, path, v, formatVersion)
	}
	var a analysis.Analyzer
	if err == nil {
		if a = idx.Mapping().AnalyzerNamed(textAnalyzer); a == nil {
			err = fmt.Errorf("%w: %s has no analyzer %q", ErrFormat, path, textAnalyzer)
		}
	}
	if err != nil {
		_ = idx.Close()
		return nil, fmt.Errorf("fts: open: %w", err)
	}
	x := &Index{
		log:        log,
		batchSize:  bs,
		storeDir:   filepath.Join(path, "store"),
		analyzer:   a,
		idx:        idx,
		writer:     make(chan struct{}, 1),
		maxPending: maxUnpersistedBytes,
	}
	x.p.init()
	if n, err := idx.DocCount(); err == nil {
		log.Debug("fts: opened index", "dir", path, "docs", n)
	}
	return x, nil
}

// create builds an empty index in dir/bleve.tmp, syncs it and renames it to
// dir/bleve, so that a crash at any point leaves either no index or a whole
// one. It is created with safe batches, so the mapping and format version
// are on disk when bleve's New returns.
func create(dir string) error {
	tmp := filepath.Join(dir, tmpDirName)
	m, err := newMapping()
	if err != nil {
		return err
	}
	idx, err := bleve.NewUsing(tmp, m, scorch.Name, bleve.Config.DefaultKVStore, map[string]any{
		"bolt_timeout": boltTimeout,
	})
	if err != nil {
		return err
	}
	if err := idx.SetInternal([]byte(formatKey), []byte(formatVersion)); err != nil {
		_ = idx.Close()
		return err
	}
	if err := idx.Close(); err != nil {
		return err
	}
	if err := syncTree(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, indexDirName)); err != nil {
		return err
	}
	return syncDir(dir)
}

// Count returns the number of documents in the index.
func (x *Index) Count() (uint64, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.mu.closed {
		return 0, ErrClosed
	}
	n, err := x.idx.DocCount()
	if err != nil {
		return 0, fmt.Errorf("fts: count: %w", err)
	}
	return n, nil
}

// Close persists every indexed document, as Flush does, and closes the
// index. Bleve's own Close would drop batches not yet persisted. Calling
// Close again returns nil.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.mu.closed {
		return nil
	}
	x.mu.closed = true
	ferr := x.flush()
	if err := x.idx.Close(); err != nil {
		return fmt.Errorf("fts: close: %w", err)
	}
	if ferr != nil {
		return fmt.Errorf("fts: close: %w", ferr)
	}
	return nil
}
