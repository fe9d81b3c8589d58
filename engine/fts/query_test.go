package fts

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseQuery(t *testing.T) {
	w := func(s string) clause { return clause{clauseWord, s} }
	ph := func(s string) clause { return clause{clausePhrase, s} }
	pre := func(s string) clause { return clause{clausePrefix, s} }
	tests := []struct {
		name  string
		query string
		want  []clause // nil: ErrQuery
	}{
		{"one word", "fox", []clause{w("fox")}},
		{"words split on any white space", " quick\tbrown\u3000fox\n", []clause{w("quick"), w("brown"), w("fox")}},
		{"phrase", `"brown fox"`, []clause{ph("brown fox")}},
		{"phrase between words", `a "b c" d`, []clause{w("a"), ph("b c"), w("d")}},
		{"quote ends a word", `foo"bar baz"qux`, []clause{w("foo"), ph("bar baz"), w("qux")}},
		{"empty phrase kept for analysis", `""`, []clause{ph("")}},
		{"star in a phrase is text", `"a*b"`, []clause{ph("a*b")}},
		{"prefix", "revenu*", []clause{pre("revenu")}},
		{"prefix of non-latin", "перевед*", []clause{pre("перевед")}},
		{"punctuation is left to analysis", "-fox +dog", []clause{w("-fox"), w("+dog")}},
		{"empty", "", nil},
		{"blank", "  ", nil},
		{"unterminated quote", `a "b`, nil},
		{"star inside", "a*b", nil},
		{"two stars", "ab**", nil},
		{"star alone", "*", nil},
		{"invalid utf-8", "\xc3", nil},
		{"too long", strings.Repeat("x", MaxQueryBytes+1), nil},
		{"longest allowed", strings.Repeat("x", MaxQueryBytes), []clause{w(strings.Repeat("x", MaxQueryBytes))}},
		{"too many clauses", strings.Repeat("a ", MaxClauses+1), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseQuery(tc.query)
			if tc.want == nil {
				if !errors.Is(err, ErrQuery) {
					t.Fatalf("parseQuery(%q) = %v, %v; want ErrQuery", tc.query, got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("parseQuery(%q) = %v, %v; want %v", tc.query, got, err, tc.want)
			}
		})
	}
}

// FuzzParseQuery checks that any input either fails with ErrQuery or yields
// 1..MaxClauses clauses of valid UTF-8 with no quote, and no star except none
// in words and prefixes.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"fox", `"brown fox" quick*`, `a "b`, "東京 タワー*", "a*b", "\xff", `""""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := parseQuery(s)
		if err != nil {
			if !errors.Is(err, ErrQuery) {
				t.Fatalf("parseQuery(%q): error %v does not wrap ErrQuery", s, err)
			}
			return
		}
		if len(cs) == 0 || len(cs) > MaxClauses {
			t.Fatalf("parseQuery(%q): %d clauses", s, len(cs))
		}
		for _, c := range cs {
			if !utf8.ValidString(c.text) || strings.Contains(c.text, `"`) {
				t.Fatalf("parseQuery(%q): bad clause %+v", s, c)
			}
			if c.typ != clausePhrase && strings.Contains(c.text, "*") {
				t.Fatalf("parseQuery(%q): star left in %+v", s, c)
			}
			if c.typ != clausePhrase && c.text == "" {
				t.Fatalf("parseQuery(%q): empty %v", s, c.typ)
			}
		}
	})
}

// FuzzSearch runs any query against the multi-language corpus: the result is
// hits in order or an error wrapping ErrQuery, never another error or a
// panic from analysis or bleve.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{"fox", `"brown fox" quick*`, "東京タワー", `"大阪 tower"`, "перевед*", "ﾀﾜｰ*", "U\u0308ber", "10.0.0.7", "a\u0300*", "🙂 fox"} {
		f.Add(s)
	}
	x, err := Open(f.TempDir(), Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { x.Close() })
	indexCorpus(f, x)
	f.Fuzz(func(t *testing.T, s string) {
		hits, err := x.Search(context.Background(), s, nil, 10)
		if err != nil {
			if !errors.Is(err, ErrQuery) {
				t.Fatalf("Search(%q): %v", s, err)
			}
			return
		}
		checkOrder(t, hits)
	})
}
