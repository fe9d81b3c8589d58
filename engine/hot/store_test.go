package hot

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

func TestOracle(t *testing.T) {
	for _, c := range []struct {
		name  string
		width time.Duration
		codec Codec
		seed  uint64
	}{
		{"1s-zstd", time.Second, Zstd, 1},
		{"10s-lz4", 10 * time.Second, LZ4, 2},
		{"3s-none", 3 * time.Second, None, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.width, c.seed)
			h.opts.Codec = c.codec
			h.reopen()
			h.applyRandom(60)
			h.check(40)
		})
	}
}

func TestApplyIdempotent(t *testing.T) {
	h := newHarness(t, time.Second, 4)
	h.applyRandom(30)
	h.check(10)
	h.replay()
	h.check(20)
}

func TestReopen(t *testing.T) {
	h := newHarness(t, time.Second, 5)
	h.applyRandom(30)
	h.check(5)
	h.reopen()
	h.check(20)
	// A series first seen before the reopen is not written again, and one
	// applied after it still is.
	h.applyRandom(10)
	h.check(10)

	got, err := h.s.AppliedLSN()
	if err != nil {
		t.Fatal(err)
	}
	if got != h.lsn {
		t.Fatalf("AppliedLSN = %d, want %d", got, h.lsn)
	}
	for _, lsn := range []uint64{7, 0, math.MaxUint64} {
		if err := h.s.SetApplied(lsn); err != nil {
			t.Fatal(err)
		}
		h.reopen()
		if got, err := h.s.AppliedLSN(); err != nil || got != lsn {
			t.Fatalf("AppliedLSN after SetApplied(%d) and reopen = %d, %v", lsn, got, err)
		}
	}
}

func TestAppliedLSNEmpty(t *testing.T) {
	h := newHarness(t, time.Second, 6)
	if got, err := h.s.AppliedLSN(); err != nil || got != 0 {
		t.Fatalf("AppliedLSN of a new store = %d, %v", got, err)
	}
	// The watermark is written verbatim, even below the batch's LSN.
	rec := synth.Logs(h.mem, synth.LogOptions{Rows: 3, Start: t0})
	defer rec.Release()
	if err := h.s.Apply(10, schema.Logs, rec, nil, 4); err != nil {
		t.Fatal(err)
	}
	if got, err := h.s.AppliedLSN(); err != nil || got != 4 {
		t.Fatalf("AppliedLSN = %d, %v; want 4", got, err)
	}
}

func TestApplyRejects(t *testing.T) {
	h := newHarness(t, time.Second, 7)
	spans := func() arrow.RecordBatch {
		return synth.Spans(h.mem, synth.SpanOptions{Rows: 10, Start: t0, Seed: 1})
	}
	// withTimes returns spans whose start_time column is replaced.
	withTimes := func(fill func(b *array.TimestampBuilder)) arrow.RecordBatch {
		rec := spans()
		defer rec.Release()
		b := array.NewTimestampBuilder(h.mem, schema.Timestamp)
		defer b.Release()
		fill(b)
		col := b.NewArray()
		defer col.Release()
		tbl, _ := schema.ByID(schema.Spans)
		out, err := rec.SetColumn(tbl.TimeIndex, col)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		table schema.ID
		rec   func() arrow.RecordBatch
		want  error
	}{
		{"logs batch as spans", schema.Spans, func() arrow.RecordBatch {
			return synth.Logs(h.mem, synth.LogOptions{Rows: 3, Start: t0})
		}, ErrSchema},
		{"dropped column", schema.Spans, func() arrow.RecordBatch {
			rec := spans()
			defer rec.Release()
			tbl, _ := schema.ByID(schema.Spans)
			fields := tbl.Schema.Fields()[:5]
			return array.NewRecordBatch(arrow.NewSchema(fields, nil), rec.Columns()[:5], rec.NumRows())
		}, ErrSchema},
		{"table not in hot tier", schema.Metrics5m, spans, ErrSchema},
		{"unknown table", schema.ID(99), spans, ErrSchema},
		{"null time", schema.Spans, func() arrow.RecordBatch {
			return withTimes(func(b *array.TimestampBuilder) {
				for i := 0; i < 10; i++ {
					if i == 4 {
						b.AppendNull()
					} else {
						b.Append(arrow.Timestamp(t0.UnixNano() + int64(i)))
					}
				}
			})
		}, ErrTime},
		{"max time", schema.Spans, func() arrow.RecordBatch {
			return withTimes(func(b *array.TimestampBuilder) {
				for i := 0; i < 10; i++ {
					b.Append(arrow.Timestamp(math.MaxInt64 - int64(9-i)))
				}
			})
		}, ErrTime},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := c.rec()
			defer rec.Release()
			err := h.s.Apply(1, c.table, rec, nil, 1)
			if !errors.Is(err, c.want) {
				t.Fatalf("Apply = %v, want %v", err, c.want)
			}
			if lsn, err := h.s.AppliedLSN(); err != nil || lsn != 0 {
				t.Fatalf("AppliedLSN after a rejected Apply = %d, %v", lsn, err)
			}
			for _, table := range []schema.ID{schema.Spans, schema.Logs} {
				h.checkScan(table, schema.AllTime, nil)
			}
			h.checkTrace(synth.TraceID(1, int(t0.UnixNano()/int64(time.Millisecond))/8))
		})
	}
}

