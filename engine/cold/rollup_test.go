package cold

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// point is one metrics row for the Rollup tests.
type point struct {
	series int // index into rollupSeries
	t      time.Duration
	v      float64
}

var rollupSeries = []struct {
	name, typ string
	labels    map[string]string
}{
	{"http_requests_total", "counter", map[string]string{"job": "api", "path": "/a"}},
	{"http_requests_total", "counter", map[string]string{"job": "api", "path": "/b"}},
	{"queue_depth", "gauge", map[string]string{"job": "worker"}},
	{"up", "gauge", nil},
}

// metricBatch builds a metrics batch of pts, in the given order, times
// relative to t0.
func metricBatch(mem memory.Allocator, pts []point) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, mustTable(schema.Metrics).Schema)
	defer b.Release()
	for _, p := range pts {
		s := rollupSeries[p.series]
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.Add(p.t).UnixNano()))
		b.Field(1).(*array.StringBuilder).Append(s.name)
		mb := b.Field(2).(*array.MapBuilder)
		if s.labels == nil {
			mb.AppendNull()
		} else {
			mb.Append(true)
			keys := make([]string, 0, len(s.labels))
			for k := range s.labels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				mb.KeyBuilder().(*array.StringBuilder).Append(k)
				mb.ItemBuilder().(*array.StringBuilder).Append(s.labels[k])
			}
		}
		b.Field(3).(*array.StringBuilder).Append("svc-" + s.labels["job"])
		b.Field(4).(*array.Float64Builder).Append(p.v)
		b.Field(5).(*array.StringBuilder).Append(s.typ)
		b.Field(6).(*array.StringBuilder).AppendNull()
		b.Field(7).(*array.Uint64Builder).Append(schema.SeriesID(s.name, s.labels))
	}
	return b.NewRecordBatch()
}

// expectRollup computes the metrics_5m rows of pts the slow, obvious way,
// as strings in the layout rowStrings gives.
func expectRollup(mem memory.Allocator, pts []point) []string {
	type key struct {
		series int
		bucket time.Duration
	}
	// Stable sort by time keeps input order among equal times.
	sorted := append([]point(nil), pts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].t < sorted[j].t })
	buckets := map[key][]point{}
	prevOf := map[key]*point{} // the series' sample before the bucket's first
	var last = map[int]*point{}
	for i := range sorted {
		p := sorted[i]
		k := key{p.series, p.t.Truncate(5 * time.Minute)}
		if p.t < 0 {
			panic("test times must be >= 0")
		}
		if _, ok := buckets[k]; !ok {
			prevOf[k] = last[p.series]
		}
		buckets[k] = append(buckets[k], p)
		last[p.series] = &sorted[i]
	}
	var keys []key
	for k := range buckets {
		keys = append(keys, k)
	}
	idOf := func(s int) uint64 { return schema.SeriesID(rollupSeries[s].name, rollupSeries[s].labels) }
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].bucket != keys[j].bucket {
			return keys[i].bucket < keys[j].bucket
		}
		return idOf(keys[i].series) < idOf(keys[j].series)
	})
	var out []string
	for _, k := range keys {
		ps := buckets[k]
		mn, mx, sum := math.Inf(1), math.Inf(-1), 0.0
		for _, p := range ps {
			mn, mx, sum = math.Min(mn, p.v), math.Max(mx, p.v), sum+p.v
		}
		inc := "NULL"
		if rollupSeries[k.series].typ == "counter" {
			total := 0.0
			prev := prevOf[k]
			if prev != nil && prev.t < k.bucket-5*time.Minute {
				prev = nil // not in the preceding bucket
			}
			for _, p := range ps {
				if prev != nil {
					if p.v >= prev.v {
						total += p.v - prev.v
					} else {
						total += p.v // reset
					}
				}
				pp := p
				prev = &pp
			}
			inc = fmt.Sprintf("%b", total)
		}
		// Render one row through a real batch so the map and string
		// formatting match rowStrings.
		one := metricBatch(mem, ps[len(ps)-1:])
		labels := valueString(one.Column(2), 0)
		one.Release()
		s := rollupSeries[k.series]
		out = append(out, fmt.Sprintf("%d | %d | %q | %s | %q | %b | %b | %b | %d | %b | %s",
			t0.Add(k.bucket).UnixNano(), idOf(k.series), s.name, labels, "svc-"+s.labels["job"],
			mn, mx, sum, len(ps), ps[len(ps)-1].v, inc))
	}
	return out
}

func TestRollup(t *testing.T) {
	f := func(name string, pts []point, shuffle bool) {
		t.Run(name, func(t *testing.T) {
			mem := checkedMem(t)
			in := append([]point(nil), pts...)
			if shuffle {
				rand.New(rand.NewPCG(1, 2)).Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
			}
			// Split the input in two batches.
			a := metricBatch(mem, in[:len(in)/2])
			b := metricBatch(mem, in[len(in)/2:])
			defer a.Release()
			defer b.Release()
			got, err := Rollup(mem, []arrow.RecordBatch{a, b})
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			if !got.Schema().Equal(mustTable(schema.Metrics5m).Schema) {
				t.Fatalf("schema %s", got.Schema())
			}
			want := expectRollup(mem, in)
			rows := rowStrings(got, nil)
			if len(rows) != len(want) {
				t.Fatalf("%d rows, want %d\ngot  %q\nwant %q", len(rows), len(want), rows, want)
			}
			for i := range rows {
				if rows[i] != want[i] {
					t.Fatalf("row %d:\ngot  %s\nwant %s", i, rows[i], want[i])
				}
			}
		})
	}
	m := func(d time.Duration) time.Duration { return d * time.Minute }
	f("counter with reset", []point{
		{0, m(0), 10}, {0, m(1), 15}, {0, m(2), 3}, {0, m(3), 8}, {0, m(4), 8},
		// Next bucket: the increase from 8 (4m) to 20 (5m) counts here.
		{0, m(5), 20}, {0, m(6), 1},
	}, false)
	f("gauge", []point{{2, m(0), 5}, {2, m(1), 2}, {2, m(2), 9}, {2, m(7), 1}}, false)
	f("bucket boundary", []point{
		{1, m(5) - 1, 100}, {1, m(5), 150}, // 4:59.999999999 and 5:00
		{1, m(10) - time.Second, 160}, {1, m(10), 10}, // reset across a boundary
	}, false)
	f("gap of a bucket", []point{{0, m(1), 5}, {0, m(2), 7}, {0, m(11), 9}, {0, m(12), 12}}, false)
	f("tie: later row wins", []point{{2, m(1), 5}, {2, m(1), 7}, {0, m(1), 3}, {0, m(1), 2}, {0, m(1), 4}}, false)
	f("several series shuffled", func() []point {
		var pts []point
		r := rand.New(rand.NewPCG(7, 7))
		for s := range rollupSeries {
			v := 0.0
			for i := range 100 {
				if rollupSeries[s].typ == "counter" {
					v += float64(r.IntN(20))
					if r.IntN(30) == 0 {
						v = float64(r.IntN(3)) // reset
					}
				} else {
					v = float64(r.IntN(50))
				}
				pts = append(pts, point{s, time.Duration(i) * 15 * time.Second, v})
			}
		}
		return pts
	}(), true)
	f("empty", nil, false)
}

func TestRollupRejects(t *testing.T) {
	mem := checkedMem(t)
	logs := synth.Logs(mem, synth.LogOptions{Rows: 3, Start: t0})
	defer logs.Release()
	if _, err := Rollup(mem, []arrow.RecordBatch{logs}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
}
