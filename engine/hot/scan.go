package hot

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/dgraph-io/badger/v4"

	"github.com/tael/tael/schema"
)

// scanWorkers is the number of goroutines decoding a Scan's values ahead of
// its reader, in parallel. Decoding (decompression, mostly) is nearly all of
// a scan's CPU. On our 2 cores BenchmarkScanSpans/lz4 measured 2.6–2.9M
// rows/s with 1 worker, 5.2–5.5M with 2, and no better with 3 (the same CPU
// per row, more contention).
const scanWorkers = 2

// scanAhead is the number of values a Scan reads and decodes ahead of its
// reader, bounding its memory to about that many decoded batches.
const scanAhead = 2 * scanWorkers

// Scan returns the rows of table whose time lies in tr, with the named
// columns in the given order (nil means all columns), as a reader that
// decodes the stored values as it advances, buckets in time order. Rows are
// ordered by bucket, then by the LSN that applied them; within a batch they
// keep the order they were applied in. The reader reads one snapshot of the
// store, taken before Scan returns; its Err reports ctx's error if ctx ends
// first. Values that hide hides are skipped unread. The caller releases the
// reader (before closing the store).
func (s *Store) Scan(ctx context.Context, table schema.ID, tr schema.TimeRange, columns []string, hide Moved) (array.RecordReader, error) {
	t, err := s.table(table)
	if err != nil {
		return nil, err
	}
	cols, sch, err := t.Project(columns)
	if err != nil {
		return nil, err
	}
	m, err := s.mark(hide)
	if err != nil {
		return nil, err
	}
	ictx, cancel := context.WithCancel(ctx)
	r := &scanReader{
		ctx:    ctx,
		cancel: cancel,
		schema: sch,
		order:  make(chan chan scanResult, scanAhead),
	}
	r.refs.Store(1)
	if tr.Empty() {
		close(r.order)
		return r, nil
	}
	sc := s.newScan(t, tr, cols, sch, m)
	sc.free = make(chan []byte, scanAhead+scanWorkers+1)
	// The snapshot is taken here, not by the feeder, so that the reader
	// sees the store as it was when Scan returned.
	txn := s.db.NewTransaction(false)
	jobs := make(chan scanJob)
	r.wg.Add(1 + scanWorkers)
	go func() {
		defer r.wg.Done()
		defer close(jobs)
		defer close(r.order)
		defer txn.Discard()
		sc.feed(ictx, txn, r.order, jobs)
	}()
	for range scanWorkers {
		go func() {
			defer r.wg.Done()
			for j := range jobs {
				if err := ictx.Err(); err != nil {
					j.out <- scanResult{err: err}
					continue
				}
				rec, err := sc.decode(j.bucket, j.val)
				j.out <- scanResult{rec: rec, err: err}
				select {
				case sc.free <- j.val:
				default:
				}
			}
		}()
	}
	return r, nil
}

