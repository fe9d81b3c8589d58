package analytics

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
	"github.com/tael/tael/sql/duck"
)

// The benchmarks run over a day of spans: TAEL_BENCH_SPANS (default
// 1,000,000) start times spread evenly over the 24 hours before benchNow,
// appended through the engine in batches of benchBatch, as
// bench/sqlbench does. The "cold" data set is then compacted to Parquet,
// like a day a running server has compacted (but for its last 15 minutes);
// the "hot" one (TAEL_BENCH_HOT=1) stays in the hot tier and DuckDB's
// mirror. Each is built once per process.
//
//	go test -tags duckdb_arrow -run '^$' -bench . -benchtime 20x ./analytics/
var benchNow = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

const (
	benchBatch   = 5000
	benchLoaders = 4
)

type benchData struct {
	n    int
	dir  string
	e    *engine.Engine
	db   *duck.DB
	s    *Service
	step time.Duration
	took time.Duration
}

var (
	benchMu   sync.Mutex
	benchSets = map[string]*benchData{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range benchSets {
		d.close()
	}
	os.Exit(code)
}

func benchSpans(b *testing.B) int {
	n := 1_000_000
	if s := os.Getenv("TAEL_BENCH_SPANS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < benchBatch {
			b.Fatalf("TAEL_BENCH_SPANS=%q: want an integer ≥ %d", s, benchBatch)
		}
		n = v
	}
	return n
}

// benchSet returns the data set of tier ("cold" or "hot"), building it on
// first use.
func benchSet(b *testing.B, tier string) *benchData {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if d, ok := benchSets[tier]; ok {
		return d
	}
	d, err := newBenchData(benchSpans(b), tier)
	if err != nil {
		if d != nil {
			d.close()
		}
		b.Fatal(err)
	}
	b.Logf("%s: %d spans loaded in %v", tier, d.n, d.took.Round(time.Millisecond))
	benchSets[tier] = d
	return d
}

func newBenchData(n int, tier string) (*benchData, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tael-analytics-bench-")
	if err != nil {
		return nil, err
	}
	d := &benchData{n: n, dir: dir, step: 24 * time.Hour / time.Duration(n)}
	clock := func() time.Time { return benchNow }
	if d.e, err = engine.Open(ctx, dir, engine.Options{Clock: clock, CompactInterval: -1}); err != nil {
		return d, err
	}
	d.s = New(d.e, QueryFunc(func(ctx context.Context, q string, p []any) (array.RecordReader, error) {
		return d.db.Query(ctx, q, p)
	}), Options{Clock: clock})
	if d.db, err = duck.Open(duck.Options{ColdDir: filepath.Join(dir, "cold"), Clock: clock}); err != nil {
		return d, err
	}
	if tier == "hot" {
		// Mirror while loading, as a running server does.
		if err := d.e.Attach(ctx, d.db); err != nil {
			return d, err
		}
	}
	start := time.Now()
	batches := (n + benchBatch - 1) / benchBatch
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchLoaders)
	for range benchLoaders {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= batches {
					return
				}
				rec := d.batch(i)
				_, err := d.e.Append(ctx, schema.Spans, rec)
				rec.Release()
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return d, err
	}
	if tier == "cold" {
		if _, err := d.e.Compact(ctx, engine.CompactOptions{OlderThan: 15 * time.Minute}); err != nil {
			return d, err
		}
		if err := d.e.Attach(ctx, d.db); err != nil {
			return d, err
		}
	}
	d.took = time.Since(start)
	return d, nil
}

// batch builds the i-th appended batch.
func (d *benchData) batch(i int) arrow.RecordBatch {
	first := i * benchBatch
	return synth.Spans(memory.DefaultAllocator, synth.SpanOptions{
		Rows: min(benchBatch, d.n-first), Start: benchNow.Add(-24 * time.Hour).Add(time.Duration(first) * d.step),
		Step: d.step, LLMEvery: 10, Seed: uint64(i + 1),
	})
}

