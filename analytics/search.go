package analytics

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tael/tael/engine"
)

// Search runs a full-text query over prompts, completions and log bodies,
// best first, at most limit hits (0 means DefaultRows).
func (s *Service) Search(ctx context.Context, q string, n int) ([]SearchHit, error) {
	n, err := limit(n, DefaultRows)
	if err != nil {
		return nil, err
	}
	hits, err := s.search(ctx, q, n)
	if err != nil {
		return nil, err
	}
	out := make([]SearchHit, len(hits))
	for i, h := range hits {
		out[i] = SearchHit{SHA256: h.SHA256, Kind: h.Kind, Score: h.Score, Fragment: h.Fragment, TraceID: h.TraceID, SpanID: h.SpanID}
	}
	return out, nil
}

// Blob returns a stored text: ErrNotFound when there is none, ErrInvalid
// for a key that is not 64 hex digits.
func (s *Service) Blob(ctx context.Context, sha256 string) (engine.Blob, error) {
	if !isHex(sha256, 64) {
		return engine.Blob{}, fmt.Errorf("%w: sha256 %q: want 64 hex digits", ErrInvalid, sha256)
	}
	sha256 = strings.ToLower(sha256)
	b, err := s.e.Blob(ctx, sha256)
	if errors.Is(err, engine.ErrNotFound) {
		return engine.Blob{}, fmt.Errorf("%w: blob %s", ErrNotFound, sha256)
	}
	if err != nil {
		return engine.Blob{}, fmt.Errorf("analytics: blob %s: %w", sha256, err)
	}
	return b, nil
}
