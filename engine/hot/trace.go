package hot

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/dgraph-io/badger/v4"

	"github.com/tael/tael/schema"
)

// traceRef is one trace index entry: rows of a trace in one stored value.
type traceRef struct {
	dataKey []byte
	rows    []byte // encodeRows' output
}

// Trace returns every span of the trace traceID, with all columns, whatever
// its time, except those in values hide hides: a batch with no rows if the
// store has none. Each stored value holding the trace is read and decoded
// once; an index entry whose value is gone is skipped. The caller releases
// the batch.
func (s *Store) Trace(ctx context.Context, traceID string, hide Moved) (arrow.RecordBatch, error) {
	t, err := s.table(schema.Spans)
	if err != nil {
		return nil, err
	}
	m, err := s.mark(hide)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	txn := s.db.NewTransaction(false)
	defer txn.Discard()

	prefix := traceKeyPrefix(traceID)
	var refs []traceRef
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		bucket, lsn, err := parseDataKey(item.Key()[len(prefix):])
		if err != nil {
			it.Close()
			return nil, err
		}
		if m.hides(bucket, lsn) {
			continue
		}
		rows, err := item.ValueCopy(nil)
		if err != nil {
			it.Close()
			return nil, fmt.Errorf("hot: read trace index: %w", err)
		}
		refs = append(refs, traceRef{dataKey: item.KeyCopy(nil)[len(prefix):], rows: rows})
	}
	it.Close()

	parts := make([]arrow.RecordBatch, 0, len(refs))
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	for _, ref := range refs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, err := s.traceRows(txn, t, ref)
		if err != nil {
			return nil, err
		}
		if p != nil {
			parts = append(parts, p)
		}
	}
	return concat(s, t.Schema, parts)
}

// traceRows returns the rows ref names, or nil if its value is gone.
func (s *Store) traceRows(txn *badger.Txn, t *schema.Table, ref traceRef) (arrow.RecordBatch, error) {
	item, err := txn.Get(ref.dataKey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		// Apply writes a value before its index entries and DeleteMoved
		// deletes them in the other order, so a snapshot holds an entry
		// without its value only if the value was deleted some other way,
		// or if the caller's mark is older than the one the value was
		// deleted under (its rows are then in the cold tier). Either way
		// there are no rows to return.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hot: read %x: %w", ref.dataKey, err)
	}
	var rec arrow.RecordBatch
	err = item.Value(func(v []byte) error {
		var err error
		rec, err = s.codec.decode(t, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	rows, err := decodeRows(ref.rows, rec.NumRows())
	if err != nil {
		return nil, err
	}
	indices, idx := newIndices(s.mem, len(rows))
	defer indices.Release()
	copy(idx, rows)
	out, err := take(s.computeContext(), rec, indices)
	if err != nil {
		return nil, fmt.Errorf("hot: take trace rows: %w", err)
	}
	defer out.Release()
	return withSchema(t.Schema, out, allColumns(t)), nil
}

// concat returns parts as one batch with schema sch.
func concat(s *Store, sch *arrow.Schema, parts []arrow.RecordBatch) (arrow.RecordBatch, error) {
	switch len(parts) {
	case 0:
		b := array.NewRecordBuilder(s.mem, sch)
		defer b.Release()
		return b.NewRecordBatch(), nil
	case 1:
		parts[0].Retain()
		return parts[0], nil
	}
	cols := make([]arrow.Array, sch.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	var rows int64
	for _, p := range parts {
		rows += p.NumRows()
	}
	chunks := make([]arrow.Array, len(parts))
	for i := range cols {
		for j, p := range parts {
			chunks[j] = p.Column(i)
		}
		c, err := array.Concatenate(chunks, s.mem)
		if err != nil {
			return nil, fmt.Errorf("hot: concatenate trace rows: %w", err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(sch, cols, rows), nil
}

// allColumns returns the indexes of every column of t.
func allColumns(t *schema.Table) []int {
	cols, _, _ := t.Project(nil)
	return cols
}
