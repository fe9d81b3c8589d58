package hot

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/dgraph-io/badger/v4"

	"github.com/tael/tael/schema"
)

// gcDiscardRatio is the share of a value-log file that must be garbage for
// CollectGarbage to rewrite it: Badger's recommended 0.5, a lifetime write
// amplification of 2 for the values that survive.
const gcDiscardRatio = 0.5

// maxGCRounds bounds one CollectGarbage. Each round rewrites at most one
// value-log file (1 GiB, Badger's default size), copying its live half at
// most. Not measured: at ~10 MB/s of stored values the 15-minute hot window
// spans about 9 such files, so 16 rounds can rewrite every file one
// compaction empties; garbage left over waits for the next call.
const maxGCRounds = 16

// DeleteMoved deletes the values of table that m hides, after readers were
// given m (or a later mark): they skip those values already, so deleting them
// changes no answer. It deletes, in this order, the trace index entries
// naming them (spans), the values, and for metrics the series activity keys
// of the buckets wholly before m.Before, except those of the series that a
// remaining value of such a bucket (late data) holds. Series labels and
// postings stay. It returns the number of values deleted.
//
// Deletes go through Badger write batches, committed in order, so a crash or
// an error midway leaves only hidden values (and their index entries), which
// readers skip; running DeleteMoved again finishes the job, and running it
// when it is done deletes nothing. The space the values took in Badger's value
// log is reclaimed by CollectGarbage.
//
// The trace index entries are found by iterating the whole trace index
// rather than by decoding each deleted value's trace_id column. The index
// holds one small key per trace and value, next to each other in the LSM
// tree: stepping over the 62,600 entries of 500,000 synth spans took
// 10–25 ms, some 20–50 ns per hot span, while decoding a value from the
// value log costs 400–460 ns per span (BenchmarkDeleteMoved, "decode"). So
// iterating is cheaper unless DeleteMoved deletes less than 5–10% of the hot
// tier's spans, and it also finds entries whose value is already gone (an
// interrupted run, a WAL replay). Deleting the entries costs the same either
// way.
func (s *Store) DeleteMoved(ctx context.Context, table schema.ID, m Moved) (deleted int, err error) {
	t, err := s.table(table)
	if err != nil {
		return 0, err
	}
	mk, err := s.mark(m)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if mk.none() {
		return 0, nil
	}
	if table == schema.Metrics {
		s.raiseActivityFloor(mk.end)
	}

	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	if table == schema.Spans {
		if err := s.deleteTraceEntries(ctx, txn, wb, mk); err != nil {
			return 0, err
		}
	}
	d, late, err := s.deleteValues(ctx, txn, wb, t, mk)
	if err != nil {
		return 0, err
	}
	if table == schema.Metrics {
		if err := s.deleteActivity(ctx, txn, wb, mk, late); err != nil {
			return 0, err
		}
	}
	if err := wb.Flush(); err != nil {
		return 0, fmt.Errorf("hot: delete moved %s: %w", t.Name, err)
	}
	if table == schema.Metrics {
		if err := s.restoreActivity(ctx, t, mk, late); err != nil {
			return d, err
		}
	}
	if err := s.raiseLowWater(t.ID); err != nil {
		return d, err
	}
	return d, nil
}

// raiseLowWater raises the low-water marks of table's values and, for
// metrics, of the activity keys, to their first keys left.
func (s *Store) raiseLowWater(table schema.ID) error {
	prefix := []byte{prefixData, byte(table)}
	from := func(b int64) []byte { return dataBucketKey(table, b) }
	data := func(k []byte) (int64, error) {
		b, _, err := parseDataKey(k)
		return b, err
	}
	if err := s.low.raise(s.db, dataFamily(table), prefix, from, data); err != nil {
		return fmt.Errorf("hot: low-water mark of %s: %w", table, err)
	}
	if table != schema.Metrics {
		return nil
	}
	activity := func(k []byte) (int64, error) {
		if len(k) != activityKeyLen {
			return 0, fmt.Errorf("%w: activity key %x", errKey, k)
		}
		return getBucket(k[1:]), nil
	}
	if err := s.low.raise(s.db, activityFamily, []byte{prefixActivity}, activityBucketKey, activity); err != nil {
		return fmt.Errorf("hot: low-water mark of series activity: %w", err)
	}
	return nil
}

