package hot

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dgraph-io/badger/v4"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/tael/tael/schema"
)

// maxPartRows caps the rows of one stored value: a larger part of a batch is
// cut into several values (the key's part number), so no single value makes
// Scan or Trace decode an unbounded batch. WAL records are far smaller (a
// receiver's request is ~1,000 rows), so this only guards against the odd
// huge batch.
const maxPartRows = 1 << 16

// part is the rows of an applied batch that fall into one bucket (at most
// maxPartRows of them), stored as one value.
type part struct {
	bucket int64
	num    uint16
	rec    arrow.RecordBatch
}

// kv is one Badger entry to write.
type kv struct{ k, v []byte }

// Apply stores rec, the batch of table at WAL position lsn, with its index
// entries, and records watermark as the applied LSN. It writes nothing if rec
// does not fit its table (ErrSchema) or has an invalid time (ErrTime).
// Applying the same lsn again rewrites the same keys, so replaying the WAL
// after a crash doubles no row. Apply does not keep rec.
//
// encoded, if not nil, is Encode(table, rec): when rec goes into one value
// whole (one bucket, the common case) Apply stores those bytes instead of
// encoding rec again. The engine writes them to the WAL first, so a batch is
// encoded and compressed once on its way in.
func (s *Store) Apply(lsn uint64, table schema.ID, rec arrow.RecordBatch, encoded []byte, watermark uint64) error {
	t, err := s.table(table)
	if err != nil {
		return err
	}
	if err := t.Check(rec.Schema()); err != nil {
		return fmt.Errorf("%w: %w", ErrSchema, err)
	}
	times := rec.Column(t.TimeIndex).(*array.Timestamp)
	if n := times.NullN(); n > 0 {
		return fmt.Errorf("%w: %d null values in %s.%s", ErrTime, n, t.Name, t.TimeColumn)
	}
	ts := times.TimestampValues()
	if i := slices.Index(ts, math.MaxInt64); i >= 0 {
		return fmt.Errorf("%w: %s.%s row %d is math.MaxInt64", ErrTime, t.Name, t.TimeColumn, i)
	}

	parts, err := s.split(rec, ts)
	if err != nil {
		return err
	}
	defer func() {
		for _, p := range parts {
			p.rec.Release()
		}
	}()
	if table == schema.Metrics {
		s.trim.RLock()
		defer s.trim.RUnlock()
	}
	var (
		kvs       []kv
		newSeries = make(map[uint64]struct{})
		newActive []activity
	)
	for _, p := range parts {
		key := dataKey(table, p.bucket, lsn, p.num)
		val := encoded
		if len(parts) != 1 || p.rec != rec || val == nil {
			if val, err = s.codec.encode(table, p.rec); err != nil {
				return err
			}
		}
		kvs = append(kvs, kv{key, val})
		switch table {
		case schema.Spans:
			kvs = appendTraceIndex(kvs, p.rec, key)
		case schema.Metrics:
			kvs, newActive = s.appendSeriesIndex(kvs, p, newSeries, newActive)
		}
	}
	// Scans may start at the low-water marks: lower them before the keys
	// are visible, and keep them from being raised until then.
	s.low.mu.RLock()
	for _, p := range parts {
		s.low.lower(dataFamily(table), p.bucket)
	}
	for _, a := range newActive {
		s.low.lower(activityFamily, a.bucket)
	}
	err = s.write(kvs, watermark)
	s.low.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("hot: apply lsn %d: %w", lsn, err)
	}
	s.markActive(newActive)
	if len(newSeries) > 0 {
		s.series.Lock()
		for id := range newSeries {
			s.series.known[id] = struct{}{}
		}
		s.series.Unlock()
	}
	return nil
}

// write writes kvs and then the applied key holding watermark, in one
// transaction if it fits Badger's limit, else in several with the applied key
// in the last.
func (s *Store) write(kvs []kv, watermark uint64) error {
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	set := func(k, v []byte) error {
		err := txn.Set(k, v)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err := txn.Commit(); err != nil {
				return err
			}
			txn = s.db.NewTransaction(true)
			err = txn.Set(k, v)
		}
		return err
	}
	for _, e := range kvs {
		if err := set(e.k, e.v); err != nil {
			return err
		}
	}
	if err := set(keyApplied, binary.BigEndian.AppendUint64(nil, watermark)); err != nil {
		return err
	}
	return txn.Commit()
}

