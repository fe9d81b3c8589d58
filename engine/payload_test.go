package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/engine/blob"
	"github.com/tael/tael/schema"
)

func payloadBatch(mem memory.Allocator, blobs ...Blob) arrow.RecordBatch {
	t, _ := schema.ByID(schema.LLMPayloads)
	b := array.NewRecordBuilder(mem, t.Schema)
	defer b.Release()
	for _, p := range blobs {
		for i, v := range []string{p.SHA256, p.Kind, p.Text, p.TraceID, p.SpanID} {
			b.Field(i).(*array.StringBuilder).Append(v)
		}
	}
	return b.NewRecordBatch()
}

func TestPayloadsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, mem := openTest(t, dir, Options{})
	prompt := "user: 東京で一番おいしいラーメン屋はどこですか？"
	good := Blob{SHA256: blob.SHA256(prompt), Kind: blob.KindPrompt, Text: prompt, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"}
	rec := payloadBatch(mem, good)
	if _, err := e.Append(ctx, schema.LLMPayloads, rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	bad := payloadBatch(mem, Blob{SHA256: blob.SHA256("other"), Kind: blob.KindPrompt, Text: "text"})
	lsn := e.wal.LastLSN()
	if _, err := e.Append(ctx, schema.LLMPayloads, bad); !errors.Is(err, blob.ErrInvalid) {
		t.Fatalf("mismatched sha256: err = %v, want blob.ErrInvalid", err)
	}
	bad.Release()
	if e.wal.LastLSN() != lsn {
		t.Fatal("a refused payload reached the WAL")
	}
	check := func(e *Engine) {
		t.Helper()
		got, err := e.Blob(ctx, good.SHA256)
		if err != nil || got.Text != prompt || got.Kind != blob.KindPrompt {
			t.Fatalf("Blob = %+v, %v", got, err)
		}
		if _, err := e.Blob(ctx, blob.SHA256("absent")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("absent blob: %v", err)
		}
	}
	check(e)
	// Texts are indexed asynchronously, shortly after the append.
	hits := waitSearch(t, e, "ラーメン屋")
	if hits[0].SHA256 != good.SHA256 || hits[0].TraceID != good.TraceID || hits[0].SpanID != good.SpanID || hits[0].Kind != blob.KindPrompt {
		t.Fatalf("search hit = %+v", hits[0])
	}
	if _, err := e.Search(ctx, `"unclosed`, 10); !errors.Is(err, ErrBadQuery) {
		t.Fatalf("bad query: err = %v, want ErrBadQuery", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
	e, mem = openTest(t, dir, Options{})
	waitSearch(t, e, "ラーメン屋")
	check(e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
}

// waitSearch polls Search until it finds something (the indexer runs
// asynchronously) and returns the hits.
func waitSearch(t *testing.T, e *Engine, q string) []SearchHit {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		hits, err := e.Search(context.Background(), q, 10)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		if len(hits) > 0 {
			return hits
		}
		if time.Now().After(deadline) {
			t.Fatalf("search %q found nothing within 10s", q)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