// deleteTraceEntries deletes the trace index entries that name a spans value
// mk hides.
func (s *Store) deleteTraceEntries(ctx context.Context, txn *badger.Txn, wb *badger.WriteBatch, mk mark) error {
	for _, p := range []byte{prefixTraceHex, prefixTraceRaw} {
		prefix := []byte{p}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		err := func() error {
			defer it.Close()
			for i, item := range keyRange(it, prefix, prefix, nil) {
				if i%4096 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				k := item.Key()
				dk, err := traceKeyDataKey(k)
				if err != nil {
					return err
				}
				bucket, lsn, err := parseDataKey(dk)
				if err != nil {
					return err
				}
				if schema.ID(dk[1]) != schema.Spans || !mk.hides(bucket, lsn) {
					continue
				}
				if err := wb.Delete(bytes.Clone(k)); err != nil {
					return fmt.Errorf("hot: delete trace index entry: %w", err)
				}
			}
			return nil
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

// lateValues are the values of metrics in buckets wholly before a mark's
// Before that the mark does not hide: their data keys, and the activity keys
// of their series.
type lateValues struct {
	keys     map[string]struct{}
	activity map[string]struct{}
}

// deleteValues deletes the values of t that mk hides and returns how many.
// For metrics it also returns the values it keeps in buckets below mk.end,
// and rewrites their activity keys (an interrupted run may have deleted
// them).
func (s *Store) deleteValues(ctx context.Context, txn *badger.Txn, wb *badger.WriteBatch, t *schema.Table, mk mark) (int, lateValues, error) {
	late := lateValues{keys: make(map[string]struct{}), activity: make(map[string]struct{})}
	prefix := []byte{prefixData, byte(t.ID)}
	start := dataBucketKey(t.ID, s.low.get(dataFamily(t.ID)))
	end := dataBucketKey(t.ID, mk.end)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	deleted := 0
	for i, item := range keyRange(it, prefix, start, end) {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, late, err
			}
		}
		bucket, lsn, err := parseDataKey(item.Key())
		if err != nil {
			return 0, late, err
		}
		if mk.hides(bucket, lsn) {
			if err := wb.Delete(item.KeyCopy(nil)); err != nil {
				return 0, late, fmt.Errorf("hot: delete %x: %w", item.Key(), err)
			}
			deleted++
			continue
		}
		if t.ID != schema.Metrics {
			continue
		}
		late.keys[string(item.Key())] = struct{}{}
		if err := s.lateActivity(item, t, bucket, func(k []byte) error {
			late.activity[string(k)] = struct{}{}
			return wb.Set(k, nil)
		}); err != nil {
			return 0, late, err
		}
	}
	return deleted, late, nil
}

// lateActivity calls fn with the activity key of each series of the metrics
// value item, in bucket.
func (s *Store) lateActivity(item *badger.Item, t *schema.Table, bucket int64, fn func(k []byte) error) error {
	return item.Value(func(v []byte) error {
		rec, err := s.codec.decode(t, v)
		if err != nil {
			return fmt.Errorf("hot: read %x: %w", item.Key(), err)
		}
		defer rec.Release()
		seen := make(map[uint64]struct{})
		for _, id := range rec.Column(metricsSeriesID).(*array.Uint64).Uint64Values() {
			if _, ok := seen[id]; ok {
				continue
			}
			seen[id] = struct{}{}
			if err := fn(activityKey(bucket, id)); err != nil {
				return fmt.Errorf("hot: write series activity: %w", err)
			}
		}
		return nil
	})
}

// deleteActivity deletes the activity keys of the buckets below mk.end, but
// those of late values.
func (s *Store) deleteActivity(ctx context.Context, txn *badger.Txn, wb *badger.WriteBatch, mk mark, late lateValues) error {
	prefix := []byte{prefixActivity}
	start := activityBucketKey(s.low.get(activityFamily))
	end := activityBucketKey(mk.end)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for i, item := range keyRange(it, prefix, start, end) {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		k := item.Key()
		if len(k) != activityKeyLen {
			return fmt.Errorf("%w: activity key %x", errKey, k)
		}
		if _, ok := late.activity[string(k)]; ok {
			continue
		}
		if err := wb.Delete(bytes.Clone(k)); err != nil {
			return fmt.Errorf("hot: delete series activity: %w", err)
		}
	}
	return nil
}

// restoreActivity writes the activity keys of the metrics values in buckets
// below mk.end that mk does not hide and that were applied after
// deleteValues' snapshot: deleteActivity may have deleted their keys.
//
// It reads a snapshot taken after the deletes committed, so it sees every
// Apply that committed before them. An Apply committing later wrote its
// activity keys after the deletes: it consulted the activity cache after
// raiseActivityFloor emptied it below mk.end (every Apply that consulted it
// earlier committed before deleteValues' snapshot), so it skipped none.
func (s *Store) restoreActivity(ctx context.Context, t *schema.Table, mk mark, late lateValues) error {
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	prefix := []byte{prefixData, byte(t.ID)}
	start := dataBucketKey(t.ID, s.low.get(dataFamily(t.ID)))
	end := dataBucketKey(t.ID, mk.end)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for i, item := range keyRange(it, prefix, start, end) {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		bucket, lsn, err := parseDataKey(item.Key())
		if err != nil {
			return err
		}
		if mk.hides(bucket, lsn) {
			continue
		}
		if _, ok := late.keys[string(item.Key())]; ok {
			continue
		}
		if err := s.lateActivity(item, t, bucket, func(k []byte) error {
			s.low.lower(activityFamily, bucket) // before the key is visible
			return wb.Set(k, nil)
		}); err != nil {
			return err
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("hot: restore series activity: %w", err)
	}
	return nil
}

// raiseActivityFloor empties the activity cache below end and keeps it empty
// there, since DeleteMoved is about to delete those keys: from now on Apply
// writes them whenever it has rows there. It returns once every metrics Apply
// that consulted the cache before has committed.
func (s *Store) raiseActivityFloor(end int64) {
	s.trim.Lock()
	defer s.trim.Unlock()
	s.written.Lock()
	defer s.written.Unlock()
	s.written.floor = max(s.written.floor, end)
	for b := range s.written.buckets {
		if b < s.written.floor {
			delete(s.written.buckets, b)
		}
	}
}

// CollectGarbage reclaims the space of deleted values in Badger's value log:
// it rewrites value-log files that are at least half garbage, up to
// maxGCRounds of them. Badger learns which files hold garbage from its LSM
// compactions, so space freed by DeleteMoved may be reclaimed only by a later
// call. It returns an error if another CollectGarbage is running.
func (s *Store) CollectGarbage() error {
	for range maxGCRounds {
		err := s.db.RunValueLogGC(gcDiscardRatio)
		if errors.Is(err, badger.ErrNoRewrite) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("hot: value log gc: %w", err)
		}
	}
	return nil
}
