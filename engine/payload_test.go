package engine

import (
	"context"
	"errors"
	"testing"

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
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
	e, mem = openTest(t, dir, Options{})
	check(e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
}
