package fts

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Doc is one distinct text to index.
type Doc struct {
	// ID is the sha256 of Text, as 64 lowercase hex digits.
	ID string
	// Kind is KindPrompt, KindCompletion or KindLogBody.
	Kind string
	// Text is indexed in full; tokens longer than 255 characters are
	// dropped (see doc.go).
	Text string
}

// Index adds docs to the index. It is idempotent by ID: a document already
// indexed with the same kind is skipped without analysing its text again; one
// indexed with other kinds is rewritten to carry the union of its kinds (the
// same text can be a prompt and a log body). Text is trusted to be the text
// whose sha256 is ID and is not re-hashed.
//
// Index validates every doc before writing any, and returns an error wrapping
// ErrDoc for an invalid one. Documents are searchable when Index returns nil,
// and durable after a later Flush.
//
// Concurrent calls are group-committed: while one call writes, the others
// queue, and the next writer takes every queued call's documents into the
// same bleve batches (of at most Options.BatchSize documents). Small calls
// are therefore cheap under concurrency; a lone caller indexing a few
// documents at a time pays a batch per call (see BenchmarkIndex). ctx bounds
// the wait in the queue; once a call's documents are being written the
// write completes. A call that fails may have written some of its documents,
// which a retry skips.
func (x *Index) Index(ctx context.Context, docs []Doc) error {
	for i, d := range docs {
		if !validID(d.ID) {
			return fmt.Errorf("%w: doc %d: id %q is not a lowercase hex sha256", ErrDoc, i, d.ID)
		}
		if !validKind(d.Kind) {
			return fmt.Errorf("%w: doc %d: unknown kind %q", ErrDoc, i, d.Kind)
		}
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.mu.closed {
		return ErrClosed
	}
	if len(docs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	r := &writeReq{docs: docs, done: make(chan struct{})}
	x.queue.push(r)
	select {
	case x.writer <- struct{}{}:
	case <-r.done:
		return r.err
	case <-ctx.Done():
		if x.queue.remove(r) {
			return ctx.Err()
		}
		<-r.done // a writer took it: wait for the outcome
		return r.err
	}
	defer func() { <-x.writer }()
	select {
	case <-r.done: // the previous writer took it
		return r.err
	default:
	}
	x.commit(x.queue.take())
	return r.err
}

// writeReq is one Index call waiting in the queue.
type writeReq struct {
	docs []Doc
	err  error         // set before done is closed
	done chan struct{} // closed once docs are written or failed
}

// writeQueue holds the Index calls waiting for the writer.
type writeQueue struct {
	// mu guards reqs.
	mu   sync.Mutex
	reqs []*writeReq
}

func (q *writeQueue) push(r *writeReq) {
	q.mu.Lock()
	q.reqs = append(q.reqs, r)
	q.mu.Unlock()
}

// take empties the queue and returns what it held.
func (q *writeQueue) take() []*writeReq {
	q.mu.Lock()
	defer q.mu.Unlock()
	reqs := q.reqs
	q.reqs = nil
	return reqs
}

// remove takes r out of the queue, reporting false if a writer already
// took it.
func (q *writeQueue) remove(r *writeReq) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, v := range q.reqs {
		if v == r {
			q.reqs = slices.Delete(q.reqs, i, i+1)
			return true
		}
	}
	return false
}

// commit writes the documents of reqs in batches of x.batchSize and
// completes every req. A failed batch fails every req not wholly written
// before it. The caller holds x.writer. The work is not cancelled by any
// one caller's context, since it serves them all.
func (x *Index) commit(reqs []*writeReq) {
	var docs []Doc
	ends := make([]int, len(reqs)) // ends[i]: end of reqs[i]'s docs in docs
	for i, r := range reqs {
		docs = append(docs, r.docs...)
		ends[i] = len(docs)
	}
	ctx := context.Background()
	var err error
	written := 0
	for written < len(docs) {
		n := min(len(docs)-written, x.batchSize)
		if err = x.indexBatch(ctx, docs[written:written+n]); err != nil {
			err = fmt.Errorf("fts: index: %w", err)
			break
		}
		written += n
	}
	for i, r := range reqs {
		if ends[i] > written {
			r.err = err
		}
		close(r.done)
	}
}

// pendingDoc is a document to write: its text and the union of its kinds.
type pendingDoc struct {
	text  string
	kinds kindSet
}

func (x *Index) indexBatch(ctx context.Context, docs []Doc) error {
	byID := make(map[string]*pendingDoc, len(docs))
	ids := make([]string, 0, len(docs))
	for _, d := range docs {
		pd := byID[d.ID]
		if pd == nil {
			pd = &pendingDoc{text: d.Text}
			byID[d.ID] = pd
			ids = append(ids, d.ID)
		}
		pd.kinds = pd.kinds.with(d.Kind)
	}
	have, err := x.storedKinds(ctx, ids)
	if err != nil {
		return err
	}
	b := x.idx.NewBatch()
	var size int64
	for _, id := range ids {
		pd := byID[id]
		old, ok := have[id]
		if ok && old.contains(pd.kinds) {
			continue
		}
		all := pd.kinds | old
		if err := b.Index(id, map[string]any{
			fieldText: pd.text,
			fieldKind: all.list(),
			fieldID:   id,
		}); err != nil {
			return fmt.Errorf("map doc %s: %w", id, err)
		}
		size += int64(len(pd.text))
	}
	if b.Size() == 0 {
		return nil
	}
	return x.batch(ctx, b, size)
}

// storedKinds returns the kinds of those of ids that are in the index.
func (x *Index) storedKinds(ctx context.Context, ids []string) (map[string]kindSet, error) {
	req := bleve.NewSearchRequestOptions(query.NewDocIDQuery(ids), len(ids), 0, false)
	req.Fields = []string{fieldKind}
	req.SortBy([]string{"_id"}) // no scoring needed
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("look up ids: %w", err)
	}
	have := make(map[string]kindSet, len(res.Hits))
	for _, h := range res.Hits {
		have[h.ID] = kindsOf(h.Fields[fieldKind])
	}
	return have, nil
}

