package cold

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/tael/tael/schema"
)

func TestColSizes(t *testing.T) {
	if os.Getenv("COLSIZE") == "" {
		t.Skip()
	}
	var rec arrow.RecordBatch
	table := schema.Spans
	opts := Options{}
	switch os.Getenv("COLSIZE") {
	case "metrics":
		rec = realisticMetrics(memory.DefaultAllocator, 2000, 1)
		table = schema.Metrics
	case "otel-service":
		opts.spansByService = true
		fallthrough
	case "otel":
		rec = newOTelGen(1).spans(memory.DefaultAllocator, 200000, t0, 3600e9)
	case "synth":
		rec = spanSources[0].make(memory.DefaultAllocator, 200000, t0, 1)
	}
	if v := os.Getenv("PAGE"); v != "" {
		fmt.Sscan(v, &opts.pageBytes)
	}
	if v := os.Getenv("RG"); v != "" {
		fmt.Sscan(v, &opts.RowGroupRows)
	}
	switch os.Getenv("EXP") {
	case "bss":
		extraProps = func(*schema.Table) []parquet.WriterProperty {
			return []parquet.WriterProperty{parquet.WithEncodingFor("value", parquet.Encodings.ByteStreamSplit), parquet.WithEncodingFor("duration_ms", parquet.Encodings.ByteStreamSplit)}
		}
	case "dict":
		extraProps = func(*schema.Table) []parquet.WriterProperty {
			return []parquet.WriterProperty{parquet.WithDictionaryFor("value", true), parquet.WithDictionaryFor("duration_ms", true)}
		}
	case "dlba":
		extraProps = func(*schema.Table) []parquet.WriterProperty {
			return []parquet.WriterProperty{parquet.WithEncodingFor("span_id", parquet.Encodings.DeltaLengthByteArray), parquet.WithEncodingFor("parent_span_id", parquet.Encodings.DeltaLengthByteArray)}
		}
	case "tsbss":
		extraProps = func(*schema.Table) []parquet.WriterProperty {
			return []parquet.WriterProperty{parquet.WithEncodingFor("timestamp", parquet.Encodings.ByteStreamSplit), parquet.WithEncodingFor("start_time", parquet.Encodings.ByteStreamSplit)}
		}
	case "dba":
		extraProps = func(*schema.Table) []parquet.WriterProperty {
			return []parquet.WriterProperty{parquet.WithEncodingFor("span_id", parquet.Encodings.DeltaByteArray), parquet.WithEncodingFor("parent_span_id", parquet.Encodings.DeltaByteArray)}
		}
	case "nodictmaps":
		extraProps = func(*schema.Table) []parquet.WriterProperty {
			var o []parquet.WriterProperty
			for _, c := range []string{"attributes", "resource", "labels"} {
				o = append(o, parquet.WithDictionaryFor(c+".key_value.key", false), parquet.WithDictionaryFor(c+".key_value.value", false))
			}
			return o
		}
	case "nodictall":
		extraProps = func(*schema.Table) []parquet.WriterProperty {
			return []parquet.WriterProperty{parquet.WithDictionaryDefault(false)}
		}
	case "page8k", "page16k", "page32k", "page64k", "page128k":
		var kb int64
		fmt.Sscanf(os.Getenv("EXP"), "page%dk", &kb)
		extraProps = func(*schema.Table) []parquet.WriterProperty {
			return []parquet.WriterProperty{parquet.WithDataPageSize(kb << 10)}
		}
	case "zstd3":
		zstdLevel = 3
	case "zstd9":
		zstdLevel = 9
	}
	defer func() { extraProps = nil; zstdLevel = 1 }()
	s, _ := Open(t.TempDir(), opts)
	var f File
	var err error
	start := time.Now()
	for range 3 {
		f, err = s.Write(context.Background(), table, t0.UnixNano(), []arrow.RecordBatch{rec})
		if err != nil {
			t.Fatal(err)
		}
	}
	fmt.Printf("write %.0f rows/s\n", 3*float64(rec.NumRows())/time.Since(start).Seconds())
	r, _ := file.OpenParquetFile(s.path(f.Path), false)
	md := r.MetaData()
	sizes := map[string]int64{}
	encs := map[string]string{}
	for g := range md.NumRowGroups() {
		rg := md.RowGroup(g)
		for c := range rg.NumColumns() {
			cc, _ := rg.ColumnChunk(c)
			p := cc.PathInSchema().String()
			sizes[p] += cc.TotalCompressedSize()
			encs[p] = fmt.Sprint(cc.Encodings())
		}
	}
	var keys []string
	for k := range sizes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return sizes[keys[i]] > sizes[keys[j]] })
	n := float64(rec.NumRows())
	for _, k := range keys {
		fmt.Printf("%-50s %8.3f B/row %v\n", k, float64(sizes[k])/n, encs[k])
	}
	fmt.Printf("file %.3f B/row, row groups %d\n", float64(f.Bytes)/n, md.NumRowGroups())
}
