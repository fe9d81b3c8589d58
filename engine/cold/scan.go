package cold

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tael/tael/schema"
)

// ErrColumn is returned by Scan for a column its table does not have.
var ErrColumn = schema.ErrUnknownColumn

// Scan returns the rows of table whose time lies in tr, from m's files (nil
// means the current manifest), with the named columns in that order (nil
// means all), as a reader of the table's Arrow schema projected to them.
// Files are read in (Hour, Path) order; within a file rows come in the
// file's sort order (see doc.go), not in time order. Files and row groups
// whose time statistics miss tr are skipped, and the reader decodes one row
// group at a time. Its Err reports ctx's error if ctx ends first. The caller
// releases it.
func (s *Store) Scan(ctx context.Context, m *Manifest, table schema.ID, tr schema.TimeRange, columns []string) (array.RecordReader, error) {
	if m == nil {
		m = s.Manifest()
	}
	return s.scan(ctx, table, m.TableFiles(table, tr), tr, columns, nil)
}

// ScanNames is Scan of the metrics table that may skip the row groups
// holding none of the metric names (sorted, distinct): their rows are not
// returned. Other rows may be, so the caller still filters. Files are
// sorted by name first (doc.go), so a query of one metric reads about its
// share of each file.
func (s *Store) ScanNames(ctx context.Context, m *Manifest, tr schema.TimeRange, columns []string, names []string) (array.RecordReader, error) {
	if m == nil {
		m = s.Manifest()
	}
	return s.scan(ctx, schema.Metrics, m.TableFiles(schema.Metrics, tr), tr, columns, names)
}

// ScanFiles is Scan over the given files of table (from a manifest the
// caller holds a read on), which must all be of that table.
func (s *Store) ScanFiles(ctx context.Context, table schema.ID, files []File, tr schema.TimeRange, columns []string) (array.RecordReader, error) {
	for _, f := range files {
		if f.Table != table {
			return nil, fmt.Errorf("cold: scan of %s given a file of another table: %s", table, f.Path)
		}
	}
	return s.scan(ctx, table, files, tr, columns, nil)
}

// scan returns a reader of the rows of files in tr, skipping the row groups
// of metric names other than names when names is not nil.
func (s *Store) scan(ctx context.Context, table schema.ID, files []File, tr schema.TimeRange, columns, names []string) (array.RecordReader, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	t, err := coldTable(table)
	if err != nil {
		return nil, err
	}
	fields, sch, err := t.Project(columns)
	if err != nil {
		return nil, err
	}
	r := &scanReader{ctx: ctx, s: s, t: t, tr: tr, fields: fields, schema: sch, files: files, names: names}
	r.refs.Store(1)
	return r, nil
}

// scanReader is the array.RecordReader Scan returns. It is used by one
// goroutine at a time, as array.RecordReader requires.
type scanReader struct {
	refs   atomic.Int64
	ctx    context.Context
	s      *Store
	t      *schema.Table
	tr     schema.TimeRange
	fields []int
	schema *arrow.Schema
	files  []File
	// names, if set, are the only metric names wanted (sorted): row groups
	// whose name statistics hold none are skipped.
	names []string

	next int // index in files of the next file to open
	// The open file, and the indexes of its row groups still to read.
	r   *file.Reader
	ft  *footer
	fr  *pqarrow.FileReader
	rgs []int

	cur arrow.RecordBatch
	err error
}

func (r *scanReader) Retain() { r.refs.Add(1) }

func (r *scanReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.releaseCur()
		r.closeFile()
	}
}

func (r *scanReader) Schema() *arrow.Schema { return r.schema }

func (r *scanReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record returns the current batch.
//
// Deprecated: use RecordBatch.
func (r *scanReader) Record() arrow.RecordBatch { return r.cur }

func (r *scanReader) Err() error { return r.err }

func (r *scanReader) releaseCur() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *scanReader) closeFile() {
	if r.r != nil {
		_ = r.r.Close()
		r.r, r.ft, r.fr, r.rgs = nil, nil, nil, nil
	}
}

