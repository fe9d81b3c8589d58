package cold

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/tael/tael/schema"
)

// TestColumnSizes prints how many bytes per row each Parquet column of a
// freshly written file takes, with its encodings: the report the encoding
// choices in write.go were made from. It runs only when TAEL_COLUMN_SIZES
// names a data set (otel, synth or metrics), e.g.
//
//	TAEL_COLUMN_SIZES=otel go test -tags duckdb_arrow -run TestColumnSizes -v ./engine/cold/
//
// TAEL_ROW_GROUP_ROWS and TAEL_PAGE_BYTES override the table's layout.
func TestColumnSizes(t *testing.T) {
	set := os.Getenv("TAEL_COLUMN_SIZES")
	if set == "" {
		t.Skip("set TAEL_COLUMN_SIZES to otel, synth or metrics")
	}
	var rec arrow.RecordBatch
	table := schema.Spans
	var opts Options
	switch set {
	case "metrics":
		rec = realisticMetrics(memory.DefaultAllocator, 2000, 1)
		table = schema.Metrics
	case "otel":
		rec = newOTelGen(1).spans(memory.DefaultAllocator, benchWriteRows, t0, time.Hour)
	case "synth":
		rec = spanSources[0].make(memory.DefaultAllocator, benchWriteRows, t0, 1)
	default:
		t.Fatalf("unknown data set %q", set)
	}
	defer rec.Release()
	fmt.Sscan(os.Getenv("TAEL_ROW_GROUP_ROWS"), &opts.RowGroupRows)
	fmt.Sscan(os.Getenv("TAEL_PAGE_BYTES"), &opts.pageBytes)
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := s.Write(context.Background(), table, t0.UnixNano(), []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	r, err := file.OpenParquetFile(s.path(f.Path), false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	md := r.MetaData()
	sizes := map[string]int64{}
	encs := map[string]string{}
	for g := range md.NumRowGroups() {
		rg := md.RowGroup(g)
		for c := range rg.NumColumns() {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			p := cc.PathInSchema().String()
			sizes[p] += cc.TotalCompressedSize()
			encs[p] = fmt.Sprint(cc.Encodings())
		}
	}
	var cols []string
	for k := range sizes {
		cols = append(cols, k)
	}
	slices.SortFunc(cols, func(a, b string) int { return int(sizes[b] - sizes[a]) })
	n := float64(rec.NumRows())
	for _, c := range cols {
		t.Logf("%-50s %8.3f B/row %s", c, float64(sizes[c])/n, encs[c])
	}
	t.Logf("footer %.3f B/row; file %.3f B/row in %d row groups", float64(md.Size())/n, float64(f.Bytes)/n, md.NumRowGroups())
}
