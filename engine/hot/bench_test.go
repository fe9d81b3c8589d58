package hot

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

const benchBatchRows = 1000

// spanBatches returns n synth batches of 1,000 spans, one second of spans
// each (8 spans per trace, 1 in 10 an LLM span), the caller releases them.
func spanBatches(mem memory.Allocator, n int) []arrow.RecordBatch {
	recs := make([]arrow.RecordBatch, n)
	for i := range recs {
		recs[i] = synth.Spans(mem, synth.SpanOptions{
			Rows:     benchBatchRows,
			Start:    t0.Add(time.Duration(i) * time.Second),
			Jitter:   100 * time.Millisecond,
			LLMEvery: 10,
			Seed:     1,
		})
	}
	return recs
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// openBench opens a store in a new directory with the default options but
// codec.
func openBench(b *testing.B, codec Codec) (*Store, string) {
	b.Helper()
	dir := b.TempDir()
	opts := DefaultOptions()
	opts.Codec = codec
	s, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := s.Close(); err != nil {
			b.Error(err)
		}
	})
	return s, dir
}

// diskUsage returns the bytes allocated to the files under dir (Badger's
// files are sparse, so their sizes overstate it).
func diskUsage(b *testing.B, dir string) int64 {
	b.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Sys().(*syscall.Stat_t).Blocks * 512
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

var benchCodecs = []Codec{Zstd, LZ4, None}

func BenchmarkApply(b *testing.B) {
	recs := spanBatches(memory.DefaultAllocator, 64)
	defer releaseAll(recs)
	for _, codec := range benchCodecs {
		b.Run(codec.String(), func(b *testing.B) {
			s, dir := openBench(b, codec)
			b.ReportAllocs()
			lsn := uint64(0)
			for b.Loop() {
				lsn++
				// Each LSN is a new key, so every iteration stores a batch.
				if err := s.Apply(lsn, schema.Spans, recs[lsn%uint64(len(recs))], nil, lsn); err != nil {
					b.Fatal(err)
				}
			}
			rows := float64(lsn * benchBatchRows)
			b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
			b.StopTimer()
			if err := s.Sync(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(diskUsage(b, dir))/rows, "bytes/span")
		})
	}
}

// BenchmarkScanSpans scans every column of 500,000 hot spans.
func BenchmarkScanSpans(b *testing.B) {
	const batches = 500
	recs := spanBatches(memory.DefaultAllocator, batches)
	defer releaseAll(recs)
	for _, codec := range benchCodecs {
		b.Run(codec.String(), func(b *testing.B) {
			s, _ := openBench(b, codec)
			for i, rec := range recs {
				if err := s.Apply(uint64(i+1), schema.Spans, rec, nil, uint64(i+1)); err != nil {
					b.Fatal(err)
				}
			}
			// Write back the value log and collect the setup's garbage, so
			// the scans do not pay for them.
			if err := s.Sync(); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			b.ReportAllocs()
			var rows int64
			cpu0 := cpuTime(b)
			for b.Loop() {
				r, err := s.Scan(context.Background(), schema.Spans, schema.AllTime, nil, Moved{})
				if err != nil {
					b.Fatal(err)
				}
				for r.Next() {
					rows += r.RecordBatch().NumRows()
				}
				if err := r.Err(); err != nil {
					b.Fatal(err)
				}
				r.Release()
			}
			if want := int64(b.N) * batches * benchBatchRows; rows != want {
				b.Fatalf("scanned %d rows, want %d", rows, want)
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			// CPU time of the whole process (every core) per row: the
			// machine is shared, so wall time alone is noisy.
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(rows), "cpu-ns/row")
		})
	}
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTrace looks up random traces among 1,000,000 hot spans (8 spans
// per trace).
func BenchmarkTrace(b *testing.B) {
	const batches = 1000
	s, _ := openBench(b, Zstd)
	for i := range batches {
		rec := synth.Spans(memory.DefaultAllocator, synth.SpanOptions{
			Rows:     benchBatchRows,
			Start:    t0.Add(time.Duration(i) * time.Second),
			Jitter:   100 * time.Millisecond,
			LLMEvery: 10,
			Seed:     1,
		})
		if err := s.Apply(uint64(i+1), schema.Spans, rec, nil, uint64(i+1)); err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
	// Trace n of the batch starting at t0+i s is synth's trace
	// t0/ms/8 + i*125 + n.
	first := int(t0.UnixMilli() / 8)
	traces := batches * benchBatchRows / 8
	rng := rand.New(rand.NewPCG(1, 2))
	var durs []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		id := synth.TraceID(1, first+rng.IntN(traces))
		start := time.Now()
		rec, err := s.Trace(context.Background(), id, Moved{})
		durs = append(durs, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if rec.NumRows() != 8 {
			b.Fatalf("trace %s has %d spans, want 8", id, rec.NumRows())
		}
		rec.Release()
	}
	slices.Sort(durs)
	ms := func(q float64) float64 {
		return float64(durs[int(q*float64(len(durs)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}

// BenchmarkDeleteMoved deletes the oldest 1 or 4 of the 9 one-minute
// buckets of 500,000 hot spans and, for comparison ("decode"), decodes those
// values, as DeleteMoved would have to if it found their trace index entries
// from their trace_id columns instead of by iterating the whole index.
func BenchmarkDeleteMoved(b *testing.B) {
	const batches = 500
	recs := spanBatches(memory.DefaultAllocator, batches)
	defer releaseAll(recs)
	opts := DefaultOptions()
	dir := b.TempDir()
	var s *Store
	// load applies every batch and reopens the store, so that its keys are
	// in tables rather than in the memtable, as most of a hot tier's are.
	load := func() {
		b.Helper()
		for i, rec := range recs {
			if err := s.Apply(uint64(i+1), schema.Spans, rec, nil, uint64(i+1)); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		var err error
		if s, err = Open(dir, opts); err != nil {
			b.Fatal(err)
		}
	}
	s, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			b.Error(err)
		}
	}()
	w := int64(opts.BucketWidth)
	for _, buckets := range []int64{1, 4} {
		m := Moved{Before: (bucketOf(t0.UnixNano(), w) + buckets) * w, LSN: batches}
		moved := schema.TimeRange{Min: math.MinInt64, Max: m.Before}
		load()
		var spans int64
		if err := s.ScanBatches(context.Background(), schema.Spans, moved, Moved{}, func(_ uint64, rec arrow.RecordBatch) error {
			spans += rec.NumRows()
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("buckets=%d/delete", buckets), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				load()
				b.StartTimer()
				if _, err := s.DeleteMoved(context.Background(), schema.Spans, m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*spans), "ns/span")
		})
		b.Run(fmt.Sprintf("buckets=%d/decode", buckets), func(b *testing.B) {
			load()
			for b.Loop() {
				if err := s.ScanBatches(context.Background(), schema.Spans, moved, Moved{}, func(uint64, arrow.RecordBatch) error {
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*spans), "ns/span")
		})
	}
}
