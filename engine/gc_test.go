package engine

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tael/tael/engine/blob"
	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// TestRetentionAndBlobGC drops old partitions and then the texts only they
// referenced, with an injected clock: no sleeps.
func TestRetentionAndBlobGC(t *testing.T) {
	var now atomic.Int64
	now.Store(t0.Add(3 * time.Hour).UnixNano())
	o := Options{
		Clock:           func() time.Time { return time.Unix(0, now.Load()).UTC() },
		CompactInterval: -1,
		Retention:       map[schema.ID]time.Duration{schema.Spans: 2 * time.Hour, schema.Logs: 24 * time.Hour},
	}
	e, mem := openTest(t, t.TempDir(), o)
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
		mem.AssertSize(t, 0)
	}()
	ctx := context.Background()
	// Hour 0 and hour 2 each have spans whose prompt is stored; a third
	// text is referenced by nothing.
	var texts []Blob
	for i, h := range []int{0, 2} {
		rec := synth.Spans(mem, synth.SpanOptions{Rows: 10, Start: t0.Add(time.Duration(h) * time.Hour), Step: time.Second, Seed: uint64(i + 1)})
		text := fmt.Sprintf("prompt of hour %d", h)
		sha := blob.SHA256(text)
		// The batch with prompt_sha256 set on every row.
		pc := rec.Schema().FieldIndices("prompt_sha256")[0]
		sb := array.NewStringBuilder(mem)
		for range int(rec.NumRows()) {
			sb.Append(sha)
		}
		shas := sb.NewArray()
		sb.Release()
		cols := append([]arrow.Array(nil), rec.Columns()...)
		cols[pc] = shas
		spans := array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
		shas.Release()
		rec.Release()
		p := Blob{SHA256: sha, Kind: blob.KindPrompt, Text: text, TraceID: synth.TraceID(uint64(i+1), 0)}
		texts = append(texts, p)
		pr := payloadBatch(mem, p)
		if _, err := e.Append(ctx, schema.LLMPayloads, pr); err != nil {
			t.Fatal(err)
		}
		pr.Release()
		if _, err := e.Append(ctx, schema.Spans, spans); err != nil {
			t.Fatal(err)
		}
		spans.Release()
	}
	orphanText := "a text nothing references"
	orphan := Blob{SHA256: blob.SHA256(orphanText), Kind: blob.KindCompletion, Text: orphanText}
	pr := payloadBatch(mem, orphan)
	if _, err := e.Append(ctx, schema.LLMPayloads, pr); err != nil {
		t.Fatal(err)
	}
	pr.Release()

	// Just written: GC keeps even the orphan (grace).
	if n, err := e.CollectBlobs(ctx); err != nil || n != 0 {
		t.Fatalf("GC right after writing: swept %d, %v", n, err)
	}
	if _, err := e.Compact(ctx, CompactOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	if got := countRows(t, e, schema.Spans, schema.AllTime); got != 20 {
		t.Fatalf("%d spans before retention", got)
	}
	// An hour later: hour 0 is past the 2 h retention; hour 2 is not.
	now.Store(t0.Add(4*time.Hour + time.Minute).UnixNano())
	dropped, err := e.ApplyRetention(ctx)
	if err != nil || dropped == 0 {
		t.Fatalf("retention dropped %d files, %v", dropped, err)
	}
	if got := countRows(t, e, schema.Spans, schema.AllTime); got != 10 {
		t.Fatalf("%d spans after retention, want 10", got)
	}
	n, err := e.CollectBlobs(ctx)
	if err != nil || n != 2 {
		t.Fatalf("GC swept %d, %v; want 2 (hour 0's prompt and the orphan)", n, err)
	}
	for _, c := range []struct {
		b    Blob
		kept bool
	}{{texts[0], false}, {texts[1], true}, {orphan, false}} {
		_, err := e.Blob(ctx, c.b.SHA256)
		if c.kept != (err == nil) || (!c.kept && !errors.Is(err, ErrNotFound)) {
			t.Errorf("%q: kept=%v, Blob err = %v", c.b.Text, c.kept, err)
		}
	}
	// Logs' retention (24 h) dropped nothing; trace comments follow spans.
	if n, err := e.CollectBlobs(ctx); err != nil || n != 0 {
		t.Fatalf("second GC swept %d, %v", n, err)
	}
}
