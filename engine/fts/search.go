package fts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/highlight/highlighter/html"
	"github.com/blevesearch/bleve/v2/search/query"
)

// MaxLimit is the most hits one Search returns; a limit of zero, below zero
// or above it means MaxLimit. Each hit loads and highlights its stored text,
// so the limit bounds a search's work as well as its response; 1,000 is
// several pages of results.
const MaxLimit = 1000

// Hit is one matching document.
type Hit struct {
	// ID is the document's sha256.
	ID string
	// Kind is the document's first kind (in the order prompt, completion,
	// log_body) among the kinds searched for, or among all its kinds when
	// the search was not restricted.
	Kind string
	// Score is the document's BM25 relevance; higher is better.
	Score float64
	// Fragment is a snippet of the text around the matches, HTML-escaped,
	// with each match in <mark>…</mark>. It may be "".
	Fragment string
}

// Search returns the documents matching query, best first: by Score
// descending, then by ID ascending. Every word, phrase and prefix of the
// query must match (AND); see parseQuery and doc.go for the syntax. kinds
// restricts the search to documents having at least one of these kinds; nil
// or empty means all kinds. See MaxLimit for limit.
//
// A malformed query, an unknown kind or a query without a searchable word
// returns an error wrapping ErrQuery.
func (x *Index) Search(ctx context.Context, q string, kinds []string, limit int) ([]Hit, error) {
	clauses, err := parseQuery(q)
	if err != nil {
		return nil, err
	}
	var filter kindSet
	for _, k := range kinds {
		if !validKind(k) {
			return nil, fmt.Errorf("%w: unknown kind %q", ErrQuery, k)
		}
		filter = filter.with(k)
	}
	if limit <= 0 || limit > MaxLimit {
		limit = MaxLimit
	}

	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.mu.closed {
		return nil, ErrClosed
	}
	must, err := x.queries(clauses)
	if err != nil {
		return nil, err
	}
	bq := query.NewBooleanQuery(must, nil, nil)
	if filter != 0 {
		var ks []query.Query
		for _, k := range filter.list() {
			tq := query.NewTermQuery(k)
			tq.SetField(fieldKind)
			ks = append(ks, tq)
		}
		bq.AddFilter(query.NewDisjunctionQuery(ks))
	}

	res, err := x.search(ctx, bq, limit)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("fts: search %q: %w", q, err)
	}

	hits := make([]Hit, 0, len(res))
	for _, dm := range res {
		ks := kindsOf(dm.Fields[fieldKind])
		if filter != 0 {
			ks &= filter
		}
		h := Hit{ID: dm.ID, Kind: ks.first(), Score: dm.Score}
		if f := dm.Fragments[fieldText]; len(f) > 0 {
			h.Fragment = f[0]
		}
		hits = append(hits, h)
	}
	return hits, nil
}