// traceID returns the id of a random trace of the data set (synth gives
// consecutive spans of a batch one trace, 8 spans each).
func (d *benchData) traceID(r *rand.Rand) string {
	i := r.IntN(d.n / benchBatch)
	first := i * benchBatch
	start := benchNow.Add(-24 * time.Hour).Add(time.Duration(first) * d.step)
	firstTrace := int(start.UnixNano()/int64(d.step)) / 8
	return synth.TraceID(uint64(i+1), firstTrace+r.IntN(benchBatch/8))
}

func (d *benchData) close() {
	if d.db != nil {
		d.db.Close()
	}
	if d.e != nil {
		d.e.Close()
	}
	os.RemoveAll(d.dir)
}

func benchTiers() []string {
	if os.Getenv("TAEL_BENCH_HOT") != "" {
		return []string{"cold", "hot"}
	}
	return []string{"cold"}
}

// BenchmarkSummary measures Summary over the last hour and the whole day.
// Goal (at 10M spans): window=1h ≤ 100 ms.
func BenchmarkSummary(b *testing.B) {
	ctx := context.Background()
	for _, tier := range benchTiers() {
		for _, w := range []time.Duration{time.Hour, 24 * time.Hour} {
			b.Run(fmt.Sprintf("tier=%s/window=%s", tier, durationName(w)), func(b *testing.B) {
				d := benchSet(b, tier)
				b.ReportAllocs()
				var lat []time.Duration
				var spans int64
				for b.Loop() {
					start := time.Now()
					sum, err := d.s.Summary(ctx, w, "")
					lat = append(lat, time.Since(start))
					if err != nil {
						b.Fatal(err)
					}
					spans = sum.Traces.SpanCount
				}
				if want := int64(float64(d.n) * w.Hours() / 24); spans < want*99/100 || spans > want*101/100+1 {
					b.Fatalf("summary counted %d spans, want about %d", spans, want)
				}
				reportLatency(b, lat)
				b.ReportMetric(float64(spans)*float64(len(lat))/b.Elapsed().Seconds(), "spans/s")
			})
		}
	}
}

// BenchmarkCorrelate correlates random traces of the day. Goal (at 10M
// spans): p99 ≤ 30 ms.
func BenchmarkCorrelate(b *testing.B) {
	ctx := context.Background()
	for _, tier := range benchTiers() {
		b.Run("tier="+tier, func(b *testing.B) {
			d := benchSet(b, tier)
			r := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			var lat []time.Duration
			for b.Loop() {
				id := d.traceID(r)
				start := time.Now()
				c, err := d.s.Correlate(ctx, id)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatalf("trace %s: %v", id, err)
				}
				if c.SpanCount != 8 {
					b.Fatalf("trace %s: %d spans, want 8", id, c.SpanCount)
				}
			}
			reportLatency(b, lat)
		})
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
}

func durationName(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// BenchmarkTraces lists the newest traces of the last hour, as the REST
// API's default GET /api/v1/traces does, unfiltered and for one service.
func BenchmarkTraces(b *testing.B) {
	ctx := context.Background()
	for _, tier := range benchTiers() {
		for _, f := range []struct {
			name string
			f    TraceFilter
		}{
			{"all", TraceFilter{}},
			{"service", TraceFilter{Service: "svc-3"}},
			{"errors", TraceFilter{Status: "error", Last: 24 * time.Hour}},
		} {
			b.Run("tier="+tier+"/filter="+f.name, func(b *testing.B) {
				d := benchSet(b, tier)
				b.ReportAllocs()
				var lat []time.Duration
				for b.Loop() {
					start := time.Now()
					ts, err := d.s.Traces(ctx, f.f)
					lat = append(lat, time.Since(start))
					if err != nil {
						b.Fatal(err)
					}
					if len(ts) != DefaultTraces {
						b.Fatalf("%d traces, want %d", len(ts), DefaultTraces)
					}
				}
				reportLatency(b, lat)
			})
		}
	}
}
