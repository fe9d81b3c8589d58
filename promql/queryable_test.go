package promql

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/engine/cold"
	"github.com/tael/tael/schema"
)

// openEngine opens an engine in a temporary directory with a checked
// allocator, closed (and checked for leaks) when t ends.
func openEngine(t *testing.T, opts engine.Options) *engine.Engine {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	opts.Allocator = mem
	if opts.CompactInterval == 0 {
		opts.CompactInterval = -1
	}
	e, err := engine.Open(context.Background(), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
		mem.AssertSize(t, 0)
	})
	return e
}

// appendSamples appends samples to e's metrics table in one batch.
func appendSamples(t testing.TB, e *engine.Engine, samples []testSample) {
	t.Helper()
	rec := metricsBatch(e.Allocator(), samples)
	defer rec.Release()
	if _, err := e.Append(context.Background(), schema.Metrics, rec); err != nil {
		t.Fatal(err)
	}
}

// sample returns a test sample of the series in Prometheus text form
// (parsed with labels.FromStrings pairs).
func sample(t int64, v float64, kv ...string) testSample {
	return testSample{ls: labels.FromStrings(kv...), t: t, v: v}
}

type point struct {
	T int64
	F float64
}

// selectAll runs Select and returns each series' labels and points.
func selectAll(t *testing.T, q storage.Queryable, mint, maxt int64, hints *storage.SelectHints, ms ...*labels.Matcher) (map[string][]point, []string) {
	t.Helper()
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	set := qr.Select(context.Background(), true, hints, ms...)
	out := map[string][]point{}
	var order []string
	var it chunkenc.Iterator
	for set.Next() {
		s := set.At()
		key := s.Labels().String()
		order = append(order, key)
		it = s.Iterator(it)
		pts := []point{}
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			pts = append(pts, point{ts, v})
		}
		out[key] = pts
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return out, order
}

func TestSelect(t *testing.T) {
	e := openEngine(t, engine.Options{})
	q := NewQueryable(e, Options{})
	// Two batches, the second out of order and overlapping the first; the
	// second rewrites the sample at 2000 ms.
	appendSamples(t, e, []testSample{
		sample(1000, 1, "__name__", "up", "job", "a"),
		sample(2000, 2, "__name__", "up", "job", "a"),
		sample(3000, 3, "__name__", "up", "job", "a"),
		sample(1000, 10, "__name__", "up", "job", "b"),
		sample(1000, 100, "__name__", "down", "job", "a"),
	})
	appendSamples(t, e, []testSample{
		sample(500, 0.5, "__name__", "up", "job", "a"),
		sample(2000, 20, "__name__", "up", "job", "a"),
		sample(4000, math.Float64frombits(value.StaleNaN), "__name__", "up", "job", "b"),
	})
	eq := func(n, v string) *labels.Matcher { return labels.MustNewMatcher(labels.MatchEqual, n, v) }

	got, order := selectAll(t, q, 0, 10_000, nil, eq("__name__", "up"))
	wantOrder := []string{`{__name__="up", job="a"}`, `{__name__="up", job="b"}`}
	if !slices.Equal(order, wantOrder) {
		t.Fatalf("series %v, want %v", order, wantOrder)
	}
	if want := []point{{500, 0.5}, {1000, 1}, {2000, 20}, {3000, 3}}; !slices.Equal(got[wantOrder[0]], want) {
		t.Errorf("job a: %v, want %v", got[wantOrder[0]], want)
	}
	b := got[wantOrder[1]]
	if len(b) != 2 || b[0] != (point{1000, 10}) || !value.IsStaleNaN(b[1].F) {
		t.Errorf("job b: %v, want 10 then a stale marker", b)
	}

	// The range is inclusive at both ends, in milliseconds.
	got, _ = selectAll(t, q, 0, 0, &storage.SelectHints{Start: 1000, End: 2000}, eq("job", "a"))
	if want := []point{{1000, 1}, {2000, 20}}; !slices.Equal(got[wantOrder[0]], want) {
		t.Errorf("[1000, 2000]: %v, want %v", got[wantOrder[0]], want)
	}
	if d := got[`{__name__="down", job="a"}`]; len(d) != 1 {
		t.Errorf("down: %v", d)
	}

	// Series without samples in the range are left out.
	got, _ = selectAll(t, q, 0, 0, &storage.SelectHints{Start: 2500, End: 3500})
	if len(got) != 1 {
		t.Errorf("[2500, 3500]: %v, want only up{job=a}", got)
	}

	// The series API reads no samples; limits apply.
	got, order = selectAll(t, q, 0, 10_000, &storage.SelectHints{Start: 0, End: 10_000, Func: "series", Limit: 2})
	if len(order) != 2 || order[0] != `{__name__="down", job="a"}` || len(got[order[0]]) != 0 {
		t.Errorf("series: %v %v", order, got)
	}

	// Shards partition the series.
	n := 0
	for i := range uint64(3) {
		got, _ := selectAll(t, q, 0, 10_000, &storage.SelectHints{Start: 0, End: 10_000, ShardCount: 3, ShardIndex: i})
		n += len(got)
	}
	if n != 3 {
		t.Errorf("shards hold %d series, want 3", n)
	}
}

