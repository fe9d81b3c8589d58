package engine

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// spanBatches makes n distinct 1,000-span batches, 1 s apart.
func spanBatches(n int) []arrow.RecordBatch {
	out := make([]arrow.RecordBatch, n)
	for i := range out {
		out[i] = synth.Spans(memory.DefaultAllocator, synth.SpanOptions{
			Rows: 1000, Start: t0.Add(time.Duration(i) * time.Second), Step: time.Millisecond, LLMEvery: 10, Seed: uint64(i),
		})
	}
	return out
}

func ipcSize(rec arrow.RecordBatch) int {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
	_ = w.Write(rec)
	_ = w.Close()
	return buf.Len()
}

// diskWrites returns the bytes this process has caused to be written to
// storage (/proc/self/io write_bytes), or -1 where that is not available.
func diskWrites() int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// diskUsage returns the bytes allocated on disk under dir (like du: Badger
// preallocates sparse files, so their apparent size overstates).
func diskUsage(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		}
		return nil
	})
	return n
}

// BenchmarkAppendSpans measures durable appends (WAL fsync'd, hot tier
// applied) of 1,000-span batches from 1 and 8 concurrent appenders. It also
// reports bytes written to disk per byte appended (uncompressed Arrow IPC).
func BenchmarkAppendSpans(b *testing.B) {
	batches := spanBatches(64)
	defer func() {
		for _, r := range batches {
			r.Release()
		}
	}()
	logical := 0
	for _, r := range batches {
		logical += ipcSize(r)
	}
	perBatch := float64(logical) / float64(len(batches))
	for _, appenders := range []int{1, 8} {
		b.Run("appenders="+strconv.Itoa(appenders), func(b *testing.B) {
			dir := b.TempDir()
			e, err := Open(context.Background(), dir, Options{})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var next atomic.Int64
			w0 := diskWrites()
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for range appenders {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						i := next.Load()
						if _, err := e.Append(ctx, schema.Spans, batches[int(i)%len(batches)]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if err := e.checkpoint(); err != nil {
				b.Fatal(err)
			}
			w1 := diskWrites()
			rows := float64(b.N) * 1000
			b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
			if w0 >= 0 && w1 >= 0 {
				b.ReportMetric(float64(w1-w0)/(float64(b.N)*perBatch), "disk-B/B")
			}
			if err := e.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(diskUsage(dir))/rows, "stored-B/row")
		})
	}
}

// loadSpans fills a fresh engine with n spans (n/1000 batches).
func loadSpans(b *testing.B, n int) *Engine {
	b.Helper()
	var log *slog.Logger
	if os.Getenv("TAEL_BENCH_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e, err := Open(context.Background(), b.TempDir(), Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 4 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n/1000 {
					return
				}
				rec := synth.Spans(memory.DefaultAllocator, synth.SpanOptions{
					Rows: 1000, Start: t0.Add(time.Duration(i) * time.Second), Step: time.Millisecond, LLMEvery: 10, Seed: uint64(i),
				})
				if _, err := e.Append(context.Background(), schema.Spans, rec); err != nil {
					b.Error(err)
				}
				rec.Release()
			}
		})
	}
	wg.Wait()
	return e
}

// BenchmarkScanSpans measures a full scan of 1,000,000 hot spans, every column.
func BenchmarkScanSpans(b *testing.B) {
	const n = 1_000_000
	e := loadSpans(b, n)
	defer e.Close()
	ctx := context.Background()
	b.ReportAllocs()
	var rows int64
	for b.Loop() {
		rr, err := e.Scan(ctx, schema.Spans, schema.AllTime, nil)
		if err != nil {
			b.Fatal(err)
		}
		for rr.Next() {
			rows += rr.RecordBatch().NumRows()
		}
		if err := rr.Err(); err != nil {
			b.Fatal(err)
		}
		rr.Release()
	}
	if rows != int64(b.N)*n {
		b.Fatalf("scanned %d rows, want %d", rows, int64(b.N)*n)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkTraceLookup looks up random traces among 1,000,000 hot spans and
// reports the p50 and p99 latency.
func BenchmarkTraceLookup(b *testing.B) {
	const n = 1_000_000
	e := loadSpans(b, n)
	defer e.Close()
	lookupTraces(b, e, n)
}

// benchSpans is the number of spans the cold-tier benchmarks load:
// TAEL_BENCH_SPANS, or 1,000,000.
func benchSpans() int {
	if v, err := strconv.Atoi(os.Getenv("TAEL_BENCH_SPANS")); err == nil && v >= 1000 {
		return v
	}
	return 1_000_000
}

// BenchmarkCompactSpans measures moving hot spans to Parquet (sort, encode,
// write, commit, delete the hot values): rows/s and bytes on disk per span.
func BenchmarkCompactSpans(b *testing.B) {
	n := benchSpans()
	var rows, written int64
	var took time.Duration
	for b.Loop() {
		b.StopTimer()
		e := loadSpans(b, n)
		b.StartTimer()
		st, err := e.Compact(context.Background(), CompactOptions{All: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rows, written, took = rows+st.Rows, written+st.Bytes, took+st.Took
		if err := e.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
	b.ReportMetric(float64(written)/float64(rows), "cold-B/span")
}

// BenchmarkColdTraceLookup looks up random traces among benchSpans() spans
// all in Parquet files and reports the p50 and p99 latency.
func BenchmarkColdTraceLookup(b *testing.B) {
	n := benchSpans()
	e := loadSpans(b, n)
	defer e.Close()
	ctx := context.Background()
	if _, err := e.Compact(ctx, CompactOptions{All: true}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	lookupTraces(b, e, n)
}

// lookupTraces looks up random traces of loadSpans' n spans, one per
// iteration, and reports the p50 and p99 latency.
func lookupTraces(b *testing.B, e *Engine, n int) {
	b.Helper()
	ctx := context.Background()
	traces := n / 8
	firstTrace := int(t0.UnixNano()/int64(time.Millisecond)) / 8
	var lat []time.Duration
	i := 0
	for b.Loop() {
		// Batch i covers traces [firstTrace+i*1000ms/8, ...): spread lookups over all.
		k := (i * 7919) % traces
		batch := k / 125
		id := synth.TraceID(uint64(batch), firstTrace+batch*125+k%125)
		start := time.Now()
		rec, err := e.Trace(ctx, id)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if rec.NumRows() != 8 {
			b.Fatalf("trace %s: %d spans, want 8", id, rec.NumRows())
		}
		rec.Release()
		i++
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
