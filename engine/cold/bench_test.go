package cold

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// Benchmarks. The numbers doc.go records came from
//
//	go test -tags duckdb_arrow -run '^$' -bench . -benchtime 1x ./engine/cold/
//
// with the Trace and Scan data set sized by TAEL_BENCH_SPANS (default
// 2,000,000 spans; 10,000,000 for the goal's case).

const benchWriteRows = 200_000

// spanSources are the span generators the write benchmarks compare.
var spanSources = []struct {
	name string
	make func(mem memory.Allocator, rows int, hour time.Time, seed uint64) arrow.RecordBatch
}{
	{"synth", func(mem memory.Allocator, rows int, hour time.Time, seed uint64) arrow.RecordBatch {
		step := time.Hour / time.Duration(rows+1)
		return synth.Spans(mem, synth.SpanOptions{Rows: rows, Start: hour, Step: step, Jitter: step, LLMEvery: 10, Seed: seed})
	}},
	{"otel", func(mem memory.Allocator, rows int, hour time.Time, seed uint64) arrow.RecordBatch {
		return newOTelGen(seed).spans(mem, rows, hour, time.Hour)
	}},
}

var spanOrders = []struct {
	name      string
	byService bool
}{{"trace_id", false}, {"service", true}}

func openBench(b *testing.B, opts Options) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func BenchmarkWriteSpans(b *testing.B) {
	for _, src := range spanSources {
		rec := src.make(memory.DefaultAllocator, benchWriteRows, t0, 1)
		for _, o := range spanOrders {
			b.Run(src.name+"/"+o.name, func(b *testing.B) {
				s := openBench(b, Options{spansByService: o.byService})
				b.ReportAllocs()
				var size int64
				cpu0 := cpuTime()
				for b.Loop() {
					f, err := s.Write(context.Background(), schema.Spans, t0.UnixNano(), []arrow.RecordBatch{rec})
					if err != nil {
						b.Fatal(err)
					}
					size = f.Bytes
					_ = os.Remove(s.path(f.Path))
				}
				b.ReportMetric(float64(benchWriteRows*b.N)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(benchWriteRows*b.N), "cpu-µs/row")
				b.ReportMetric(float64(size)/benchWriteRows, "bytes/span")
			})
		}
		// Two Writes at once (two partitions, as a compaction of several
		// tables or hours would run them): what both cores give.
		b.Run(src.name+"/trace_id/concurrent=2", func(b *testing.B) {
			s := openBench(b, Options{})
			cpu0 := cpuTime()
			for b.Loop() {
				var wg sync.WaitGroup
				for range 2 {
					wg.Go(func() {
						f, err := s.Write(context.Background(), schema.Spans, t0.UnixNano(), []arrow.RecordBatch{rec})
						if err != nil {
							b.Error(err)
							return
						}
						_ = os.Remove(s.path(f.Path))
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(2*benchWriteRows*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(2*benchWriteRows*b.N), "cpu-µs/row")
		})
		rec.Release()
	}
}

// realisticMetrics returns an hour of 15-second samples of series series
// shaped like a Prometheus scrape of services: histogram bucket counters
// that mostly stand still, request counters, CPU-seconds counters,
// constant gauges (up, build info) and slowly moving gauges (memory,
// goroutines), with millisecond timestamps jittered by a few ms, the
// series in random order within each scrape.
func realisticMetrics(mem memory.Allocator, series int, seed uint64) arrow.RecordBatch {
	r := rand.New(rand.NewPCG(seed, 0x3e7))
	type ser struct {
		name, typ string
		labels    map[string]string
		id        uint64
		v, rate   float64
		kind      int
		offset    time.Duration
	}
	ss := make([]ser, series)
	les := []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}
	for i := range ss {
		job := fmt.Sprintf("svc-%d", i%20)
		inst := fmt.Sprintf("10.0.%d.%d:9090", i%7, i%50)
		s := ser{labels: map[string]string{"job": job, "instance": inst}, kind: i % 10, offset: time.Duration(i%1000) * time.Millisecond * 7}
		switch s.kind {
		case 0, 1, 2:
			s.name, s.typ = "http_request_duration_seconds_bucket", "counter"
			s.labels["le"] = les[i%len(les)]
			s.labels["method"] = []string{"GET", "POST"}[i%2]
			s.rate = float64(r.IntN(5))
		case 3, 4:
			s.name, s.typ = "http_requests_total", "counter"
			s.labels["code"] = []string{"200", "404", "500"}[i%3]
			s.rate = float64(r.IntN(200))
		case 5:
			s.name, s.typ = "process_cpu_seconds_total", "counter"
			s.rate = r.Float64()
		case 6, 7:
			s.name, s.typ = "up", "gauge"
			s.v = 1
		case 8:
			s.name, s.typ = "process_resident_memory_bytes", "gauge"
			s.v = float64(50<<20 + r.IntN(200<<20))
		default:
			s.name, s.typ = "go_goroutines", "gauge"
			s.v = float64(10 + r.IntN(100))
		}
		s.labels["series"] = strconv.Itoa(i)
		s.id = schema.SeriesID(s.name, s.labels)
		ss[i] = s
	}
	b := array.NewRecordBuilder(mem, mustTable(schema.Metrics).Schema)
	defer b.Release()
	order := make([]int, series)
	for i := range order {
		order[i] = i
	}
	for p := range 240 {
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			s := &ss[i]
			switch s.kind {
			case 0, 1, 2, 3, 4:
				if r.IntN(3) > 0 {
					s.v += float64(r.IntN(int(s.rate)*15 + 1))
				}
			case 5:
				s.v += float64(int(s.rate*15*100)+r.IntN(10)) / 100
			case 8:
				if r.IntN(8) == 0 {
					s.v += float64((r.IntN(64) - 32) * 4096)
				}
			case 9:
				if r.IntN(4) == 0 {
					s.v += float64(r.IntN(5) - 2)
				}
			}
			ts := t0.Add(time.Duration(p)*15*time.Second + s.offset + time.Duration(r.IntN(4))*time.Millisecond).Truncate(time.Millisecond)
			b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixNano()))
			b.Field(1).(*array.StringBuilder).Append(s.name)
			mb := b.Field(2).(*array.MapBuilder)
			mb.Append(true)
			keys := make([]string, 0, len(s.labels))
			for k := range s.labels {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				mb.KeyBuilder().(*array.StringBuilder).Append(k)
				mb.ItemBuilder().(*array.StringBuilder).Append(s.labels[k])
			}
			b.Field(3).(*array.StringBuilder).Append(s.labels["job"])
			b.Field(4).(*array.Float64Builder).Append(s.v)
			b.Field(5).(*array.StringBuilder).Append(s.typ)
			if s.name == "process_resident_memory_bytes" {
				b.Field(6).(*array.StringBuilder).Append("bytes")
			} else {
				b.Field(6).(*array.StringBuilder).AppendNull()
			}
			b.Field(7).(*array.Uint64Builder).Append(s.id)
		}
	}
	return b.NewRecordBatch()
}

