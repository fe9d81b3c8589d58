package cold

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tael/tael/schema"
)

// sortOrder returns the columns t's files are sorted by. See doc.go for why.
func sortOrder(t *schema.Table, spansByService bool) []string {
	switch t.ID {
	case schema.Spans:
		if spansByService {
			return []string{"service", "start_time"}
		}
		return []string{"trace_id", "start_time"}
	case schema.Logs:
		return []string{"service", "timestamp"}
	case schema.Metrics:
		return []string{"name", "series_id", "timestamp"}
	case schema.Metrics5m:
		return []string{"series_id", "bucket_start"}
	case schema.TraceComments:
		return []string{"trace_id", "created_at"}
	}
	return []string{t.TimeColumn}
}

// sortKey compares two rows of one column.
type sortKey interface {
	// prefix returns a number whose order is consistent with the column's
	// order: prefix(i) < prefix(j) implies row i sorts before row j.
	prefix(i int) uint64
	compare(i, j int) int
}

type stringKey struct{ a *array.String }

func (k stringKey) value(i int) string {
	if k.a.IsNull(i) {
		return ""
	}
	return k.a.Value(i)
}

// prefix is the first 8 bytes of the value, big-endian, zero-padded.
func (k stringKey) prefix(i int) uint64 {
	var b [8]byte
	copy(b[:], k.value(i))
	return binary.BigEndian.Uint64(b[:])
}

func (k stringKey) compare(i, j int) int { return strings.Compare(k.value(i), k.value(j)) }

type int64Key []int64

func (k int64Key) prefix(i int) uint64  { return uint64(k[i]) ^ 1<<63 }
func (k int64Key) compare(i, j int) int { return cmp.Compare(k[i], k[j]) }

type uint64Key []uint64

func (k uint64Key) prefix(i int) uint64  { return k[i] }
func (k uint64Key) compare(i, j int) int { return cmp.Compare(k[i], k[j]) }

func newSortKey(col arrow.Array) sortKey {
	switch a := col.(type) {
	case *array.String:
		return stringKey{a}
	case *array.Timestamp:
		vals := a.TimestampValues()
		return int64Key(arrow.Int64Traits.CastFromBytes(arrow.TimestampTraits.CastToBytes(vals)))
	case *array.Int64:
		return int64Key(a.Int64Values())
	case *array.Uint64:
		return uint64Key(a.Uint64Values())
	}
	panic("BUG: no sort key for " + col.DataType().String())
}

// sortRows returns the permutation of rec's rows that sorts them by the
// columns order, ties kept in their input order.
func sortRows(rec arrow.RecordBatch, order []string) []int32 {
	keys := make([]sortKey, len(order))
	for i, name := range order {
		idx := rec.Schema().FieldIndices(name)
		keys[i] = newSortKey(rec.Column(idx[0]))
	}
	type row struct {
		p   uint64
		idx int32
	}
	rows := make([]row, rec.NumRows())
	for i := range rows {
		rows[i] = row{p: keys[0].prefix(i), idx: int32(i)}
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := cmp.Compare(a.p, b.p); c != 0 {
			return c
		}
		for _, k := range keys {
			if c := k.compare(int(a.idx), int(b.idx)); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.idx, b.idx)
	})
	perm := make([]int32, len(rows))
	for i, r := range rows {
		perm[i] = r.idx
	}
	return perm
}

// bloomNDV returns the most distinct trace ids any row group of a spans
// file will hold, which sizes its bloom filters; 0 for other tables.
func bloomNDV(t *schema.Table, rec arrow.RecordBatch, perm []int32, groups [][2]int, order []string) int64 {
	if t.ID != schema.Spans {
		return 0
	}
	ids := rec.Column(0).(*array.String)
	var most int64
	for _, g := range groups {
		var n int64
		if order[0] == "trace_id" {
			// Sorted: distinct values are runs.
			for i := g[0]; i < g[1]; i++ {
				if i == g[0] || ids.Value(int(perm[i])) != ids.Value(int(perm[i-1])) {
					n++
				}
			}
		} else {
			seen := make(map[string]struct{}, g[1]-g[0])
			for i := g[0]; i < g[1]; i++ {
				seen[ids.Value(int(perm[i]))] = struct{}{}
			}
			n = int64(len(seen))
		}
		most = max(most, n)
	}
	return most
}
