package hot

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/dgraph-io/badger/v4"

	"github.com/tael/tael/schema"
)

// Moved marks the hot rows of one table that compaction has copied to the
// cold tier: every row whose bucket lies wholly before Before and whose WAL
// LSN is at most LSN. Readers given the mark skip those rows (they read them
// from the cold tier), and DeleteMoved removes them. Rows applied later with a
// higher LSN into the same buckets (late data) stay visible. The zero value
// hides nothing.
type Moved struct {
	// Before is the end of the moved time range, in ns since the epoch: a
	// stored value is hidden only if its whole bucket lies before it. It must
	// be a multiple of the store's bucket width (ErrMoved otherwise).
	Before int64
	// LSN is the highest WAL LSN of the moved rows. Zero hides nothing: WAL
	// LSNs start at 1.
	LSN uint64
}

// mark is a Moved checked against the store's bucket width.
type mark struct {
	end int64  // buckets below end lie wholly before Moved.Before
	lsn uint64 // Moved.LSN
}

// mark checks m against the store's bucket width. Since m.Before is a
// multiple of the width, bucket b lies wholly before it exactly when
// (b+1)·width <= Before, that is b < Before/width, which needs no
// arithmetic that could overflow.
func (s *Store) mark(m Moved) (mark, error) {
	if m.Before%s.width != 0 {
		return mark{}, fmt.Errorf("%w: %d is not a multiple of the bucket width (%d ns)", ErrMoved, m.Before, s.width)
	}
	return mark{end: m.Before / s.width, lsn: m.LSN}, nil
}

// hides reports whether the value stored under bucket and lsn is hidden.
func (m mark) hides(bucket int64, lsn uint64) bool {
	return m.lsn != 0 && lsn <= m.lsn && bucket < m.end
}

// none reports whether m hides no key at all.
func (m mark) none() bool { return m.lsn == 0 || m.end == math.MinInt64 }

// bucketStart returns the start time of bucket b, or math.MinInt64 for the
// bucket holding it (whose start lies before it).
func bucketStart(b, width int64) int64 {
	if b < math.MinInt64/width {
		return math.MinInt64
	}
	return b * width
}

// Buckets returns the start times of the oldest and newest buckets holding a
// value of table that hide does not hide, and the number of such values; n is
// 0 (and the times are 0) when there is none. It reads only keys.
func (s *Store) Buckets(ctx context.Context, table schema.ID, hide Moved) (minTime, maxTime int64, n int, err error) {
	if _, err := s.table(table); err != nil {
		return 0, 0, 0, err
	}
	m, err := s.mark(hide)
	if err != nil {
		return 0, 0, 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, 0, err
	}
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	prefix := []byte{prefixData, byte(table)}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var bMin, bMax int64
	// No live key lies below the low-water mark (txn is open).
	for it.Seek(dataBucketKey(table, s.low.get(dataFamily(table)))); it.ValidForPrefix(prefix); it.Next() {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, 0, 0, err
			}
		}
		bucket, lsn, err := parseDataKey(it.Item().Key())
		if err != nil {
			return 0, 0, 0, err
		}
		if m.hides(bucket, lsn) {
			continue
		}
		if n == 0 {
			bMin = bucket
		}
		bMax = bucket
		n++
	}
	if n == 0 {
		return 0, 0, 0, nil
	}
	return bucketStart(bMin, s.width), bucketStart(bMax, s.width), n, nil
}

// traceKeyDataKey returns the data key a trace index key names: its last
// dataKeyLen bytes, after checking the key's layout.
func traceKeyDataKey(k []byte) ([]byte, error) {
	switch {
	case len(k) == 1+traceHexIDBytes+dataKeyLen && k[0] == prefixTraceHex:
		return k[1+traceHexIDBytes:], nil
	case len(k) > 0 && k[0] == prefixTraceRaw:
		l, m := binary.Uvarint(k[1:])
		if m > 0 && uint64(len(k)-1-m) == l+dataKeyLen {
			return k[len(k)-dataKeyLen:], nil
		}
	}
	return nil, fmt.Errorf("%w: trace index key %x", errKey, k)
}