// Delete removes the documents with these IDs; absent ones are ignored. It
// returns an error wrapping ErrDoc for an invalid ID, before deleting any.
// Deletes are durable after a later Flush.
func (x *Index) Delete(ctx context.Context, ids []string) error {
	for i, id := range ids {
		if !validID(id) {
			return fmt.Errorf("%w: id %d: %q is not a lowercase hex sha256", ErrDoc, i, id)
		}
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.mu.closed {
		return ErrClosed
	}
	select {
	case x.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-x.writer }()

	for len(ids) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(len(ids), x.batchSize)
		b := x.idx.NewBatch()
		for _, id := range ids[:n] {
			b.Delete(id)
		}
		if err := x.batch(ctx, b, 0); err != nil {
			return fmt.Errorf("fts: delete: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// validID reports whether id is 64 lowercase hex digits.
func validID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// kindSet is a set of kinds, bit i standing for kinds[i].
type kindSet uint8

func (s kindSet) with(k string) kindSet {
	for i, v := range kinds {
		if v == k {
			return s | 1<<i
		}
	}
	return s
}

func (s kindSet) contains(o kindSet) bool { return s&o == o }

// list returns the kinds in canonical order.
func (s kindSet) list() []string {
	var l []string
	for i, v := range kinds {
		if s&(1<<i) != 0 {
			l = append(l, v)
		}
	}
	return l
}

// first returns the first kind of s in canonical order, or "".
func (s kindSet) first() string {
	for i, v := range kinds {
		if s&(1<<i) != 0 {
			return v
		}
	}
	return ""
}

// kindsOf decodes a stored kind field: a string when the document has one
// kind, a slice when it has several.
func kindsOf(v any) kindSet {
	var s kindSet
	switch v := v.(type) {
	case string:
		s = s.with(v)
	case []any:
		for _, e := range v {
			if k, ok := e.(string); ok {
				s = s.with(k)
			}
		}
	}
	return s
}
