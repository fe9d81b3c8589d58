package cold

import (
	"bytes"
	"context"
	"fmt"
	"sync"

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
// there is none). The caller releases it.
//
// A row group is read only if its trace_id statistics range holds the id
// and its bloom filter does not rule it out (both cached with the file's
// footer). Of such a row group, the trace_id column is decoded first; if the matching rows are contiguous (files sorted by
// trace_id), only they are decoded, with the offset index to skip to them,
// else the row group is decoded and the rows picked.
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
	rec, err := concat(s.mem, t, parts)
	if err != nil {
		return nil, fmt.Errorf("cold: trace %s: %w", traceID, err)
	}
	return rec, nil
}

// traceStats are the trace_id statistics of each row group of a spans file.
type traceStats struct {
	once     sync.Once
	min, max []string
	ok       []bool // whether row group i has them
}

// traceRanges returns ft's trace_id statistics, computing them once.
func (ft *footer) traceRanges() *traceStats {
	ts := &ft.traceStats
	ts.once.Do(func() {
		n := ft.meta.NumRowGroups()
		ts.min, ts.max, ts.ok = make([]string, n), make([]string, n), make([]bool, n)
		for i := range n {
			cc, err := ft.meta.RowGroup(i).ColumnChunk(traceLeaf)
			if err != nil {
				continue
			}
			st, err := cc.Statistics()
			if err != nil || st == nil || !st.HasMinMax() {
				continue
			}
			if bs, ok := st.(*metadata.ByteArrayStatistics); ok {
				ts.min[i], ts.max[i], ts.ok[i] = string(bs.Min()), string(bs.Max()), true
			}
		}
	})
	return ts
}

// traceInFile returns the spans of traceID in f, one batch per row group
// that holds some.
func (s *Store) traceInFile(ctx context.Context, t *schema.Table, f File, traceID string) (out []arrow.RecordBatch, err error) {
	ft, err := s.footer(f)
	if err != nil {
		return nil, err
	}
	ts := ft.traceRanges()
	var cands []int
	for i := range ts.ok {
		if !ts.ok[i] || (traceID >= ts.min[i] && traceID <= ts.max[i]) {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}
	var pr *file.Reader
	defer func() {
		if pr != nil {
			_ = pr.Close()
		}
	}()
	open := func() error {
		if pr != nil {
			return nil
		}
		r, _, oerr := s.openFile(f)
		pr = r
		return oerr
	}
	blooms, err := ft.traceBlooms(open, func() *file.Reader { return pr })
	if err != nil {
		return nil, fmt.Errorf("%s: bloom filters: %w", f.Path, err)
	}
	var hash uint64
	hashed := false
	keep := cands[:0]
	for _, rg := range cands {
		if bf := blooms[rg]; bf != nil {
			if !hashed {
				hash, hashed = metadata.GetHash(bf.Hasher(), parquet.ByteArray(traceID)), true
			}
			if !bf.CheckHash(hash) {
				continue
			}
		}
		keep = append(keep, rg)
	}
	if len(keep) == 0 {
		return nil, nil
	}
	if err := open(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			for _, r := range out {
				r.Release()
			}
			out = nil
		}
	}()
	tr := &traceReader{s: s, pr: pr, ft: ft, t: t, id: traceID}
	for _, rg := range keep {
		rec, err := tr.read(ctx, rg)
		if err != nil {
			return nil, fmt.Errorf("%s row group %d: %w", f.Path, rg, err)
		}
		if rec != nil {
			out = append(out, rec)
		}
	}
	return out, nil
}

