package cold

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tael/tael/schema"
)

// writeBufferSize is the buffer between the Parquet writer, which writes
// page by page in small pieces, and the temporary file.
const writeBufferSize = 1 << 20

// Write sorts recs (every batch of table, every row in the hour partition
// starting at hour) by the table's sort key and writes them as one new
// Parquet file in the partition: to a temporary file, fsync'd, renamed to
// <id>.parquet, and the directory fsync'd. The file is not live until a
// Commit adds it; on error nothing is left behind.
func (s *Store) Write(ctx context.Context, table schema.ID, hour int64, recs []arrow.RecordBatch) (File, error) {
	if s.closed.Load() {
		return File{}, ErrClosed
	}
	t, err := coldTable(table)
	if err != nil {
		return File{}, err
	}
	if hour%hourNs != 0 {
		return File{}, fmt.Errorf("%w: hour %d is not the start of an hour", ErrInvalid, hour)
	}
	rec, err := concat(s.mem, t, recs)
	if err != nil {
		return File{}, err
	}
	defer rec.Release()
	n := int(rec.NumRows())
	if n == 0 {
		return File{}, fmt.Errorf("%w: no rows to write to table %s", ErrInvalid, t.Name)
	}
	minT, maxT, err := timeBounds(t, rec)
	if err != nil {
		return File{}, err
	}
	if minT < hour || maxT >= hour+hourNs {
		return File{}, fmt.Errorf("%w: table %s: rows from %d to %d do not all lie in the hour partition starting at %d", ErrInvalid, t.Name, minT, maxT, hour)
	}
	order := sortOrder(t, s.opts.spansByService)
	perm := sortRows(rec, order)
	lay := s.layout(t)
	groups := splitRows(n, lay.rowGroupRows)

	id, err := newID(s.clock())
	if err != nil {
		return File{}, err
	}
	dir := partitionDir(t, hour)
	rel := path.Join(dir, id+parquetSuffix)
	f := File{Table: table, Path: rel, Hour: hour, MinTime: minT, MaxTime: maxT, Rows: int64(n)}

	s.dirs.RLock()
	defer s.dirs.RUnlock()
	if err := mkdirAll(s.dir, dir); err != nil {
		return File{}, fmt.Errorf("cold: write %s: create partition: %w", rel, err)
	}
	tmp := s.path(path.Join(dir, id+tmpSuffix))
	size, err := s.writeTmp(ctx, tmp, t, lay, rec, perm, groups, order)
	if err != nil {
		_ = os.Remove(tmp)
		return File{}, fmt.Errorf("cold: write %s: %w", rel, err)
	}
	if err := s.opts.FaultHook("rename"); err != nil {
		_ = os.Remove(tmp)
		return File{}, fmt.Errorf("cold: write %s: rename: %w", rel, err)
	}
	final := s.path(rel)
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Remove(tmp)
		return File{}, fmt.Errorf("cold: write %s: rename: %w", rel, err)
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		_ = os.Remove(final)
		return File{}, fmt.Errorf("cold: write %s: fsync directory: %w", rel, err)
	}
	f.Bytes = size
	return f, nil
}

// writeTmp writes rec's rows in perm order to the new file tmp, one row
// group per entry of groups, fsyncs it and returns its size.
func (s *Store) writeTmp(ctx context.Context, tmp string, t *schema.Table, lay layout, rec arrow.RecordBatch, perm []int32, groups [][2]int, order []string) (int64, error) {
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	defer out.Close() // after a successful Close below, a harmless error
	if err := s.opts.FaultHook("write"); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	bw := bufio.NewWriterSize(out, writeBufferSize)
	props := writerProps(t, lay, bloomNDV(t, rec, perm, groups, order), order)
	fw, err := pqarrow.NewFileWriter(fileSchema(t), bw, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(memory.NewGoAllocator())))
	if err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	frec := relabelRecord(rec, fileSchema(t)) // see zone.go
	defer frec.Release()
	if err := writeGroups(ctx, s.mem, fw, frec, perm, groups); err != nil {
		_ = fw.Close()
		return 0, err
	}
	if err := fw.Close(); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	if err := s.opts.FaultHook("fsync"); err != nil {
		return 0, fmt.Errorf("fsync: %w", err)
	}
	if err := out.Sync(); err != nil {
		return 0, fmt.Errorf("fsync: %w", err)
	}
	info, err := out.Stat()
	if err != nil {
		return 0, err
	}
	if err := out.Close(); err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// writeGroups writes the rows of rec in perm order, one row group per
