package sqlbench

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/util"
)

// queries are the dashboard queries BenchmarkFourQueries times. %s is the
// table: tael's spans view, or read_parquet over the same files.
var queries = []struct {
	name    string
	sql     string
	minRows int // a sanity floor for the data set
}{
	{"count_by_service_1h",
		"SELECT service, count(*) AS spans FROM %s" +
			" WHERE start_time >= TIMESTAMP '2026-03-01 12:00:00' AND start_time < TIMESTAMP '2026-03-01 13:00:00'" +
			" GROUP BY service ORDER BY service", 8},
	{"p99_by_operation_24h",
		"SELECT operation, quantile_cont(duration_ms, 0.99) AS p99_ms FROM %s" +
			" WHERE start_time >= TIMESTAMP '2026-03-01 00:00:00' AND start_time < TIMESTAMP '2026-03-02 00:00:00'" +
			" GROUP BY operation ORDER BY operation", 8},
	{"error_rate_5m",
		"SELECT time_bucket(INTERVAL '5 minutes', start_time) AS bucket, count_if(status = 'error') / count(*) AS error_rate FROM %s" +
			" WHERE start_time >= TIMESTAMP '2026-03-01 00:00:00' AND start_time < TIMESTAMP '2026-03-02 00:00:00'" +
			" GROUP BY bucket ORDER BY bucket", 288},
	{"llm_tokens_cost_by_model",
		"SELECT llm_model, sum(total_tokens) AS tokens, sum(cost_usd) AS cost_usd FROM %s" +
			" WHERE llm_model IS NOT NULL GROUP BY llm_model ORDER BY llm_model", 4},
}

// BenchmarkSelectStar streams every span, every column, through Flight
// SQL on loopback: DuckDB reads the Parquet files through the spans view,
// the server sends Arrow IPC over gRPC, arrow-go's client decodes it.
// MB/s counts the Arrow buffers the client receives (util.TotalRecordSize
// of each batch); wire-MB/s the gRPC message bytes (IPC plus framing).
// peak-heap-MB is the largest Go HeapInuse seen while it runs (client and
// server share this process), peak-rss-MB the largest resident set
// (DuckDB's memory included).
func BenchmarkSelectStar(b *testing.B) {
	f := getFixture(b)
	b.Log(f.summary())
	ctx := context.Background()
	var rows, bytes int64
	drain := func(rec arrow.RecordBatch) {
		rows += rec.NumRows()
		bytes += util.TotalRecordSize(rec)
	}
	load0 := loadavg()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0, rss0 := ms.HeapInuse, rss()
	peak := startMemPeak(10 * time.Millisecond)
	wire0, cpu0 := f.wire.n.Load(), cpuTime()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.tael(ctx, "SELECT * FROM spans", drain); err != nil {
			b.Fatal(err)
		}
	}
	cpu, wire := cpuTime()-cpu0, f.wire.n.Load()-wire0
	heap, rssPeak := peak.Stop()
	if rows != int64(b.N)*int64(f.rows) {
		b.Fatalf("received %d rows, want %d", rows, int64(b.N)*int64(f.rows))
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(rows)/sec, "rows/s")
	b.ReportMetric(float64(bytes)/1e6/sec, "MB/s")
	b.ReportMetric(float64(wire)/1e6/sec, "wire-MB/s")
	b.ReportMetric(float64(bytes)/float64(rows), "B/row")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(rows), "cpu-ns/row")
	b.ReportMetric(float64(heap)/1e6, "peak-heap-MB")
	b.ReportMetric(float64(rssPeak)/1e6, "peak-rss-MB")
	b.Logf("before the loop: heap in use %.0f MB, RSS %.0f MB; load average %s at start, %s at end",
		float64(heap0)/1e6, float64(rss0)/1e6, load0, loadavg())
}

// BenchmarkFourQueries runs four dashboard queries through Flight SQL
// against tael's spans view (tael) and in a plain DuckDB over the same
// Parquet files (direct), with the same thread count. The direct line
// carries tael/direct, the ratio of the two wall-clock times per query
// (and cpu-tael/direct of the CPU times), from the tael run just before.
func BenchmarkFourQueries(b *testing.B) {
	f := getFixture(b)
	b.Log(f.summary())
	ctx := context.Background()
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			var taelMs, taelCPU float64
			for _, side := range []string{"tael", "direct"} {
				b.Run(side, func(b *testing.B) {
					load0 := loadavg()
					cpu0 := cpuTime()
					b.ReportAllocs()
					for b.Loop() {
						rows, err := f.query(ctx, side, q.sql)
						if err != nil {
							b.Fatal(err)
						}
						if len(rows) < q.minRows {
							b.Fatalf("%d rows, want at least %d", len(rows), q.minRows)
						}
					}
					ms := b.Elapsed().Seconds() * 1e3 / float64(b.N)
					cpuMs := float64((cpuTime() - cpu0).Nanoseconds()) / 1e6 / float64(b.N)
					b.ReportMetric(ms, "ms/op")
					b.ReportMetric(cpuMs, "cpu-ms/op")
					if side == "tael" {
						taelMs, taelCPU = ms, cpuMs
					} else if taelMs > 0 {
						b.ReportMetric(taelMs/ms, "tael/direct")
						b.ReportMetric(taelCPU/cpuMs, "cpu-tael/direct")
					}
					b.Logf("load average %s at start, %s at end", load0, loadavg())
				})
			}
		})
	}
}
