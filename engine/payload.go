package engine

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tael/tael/engine/blob"
)

// Blob is a stored text (prompt, completion or long log body).
type Blob = blob.Blob

// ErrNotFound is returned by Blob for a sha256 the store does not hold.
var ErrNotFound = blob.ErrNotFound

// payloadBlobs reads an llm_payloads batch into blobs and checks each, so a
// bad one is refused before it reaches the WAL.
func payloadBlobs(rec arrow.RecordBatch) ([]blob.Blob, error) {
	str := func(i int) *array.String { return rec.Column(i).(*array.String) }
	sha, kind, text, trace, span := str(0), str(1), str(2), str(3), str(4)
	out := make([]blob.Blob, rec.NumRows())
	for i := range out {
		out[i] = blob.Blob{SHA256: sha.Value(i), Kind: kind.Value(i), Text: text.Value(i), TraceID: trace.Value(i), SpanID: span.Value(i)}
		if err := blob.Check(out[i]); err != nil {
			return nil, fmt.Errorf("llm_payloads row %d: %w", i, err)
		}
	}
	return out, nil
}

// Blob returns the text stored under sha256.
func (e *Engine) Blob(ctx context.Context, sha256 string) (Blob, error) {
	return e.blobs.Get(ctx, sha256)
}

// kickIndexer is a no-op until the full-text index lands.
func (e *Engine) kickIndexer() {}