func (r *scanReader) Next() bool {
	r.releaseCur()
	if r.err != nil {
		return false
	}
	for {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			r.closeFile()
			return false
		}
		if len(r.rgs) == 0 {
			r.closeFile()
			if r.next >= len(r.files) {
				return false
			}
			if err := r.open(r.files[r.next]); err != nil {
				r.err = err
				return false
			}
			r.next++
			continue
		}
		rg := r.rgs[0]
		r.rgs = r.rgs[1:]
		rec, err := readRowGroup(r.ctx, r.s.mem, r.fr, r.ft, r.t, rg, r.fields, r.schema, r.tr)
		if err != nil {
			r.err = fmt.Errorf("cold: scan %s row group %d: %w", r.files[r.next-1].Path, rg, err)
			r.closeFile()
			return false
		}
		if rec != nil {
			r.cur = rec
			return true
		}
	}
}

// open opens f and selects its row groups that may hold rows in range.
func (r *scanReader) open(f File) error {
	pr, ft, err := r.s.openFile(f)
	if err != nil {
		return err
	}
	// Decoding columns in parallel pays only for large row groups: for a
	// small file (an hour of a few series' rollups) the goroutines cost
	// more than the decoding.
	parallel := scanParallel && ft.meta.NumRows >= parallelRows*int64(ft.meta.NumRowGroups())
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{Parallel: parallel}, decodeMem)
	if err != nil {
		_ = pr.Close()
		return fmt.Errorf("cold: open %s: %w", f.Path, err)
	}
	r.r, r.ft, r.fr = pr, ft, fr
	tleaf := ft.leaves[r.t.TimeIndex][0]
	nleaf := -1
	if r.names != nil {
		nleaf = ft.leaves[metricsName][0]
	}
	for i := range ft.meta.NumRowGroups() {
		rg := ft.meta.RowGroup(i)
		lo, hi, ok := int64Bounds(rg, tleaf)
		if ok && (lo >= r.tr.Max || hi < r.tr.Min) {
			continue
		}
		if nleaf >= 0 && !anyNameIn(rg, nleaf, r.names) {
			continue
		}
		r.rgs = append(r.rgs, i)
	}
	return nil
}

// metricsName is the index of the metrics table's name column.
var metricsName = func() int {
	t, _ := schema.ByID(schema.Metrics)
	return t.Schema.FieldIndices("name")[0]
}()

// anyNameIn reports whether a name of names (sorted) may lie in row group
// rg, by the min and max statistics of its string leaf col: true when it
// has none.
func anyNameIn(rg *metadata.RowGroupMetaData, col int, names []string) bool {
	cc, err := rg.ColumnChunk(col)
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
	lo, hi := string(bs.Min()), string(bs.Max())
	// The first name ≥ lo must also be ≤ hi.
	i, _ := slices.BinarySearch(names, lo)
	return i < len(names) && names[i] <= hi
}

// decodeMem allocates the arrays the Parquet reader decodes. It is the Go
// heap, not Options.Allocator: arrow-go v18.8.0's DELTA_BINARY_PACKED
// decoder never frees a small buffer it allocates per column chunk
// (deltaBitPackDecoder.deltaBitWidths), which the garbage collector
// reclaims but a checked or C allocator would report or keep as a leak.
// What the store builds from decoded arrays (filtered rows, Trace results)
// comes from Options.Allocator.
var decodeMem memory.Allocator = memory.NewGoAllocator()

// scanParallel makes a scan decode the columns of a row group in parallel,
// one goroutine per column (pqarrow's Parallel), so that a scan of many
// columns uses both cores.
const scanParallel = true

// parallelRows is the average row group size from which a scan decodes a
// file's columns in parallel.
const parallelRows = 16384

