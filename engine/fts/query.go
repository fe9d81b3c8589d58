package fts

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Query limits. A query over them fails with ErrQuery.
const (
	// MaxQueryBytes is the longest query accepted: 4 KiB is far more than
	// anyone types, and bounds the analysis work of one request.
	MaxQueryBytes = 4 << 10
	// MaxClauses is the most words, phrases and prefixes in one query:
	// more than a person types, and it bounds the searchers one query
	// builds.
	MaxClauses = 32
	// MinPrefixRunes is the shortest stem a prefix query may have: "a*"
	// would match a large share of the dictionary.
	MinPrefixRunes = 2
	// MaxPrefixTerms is the most distinct indexed terms one prefix may
	// expand to; each becomes a term searcher. Bleve sets no limit; 1,024
	// is Lucene's long-standing default clause limit, and a prefix that
	// broad is too vague to rank usefully anyway.
	MaxPrefixTerms = 1024
)

// clauseType is what one part of a query is.
type clauseType uint8

const (
	clauseWord   clauseType = iota // a bare word: all its tokens, adjacent
	clausePhrase                   // "a quoted phrase": its tokens, adjacent
	clausePrefix                   // word*: any term starting with the word
)

func (t clauseType) String() string {
	switch t {
	case clauseWord:
		return "word"
	case clausePhrase:
		return "phrase"
	case clausePrefix:
		return "prefix"
	}
	return fmt.Sprintf("clauseType(%d)", uint8(t))
}

// clause is one part of a query; text is not yet analysed (a prefix's text
// excludes the '*').
type clause struct {
	typ  clauseType
	text string
}

// parseQuery splits a query into clauses, all of which must match:
//
//   - words are separated by white space;
//   - "a phrase" is the text between two double quotes;
//   - a word ending in '*' is a prefix; '*' anywhere else is an error.
//
// There are no operators: punctuation other than '"' and '*' is dropped by
// analysis. Errors wrap ErrQuery.
func parseQuery(s string) ([]clause, error) {
	if len(s) > MaxQueryBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrQuery, MaxQueryBytes)
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrQuery)
	}
	var cs []clause
	add := func(c clause) error {
		if len(cs) == MaxClauses {
			return fmt.Errorf("%w: more than %d words and phrases", ErrQuery, MaxClauses)
		}
		cs = append(cs, c)
		return nil
	}
	word := func(w string) error {
		if w == "" {
			return nil
		}
		star := strings.IndexByte(w, '*')
		switch {
		case star < 0:
			return add(clause{clauseWord, w})
		case star != len(w)-1:
			return fmt.Errorf("%w: %q: '*' is allowed only at the end of a word", ErrQuery, w)
		case star == 0:
			return fmt.Errorf("%w: '*' needs a word before it", ErrQuery)
		}
		return add(clause{clausePrefix, w[:star]})
	}

	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			i += n
		case r == '"':
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated quote at byte %d", ErrQuery, i)
			}
			if err := add(clause{clausePhrase, s[i+1 : i+1+end]}); err != nil {
				return nil, err
			}
			i += end + 2
		default:
			j := i
			for j < len(s) {
				r, n := utf8.DecodeRuneInString(s[j:])
				if unicode.IsSpace(r) || r == '"' {
					break
				}
				j += n
			}
			if err := word(s[i:j]); err != nil {
				return nil, err
			}
			i = j
		}
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%w: empty query", ErrQuery)
	}
	return cs, nil
}