// traceBlooms returns the trace_id bloom filter of each row group of the
// spans file (nil where it has none), reading them on first use with the
// reader that open makes and get returns.
func (ft *footer) traceBlooms(open func() error, get func() *file.Reader) ([]metadata.BloomFilter, error) {
	ft.blooms.once.Do(func() {
		if ft.blooms.err = open(); ft.blooms.err != nil {
			return
		}
		bfr := get().GetBloomFilterReader()
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

// traceReader reads the rows of one trace from the row groups of one file.
type traceReader struct {
	s  *Store
	pr *file.Reader
	ft *footer
	t  *schema.Table
	id string

	plain *pqarrow.FileReader // made on first use
}

// read returns the rows of row group rg whose trace_id is the reader's id,
// or nil if there is none.
func (tr *traceReader) read(ctx context.Context, rg int) (arrow.RecordBatch, error) {
	match, err := findTrace(tr.pr, rg, tr.id)
	if err != nil {
		return nil, err
	}
	if len(match) == 0 {
		return nil, nil
	}
	if tr.plain == nil {
		fr, err := pqarrow.NewFileReader(tr.pr, pqarrow.ArrowReadProperties{}, decodeMem)
		if err != nil {
			return nil, err
		}
		tr.plain = fr
	}
	first, last := match[0], match[len(match)-1]
	if int(last-first) == len(match)-1 {
		// Contiguous, as in files sorted by trace_id: decode only those
		// rows, skipping to them with the offset index.
		return readRows(ctx, tr.plain, tr.ft, tr.t, rg, int64(first), int64(len(match)))
	}
	all := make([]int, tr.t.Schema.NumFields())
	for i := range all {
		all[i] = i
	}
	rec, err := readRowGroup(ctx, tr.s.mem, tr.plain, tr.ft, tr.t, rg, all, tr.t.Schema, schema.AllTime)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	return gatherRecord(ctx, tr.s.mem, rec, match)
}

// findTrace returns the numbers of the rows of row group rg whose trace_id
// is id. It reads the column with the Parquet library's own reader, which
// hands out values that point into the decoded page instead of building an
// Arrow array: a third of the CPU of a lookup went to that before.
func findTrace(pr *file.Reader, rg int, id string) ([]int32, error) {
	cr, err := pr.RowGroup(rg).Column(traceLeaf)
	if err != nil {
		return nil, err
	}
	bcr, ok := cr.(*file.ByteArrayColumnChunkReader)
	if !ok {
		return nil, fmt.Errorf("trace_id is %s, not a byte array", cr.Type())
	}
	want := []byte(id)
	vals := make([]parquet.ByteArray, 4096)
	var match []int32
	row := int32(0)
	for bcr.HasNext() {
		n, _, err := bcr.ReadBatchInPage(int64(len(vals)), vals, nil, nil)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		for i, v := range vals[:n] {
			if bytes.Equal(v, want) {
				match = append(match, row+int32(i))
			}
		}
		row += int32(n)
	}
	return match, bcr.Err()
}

// readRows returns n rows of row group rg of fr's file from row first on,
// all columns. fr must read every column as t has it; ft is its footer.
//
// Flat columns are read from row first on: the reader skips to it with the
// offset index and decodes only the pages that hold the rows. Nested
// columns (maps, lists) are decoded from the start of the row group up to
// the last row wanted: arrow-go v18.8.0 cannot skip to a row inside a page
// of a repeated column (columnChunkReader.skipRows decodes the repetition
// levels of the rest of the page and then consumes only those before the
// row, so the next read is misaligned: TestTraceOTel caught map entries of
// other rows).
func readRows(ctx context.Context, fr *pqarrow.FileReader, ft *footer, t *schema.Table, rg int, first, n int64) (arrow.RecordBatch, error) {
	var flat, nested []int // field indexes
	for i, f := range t.Schema.Fields() {
		if leafCount(f.Type) == 1 && !isNested(f.Type) {
			flat = append(flat, i)
		} else {
			nested = append(nested, i)
		}
	}
	cols := make([]arrow.Array, t.Schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	read := func(fields []int, seek bool) error {
		var leaves []int
		for _, f := range fields {
			leaves = append(leaves, ft.leaves[f]...)
		}
		skip := int64(0)
		if seek {
			fr.Props.BatchSize = n
		} else {
			fr.Props.BatchSize = first + n
			skip = first
		}
		rr, err := fr.GetRecordReader(ctx, leaves, []int{rg})
		if err != nil {
			return err
		}
		defer rr.Release()
		if seek {
			if err := rr.SeekToRow(first); err != nil {
				return err
			}
		}
		if !rr.Next() {
			if err := rr.Err(); err != nil {
				return err
			}
			return fmt.Errorf("no rows at %d", first)
		}
		rec := rr.RecordBatch()
		if rec.NumRows() < skip+n || int(rec.NumCols()) != len(fields) {
			return fmt.Errorf("read %d rows and %d columns, want %d and %d", rec.NumRows(), rec.NumCols(), skip+n, len(fields))
		}
		for i, f := range fields {
			c := array.NewSlice(rec.Column(i), skip, skip+n)
			cols[f] = relabel(c, t.Schema.Field(f).Type) // see zone.go
			c.Release()
		}
		return nil
	}
	if err := read(flat, true); err != nil {
		return nil, err
	}
	if err := read(nested, false); err != nil {
		return nil, err
	}
	return array.NewRecordBatch(t.Schema, cols, n), nil
}

// isNested reports whether dt has repeated or struct children.
func isNested(dt arrow.DataType) bool {
	switch dt.(type) {
	case *arrow.MapType, *arrow.ListType, *arrow.StructType:
		return true
	}
	return false
}
