package hot

import (
	"math"
	"testing"
	"time"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// TestLowWater checks that DeleteMoved raises the low-water marks past the
// keys it deleted, and that data applied later far below them (late data)
// lowers them again, so scans and series lookups still find it.
func TestLowWater(t *testing.T) {
	h := newHarness(t, time.Second, 23)
	for i := range 30 {
		at := t0.Add(time.Duration(i) * time.Second)
		h.apply(schema.Logs, synth.Logs(h.mem, synth.LogOptions{Rows: 5, Start: at}))
		h.apply(schema.Metrics, synth.Metrics(h.mem, synth.MetricOptions{Series: 3, Points: 1, Start: at, Seed: 2}))
	}
	for _, table := range []schema.ID{schema.Logs, schema.Metrics} {
		if got := h.s.low.get(dataFamily(table)); got != math.MinInt64 {
			t.Fatalf("%s mark before any DeleteMoved = %d, want unknown", table, got)
		}
		m := h.movedAt(20*time.Second, h.lsn)
		h.hide[table] = m
		h.deleteMoved(table, m)
		want := bucketOf(t0.Add(20*time.Second).UnixNano(), h.o.width)
		if got := h.s.low.get(dataFamily(table)); got != want {
			t.Errorf("%s mark after DeleteMoved = %d, want %d (the first bucket left)", table, got, want)
		}
	}
	if got, want := h.s.low.get(activityFamily), bucketOf(t0.Add(20*time.Second).UnixNano(), h.o.width); got != want {
		t.Errorf("activity mark = %d, want %d", got, want)
	}
	h.check(5)
	// Late data 10 s before the marks.
	h.apply(schema.Logs, synth.Logs(h.mem, synth.LogOptions{Rows: 5, Start: t0.Add(10 * time.Second)}))
	h.apply(schema.Metrics, synth.Metrics(h.mem, synth.MetricOptions{Series: 4, Points: 1, Start: t0.Add(10 * time.Second), Seed: 3}))
	late := bucketOf(t0.Add(10*time.Second).UnixNano(), h.o.width)
	for _, f := range []int{dataFamily(schema.Logs), dataFamily(schema.Metrics), activityFamily} {
		if got := h.s.low.get(f); got > late {
			t.Errorf("family %d mark %d above late data in bucket %d", f, got, late)
		}
	}
	h.check(10)
	// Deleting everything leaves no key: the marks go past every bucket.
	for _, table := range []schema.ID{schema.Logs, schema.Metrics} {
		m := h.movedAt(time.Hour, h.lsn)
		h.hide[table] = m
		h.deleteMoved(table, m)
		if got := h.s.low.get(dataFamily(table)); got != math.MaxInt64 {
			t.Errorf("%s mark with no values left = %d, want MaxInt64", table, got)
		}
	}
	h.check(5)
}