// entry of groups. A goroutine gathers the rows of the next row group while
// the current one is encoded: with gather's direct copies instead of
// compute.Take, that took BenchmarkWriteSpans/otel from 128,000 to
// 165,000–194,000 rows/s on 2 cores. At most two gathered row groups are
// held at a time.
func writeGroups(ctx context.Context, mem memory.Allocator, fw *pqarrow.FileWriter, rec arrow.RecordBatch, perm []int32, groups [][2]int) error {
	type part struct {
		rec arrow.RecordBatch
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := make(chan part, 1)
	go func() {
		defer close(parts)
		for _, g := range groups {
			if err := ctx.Err(); err != nil {
				parts <- part{err: err}
				return
			}
			r, err := gatherRecord(ctx, mem, rec, perm[g[0]:g[1]])
			select {
			case parts <- part{rec: r, err: err}:
			case <-ctx.Done():
				if r != nil {
					r.Release()
				}
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var err error
	for p := range parts {
		if err == nil {
			err = p.err
		}
		if p.rec != nil {
			if err == nil {
				if werr := fw.Write(p.rec); werr != nil {
					err = fmt.Errorf("write: %w", werr)
				}
			}
			p.rec.Release()
		}
		if err != nil {
			cancel() // and drain, so that the goroutine ends
		}
	}
	if err == nil {
		// The gatherer stops without a word when ctx ends while it waits
		// to hand over a row group: never take that for the end of the
		// rows, or a file missing row groups would be committed.
		err = ctx.Err()
	}
	return err
}

// gatherRecord returns the rows idx of rec, in that order.
func gatherRecord(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, idx []int32) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range cols {
		c, err := gather(ctx, mem, rec.Column(i), idx)
		if err != nil {
			return nil, fmt.Errorf("sort column %s: %w", rec.Schema().Field(i).Name, err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(len(idx))), nil
}

// splitRows cuts n rows into row groups of at most size rows, of nearly
// equal sizes (so that no file ends with a tiny row group).
func splitRows(n, size int) [][2]int {
	k := (n + size - 1) / size
	out := make([][2]int, k)
	for i := range k {
		out[i] = [2]int{i * n / k, (i + 1) * n / k}
	}
	return out
}

// concat checks recs against t and returns their rows as one batch.
func concat(mem memory.Allocator, t *schema.Table, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	var rows int64
	var parts []arrow.RecordBatch
	for i, r := range recs {
		if err := t.Validate(r); err != nil {
			return nil, fmt.Errorf("%w: batch %d: %w", ErrInvalid, i, err)
		}
		if r.NumRows() > 0 {
			parts = append(parts, r)
			rows += r.NumRows()
		}
	}
	if rows > 1<<31-1 {
		return nil, fmt.Errorf("%w: %d rows are too many for one file", ErrInvalid, rows)
	}
	switch len(parts) {
	case 0:
		cols := emptyColumns(mem, t.Schema)
		defer func() {
			for _, c := range cols {
				c.Release()
			}
		}()
		return array.NewRecordBatch(t.Schema, cols, 0), nil
	case 1:
		// Rebuild on the table's schema, so that field metadata and
		// nullability match what the writer expects.
		return array.NewRecordBatch(t.Schema, parts[0].Columns(), rows), nil
	}
	cols := make([]arrow.Array, t.Schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	arrs := make([]arrow.Array, len(parts))
	for i := range cols {
		for j, p := range parts {
			arrs[j] = p.Column(i)
		}
		c, err := array.Concatenate(arrs, mem)
		if err != nil {
			return nil, fmt.Errorf("cold: concatenate column %s: %w", t.Schema.Field(i).Name, err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(t.Schema, cols, rows), nil
}

// emptyColumns returns zero-length arrays of s's fields.
func emptyColumns(mem memory.Allocator, s *arrow.Schema) []arrow.Array {
	cols := make([]arrow.Array, s.NumFields())
	for i, f := range s.Fields() {
		cols[i] = array.MakeArrayOfNull(mem, f.Type, 0)
	}
	return cols
}

// timeBounds returns the smallest and largest value of t's time column in
// rec, which has rows.
func timeBounds(t *schema.Table, rec arrow.RecordBatch) (int64, int64, error) {
	ts := rec.Column(t.TimeIndex).(*array.Timestamp).TimestampValues()
	lo, hi := int64(ts[0]), int64(ts[0])
	for _, v := range ts[1:] {
		lo = min(lo, int64(v))
		hi = max(hi, int64(v))
	}
	return lo, hi, nil
}

// layout is how one table's files are cut and compressed.
type layout struct {
	rowGroupRows int
	pageBytes    int64 // data page size limit, uncompressed bytes
	zstdLevel    int
}

// tableLayouts are the measured defaults (see doc.go for the numbers):
//   - spans: 4,096-row row groups and 64 KiB pages, because a Trace lookup
//     decodes the pages of the trace's rows in flat columns and the nested
//     columns of its row group up to them, so its cost grows with both;
//     zstd level 1 (klauspost's SpeedFastest), because writing spans is the
//     busiest path and level 3 saved only 3% of the bytes.
//   - metrics and metrics_5m: 65,536-row row groups, 1 MiB pages and zstd
//     level 3: series-sorted samples compress 10% better at level 3, and
//     nothing looks them up by row.
//   - logs and trace_comments: 65,536-row row groups, 1 MiB pages, level 1.
var tableLayouts = map[schema.ID]layout{
	schema.Spans:         {rowGroupRows: 4096, pageBytes: 64 << 10, zstdLevel: 1},
	schema.Logs:          {rowGroupRows: 65536, pageBytes: 1 << 20, zstdLevel: 1},
	schema.Metrics:       {rowGroupRows: 65536, pageBytes: 1 << 20, zstdLevel: 3},
	schema.Metrics5m:     {rowGroupRows: 65536, pageBytes: 1 << 20, zstdLevel: 3},
	schema.TraceComments: {rowGroupRows: 65536, pageBytes: 1 << 20, zstdLevel: 1},
}

// layout returns t's layout with the options' overrides applied.
func (s *Store) layout(t *schema.Table) layout {
	l, ok := tableLayouts[t.ID]
	if !ok {
		l = layout{rowGroupRows: 65536, pageBytes: 1 << 20, zstdLevel: 1}
	}
	if s.opts.RowGroupRows > 0 {
		l.rowGroupRows = s.opts.RowGroupRows
	}
	if s.opts.pageBytes > 0 {
		l.pageBytes = s.opts.pageBytes
	}
	return l
}

// deltaTimestamps encodes timestamps with DELTA_BINARY_PACKED.
const deltaTimestamps = true

// noDict are the columns written without dictionary encoding: identifiers,
// hashes, free text and measurements, whose values rarely repeat within a
// row group, so a dictionary only costs time before the writer falls back
// to PLAIN. Their strings are written DELTA_LENGTH_BYTE_ARRAY (lengths
// delta-packed, then the bytes back to back), which zstd packs tighter than
// PLAIN's 4-byte length before each value: span_id and parent_span_id took
// 1.7 bytes per span less (OTel-like spans, 12.8 against 14.5). Every other string column (services, operations, kinds, names,
// severities, units, attribute keys and values, llm_*) is dictionary
// encoded: repeated values then cost a few bits each.
var noDict = map[schema.ID][]string{
	schema.Spans: {"span_id", "parent_span_id", "start_time", "end_time", "duration_ms",
		"events.list.element.time", "links.list.element.trace_id", "links.list.element.span_id",
		"prompt_sha256", "completion_sha256"},
	schema.Logs:          {"timestamp", "observed_timestamp", "span_id", "body", "body_sha256"},
	schema.Metrics:       {"timestamp", "value"},
	schema.Metrics5m:     {"bucket_start", "min", "max", "sum", "last", "counter_increase"},
	schema.TraceComments: {"id", "span_id", "body", "created_at"},
}

// noStats returns the leaves of t written without statistics (and so
// without a page index): the entries of maps and lists, which no reader
// prunes by, and random identifiers, whose ranges span everything.
// Computing byte-array statistics was 6% of a spans Write.
func noStats(t *schema.Table) []string {
	var out []string
	var walk func(prefix string, dt arrow.DataType, nested bool)
	walk = func(prefix string, dt arrow.DataType, nested bool) {
		switch dt := dt.(type) {
		case *arrow.MapType:
			walk(prefix+".key_value.key", dt.KeyType(), true)
			walk(prefix+".key_value.value", dt.ItemType(), true)
		case *arrow.ListType:
			walk(prefix+".list.element", dt.Elem(), true)
		case *arrow.StructType:
			for _, f := range dt.Fields() {
				walk(prefix+"."+f.Name, f.Type, nested)
			}
		default:
			if nested {
				out = append(out, prefix)
			}
		}
	}
	for _, f := range t.Schema.Fields() {
		walk(f.Name, f.Type, false)
	}
	if t.ID == schema.Spans {
		out = append(out, "span_id", "parent_span_id")
	}
	return out
}

// splitFloats are the float columns (dictionary off) written with
// BYTE_STREAM_SPLIT: for span durations, whose exponent and high mantissa
// bytes repeat, zstd then saves 0.6 bytes per span (OTel-like spans, 7.4
// against 8.0 bytes); for metric values it lost (1.50 against 1.42 bytes per
// sample), so they stay PLAIN.
var splitFloats = map[schema.ID][]string{
	schema.Spans: {"duration_ms"},
}

// leafType returns the type ID of the leaf at the dotted Parquet path p of s
// (list elements as "list.element", map entries as "key_value.key/value").
func leafType(s *arrow.Schema, p string) arrow.Type {
	parts := strings.Split(p, ".")
	idx := s.FieldIndices(parts[0])
	if len(idx) != 1 {
		panic("BUG: no column " + p)
	}
	dt := s.Field(idx[0]).Type
	for _, part := range parts[1:] {
		switch t := dt.(type) {
		case *arrow.ListType:
			if part == "list" {
				continue
			}
			dt = t.Elem()
		case *arrow.MapType:
			switch part {
			case "key_value":
				continue
			case "key":
				dt = t.KeyType()
			default:
				dt = t.ItemType()
			}
		case *arrow.StructType:
			f, ok := t.FieldByName(part)
			if !ok {
				panic("BUG: no column " + p)
			}
			dt = f.Type
		}
	}
	return dt.ID()
}

// writerProps returns the Parquet writer properties for a file of t.
func writerProps(t *schema.Table, lay layout, traceNDV int64, order []string) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithAllocator(memory.NewGoAllocator()),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(lay.zstdLevel),
		parquet.WithDictionaryDefault(true),
		parquet.WithStats(true),
		parquet.WithPageIndexEnabled(true),
		parquet.WithMaxRowGroupLength(int64(lay.rowGroupRows)),
		parquet.WithDataPageSize(lay.pageBytes),
		parquet.WithCreatedBy("tael cold tier (" + parquet.DefaultCreatedBy + ")"),
	}
	for _, c := range noDict[t.ID] {
		opts = append(opts, parquet.WithDictionaryFor(c, false))
		if leafType(t.Schema, c) == arrow.STRING {
			opts = append(opts, parquet.WithEncodingFor(c, parquet.Encodings.DeltaLengthByteArray))
		}
	}
	for _, c := range noStats(t) {
		opts = append(opts, parquet.WithStatsFor(c, false))
	}
	for _, c := range splitFloats[t.ID] {
		opts = append(opts, parquet.WithEncodingFor(c, parquet.Encodings.ByteStreamSplit))
	}
	for _, c := range timeLeaves(t.Schema) {
		if !deltaTimestamps {
			break
		}
		// Delta encoding needs dictionary encoding off, which noDict does.
		opts = append(opts, parquet.WithEncodingFor(c, parquet.Encodings.DeltaBinaryPacked))
	}
	if t.ID == schema.Spans {
		opts = append(opts,
			parquet.WithBloomFilterEnabledFor("trace_id", true),
			parquet.WithBloomFilterNDVFor("trace_id", max(traceNDV, 1)),
			parquet.WithBloomFilterFPPFor("trace_id", bloomFPP))
	}
	var sorting []parquet.SortingColumn
	for _, c := range order {
		sorting = append(sorting, parquet.SortingColumn{ColumnIdx: int32(leafIndex(t.Schema, c))})
	}
	opts = append(opts, parquet.WithSortingColumns(sorting))
	return parquet.NewWriterProperties(opts...)
}

// bloomFPP is the false positive rate of the trace_id bloom filters: 1.2
// bytes per distinct trace id in a row group (0.15 byte per span at 8 spans
// per trace) make a Trace lookup read a row group that lacks the trace once
// in a hundred tries.
const bloomFPP = 0.01

// timeLeaves returns the dotted Parquet paths of the timestamp leaves of s
// that are not dictionary encoded.
func timeLeaves(s *arrow.Schema) []string {
	var out []string
	var walk func(prefix string, dt arrow.DataType)
	walk = func(prefix string, dt arrow.DataType) {
		switch dt := dt.(type) {
		case *arrow.TimestampType:
			out = append(out, prefix)
		case *arrow.ListType:
			walk(prefix+".list.element", dt.Elem())
		case *arrow.StructType:
			for _, f := range dt.Fields() {
				walk(prefix+"."+f.Name, f.Type)
			}
		}
	}
	for _, f := range s.Fields() {
		walk(f.Name, f.Type)
	}
	return out
}

// leafIndex returns the index of the Parquet leaf column of s's top-level
// primitive field name.
func leafIndex(s *arrow.Schema, name string) int {
	n := 0
	for _, f := range s.Fields() {
		if f.Name == name {
			return n
		}
		n += leafCount(f.Type)
	}
	panic("BUG: no column " + name)
}

// leafCount returns the number of Parquet leaf columns of an Arrow type.
func leafCount(dt arrow.DataType) int {
	switch dt := dt.(type) {
	case *arrow.MapType:
		return leafCount(dt.KeyType()) + leafCount(dt.ItemType())
	case *arrow.ListType:
		return leafCount(dt.Elem())
	case *arrow.StructType:
		n := 0
		for _, f := range dt.Fields() {
			n += leafCount(f.Type)
		}
		return n
	}
	return 1
}