// search returns the top limit matches of q by score descending, then ID
// ascending, with their kind field and fragments.
//
// Bleve sorts by score alone on a fast path; adding a tie-breaker makes it
// read the tie-breaker of every candidate, which made a search for a rare
// word about 7× slower (BenchmarkSearch). So search first asks for limit+1
// hits by score alone. If the last one scores less than the one before, the
// first limit are exactly the best and only their order needs fixing here;
// otherwise equal scores straddle the cut, and bleve is asked again with the
// tie-breaker so that the cut falls by ID.
func (x *Index) search(ctx context.Context, q query.Query, limit int) (search.DocumentMatchCollection, error) {
	run := func(size int, sort []string) (search.DocumentMatchCollection, error) {
		req := bleve.NewSearchRequestOptions(q, size, 0, false)
		req.SortBy(sort)
		req.Fields = []string{fieldKind}
		req.Highlight = bleve.NewHighlightWithStyle(html.Name)
		req.Highlight.AddField(fieldText)
		res, err := x.idx.SearchInContext(ctx, req)
		if err != nil {
			return nil, err
		}
		return res.Hits, nil
	}
	hits, err := run(limit+1, []string{"-_score"})
	if err != nil {
		return nil, err
	}
	if len(hits) <= limit || hits[limit].Score < hits[limit-1].Score {
		hits = hits[:min(len(hits), limit)]
		slices.SortFunc(hits, func(a, b *search.DocumentMatch) int {
			if c := cmp.Compare(b.Score, a.Score); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		return hits, nil
	}
	return run(limit, []string{"-_score", fieldID})
}

// queries turns clauses into bleve queries on the text field. A word or
// phrase with no token after analysis (punctuation only) is dropped; a query
// left with nothing fails.
func (x *Index) queries(clauses []clause) ([]query.Query, error) {
	var qs []query.Query
	for _, c := range clauses {
		tokens := x.analyzer.Analyze([]byte(c.text))
		if c.typ == clausePrefix {
			q, err := x.prefixQuery(c.text, tokens)
			if err != nil {
				return nil, err
			}
			qs = append(qs, q)
			continue
		}
		if len(tokens) == 0 {
			continue
		}
		qs = append(qs, textQuery(tokens))
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("%w: no searchable word", ErrQuery)
	}
	return qs, nil
}

// textQuery matches tokens (of a word or a quoted phrase) at their relative
// positions: a term query for one token, else a phrase. Several tokens come
// from a phrase, a word with inner punctuation ("e-mail") or a CJK word.
//
// A CJK run is indexed as its characters and its overlapping bigrams, the
// bigram of characters i and i+1 at the position of character i (see
// TestAnalyzer). Matching the bigrams alone is equivalent and much cheaper
// than matching each position's character or bigram: a character is kept
// only where no bigram covers it (a one-character run), and the positions
// of covered characters become gaps, which bleve's phrase searcher accepts
// as any term.
func textQuery(tokens analysis.TokenStream) query.Query {
	first, last := tokens[0].Position, tokens[0].Position
	bigramAt := map[int]bool{}
	for _, t := range tokens {
		first, last = min(first, t.Position), max(last, t.Position)
		if t.Type == analysis.Double {
			bigramAt[t.Position] = true
		}
	}
	slots := make([][]string, last-first+1)
	for _, t := range tokens {
		if t.Type == analysis.Single && (bigramAt[t.Position] || bigramAt[t.Position-1]) {
			continue
		}
		i := t.Position - first
		slots[i] = append(slots[i], string(t.Term))
	}
	for len(slots) > 0 && len(slots[len(slots)-1]) == 0 {
		slots = slots[:len(slots)-1] // a covered last character
	}
	if len(slots) == 1 && len(slots[0]) == 1 {
		q := query.NewTermQuery(slots[0][0])
		q.SetField(fieldText)
		return q
	}
	return query.NewMultiPhraseQuery(slots, fieldText)
}

// prefixQuery builds the query for stem*. tokens are the stem's tokens.
func (x *Index) prefixQuery(stem string, tokens analysis.TokenStream) (query.Query, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("%w: %q: no word before '*'", ErrQuery, stem+"*")
	}
	for _, t := range tokens {
		switch t.Type {
		case analysis.Ideographic, analysis.Single, analysis.Double:
			// Chinese and Japanese are indexed as overlapping bigrams, so
			// a bare word already matches inside longer words.
			return textQuery(tokens), nil
		}
	}
	if len(tokens) > 1 {
		return nil, fmt.Errorf("%w: %q: a prefix must be a single word", ErrQuery, stem+"*")
	}
	p := string(tokens[0].Term)
	if utf8.RuneCountInString(p) < MinPrefixRunes {
		return nil, fmt.Errorf("%w: %q: a prefix needs at least %d characters", ErrQuery, stem+"*", MinPrefixRunes)
	}
	n, err := x.countPrefixTerms(p, MaxPrefixTerms+1)
	if err != nil {
		return nil, fmt.Errorf("fts: expand prefix %q: %w", p, err)
	}
	if n > MaxPrefixTerms {
		return nil, fmt.Errorf("%w: %q matches more than %d words", ErrQuery, stem+"*", MaxPrefixTerms)
	}
	q := query.NewPrefixQuery(p)
	q.SetField(fieldText)
	return q, nil
}

// countPrefixTerms counts the indexed terms starting with p, up to limit.
func (x *Index) countPrefixTerms(p string, limit int) (n int, err error) {
	d, err := x.idx.FieldDictPrefix(fieldText, []byte(p))
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := d.Close(); err == nil {
			err = cerr
		}
	}()
	for n < limit {
		e, err := d.Next()
		if err != nil {
			return n, err
		}
		if e == nil {
			break
		}
		n++
	}
	return n, nil
}
