package hot

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dgraph-io/badger/v4"
)

// Codec is the compression of the values the hot tier stores. A value is
// one Arrow IPC stream (schema, then one batch), compressed as a whole rather
// than buffer by buffer with IPC body compression: see doc.go for why. Each
// value records its own codec, so a store may hold values of several.
type Codec int

// Codecs.
const (
	// LZ4 (block format) decodes fastest: about 310 CPU ns per synth span
	// against 600 for zstd (BenchmarkScanSpans), the only codec that
	// reaches the 5M rows/s hot-scan goal on 2 cores. It is the default:
	// the hot tier holds minutes of data and serves scans and lookups, and
	// compaction moves it to zstd Parquet, so speed beats size here.
	LZ4 Codec = iota
	// Zstd compresses best (139 bytes per synth span, against 218 for LZ4)
	// and decodes at about half LZ4's speed.
	Zstd
	// None stores values uncompressed (585 bytes per synth span).
	None
)

// String returns the codec's name.
func (c Codec) String() string {
	switch c {
	case Zstd:
		return "zstd"
	case LZ4:
		return "lz4"
	case None:
		return "none"
	}
	return fmt.Sprintf("codec(%d)", int(c))
}

// Options configure a Store. The zero value of each field means its default.
type Options struct {
	// Logger receives the store's and Badger's messages at Warn and above.
	// Nil discards them.
	Logger *slog.Logger
	// Allocator allocates every Arrow buffer the store makes, including the
	// batches Scan and Trace return. Nil means memory.DefaultAllocator.
	Allocator memory.Allocator
	// Codec compresses the stored values. Zero is LZ4.
	Codec Codec
	// BucketWidth is the width of the time buckets a batch is split into, and
	// the granularity of Series' time restriction. It is fixed when a store is
	// created: Open fails with ErrBucketWidth if it differs from the stored
	// one. Zero means 1 minute: with the 15-minute hot window a full-window
	// scan touches 16 buckets and a trace rarely straddles two.
	BucketWidth time.Duration

	// MemTableSize is the size of one Badger memtable, in bytes. Zero means
	// 64 MiB, Badger's default; Badger keeps up to 5 of them, so up to
	// 320 MiB of a 24 GiB machine, and caps one transaction at 15% of it.
	// Since Arrow parts go to the value log, a memtable holds only keys,
	// value pointers and index entries, and 64 MiB is plenty.
	MemTableSize int64
	// BlockCacheSize is the size of Badger's cache of LSM blocks, in bytes.
	// Zero means 256 MiB, Badger's default: the LSM holds the index keys
	// (traces, series, postings) that Trace and Series read at random, and
	// its blocks are compressed, so they need the cache to stay fast.
	BlockCacheSize int64
	// ValueThreshold is the value size, in bytes, from which a value is
	// written to Badger's value log instead of the LSM tree. Zero means
	// 1 KiB: an Arrow part (at least a few KiB: its schema message alone is
	// over 1 KiB for spans) goes to the value log, so compactions never
	// rewrite it, while index values (row lists of a few bytes, label sets
	// of a few hundred) stay in the LSM next to their keys.
	ValueThreshold int64
	// NumCompactors is the number of Badger's LSM compaction goroutines.
	// Zero means 2, the least Badger allows (its first compactor is reserved
	// for level 0); Badger's default of 4 is meant for bigger machines than
	// our 2 cores.
	NumCompactors int
}

// DefaultOptions returns the options a Store uses when a field is zero.
func DefaultOptions() Options {
	return Options{
		Allocator:      memory.DefaultAllocator,
		Codec:          LZ4,
		BucketWidth:    time.Minute,
		MemTableSize:   64 << 20,
		BlockCacheSize: 256 << 20,
		ValueThreshold: 1 << 10,
		NumCompactors:  2,
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
	if o.BucketWidth == 0 {
		o.BucketWidth = d.BucketWidth
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = d.MemTableSize
	}
	if o.BlockCacheSize == 0 {
		o.BlockCacheSize = d.BlockCacheSize
	}
	if o.ValueThreshold == 0 {
		o.ValueThreshold = d.ValueThreshold
	}
	if o.NumCompactors == 0 {
		o.NumCompactors = d.NumCompactors
	}
	return o
}

// badgerOptions returns the Badger options for a store in dir.
func (o Options) badgerOptions(dir string) badger.Options {
	return badger.DefaultOptions(dir).
		// The WAL in front of the store gives durability; after a crash it
		// replays into the store, and applying is idempotent.
		WithSyncWrites(false).
		// Keys are rewritten only by re-applying the same WAL record, with
		// the same value: older versions are never read.
		WithNumVersionsToKeep(1).
		// Apply's keys are derived from (table, bucket, lsn, part), so two
		// transactions that write the same key write the same value: there
		// is nothing for conflict detection to catch, and it costs on every
		// commit.
		WithDetectConflicts(false).
		// Badger's metrics are process-wide expvars: a global.
		WithMetricsEnabled(false).
		WithMemTableSize(o.MemTableSize).
		WithBlockCacheSize(o.BlockCacheSize).
		WithValueThreshold(o.ValueThreshold).
		WithNumCompactors(o.NumCompactors)
}