func BenchmarkWriteMetrics(b *testing.B) {
	for _, src := range []struct {
		name string
		make func() arrow.RecordBatch
	}{
		{"realistic", func() arrow.RecordBatch { return realisticMetrics(memory.DefaultAllocator, 2000, 1) }},
		{"synth", func() arrow.RecordBatch {
			return synth.Metrics(memory.DefaultAllocator, synth.MetricOptions{Series: 2000, Points: 240, Start: t0, Seed: 1})
		}},
	} {
		b.Run(src.name, func(b *testing.B) {
			rec := src.make()
			defer rec.Release()
			s := openBench(b, Options{})
			b.ReportAllocs()
			var size int64
			for b.Loop() {
				f, err := s.Write(context.Background(), schema.Metrics, t0.UnixNano(), []arrow.RecordBatch{rec})
				if err != nil {
					b.Fatal(err)
				}
				size = f.Bytes
				_ = os.Remove(s.path(f.Path))
			}
			n := float64(rec.NumRows())
			b.ReportMetric(n*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(float64(size)/n, "bytes/sample")
		})
	}
}

func BenchmarkRollup(b *testing.B) {
	rec := realisticMetrics(memory.DefaultAllocator, 2000, 1)
	defer rec.Release()
	for b.Loop() {
		r, err := Rollup(memory.DefaultAllocator, []arrow.RecordBatch{rec})
		if err != nil {
			b.Fatal(err)
		}
		r.Release()
	}
	b.ReportMetric(float64(rec.NumRows())*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// spanSet is a cold store of OTel-like spans for the read benchmarks: files
// of benchFileSpans spans, four per hour (a compaction every 15 minutes),
// and a sample of the trace ids in them.
type spanSet struct {
	s     *Store
	ids   []string
	spans int
	bytes int64
}

const benchFileSpans = 500_000

func benchSpans() int {
	if v, err := strconv.Atoi(os.Getenv("TAEL_BENCH_SPANS")); err == nil && v > 0 {
		return v
	}
	return 2_000_000
}

var (
	spanSetsMu sync.Mutex
	spanSets   = map[string]*spanSet{}
)

// buildSpanSet writes (once per process and configuration) the benchmark
// spans into a store with the given options.
func buildSpanSet(b *testing.B, opts Options) *spanSet {
	b.Helper()
	opts = opts.withDefaults()
	key := fmt.Sprintf("%v/%d/%d", opts.spansByService, opts.RowGroupRows, opts.pageBytes)
	spanSetsMu.Lock()
	defer spanSetsMu.Unlock()
	if ss := spanSets[key]; ss != nil {
		return ss
	}
	dir, err := os.MkdirTemp("", "cold-bench-")
	if err != nil {
		b.Fatal(err)
	}
	s, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	ss := &spanSet{s: s}
	r := rand.New(rand.NewPCG(5, 5))
	gen := newOTelGen(42)
	total := benchSpans()
	for i := 0; ss.spans < total; i++ {
		n := min(benchFileSpans, total-ss.spans)
		start := t0.Add(time.Duration(i) * 15 * time.Minute)
		rec := gen.spans(memory.DefaultAllocator, n, start, 15*time.Minute)
		ids := rec.Column(0).(*array.String)
		for range 500 {
			ss.ids = append(ss.ids, ids.Value(r.IntN(ids.Len())))
		}
		f, err := s.Write(context.Background(), schema.Spans, start.Truncate(time.Hour).UnixNano(), []arrow.RecordBatch{rec})
		rec.Release()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Commit(Change{Add: []File{f}}); err != nil {
			b.Fatal(err)
		}
		ss.spans += int(f.Rows)
		ss.bytes += f.Bytes
	}
	spanSets[key] = ss
	return ss
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, ss := range spanSets {
		_ = ss.s.Close()
		_ = os.RemoveAll(ss.s.Dir())
	}
	os.Exit(code)
}

// readConfigs are the layouts the read benchmarks compare, the default
// first.
var readConfigs = []struct {
	name string
	opts Options
}{
	{"default", Options{}}, // trace_id order, 4,096-row row groups, 64 KiB pages
	{"trace_id/rg=4096/page=1M", Options{RowGroupRows: 4096, pageBytes: 1 << 20}},
	{"trace_id/rg=8192/page=64K", Options{RowGroupRows: 8192}},
	{"trace_id/rg=16384/page=64K", Options{RowGroupRows: 16384}},
	{"trace_id/rg=65536/page=64K", Options{RowGroupRows: 65536}},
	{"service/rg=4096/page=64K", Options{spansByService: true}},
	{"service/rg=16384/page=64K", Options{RowGroupRows: 16384, spansByService: true}},
}

func BenchmarkTraceLookup(b *testing.B) {
	for _, c := range readConfigs {
		b.Run(c.name, func(b *testing.B) {
			ss := buildSpanSet(b, c.opts)
			r := rand.New(rand.NewPCG(1, 1))
			var lat []time.Duration
			var spans int64
			ctx := context.Background()
			cpu0 := cpuTime()
			for b.Loop() {
				id := ss.ids[r.IntN(len(ss.ids))]
				if r.IntN(10) == 0 { // a miss
					id = fmt.Sprintf("%032x", r.Uint64())
				}
				start := time.Now()
				rec, err := ss.s.Trace(ctx, nil, id)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				spans += rec.NumRows()
				rec.Release()
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(float64(ss.spans), "spans")
			b.ReportMetric(float64(ss.bytes)/float64(ss.spans), "bytes/span")
		})
	}
}

// cpuTime returns the CPU time the process has used (user and system), so
// that benchmarks on a shared machine can report CPU per operation next to
// wall-clock latencies that include waiting for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkScanSpans(b *testing.B) {
	for _, c := range readConfigs {
		for _, cols := range []struct {
			name string
			cols []string
		}{{"all", nil}, {"3cols", []string{"service", "start_time", "duration_ms"}}} {
			b.Run(c.name+"/"+cols.name, func(b *testing.B) {
				ss := buildSpanSet(b, c.opts)
				var rows int64
				cpu0 := cpuTime()
				for b.Loop() {
					rd, err := ss.s.Scan(context.Background(), nil, schema.Spans, schema.AllTime, cols.cols)
					if err != nil {
						b.Fatal(err)
					}
					for rd.Next() {
						rows += rd.RecordBatch().NumRows()
					}
					if err := rd.Err(); err != nil {
						b.Fatal(err)
					}
					rd.Release()
				}
				b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(rows), "cpu-µs/row")
			})
		}
	}
}