func TestSelectEmptyLabelValues(t *testing.T) {
	e := openEngine(t, engine.Options{})
	// Two series ids whose labels differ only by an empty value (OTLP
	// attributes can have one) are one Prometheus series.
	for _, r := range []struct {
		labels map[string]string
		t      int64
	}{{map[string]string{"a": "x"}, 1000}, {map[string]string{"a": "x", "b": ""}, 2000}} {
		rec := metricsRow(e.Allocator(), "m", r.labels, r.t, float64(r.t/1000))
		_, err := e.Append(context.Background(), schema.Metrics, rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	got, order := selectAll(t, NewQueryable(e, Options{}), 0, 10_000, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m"))
	if len(order) != 1 || order[0] != `{__name__="m", a="x"}` {
		t.Fatalf("series %v, want one", order)
	}
	if want := []point{{1000, 1}, {2000, 2}}; !slices.Equal(got[order[0]], want) {
		t.Errorf("%v, want %v", got[order[0]], want)
	}
}

// metricsRow returns a one-row metrics batch with exactly the given labels
// map.
func metricsRow(mem memory.Allocator, name string, ls map[string]string, ms int64, v float64) arrow.RecordBatch {
	tbl, _ := schema.ByID(schema.Metrics)
	b := array.NewRecordBuilder(mem, tbl.Schema)
	defer b.Release()
	b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(ms * nsPerMs))
	b.Field(1).(*array.StringBuilder).Append(name)
	lm := b.Field(2).(*array.MapBuilder)
	lm.Append(true)
	for k, val := range ls {
		lm.KeyBuilder().(*array.StringBuilder).Append(k)
		lm.ItemBuilder().(*array.StringBuilder).Append(val)
	}
	b.Field(3).(*array.StringBuilder).Append("svc")
	b.Field(4).(*array.Float64Builder).Append(v)
	b.Field(5).(*array.StringBuilder).Append("gauge")
	b.Field(6).(*array.StringBuilder).AppendNull()
	b.Field(7).(*array.Uint64Builder).Append(schema.SeriesID(name, ls))
	return b.NewRecordBatch()
}

func TestLabels(t *testing.T) {
	e := openEngine(t, engine.Options{})
	appendSamples(t, e, []testSample{
		sample(1000, 1, "__name__", "up", "job", "a", "zone", "z1"),
		sample(1000, 1, "__name__", "up", "job", "b"),
		sample(1000, 1, "__name__", "down", "job", "c", "instance", "i"),
	})
	qr, err := NewQueryable(e, Options{}).Querier(0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	up := labels.MustNewMatcher(labels.MatchEqual, "__name__", "up")
	for _, tc := range []struct {
		name string
		got  func() ([]string, error)
		want []string
	}{
		{"names", func() ([]string, error) { v, _, err := qr.LabelNames(ctx, nil); return v, err }, []string{"__name__", "instance", "job", "zone"}},
		{"names of up", func() ([]string, error) { v, _, err := qr.LabelNames(ctx, nil, up); return v, err }, []string{"__name__", "job", "zone"}},
		{"names limit", func() ([]string, error) {
			v, _, err := qr.LabelNames(ctx, &storage.LabelHints{Limit: 2})
			return v, err
		}, []string{"__name__", "instance"}},
		{"job values", func() ([]string, error) { v, _, err := qr.LabelValues(ctx, "job", nil); return v, err }, []string{"a", "b", "c"}},
		{"job values of up", func() ([]string, error) { v, _, err := qr.LabelValues(ctx, "job", nil, up); return v, err }, []string{"a", "b"}},
		{"metric names", func() ([]string, error) { v, _, err := qr.LabelValues(ctx, "__name__", nil); return v, err }, []string{"down", "up"}},
		{"absent label", func() ([]string, error) { v, _, err := qr.LabelValues(ctx, "nope", nil); return v, err }, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.got()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	// Outside the querier's range there is nothing.
	qr, _ = NewQueryable(e, Options{}).Querier(5*3600_000, 6*3600_000)
	if v, _, _ := qr.LabelValues(ctx, "job", nil); len(v) != 0 {
		t.Errorf("values out of range: %v", v)
	}
}

func TestIterator(t *testing.T) {
	s := &memSeries{t: []int64{10, 20, 30, 40}, f: []float64{1, 2, 3, 4}}
	it := s.Iterator(nil)
	if it.Seek(25) != chunkenc.ValFloat || it.AtT() != 30 {
		t.Fatalf("Seek(25) at %d", it.AtT())
	}
	if it.Seek(5) != chunkenc.ValFloat || it.AtT() != 30 {
		t.Fatalf("Seek back moved to %d", it.AtT())
	}
	if it.Next() != chunkenc.ValFloat || it.AtT() != 40 {
		t.Fatalf("Next at %d", it.AtT())
	}
	if it.Next() != chunkenc.ValNone || it.Seek(0) != chunkenc.ValNone || it.Next() != chunkenc.ValNone {
		t.Fatal("iterator not exhausted")
	}
	it = s.Iterator(it) // reused
	if it.Seek(40) != chunkenc.ValFloat || it.AtT() != 40 || it.Seek(41) != chunkenc.ValNone {
		t.Fatal("reused iterator")
	}
	if it := (&memSeries{}).Iterator(nil); it.Next() != chunkenc.ValNone || it.Seek(0) != chunkenc.ValNone {
		t.Fatal("empty iterator")
	}
}

func TestNanoRange(t *testing.T) {
	for _, tc := range []struct {
		mint, maxt int64
		want       schema.TimeRange
	}{
		{0, 0, schema.TimeRange{Min: 0, Max: 1e6}},
		{-1, 1, schema.TimeRange{Min: -1e6, Max: 2e6}},
		{math.MinInt64, math.MaxInt64, schema.AllTime},
		{minTime.UnixMilli(), maxTime.UnixMilli(), schema.AllTime},
	} {
		if got := nanoRange(tc.mint, tc.maxt); got != tc.want {
			t.Errorf("nanoRange(%d, %d) = %v, want %v", tc.mint, tc.maxt, got, tc.want)
		}
	}
	if nsToMs(-1) != -1 || nsToMs(1e6-1) != 0 || nsToMs(-1e6) != -1 {
		t.Error("nsToMs does not round down")
	}
}

func TestRollupWidth(t *testing.T) {
	if rollupWidth != int64(cold.RollupWidth) {
		t.Fatalf("rollupWidth %d, cold.RollupWidth %d", rollupWidth, cold.RollupWidth)
	}
}

// newTestEngine returns a PromQL engine for tests.
func newTestEngine(t *testing.T) *promql.Engine {
	ng := promql.NewEngine(promql.EngineOpts{MaxSamples: 10_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	t.Cleanup(func() { _ = ng.Close() })
	return ng
}

// instant evaluates expr at ts and returns the result as text with its
// annotations.
func instant(t *testing.T, ng *promql.Engine, q storage.Queryable, expr string, ts time.Time) (promql.Vector, []string) {
	t.Helper()
	qry, err := ng.NewInstantQuery(context.Background(), q, nil, expr, ts)
	if err != nil {
		t.Fatal(err)
	}
	defer qry.Close()
	res := qry.Exec(context.Background())
	if res.Err != nil {
		t.Fatalf("%s: %v", expr, res.Err)
	}
	ws, infos := res.Warnings.AsStrings(expr, 0, 0)
	v, err := res.Vector()
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	// Close recycles the result's buffers: hand back a copy.
	return slices.Clone(v), append(ws, infos...)
}

func TestRollups(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	e := openEngine(t, engine.Options{
		Clock:     func() time.Time { return now },
		Retention: map[schema.ID]time.Duration{schema.Metrics: 2 * time.Hour},
	})
	// Four hours at 15 s, offset by 7 s so that no sample falls on a
	// bucket boundary: a counter (4 per sample, reset to 0 at 1h30m) and a
	// gauge.
	counter := metadata.Metadata{Type: "counter"}
	var samples []testSample
	c := 0.0
	for k := range 4 * 240 {
		ts := t0.Add(7*time.Second + time.Duration(k)*15*time.Second).UnixMilli()
		c += 4
		if k == 360 {
			c = 0
		}
		samples = append(samples,
			testSample{ls: labels.FromStrings("__name__", "c_total", "job", "j"), t: ts, v: c, md: counter},
			testSample{ls: labels.FromStrings("__name__", "g", "job", "j"), t: ts, v: 50 + 40*math.Sin(float64(k)/17)},
		)
	}
	appendSamples(t, e, samples)
	if _, err := e.Compact(context.Background(), engine.CompactOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	ng := newTestEngine(t)
	q := NewQueryable(e, Options{})
	queries := []string{
		"sum_over_time(g[1h])", "min_over_time(g[1h])", "max_over_time(g[1h])",
		"count_over_time(g[1h])", "avg_over_time(g[1h])", "g",
		"rate(c_total[1h])", "increase(c_total[30m])", "c_total",
	}
	at := []time.Time{t0.Add(time.Hour), t0.Add(100 * time.Minute), t0.Add(2 * time.Hour)}
	raw := map[string]float64{}
	for _, expr := range queries {
		for _, ts := range at {
			v, _ := instant(t, ng, q, expr, ts)
			if len(v) != 1 {
				t.Fatalf("%s at %s: %v before retention", expr, ts, v)
			}
			raw[expr+"@"+ts.String()] = v[0].F
		}
	}

	// Retention drops the raw points of the first two hours; their
	// rollups stay.
	now = t0.Add(4 * time.Hour)
	if _, err := e.ApplyRetention(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v, _ := instant(t, ng, NewQueryable(e, Options{DisableRollups: true}), "g", at[0]); len(v) != 0 {
		t.Fatalf("raw points of the first hours still there: %v", v)
	}
	exact := map[string]bool{"sum_over_time": true, "min_over_time": true, "max_over_time": true, "count_over_time": true, "avg_over_time": true, "g": true}
	for _, expr := range queries {
		for _, ts := range at {
			v, notes := instant(t, ng, q, expr, ts)
			if len(v) != 1 {
				t.Errorf("%s at %s: %v from rollups", expr, ts, v)
				continue
			}
			want := raw[expr+"@"+ts.String()]
			fn, _, _ := strings.Cut(expr, "(")
			tol := 0.03 // rate and increase over rollups are approximations
			if exact[fn] {
				tol = 1e-9
			}
			if math.Abs(v[0].F-want) > tol*math.Abs(want) {
				t.Errorf("%s at %s: %g from rollups, %g from raw points", expr, ts, v[0].F, want)
			}
			if !slices.ContainsFunc(notes, func(s string) bool { return strings.Contains(s, "5-minute rollups") }) {
				t.Errorf("%s at %s: no note that rollups answered: %v", expr, ts, notes)
			}
		}
	}

	// Across the boundary between rollups and raw points (2h) a counter
	// shows no reset: rate stays near its raw value (4 per 15 s). Windows
	// holding both come out up to 15% low: Prometheus extrapolates a
	// window's start by at most half the average gap between its samples,
	// which the raw points make 15 s, while the first rollup sample may be
	// 5 minutes in.
	qry, err := ng.NewRangeQuery(context.Background(), q, nil, "rate(c_total[30m])", t0.Add(40*time.Minute), t0.Add(3*time.Hour), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer qry.Close()
	res := qry.Exec(context.Background())
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	m, _ := res.Matrix()
	if len(m) != 1 || len(m[0].Floats) != 29 {
		t.Fatalf("rate range: %v", m)
	}
	const want = 4.0 / 15
	for _, p := range m[0].Floats {
		lo := 0.97 * want
		if p.T > t0.Add(2*time.Hour).UnixMilli() && p.T < t0.Add(150*time.Minute).UnixMilli() {
			lo = 0.8 * want
		}
		if p.F < lo || p.F > 1.03*want {
			t.Errorf("rate at %s: %g, want about %g", time.UnixMilli(p.T).UTC(), p.F, want)
		}
	}
}
