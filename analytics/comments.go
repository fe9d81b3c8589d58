package analytics

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tael/tael/schema"
)

// Comments lists comments, oldest first: a trace's when traceID is set
// (all of them, at most limit; 0 means MaxLimit), otherwise the newest
// limit of all (0 means DefaultRows).
func (s *Service) Comments(ctx context.Context, id string, n int) ([]Comment, error) {
	var q string
	var params []any
	cols := columns(schema.TraceComments, "")
	if id != "" {
		var err error
		if id, err = traceID(id); err != nil {
			return nil, err
		}
		if n, err = limit(n, MaxLimit); err != nil {
			return nil, err
		}
		q = "SELECT " + cols + " FROM trace_comments WHERE trace_id = ? ORDER BY created_at, id LIMIT ?"
		params = []any{id, int64(n)}
	} else {
		var err error
		if n, err = limit(n, DefaultRows); err != nil {
			return nil, err
		}
		q = "SELECT * FROM (SELECT " + cols + " FROM trace_comments ORDER BY created_at DESC, id DESC LIMIT ?) ORDER BY created_at, id"
		params = []any{int64(n)}
	}
	return collect(ctx, s, q, params, commentsOf)
}

// AddComment stores a comment durably and returns it with its id and time.
func (s *Service) AddComment(ctx context.Context, id string, c NewComment) (*Comment, error) {
	id, err := traceID(id)
	if err != nil {
		return nil, err
	}
	out := &Comment{TraceID: id, Author: c.Author, Body: c.Body, CreatedAt: s.now()}
	if c.SpanID != "" {
		if out.SpanID, err = spanID(c.SpanID); err != nil {
			return nil, err
		}
	}
	switch {
	case strings.TrimSpace(c.Author) == "":
		return nil, fmt.Errorf("%w: author is empty", ErrInvalid)
	case strings.TrimSpace(c.Body) == "":
		return nil, fmt.Errorf("%w: body is empty", ErrInvalid)
	case len(c.Body) > MaxCommentBytes:
		return nil, fmt.Errorf("%w: body of %d bytes: at most %d", ErrInvalid, len(c.Body), MaxCommentBytes)
	}
	var rnd [16]byte
	_, _ = rand.Read(rnd[:]) // never fails (crypto/rand)
	out.ID = hex.EncodeToString(rnd[:])

	t, _ := schema.ByID(schema.TraceComments)
	b := array.NewRecordBuilder(s.mem, t.Schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(out.ID)
	b.Field(1).(*array.StringBuilder).Append(out.TraceID)
	if out.SpanID == "" {
		b.Field(2).(*array.StringBuilder).AppendNull()
	} else {
		b.Field(2).(*array.StringBuilder).Append(out.SpanID)
	}
	b.Field(3).(*array.StringBuilder).Append(out.Author)
	b.Field(4).(*array.StringBuilder).Append(out.Body)
	b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(out.CreatedAt.UnixNano()))
	rec := b.NewRecordBatch()
	defer rec.Release()
	if _, err := s.e.Append(ctx, schema.TraceComments, rec); err != nil {
		return nil, fmt.Errorf("analytics: store comment: %w", err)
	}
	return out, nil
}