func TestScanErrors(t *testing.T) {
	h := newHarness(t, time.Second, 8)
	for _, c := range []struct {
		name    string
		table   schema.ID
		columns []string
		want    error
	}{
		{"unknown column", schema.Spans, []string{"trace_id", "nope"}, ErrColumn},
		{"table not in hot tier", schema.Metrics5m, nil, ErrSchema},
		{"unknown table", schema.ID(0), nil, ErrSchema},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := h.s.Scan(context.Background(), c.table, schema.AllTime, c.columns, Moved{})
			if !errors.Is(err, c.want) {
				if r != nil {
					r.Release()
				}
				t.Fatalf("Scan = %v, want %v", err, c.want)
			}
		})
	}
}

func TestScanCancel(t *testing.T) {
	h := newHarness(t, time.Second, 9)
	for i := range 20 {
		h.apply(schema.Spans, synth.Spans(h.mem, synth.SpanOptions{Rows: 100, Start: t0.Add(time.Duration(i) * time.Second), Seed: uint64(i)}))
	}
	t.Run("during", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r, err := h.s.Scan(ctx, schema.Spans, schema.AllTime, nil, Moved{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Release()
		if !r.Next() {
			t.Fatalf("first Next = false, err %v", r.Err())
		}
		cancel()
		n := 0
		for r.Next() {
			n++
		}
		if !errors.Is(r.Err(), context.Canceled) {
			t.Fatalf("Err = %v, want context.Canceled", r.Err())
		}
		if n > scanAhead {
			t.Fatalf("%d batches after cancel; at most %d were decoded ahead", n, scanAhead)
		}
	})
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r, err := h.s.Scan(ctx, schema.Spans, schema.AllTime, nil, Moved{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Release()
		if r.Next() {
			t.Fatal("Next = true after cancel")
		}
		if !errors.Is(r.Err(), context.Canceled) {
			t.Fatalf("Err = %v, want context.Canceled", r.Err())
		}
	})
	t.Run("released early", func(t *testing.T) {
		r, err := h.s.Scan(context.Background(), schema.Spans, schema.AllTime, nil, Moved{})
		if err != nil {
			t.Fatal(err)
		}
		r.Next()
		r.Release() // frees the batches decoded ahead: the harness checks
	})
	t.Run("trace and series", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := h.s.Trace(ctx, synth.TraceID(0, int(t0.UnixMilli()/8)), Moved{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Trace = %v, want context.Canceled", err)
		}
		if _, err := h.s.Series(ctx, nil, schema.AllTime); !errors.Is(err, context.Canceled) {
			t.Fatalf("Series = %v, want context.Canceled", err)
		}
	})
}

// TestApplyLargeBatch applies batches too big for one Badger transaction
// (a tiny memtable makes the limit small) and with more rows than one value
// holds.
func TestApplyLargeBatch(t *testing.T) {
	h := newHarness(t, 10*time.Second, 10)
	h.opts.MemTableSize = 1 << 20
	h.reopen()
	h.apply(schema.Metrics, synth.Metrics(h.mem, synth.MetricOptions{Series: 3000, Points: 2, Start: t0, Step: 7 * time.Second}))
	h.apply(schema.Logs, synth.Logs(h.mem, synth.LogOptions{Rows: maxPartRows + 1000, Start: t0, Step: time.Microsecond}))
	if got, err := h.s.AppliedLSN(); err != nil || got != h.lsn {
		t.Fatalf("AppliedLSN = %d, %v; want %d", got, err, h.lsn)
	}
	h.checkScan(schema.Logs, schema.AllTime, []string{"timestamp", "body"})
	h.checkScan(schema.Metrics, schema.AllTime, nil)
	h.checkSeries([]*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "job", ".*")}, schema.AllTime)
	h.checkSeries([]*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", "svc-3")}, schema.TimeRange{Min: t0.UnixNano(), Max: t0.UnixNano() + 1})
	h.replay()
	h.reopen()
	h.checkScan(schema.Logs, schema.AllTime, []string{"timestamp", "body"})
	h.checkSeries([]*labels.Matcher{labels.MustNewMatcher(labels.MatchNotEqual, labels.MetricName, "up")}, schema.AllTime)
}

