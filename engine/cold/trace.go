package cold

import (
	"bytes"
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tael/tael/schema"
)

// traceLeaf is the Parquet leaf column of spans.trace_id.
const traceLeaf = 0

// Trace returns every span with trace id traceID in m's spans files (nil
// means the current manifest), all columns, as one batch (with no rows if
// there is none). A row group is read only if its trace_id statistics range
// holds the id and its bloom filter does not rule it out; of it, the
// trace_id column is decoded first, and the other columns only if a row
// matches. The caller releases the batch.
func (s *Store) Trace(ctx context.Context, m *Manifest, traceID string) (arrow.RecordBatch, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	t, err := coldTable(schema.Spans)
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = s.Manifest()
	}
	var parts []arrow.RecordBatch
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	for _, f := range m.Files {
		if f.Table != schema.Spans {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		got, err := s.traceInFile(ctx, t, f, traceID)
		if err != nil {
			return nil, fmt.Errorf("cold: trace %s: %w", traceID, err)
		}
		parts = append(parts, got...)
	}
	if len(parts) == 1 {
		parts[0].Retain()
		return parts[0], nil
	}
	rec, err := concat(s.mem, t, parts)
	if err != nil {
		return nil, fmt.Errorf("cold: trace %s: %w", traceID, err)
	}
	return rec, nil
}

// traceInFile returns the spans of traceID in f, one batch per row group
// that holds some.
func (s *Store) traceInFile(ctx context.Context, t *schema.Table, f File, traceID string) (out []arrow.RecordBatch, err error) {
	ft, err := s.footer(f)
	if err != nil {
		return nil, err
	}
	id := []byte(traceID)
	var cands []int
	for i := range ft.meta.NumRowGroups() {
		if mayHoldTrace(ft.meta.RowGroup(i), id) {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}
	pr, _, err := s.openFile(f)
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	blooms, err := ft.traceBlooms(pr)
	if err != nil {
		return nil, fmt.Errorf("%s: bloom filters: %w", f.Path, err)
	}
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, decodeMem)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	defer func() {
		if err != nil {
			for _, r := range out {
				r.Release()
			}
			out = nil
		}
	}()
	for _, rg := range cands {
		if bf := blooms[rg]; bf != nil && !bf.CheckHash(metadata.GetHash(bf.Hasher(), parquet.ByteArray(id))) {
			continue
		}
		rec, err := readTraceRows(ctx, s, fr, ft, t, rg, traceID)
		if err != nil {
			return nil, fmt.Errorf("%s row group %d: %w", f.Path, rg, err)
		}
		if rec != nil {
			out = append(out, rec)
		}
	}
	return out, nil
}

// mayHoldTrace reports whether rg's trace_id statistics admit id.
func mayHoldTrace(rg *metadata.RowGroupMetaData, id []byte) bool {
	cc, err := rg.ColumnChunk(traceLeaf)
	if err != nil {
		return true
	}
	st, err := cc.Statistics()
	if err != nil || st == nil || !st.HasMinMax() {
		return true
	}
	bs, ok := st.(*metadata.ByteArrayStatistics)
	if !ok {
		return true
	}
	return bytes.Compare(id, bs.Min()) >= 0 && bytes.Compare(id, bs.Max()) <= 0
}

// traceBlooms returns the trace_id bloom filter of each row group of the
// spans file pr reads (nil where it has none), reading them on first use.
func (ft *footer) traceBlooms(pr *file.Reader) ([]metadata.BloomFilter, error) {
	ft.blooms.once.Do(func() {
		bfr := pr.GetBloomFilterReader()
		bfs := make([]metadata.BloomFilter, ft.meta.NumRowGroups())
		for i := range bfs {
			rg, err := bfr.RowGroup(i)
			if err != nil {
				ft.blooms.err = err
				return
			}
			bf, err := rg.GetColumnBloomFilter(traceLeaf)
			if err != nil {
				ft.blooms.err = err
				return
			}
			bfs[i] = bf
		}
		ft.blooms.bf = bfs
	})
	return ft.blooms.bf, ft.blooms.err
}

// readTraceRows returns the rows of row group rg whose trace_id is traceID,
// or nil if there is none. It decodes the trace_id column first and the
// others only if a row matches.
func readTraceRows(ctx context.Context, s *Store, fr *pqarrow.FileReader, ft *footer, t *schema.Table, rg int, traceID string) (arrow.RecordBatch, error) {
	tbl, err := fr.ReadRowGroups(ctx, ft.leaves[0], []int{rg})
	if err != nil {
		return nil, err
	}
	ids, err := single(s.mem, tbl.Column(0).Data())
	tbl.Release()
	if err != nil {
		return nil, err
	}
	defer ids.Release()
	sa := ids.(*array.String)
	var match []int32
	for i := range sa.Len() {
		if sa.Value(i) == traceID {
			match = append(match, int32(i))
		}
	}
	if len(match) == 0 {
		return nil, nil
	}
	first, last := match[0], match[len(match)-1]
	if int(last-first) == len(match)-1 {
		// Contiguous, as in files sorted by trace_id: decode only those
		// rows, skipping to them with the offset index.
		return readRows(ctx, s, fr, t, rg, int64(first), int64(len(match)))
	}
	all := make([]int, t.Schema.NumFields())
	for i := range all {
		all[i] = i
	}
	rec, err := readRowGroup(ctx, s.mem, fr, ft, t, rg, all, t.Schema, schema.AllTime)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	return gatherRecord(ctx, s.mem, rec, match)
}

// readRows returns n rows of row group rg of fr's file from row first on,
// all columns, decoding only the pages that hold them (and skipping within
// the first).
func readRows(ctx context.Context, s *Store, fr *pqarrow.FileReader, t *schema.Table, rg int, first, n int64) (arrow.RecordBatch, error) {
	sub, err := pqarrow.NewFileReader(fr.ParquetReader(), pqarrow.ArrowReadProperties{BatchSize: n}, decodeMem)
	if err != nil {
		return nil, err
	}
	rr, err := sub.GetRecordReader(ctx, nil, []int{rg})
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	if err := rr.SeekToRow(first); err != nil {
		return nil, err
	}
	if !rr.Next() {
		if err := rr.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("no rows at %d", first)
	}
	rec := rr.RecordBatch()
	if rec.NumRows() < n {
		return nil, fmt.Errorf("read %d rows at %d, want %d", rec.NumRows(), first, n)
	}
	cols := make([]arrow.Array, rec.NumCols())
	for i := range cols {
		cols[i] = array.NewSlice(rec.Column(i), 0, n)
		defer cols[i].Release()
	}
	return array.NewRecordBatch(t.Schema, cols, n), nil
}