// split cuts rec into its parts, in bucket order. In the common case (one
// bucket, at most maxPartRows rows) the only part is rec itself, retained.
// Otherwise rows are grouped by bucket with one Take (keeping their order
// within a bucket) and the groups are zero-copy slices of its result.
func (s *Store) split(rec arrow.RecordBatch, ts []arrow.Timestamp) ([]part, error) {
	n := len(ts)
	if n == 0 {
		return nil, nil
	}
	first := bucketOf(int64(ts[0]), s.width)
	one := true
	for _, t := range ts[1:] {
		if bucketOf(int64(t), s.width) != first {
			one = false
			break
		}
	}
	if one {
		rec.Retain()
		return chunk(nil, first, rec), nil
	}

	// Counting sort of the rows by bucket.
	rowBucket := make([]int64, n)
	count := make(map[int64]int)
	for i, t := range ts {
		b := bucketOf(int64(t), s.width)
		rowBucket[i] = b
		count[b]++
	}
	buckets := make([]int64, 0, len(count))
	for b := range count {
		buckets = append(buckets, b)
	}
	slices.Sort(buckets)
	next := make(map[int64]int, len(buckets))
	pos := 0
	for _, b := range buckets {
		next[b] = pos
		pos += count[b]
	}
	indices, idx := newIndices(s.mem, n)
	defer indices.Release()
	for i, b := range rowBucket {
		idx[next[b]] = int32(i)
		next[b]++
	}
	sorted, err := take(s.computeContext(), rec, indices)
	if err != nil {
		return nil, fmt.Errorf("hot: split batch by bucket: %w", err)
	}
	defer sorted.Release()

	parts := make([]part, 0, len(buckets))
	pos = 0
	for _, b := range buckets {
		c := count[b]
		parts = chunk(parts, b, sorted.NewSlice(int64(pos), int64(pos+c)))
		pos += c
	}
	return parts, nil
}

// chunk appends the parts of the rows rec of bucket b, taking over rec.
func chunk(parts []part, b int64, rec arrow.RecordBatch) []part {
	n := rec.NumRows()
	if n <= maxPartRows {
		return append(parts, part{bucket: b, rec: rec})
	}
	defer rec.Release()
	for i, num := int64(0), 0; i < n; i, num = i+maxPartRows, num+1 {
		if num > math.MaxUint16 {
			panic("BUG: a batch has more than 2^32 rows")
		}
		parts = append(parts, part{bucket: b, num: uint16(num), rec: rec.NewSlice(i, min(i+maxPartRows, n))})
	}
	return parts
}

// computeContext returns a context for compute kernels: the store's
// allocator, and no parallelism inside a kernel (callers run on every core
// already).
func (s *Store) computeContext() context.Context {
	ec := compute.DefaultExecCtx()
	ec.NumParallel = 1
	return compute.WithAllocator(compute.SetExecCtx(context.Background(), ec), s.mem)
}

// newIndices returns an int32 array of n values allocated from mem, and its
// values for the caller to fill.
func newIndices(mem memory.Allocator, n int) (*array.Int32, []int32) {
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(n * arrow.Int32SizeBytes)
	data := array.NewData(arrow.PrimitiveTypes.Int32, n, []*memory.Buffer{nil, buf}, nil, 0, 0)
	defer data.Release()
	return array.NewInt32Data(data), arrow.Int32Traits.CastFromBytes(buf.Bytes())
}

// take returns the rows of rec at indices.
func take(ctx context.Context, rec arrow.RecordBatch, indices arrow.Array) (arrow.RecordBatch, error) {
	out, err := compute.Take(ctx, *compute.DefaultTakeOptions(), compute.NewDatumWithoutOwning(rec), compute.NewDatumWithoutOwning(indices))
	if err != nil {
		return nil, err
	}
	return out.(*compute.RecordDatum).Value, nil
}

// appendTraceIndex appends the trace index entries of the spans part stored
// under dataKey: one per trace, holding the trace's row numbers in the part.
func appendTraceIndex(kvs []kv, rec arrow.RecordBatch, dataKey []byte) []kv {
	ids := rec.Column(spansTraceID).(*array.String)
	rows := make(map[string][]int)
	var order []string
	for i := 0; i < ids.Len(); i++ {
		id := ids.Value(i)
		r, ok := rows[id]
		if !ok {
			order = append(order, id)
		}
		rows[id] = append(r, i)
	}
	for _, id := range order {
		k := append(traceKeyPrefix(id), dataKey...)
		kvs = append(kvs, kv{k, encodeRows(rows[id])})
	}
	return kvs
}

// encodeRows encodes ascending row numbers as uvarint deltas.
func encodeRows(rows []int) []byte {
	v := make([]byte, 0, len(rows)*2)
	prev := 0
	for _, r := range rows {
		v = binary.AppendUvarint(v, uint64(r-prev))
		prev = r
	}
	return v
}

// decodeRows decodes encodeRows' output, checking each row is below n.
func decodeRows(v []byte, n int64) ([]int32, error) {
	var rows []int32
	prev := uint64(0)
	for len(v) > 0 {
		d, m := binary.Uvarint(v)
		if m <= 0 {
			return nil, fmt.Errorf("%w: trace index row list", errKey)
		}
		v = v[m:]
		prev += d
		if n < 0 || prev >= uint64(n) {
			return nil, fmt.Errorf("%w: trace index row %d of a %d-row batch", errKey, prev, n)
		}
		rows = append(rows, int32(prev))
	}
	return rows, nil
}