func TestOpenBucketWidth(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{BucketWidth: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{BucketWidth: 2 * time.Second}); !errors.Is(err, ErrBucketWidth) {
		t.Fatalf("Open with another width = %v, want ErrBucketWidth", err)
	}
	s, err = Open(dir, Options{BucketWidth: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestKeys(t *testing.T) {
	// Bucket keys sort as their buckets, negative ones included.
	buckets := []int64{math.MinInt64, -1 << 40, -2, -1, 0, 1, 2, 1 << 40, math.MaxInt64}
	for i := 1; i < len(buckets); i++ {
		a, b := dataKey(schema.Spans, buckets[i-1], math.MaxUint64, math.MaxUint16), dataKey(schema.Spans, buckets[i], 0, 0)
		if string(a) >= string(b) {
			t.Fatalf("key of bucket %d >= key of bucket %d", buckets[i-1], buckets[i])
		}
		end := afterPrefix(dataBucketKey(schema.Spans, buckets[i-1]), dataKeyLen)
		if string(a) >= string(end) || string(end) >= string(b) {
			t.Fatalf("end of bucket %d is not between its keys and the next bucket's", buckets[i-1])
		}
		if got, lsn, _ := parseDataKey(b); got != buckets[i] || lsn != 0 {
			t.Fatalf("parseDataKey = %d, %d; want %d, 0", got, lsn, buckets[i])
		}
	}
	for _, c := range []struct {
		t, w, want int64
	}{{0, 10, 0}, {9, 10, 0}, {10, 10, 1}, {-1, 10, -1}, {-10, 10, -1}, {-11, 10, -2}, {math.MinInt64, 1e9, -9223372037}} {
		if got := bucketOf(c.t, c.w); got != c.want {
			t.Errorf("bucketOf(%d, %d) = %d, want %d", c.t, c.w, got, c.want)
		}
	}
	// A raw trace id's prefix is not a prefix of a longer raw id's.
	a, b := traceKeyPrefix("abc"), traceKeyPrefix("abcd")
	if string(b[:len(a)]) == string(a) {
		t.Fatal("trace prefix of abc is a prefix of abcd's")
	}
	if p := traceKeyPrefix(synth.TraceID(1, 1)); p[0] != prefixTraceHex || len(p) != 17 {
		t.Fatalf("hex trace prefix %x", p)
	}
}

func TestLabelsRoundTrip(t *testing.T) {
	var b labels.ScratchBuilder
	for _, ls := range []labels.Labels{
		labels.EmptyLabels(),
		labels.FromStrings("__name__", "up"),
		labels.FromStrings("__name__", "up", "job", "a", "empty", "", "üñí", "\x00\xff"),
	} {
		got, err := decodeLabels(&b, encodeLabels(ls))
		if err != nil || !labels.Equal(got, ls) {
			t.Fatalf("decodeLabels(encodeLabels(%v)) = %v, %v", ls, got, err)
		}
	}
	if _, err := decodeLabels(&b, []byte{5, 'a'}); !errors.Is(err, errKey) {
		t.Fatalf("decodeLabels of a truncated value = %v", err)
	}
}

func TestDefaultOptionsAllocator(t *testing.T) {
	if DefaultOptions().Allocator != memory.DefaultAllocator {
		t.Fatal("DefaultOptions().Allocator is not memory.DefaultAllocator")
	}
}