// int64Bounds returns the min and max statistics of leaf column col (an
// int64 or timestamp column) in row group rg, and whether it has them.
func int64Bounds(rg *metadata.RowGroupMetaData, col int) (int64, int64, bool) {
	cc, err := rg.ColumnChunk(col)
	if err != nil {
		return 0, 0, false
	}
	st, err := cc.Statistics()
	if err != nil || st == nil || !st.HasMinMax() {
		return 0, 0, false
	}
	is, ok := st.(*metadata.Int64Statistics)
	if !ok {
		return 0, 0, false
	}
	return is.Min(), is.Max(), true
}

// readRowGroup reads the table fields of row group rg of fr and returns the
// rows whose time lies in tr as a batch of schema sch, or nil if none does.
func readRowGroup(ctx context.Context, mem memory.Allocator, fr *pqarrow.FileReader, ft *footer, t *schema.Table, rg int, fields []int, sch *arrow.Schema, tr schema.TimeRange) (arrow.RecordBatch, error) {
	// Read each needed field once, the time column too.
	need := make([]int, 0, len(fields)+1)
	pos := make(map[int]int, len(fields)+1)
	add := func(f int) {
		if _, ok := pos[f]; !ok {
			pos[f] = len(need)
			need = append(need, f)
		}
	}
	for _, f := range fields {
		add(f)
	}
	add(t.TimeIndex)
	var leaves []int
	for _, f := range need {
		leaves = append(leaves, ft.leaves[f]...)
	}
	tbl, err := fr.ReadRowGroups(ctx, leaves, []int{rg})
	if err != nil {
		return nil, err
	}
	defer tbl.Release()
	if int(tbl.NumCols()) != len(need) {
		return nil, fmt.Errorf("read %d columns, want %d", tbl.NumCols(), len(need))
	}
	cols := make([]arrow.Array, len(need))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range need {
		c, err := single(mem, tbl.Column(i).Data())
		if err != nil {
			return nil, err
		}
		cols[i] = relabel(c, t.Schema.Field(need[i]).Type) // see zone.go
		c.Release()
	}
	n := int(tbl.NumRows())
	out := make([]arrow.Array, len(fields))
	for i, f := range fields {
		out[i] = cols[pos[f]]
	}
	rec := array.NewRecordBatch(sch, out, int64(n))
	lo, hi, ok := int64Bounds(ft.meta.RowGroup(rg), ft.leaves[t.TimeIndex][0])
	if ok && lo >= tr.Min && hi < tr.Max {
		return rec, nil // every row is in range
	}
	defer rec.Release()
	times := cols[pos[t.TimeIndex]].(*array.Timestamp).TimestampValues()
	return filterTime(ctx, mem, rec, times, tr)
}

// filterTime returns the rows of rec whose time (times, one per row) lies in
// tr, nil if none does. The result is a new reference.
func filterTime(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, times []arrow.Timestamp, tr schema.TimeRange) (arrow.RecordBatch, error) {
	keep := 0
	for _, v := range times {
		if tr.Contains(int64(v)) {
			keep++
		}
	}
	switch keep {
	case 0:
		return nil, nil
	case len(times):
		rec.Retain()
		return rec, nil
	}
	b := array.NewBooleanBuilder(mem)
	defer b.Release()
	b.Reserve(len(times))
	for _, v := range times {
		b.UnsafeAppend(tr.Contains(int64(v)))
	}
	mask := b.NewBooleanArray()
	defer mask.Release()
	return compute.FilterRecordBatch(compute.WithAllocator(ctx, mem), rec, mask, compute.DefaultFilterOptions())
}

// single returns the chunks of c as one array.
func single(mem memory.Allocator, c *arrow.Chunked) (arrow.Array, error) {
	switch len(c.Chunks()) {
	case 0:
		return array.MakeArrayOfNull(mem, c.DataType(), 0), nil
	case 1:
		a := c.Chunk(0)
		a.Retain()
		return a, nil
	}
	return array.Concatenate(c.Chunks(), mem)
}
