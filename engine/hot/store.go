package hot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dgraph-io/badger/v4"

	"github.com/tael/tael/engine/internal/badgerdb"
	"github.com/tael/tael/schema"
)

// Errors returned by the store. Each is wrapped with details; test with
// errors.Is.
var (
	// ErrSchema is returned by Apply when a batch does not have its table's
	// columns or its table is not stored in the hot tier, and by the
	// methods taking a table for such a table.
	ErrSchema = errors.New("hot: batch does not fit its table")
	// ErrTime is returned by Apply when a batch's time column holds a null
	// or math.MaxInt64, which no TimeRange contains.
	ErrTime = errors.New("hot: invalid time")
	// ErrColumn is returned by Scan for a column its table does not have.
	ErrColumn = schema.ErrUnknownColumn
	// ErrBucketWidth is returned by Open when Options.BucketWidth differs
	// from the width the store was created with.
	ErrBucketWidth = errors.New("hot: bucket width differs from the store's")
	// ErrMoved is returned by the methods taking a Moved whose Before is
	// not a multiple of the store's bucket width.
	ErrMoved = errors.New("hot: moved mark not on a bucket boundary")
)

// Store is the hot tier: recent rows as Arrow IPC values in Badger, with a
// trace index and a metric series index. Its methods are safe for concurrent
// use.
type Store struct {
	db    *badger.DB
	log   *slog.Logger
	mem   memory.Allocator
	codec *codec
	width int64 // bucket width, ns

	// series guards the ids of the series whose labels and postings are
	// written. An id joins only after the transaction writing them commits.
	series struct {
		sync.RWMutex
		known map[uint64]struct{}
	}

	// written guards the (bucket, series) activity keys known to be written,
	// so that a series scraped every 15 s writes its key once per bucket,
	// not once per sample. A pair joins only after its transaction commits;
	// the set is a cache (empty after a restart) of at most
	// maxActiveBuckets buckets, the newest, none below floor.
	written struct {
		sync.Mutex
		buckets map[int64]map[uint64]struct{}
		// floor is the highest end of the marks DeleteMoved deleted
		// activity keys under. The cache holds no bucket below it, since
		// those keys may be deleted: Apply writes them whenever it has
		// rows there.
		floor int64
	}

	// trim orders raising written.floor after the metrics Applies in
	// flight: Apply holds it for reading from consulting the activity
	// cache until its keys are committed and cached, DeleteMoved for
	// writing while it raises the floor and empties the cache below it.
	trim sync.RWMutex

	// low bounds where scans of values and activity keys start (lowwater.go).
	low lowWater
}

// maxActiveBuckets bounds the activity cache: 32 one-minute buckets cover
// twice the default 15-minute hot window, where nearly all appends land.
const maxActiveBuckets = 32

// Open opens the store in dir, creating it if needed.
func Open(dir string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if opts.BucketWidth < 0 {
		return nil, fmt.Errorf("%w: %v is negative", ErrBucketWidth, opts.BucketWidth)
	}
	c, err := newCodec(opts.Codec, opts.Allocator)
	if err != nil {
		return nil, err
	}
	db, err := badgerdb.Open(opts.badgerOptions(dir), opts.Logger, "badger")
	if err != nil {
		c.close()
		return nil, fmt.Errorf("hot: open badger in %s: %w", dir, err)
	}
	s := &Store{
		db:    db,
		log:   opts.Logger,
		mem:   opts.Allocator,
		codec: c,
		width: int64(opts.BucketWidth),
	}
	s.written.floor = math.MinInt64
	s.low.init()
	if err := s.checkBucketWidth(); err != nil {
		_ = s.Close()
		return nil, err
	}
	if err := s.loadSeries(); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// checkBucketWidth records the bucket width in a new store and checks it in
// an existing one: every key and index depends on it.
func (s *Store) checkBucketWidth() error {
	return s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(keyBucketWidth)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(keyBucketWidth, binary.BigEndian.AppendUint64(nil, uint64(s.width)))
		}
		if err != nil {
			return fmt.Errorf("hot: read bucket width: %w", err)
		}
		return item.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("hot: stored bucket width is %d bytes", len(v))
			}
			if stored := int64(binary.BigEndian.Uint64(v)); stored != s.width {
				return fmt.Errorf("%w: store has %d ns, options %d ns", ErrBucketWidth, stored, s.width)
			}
			return nil
		})
	})
}

// loadSeries reads the ids of the stored series.
func (s *Store) loadSeries() error {
	known := make(map[uint64]struct{})
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := []byte{prefixSeries}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()
			if len(k) != seriesKeyLen {
				return fmt.Errorf("%w: series key %x", errKey, k)
			}
			known[binary.BigEndian.Uint64(k[1:])] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("hot: load series: %w", err)
	}
	s.series.known = known
	return nil
}

// AppliedLSN returns the watermark last written by Apply or SetApplied, or 0
// when none was.
func (s *Store) AppliedLSN() (uint64, error) {
	lsn, err := badgerdb.Uint64(s.db, keyApplied)
	if err != nil {
		return 0, fmt.Errorf("hot: read applied lsn: %w", err)
	}
	return lsn, nil
}

// SetApplied writes lsn as the applied watermark, and nothing else.
func (s *Store) SetApplied(lsn uint64) error {
	if err := badgerdb.SetUint64(s.db, keyApplied, lsn); err != nil {
		return fmt.Errorf("hot: set applied lsn: %w", err)
	}
	return nil
}

// Sync writes Badger's memtables and value log to disk. Apply does not sync:
// the WAL in front of the store is what makes a batch durable.
func (s *Store) Sync() error {
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("hot: sync: %w", err)
	}
	return nil
}

// Close closes the store. Readers returned by Scan must be released first.
func (s *Store) Close() error {
	defer s.codec.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("hot: close: %w", err)
	}
	return nil
}

// table returns the table id names, if the hot tier stores it.
func (s *Store) table(id schema.ID) (*schema.Table, error) {
	t, err := schema.ByID(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSchema, err)
	}
	if !t.Appendable() {
		return nil, fmt.Errorf("%w: table %s is not stored in the hot tier", ErrSchema, t.Name)
	}
	return t, nil
}
