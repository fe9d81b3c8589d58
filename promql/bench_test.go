package promql

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/prometheus/prometheus/promql"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/schema"
)

// benchSeries is the number of series BenchmarkRangeQuery loads:
// TAEL_BENCH_SERIES, else 10,000 (issue 6's comparison with Prometheus).
func benchSeries(b *testing.B) int {
	if s := os.Getenv("TAEL_BENCH_SERIES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("TAEL_BENCH_SERIES=%q", s)
		}
		return n
	}
	return 10_000
}

// BenchmarkRangeQuery loads series × 6 h at 15 s of a counter x (10 jobs)
// into the hot tier (TAEL_BENCH_COLD=1: then compacts it all), then times sum by (job) (rate(x[5m])) over the 6 h at
// step 60 s through Prometheus's engine on Queryable.
func BenchmarkRangeQuery(b *testing.B) {
	const (
		span     = 6 * time.Hour
		interval = 15 * time.Second
		jobs     = 10
	)
	n := benchSeries(b)
	end := time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)
	start := end.Add(-span)
	e, err := engine.Open(context.Background(), b.TempDir(), engine.Options{CompactInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	points := int(span / interval)
	loadStart := time.Now()
	// One batch per 100 series, series after series, as remote-write sends.
	const perBatch = 100
	for first := 0; first < n; first += perBatch {
		rec := benchBatch(e, first, min(first+perBatch, n), jobs, start, interval, points)
		_, err := e.Append(context.Background(), schema.Metrics, rec)
		rec.Release()
		if err != nil {
			b.Fatal(err)
		}
	}
	rows := n * points
	b.Logf("loaded %d series × %d points (%d rows) in %v", n, points, rows, time.Since(loadStart).Round(time.Millisecond))
	if os.Getenv("TAEL_BENCH_COLD") != "" {
		// Everything in Parquet, as a 6-hour query mostly reads in
		// production (the hot window is 15 minutes).
		if _, err := e.Compact(context.Background(), engine.CompactOptions{All: true}); err != nil {
			b.Fatal(err)
		}
	}

	ng := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: 10 * time.Minute, LookbackDelta: 5 * time.Minute})
	defer ng.Close()
	q := NewQueryable(e, Options{})
	b.ReportAllocs()
	for b.Loop() {
		qry, err := ng.NewRangeQuery(context.Background(), q, nil, "sum by (job) (rate(x[5m]))", start, end, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		res := qry.Exec(context.Background())
		if res.Err != nil {
			b.Fatal(res.Err)
		}
		if m, _ := res.Matrix(); len(m) != jobs || len(m[0].Floats) < int(span/time.Minute) {
			b.Fatalf("result: %d series", len(m))
		}
		qry.Close()
	}
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perOp*1000, "ms/op")
	b.ReportMetric(float64(rows)/perOp, "samples/s")
}

// benchBatch returns the rows of series [from, to): x{job, instance}, a
// counter growing by 1 per point.
func benchBatch(e *engine.Engine, from, to, jobs int, start time.Time, interval time.Duration, points int) arrow.RecordBatch {
	tbl, _ := schema.ByID(schema.Metrics)
	b := array.NewRecordBuilder(e.Allocator(), tbl.Schema)
	defer b.Release()
	b.Reserve((to - from) * points)
	ts := b.Field(0).(*array.TimestampBuilder)
	name := b.Field(1).(*array.StringBuilder)
	lm := b.Field(2).(*array.MapBuilder)
	keys := lm.KeyBuilder().(*array.StringBuilder)
	vals := lm.ItemBuilder().(*array.StringBuilder)
	service := b.Field(3).(*array.StringBuilder)
	value := b.Field(4).(*array.Float64Builder)
	typ := b.Field(5).(*array.StringBuilder)
	unit := b.Field(6).(*array.StringBuilder)
	id := b.Field(7).(*array.Uint64Builder)
	for s := from; s < to; s++ {
		job, inst := fmt.Sprintf("job-%d", s%jobs), fmt.Sprintf("instance-%d", s)
		sid := schema.SeriesID("x", map[string]string{"instance": inst, "job": job})
		for k := range points {
			ts.Append(arrow.Timestamp(start.Add(time.Duration(k) * interval).UnixNano()))
			name.Append("x")
			lm.Append(true)
			keys.Append("instance")
			vals.Append(inst)
			keys.Append("job")
			vals.Append(job)
			service.Append(job)
			value.Append(float64(k))
			typ.Append("counter")
			unit.AppendNull()
			id.Append(sid)
		}
	}
	return b.NewRecordBatch()
}

// BenchmarkRollupRange is issue 6's "30 days of history through rollups":
// series × 30 days of a counter x (a point every 5 minutes) compacted to
// the cold tier, whose raw points retention then drops except for the last
// day, so a 30-day dashboard reads 29 days of 5-minute rollups and one day
// of raw points. It times sum by (job) (rate(x[1h])) over the 30 days at a
// 1-hour step (720 points, what Grafana asks for in a 30-day panel about
// 1,000 pixels wide) and the same through avg_over_time.
// TAEL_BENCH_SERIES sets the series (default 1,000 here).
func BenchmarkRollupRange(b *testing.B) {
	const (
		span     = 30 * 24 * time.Hour
		interval = 5 * time.Minute
		jobs     = 10
	)
	n := 1000
	if os.Getenv("TAEL_BENCH_SERIES") != "" {
		n = benchSeries(b)
	}
	end := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	start := end.Add(-span)
	ctx := context.Background()
	e, err := engine.Open(ctx, b.TempDir(), engine.Options{
		CompactInterval: -1,
		Clock:           func() time.Time { return end },
		Retention:       map[schema.ID]time.Duration{schema.Metrics: 24 * time.Hour},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	points := int(span / interval)
	loadStart := time.Now()
	const perBatch = 10
	for first := 0; first < n; first += perBatch {
		rec := benchBatch(e, first, min(first+perBatch, n), jobs, start, interval, points)
		_, err := e.Append(ctx, schema.Metrics, rec)
		rec.Release()
		if err != nil {
			b.Fatal(err)
		}
	}
	loaded := time.Since(loadStart)
	cs, err := e.Compact(ctx, engine.CompactOptions{All: true})
	if err != nil {
		b.Fatal(err)
	}
	dropped, err := e.ApplyRetention(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d series × %d points loaded in %v; compacted (%+v) and %d raw files dropped in %v",
		n, points, loaded.Round(time.Millisecond), cs, dropped, (time.Since(loadStart) - loaded).Round(time.Millisecond))

	q := NewQueryable(e, Options{})
	ng := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: 10 * time.Minute, LookbackDelta: 5 * time.Minute})
	defer ng.Close()
	for _, query := range []string{"sum by (job) (rate(x[1h]))", "sum by (job) (avg_over_time(x[1h]))"} {
		b.Run(query, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				qry, err := ng.NewRangeQuery(ctx, q, nil, query, start.Add(time.Hour), end, time.Hour)
				if err != nil {
					b.Fatal(err)
				}
				res := qry.Exec(ctx)
				if res.Err != nil {
					b.Fatal(res.Err)
				}
				if m, _ := res.Matrix(); len(m) != jobs || len(m[0].Floats) < 700 {
					b.Fatalf("result: %d series", len(m))
				}
				if len(res.Warnings) == 0 {
					b.Fatal("no rollup annotation: the query did not read rollups")
				}
				qry.Close()
			}
			b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/op")
		})
	}
}