// appendSeriesIndex appends the series index entries of a metrics part: the
// series' activity in the part's bucket, and for each series the store has
// not seen (nor newSeries holds), its labels and postings. It adds those
// series to newSeries.
func (s *Store) appendSeriesIndex(kvs []kv, p part, newSeries map[uint64]struct{}, newActive []activity) ([]kv, []activity) {
	ids := p.rec.Column(metricsSeriesID).(*array.Uint64).Uint64Values()
	seen := make(map[uint64]struct{})
	var fresh []int // a row of each series not stored yet
	s.written.Lock()
	written := s.written.buckets[p.bucket]
	for _, id := range ids {
		if _, ok := seen[id]; ok {
			continue
		}
		seen[id] = struct{}{}
		if _, ok := written[id]; !ok {
			kvs = append(kvs, kv{activityKey(p.bucket, id), nil})
			newActive = append(newActive, activity{p.bucket, id})
		}
	}
	s.written.Unlock()
	clear(seen)
	s.series.RLock()
	for i, id := range ids {
		if _, ok := seen[id]; ok {
			continue
		}
		seen[id] = struct{}{}
		if _, ok := s.series.known[id]; ok {
			continue
		}
		if _, ok := newSeries[id]; ok {
			continue
		}
		newSeries[id] = struct{}{}
		fresh = append(fresh, i)
	}
	s.series.RUnlock()

	names := p.rec.Column(metricsName).(*array.String)
	lm := p.rec.Column(metricsLabels).(*array.Map)
	var b labels.ScratchBuilder
	for _, i := range fresh {
		ls := rowLabels(&b, names, lm, i)
		ls.Range(func(l labels.Label) {
			kvs = append(kvs, kv{postingKey(l.Name, l.Value, ids[i]), nil})
		})
		// The series key goes last: if Apply's writes are cut into several
		// transactions and a crash falls between them, a stored series key
		// (which makes a store opened later skip the series) still implies
		// its postings are stored.
		kvs = append(kvs, kv{seriesKey(ids[i]), encodeLabels(ls)})
	}
	return kvs, newActive
}

// activity is a (bucket, series) pair whose activity key an Apply writes.
type activity struct {
	bucket int64
	id     uint64
}

// markActive records committed activity keys in the cache, but those below
// the floor, dropping the oldest buckets beyond maxActiveBuckets.
func (s *Store) markActive(as []activity) {
	if len(as) == 0 {
		return
	}
	s.written.Lock()
	defer s.written.Unlock()
	if s.written.buckets == nil {
		s.written.buckets = make(map[int64]map[uint64]struct{})
	}
	for _, a := range as {
		if a.bucket < s.written.floor {
			continue
		}
		m := s.written.buckets[a.bucket]
		if m == nil {
			m = make(map[uint64]struct{})
			s.written.buckets[a.bucket] = m
		}
		m[a.id] = struct{}{}
	}
	for len(s.written.buckets) > maxActiveBuckets {
		oldest := int64(math.MaxInt64)
		for b := range s.written.buckets {
			oldest = min(oldest, b)
		}
		delete(s.written.buckets, oldest)
	}
}

// rowLabels returns the labels of metrics row i: __name__ and every key of
// its labels map.
func rowLabels(b *labels.ScratchBuilder, names *array.String, lm *array.Map, i int) labels.Labels {
	b.Reset()
	b.Add(labels.MetricName, names.Value(i))
	if lm.IsValid(i) {
		keys := lm.Keys().(*array.String)
		items := lm.Items().(*array.String)
		start, end := lm.ValueOffsets(i)
		for j := start; j < end; j++ {
			b.Add(keys.Value(int(j)), items.Value(int(j)))
		}
	}
	b.Sort()
	return b.Labels()
}

// encodeLabels encodes ls as uvarint-length-prefixed names and values.
func encodeLabels(ls labels.Labels) []byte {
	var v []byte
	ls.Range(func(l labels.Label) {
		v = binary.AppendUvarint(v, uint64(len(l.Name)))
		v = append(v, l.Name...)
		v = binary.AppendUvarint(v, uint64(len(l.Value)))
		v = append(v, l.Value...)
	})
	return v
}

// decodeLabels decodes encodeLabels' output.
func decodeLabels(b *labels.ScratchBuilder, v []byte) (labels.Labels, error) {
	b.Reset()
	str := func() (string, bool) {
		n, m := binary.Uvarint(v)
		if m <= 0 || uint64(len(v)-m) < n {
			return "", false
		}
		s := string(v[m : m+int(n)])
		v = v[m+int(n):]
		return s, true
	}
	for len(v) > 0 {
		name, ok1 := str()
		value, ok2 := str()
		if !ok1 || !ok2 {
			return labels.EmptyLabels(), fmt.Errorf("%w: series labels", errKey)
		}
		b.Add(name, value)
	}
	b.Sort()
	return b.Labels(), nil
}