// ScanBatches calls fn with each stored value of table whose bucket overlaps
// tr and that hide does not hide, with the LSN that applied it, in key order:
// buckets in time order, then LSNs, then parts. A value's batch has every
// column and only its rows in tr; a value with none is skipped. The values
// come from one snapshot of the store and are read and decoded one at a time
// in the caller's goroutine. The batch is released when fn returns: fn
// retains it to keep it. ScanBatches stops at fn's first error and returns it.
//
// Compaction copies hot rows to the cold tier with it, and the SQL layer
// loads its mirror of the hot tier. A Moved built from what fn saw must not
// take the highest LSN passed to fn as its LSN: Applies commit out of order,
// so a value with a lower LSN may be missing from the snapshot. The applied
// watermark (AppliedLSN) read before ScanBatches is a safe bound.
func (s *Store) ScanBatches(ctx context.Context, table schema.ID, tr schema.TimeRange, hide Moved, fn func(lsn uint64, rec arrow.RecordBatch) error) error {
	t, err := s.table(table)
	if err != nil {
		return err
	}
	m, err := s.mark(hide)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if tr.Empty() {
		return nil
	}
	sc := s.newScan(t, tr, allColumns(t), t.Schema, m)
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	start, end := sc.keys()
	it := txn.NewIterator(badger.IteratorOptions{Prefix: start[:2]})
	defer it.Close()
	for i, item := range keyRange(it, start[:2], start, end) {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		bucket, lsn, err := parseDataKey(item.Key())
		if err != nil {
			return err
		}
		if m.hides(bucket, lsn) {
			continue
		}
		var rec arrow.RecordBatch
		if err := item.Value(func(v []byte) error {
			rec, err = sc.decode(bucket, v)
			return err
		}); err != nil {
			return fmt.Errorf("hot: read %x: %w", item.Key(), err)
		}
		if rec == nil {
			continue
		}
		err = fn(lsn, rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// scan is what a Scan's goroutines share; it does not change once they start.
type scan struct {
	s          *Store
	t          *schema.Table
	tr         schema.TimeRange
	cols       []int
	schema     *arrow.Schema
	hide       mark
	bMin, bMax int64 // buckets of tr's first and last instant
	cctx       context.Context
	// free holds value buffers the workers are done with, for the feeder
	// to reuse: a scan then allocates only a few of them.
	free chan []byte
}

// newScan returns a scan of the columns cols (schema sch) of t's rows in tr,
// a non-empty range, skipping the values hide hides.
func (s *Store) newScan(t *schema.Table, tr schema.TimeRange, cols []int, sch *arrow.Schema, hide mark) *scan {
	return &scan{
		s:      s,
		t:      t,
		tr:     tr,
		cols:   cols,
		schema: sch,
		hide:   hide,
		bMin:   bucketOf(tr.Min, s.width),
		bMax:   bucketOf(tr.Max-1, s.width),
		cctx:   s.computeContext(),
	}
}

// keys returns the bounds of the scan's data keys: start is the smallest,
// and every one sorts below end. Call it after opening the snapshot: start
// is no lower than the table's low-water mark.
func (sc *scan) keys() (start, end []byte) {
	b := sc.s.low.startBucket(dataFamily(sc.t.ID), sc.bMin)
	return dataBucketKey(sc.t.ID, b), afterPrefix(dataBucketKey(sc.t.ID, sc.bMax), dataKeyLen)
}

// scanJob is one stored value to decode; its result goes to out.
type scanJob struct {
	bucket int64
	val    []byte
	out    chan scanResult
}

type scanResult struct {
	rec arrow.RecordBatch // nil when no row of the value is in range
	err error
}

// feed reads the values of the scan's buckets in key order, from the
// snapshot txn, skipping hidden ones. Each value's result channel goes to
// order, in key order, before the value goes to jobs; a channel sent to order
// always gets its result.
func (sc *scan) feed(ctx context.Context, txn *badger.Txn, order chan<- chan scanResult, jobs chan<- scanJob) {
	// fail queues a result carrying err, if the reader still listens.
	fail := func(err error) {
		out := make(chan scanResult, 1)
		out <- scanResult{err: err}
		select {
		case order <- out:
		case <-ctx.Done():
		}
	}
	start, end := sc.keys()
	it := txn.NewIterator(badger.IteratorOptions{Prefix: start[:2]})
	defer it.Close()
	for i, item := range keyRange(it, start[:2], start, end) {
		bucket, lsn, err := parseDataKey(item.Key())
		if err != nil {
			fail(err)
			return
		}
		if sc.hide.hides(bucket, lsn) {
			// A long run of hidden keys sends nothing, so it checks ctx
			// itself.
			if i%4096 == 0 && ctx.Err() != nil {
				return
			}
			continue
		}
		var buf []byte
		select {
		case buf = <-sc.free:
		default:
		}
		val, err := item.ValueCopy(buf)
		if err != nil {
			fail(fmt.Errorf("hot: read %x: %w", item.Key(), err))
			return
		}
		j := scanJob{bucket: bucket, val: val, out: make(chan scanResult, 1)}
		select {
		case order <- j.out:
		case <-ctx.Done():
			return
		}
		select {
		case jobs <- j:
		case <-ctx.Done():
			j.out <- scanResult{err: ctx.Err()}
			return
		}
	}
}

// decode returns the projected rows of a stored value that lie in the
// scan's range, or nil if none does. Only values of the first and last
// bucket can hold rows out of range.
func (sc *scan) decode(bucket int64, val []byte) (arrow.RecordBatch, error) {
	rec, err := sc.s.codec.decode(sc.t, val)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	if bucket != sc.bMin && bucket != sc.bMax {
		return withSchema(sc.schema, rec, sc.cols), nil
	}
	ts := rec.Column(sc.t.TimeIndex).(*array.Timestamp).TimestampValues()
	in := 0
	for _, t := range ts {
		if sc.tr.Contains(int64(t)) {
			in++
		}
	}
	switch in {
	case 0:
		return nil, nil
	case len(ts):
		return withSchema(sc.schema, rec, sc.cols), nil
	}
	indices, idx := newIndices(sc.s.mem, in)
	defer indices.Release()
	idx = idx[:0]
	for i, t := range ts {
		if sc.tr.Contains(int64(t)) {
			idx = append(idx, int32(i))
		}
	}
	proj := withSchema(sc.schema, rec, sc.cols)
	defer proj.Release()
	out, err := take(sc.cctx, proj, indices)
	if err != nil {
		return nil, fmt.Errorf("hot: filter batch: %w", err)
	}
	return out, nil
}

// scanReader is the array.RecordReader of a Scan. Its methods other than
// Retain and Release are for one goroutine.
type scanReader struct {
	refs   atomic.Int64
	ctx    context.Context // the caller's
	cancel context.CancelFunc
	schema *arrow.Schema
	order  chan chan scanResult // results in key order; closed after the last
	wg     sync.WaitGroup       // the feeder and the workers

	cur arrow.RecordBatch
	err error
}

var _ array.RecordReader = (*scanReader)(nil)

func (r *scanReader) Retain() { r.refs.Add(1) }

// Release frees the reader when the last reference goes: it stops the
// feeder and workers and frees every batch decoded ahead.
func (r *scanReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	r.cancel()
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for out := range r.order {
		if res := <-out; res.rec != nil {
			res.rec.Release()
		}
	}
	r.wg.Wait()
}

func (r *scanReader) Schema() *arrow.Schema { return r.schema }

func (r *scanReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for r.err == nil {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			break
		}
		var out chan scanResult
		select {
		case o, ok := <-r.order:
			if !ok {
				return false
			}
			out = o
		case <-r.ctx.Done():
			r.err = r.ctx.Err()
			return false
		}
		res := <-out
		if res.err != nil {
			r.err = res.err
			break
		}
		if res.rec != nil {
			r.cur = res.rec
			return true
		}
	}
	return false
}

func (r *scanReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record returns the current batch.
//
// Deprecated: Use RecordBatch instead.
func (r *scanReader) Record() arrow.RecordBatch { return r.cur }

func (r *scanReader) Err() error { return r.err }
