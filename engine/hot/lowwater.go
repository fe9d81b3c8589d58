package hot

import (
	"math"
	"sync"
	"sync/atomic"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/tael/tael/schema"
)

// lowWater keeps, for each table's values and for the series activity keys,
// a bucket below which every key is deleted, so that scans start there
// instead of stepping over the tombstones compaction leaves behind: Badger
// keeps a deleted key until its LSM compaction reaches the last level, and
// after a day of five-minute compactions a scan or series lookup from the
// start of the day walked a million of them (40% of a PromQL range query's
// CPU once its data had moved to Parquet).
//
// Invariant: no live key of a family has a bucket below its mark. Apply
// lowers the mark before its transaction commits (holding mu for reading
// from then until the commit), so a reader that opens its snapshot and then
// loads the mark never skips a key of its snapshot. DeleteMoved raises it
// (raise) to the first key left in a snapshot it takes while no Apply is
// between lowering and committing, or lower if an Apply wrote below that
// since.
type lowWater struct {
	mu sync.RWMutex
	// update serialises raises.
	update sync.Mutex
	// mark and since per family: families 0…255 are the values of the
	// table with that id, activityFamily the activity keys. since is the
	// lowest bucket Applies wrote since the current raise began.
	mark  [numFamilies]atomic.Int64
	since [numFamilies]atomic.Int64
}

const (
	activityFamily = 256
	numFamilies    = activityFamily + 1
)

// dataFamily is the family of table's values.
func dataFamily(table schema.ID) int { return int(table) }

// init marks every family unknown: scans start at the beginning until the
// first raise.
func (w *lowWater) init() {
	for i := range numFamilies {
		w.mark[i].Store(math.MinInt64)
		w.since[i].Store(math.MaxInt64)
	}
}

// get returns the family's mark; load it after opening the snapshot it
// bounds.
func (w *lowWater) get(family int) int64 { return w.mark[family].Load() }

// lower records that a key of family in bucket b is about to be written.
// The caller holds mu for reading until the write commits.
func (w *lowWater) lower(family int, b int64) {
	atomicMin(&w.mark[family], b)
	atomicMin(&w.since[family], b)
}

func atomicMin(v *atomic.Int64, b int64) {
	for {
		cur := v.Load()
		if cur <= b || v.CompareAndSwap(cur, b) {
			return
		}
	}
}

// raise moves family's mark up to the bucket of its first key, found by
// first in a snapshot (math.MaxInt64 when there is none). prefix is the
// family's key prefix; bucketOfKey parses a key's bucket.
func (w *lowWater) raise(db *badger.DB, family int, prefix []byte, from func(int64) []byte, bucketOfKey func([]byte) (int64, error)) error {
	w.update.Lock()
	defer w.update.Unlock()
	w.mu.Lock()
	w.since[family].Store(math.MaxInt64)
	txn := db.NewTransaction(false)
	w.mu.Unlock()
	defer txn.Discard()
	first := int64(math.MaxInt64)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	start := w.get(family)
	it.Seek(from(start))
	if it.ValidForPrefix(prefix) {
		b, err := bucketOfKey(it.Item().Key())
		if err != nil {
			it.Close()
			return err
		}
		first = b
	}
	it.Close()
	w.mu.Lock()
	w.mark[family].Store(min(first, w.since[family].Load()))
	w.mu.Unlock()
	return nil
}

// startBucket returns the first bucket a scan of family over buckets from
// bMin needs to read.
func (w *lowWater) startBucket(family int, bMin int64) int64 { return max(bMin, w.get(family)) }
