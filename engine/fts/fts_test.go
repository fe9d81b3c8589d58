package fts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func sha(text string) string {
	s := sha256.Sum256([]byte(text))
	return hex.EncodeToString(s[:])
}

func doc(kind, text string) Doc { return Doc{ID: sha(text), Kind: kind, Text: text} }

func openTest(t testing.TB, dir string) *Index {
	t.Helper()
	x, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func mustIndex(t testing.TB, x *Index, docs ...Doc) {
	t.Helper()
	if err := x.Index(context.Background(), docs); err != nil {
		t.Fatal(err)
	}
}

// corpus is the multi-language test set, by label.
var corpus = map[string]Doc{
	"en_fox":     doc(KindPrompt, "The quick brown fox jumps over the lazy dog."),
	"en_revenue": doc(KindCompletion, "Summarize the quarterly revenue report for the board meeting."),
	"en_log":     doc(KindLogBody, "ERROR connection refused while contacting payment-service at 10.0.0.7:8080"),
	"de_wolken":  doc(KindPrompt, "Über den Wolken muss die Freiheit wohl grenzenlos sein."),
	"de_strasse": doc(KindCompletion, "Die Straße ist heute gesperrt, bitte nehmen Sie die Umleitung über die Brücke."),
	"ja_tower":   doc(KindPrompt, "東京タワーは東京都港区にある電波塔です。"),
	"ja_park":    doc(KindCompletion, "今日は天気がいいので、公園で散歩しました。"),
	"ru_moscow":  doc(KindPrompt, "Москва — столица России и крупнейший город страны."),
	"ru_text":    doc(KindCompletion, "Пожалуйста, переведите этот текст на английский язык."),
	"zh_ml":      doc(KindLogBody, "我喜欢用机器学习来分析日志数据。"),
	"ko_meet":    doc(KindLogBody, "내일 서울에서 만나요"),
	"ja_mixed":   doc(KindLogBody, "次は大阪 Tower に行きます"),
}

func labelOf(id string) string {
	for l, d := range corpus {
		if d.ID == id {
			return l
		}
	}
	return id
}

func indexCorpus(t testing.TB, x *Index) {
	t.Helper()
	docs := make([]Doc, 0, len(corpus))
	for _, d := range corpus {
		docs = append(docs, d)
	}
	mustIndex(t, x, docs...)
}

// checkOrder fails unless hits are by score descending, then ID ascending.
func checkOrder(t *testing.T, hits []Hit) {
	t.Helper()
	for i := 1; i < len(hits); i++ {
		a, b := hits[i-1], hits[i]
		if a.Score < b.Score || a.Score == b.Score && a.ID >= b.ID {
			t.Fatalf("hits %d and %d out of order: %+v, %+v", i-1, i, a, b)
		}
	}
}

func TestSearch(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	indexCorpus(t, x)

	tests := []struct {
		name  string
		query string
		kinds []string
		limit int
		want  []string // labels, in any order unless ordered
	}{
		{name: "english word", query: "fox", want: []string{"en_fox"}},
		{name: "case folded", query: "FOX", want: []string{"en_fox"}},
		{name: "fullwidth latin folded by NFKC", query: "ＦＯＸ", want: []string{"en_fox"}},
		{name: "and: both words", query: "quick dog", want: []string{"en_fox"}},
		{name: "and: one word missing", query: "quick revenue"},
		{name: "phrase", query: `"brown fox"`, want: []string{"en_fox"}},
		{name: "phrase in wrong order", query: `"fox brown"`},
		{name: "phrase and word", query: `"lazy dog" quick`, want: []string{"en_fox"}},
		{name: "no stemming", query: "jump"},
		{name: "word with inner punctuation", query: "payment-service", want: []string{"en_log"}},
		{name: "number with dots", query: "10.0.0.7", want: []string{"en_log"}},
		{name: "punctuation-only word dropped", query: "fox ,", want: []string{"en_fox"}},
		{name: "prefix", query: "revenu*", want: []string{"en_revenue"}},
		{name: "prefix and word", query: "quarter* board", want: []string{"en_revenue"}},

		{name: "german umlaut", query: "über", want: []string{"de_wolken", "de_strasse"}},
		{name: "german umlaut uppercase", query: "ÜBER", want: []string{"de_wolken", "de_strasse"}},
		{name: "german decomposed umlaut (NFD)", query: "U\u0308ber", want: []string{"de_wolken", "de_strasse"}},
		{name: "german no accent folding", query: "uber"},
		{name: "german eszett", query: "straße", want: []string{"de_strasse"}},
		{name: "german eszett not folded to ss", query: "STRASSE"},
		{name: "german prefix", query: "Frei*", want: []string{"de_wolken"}},
		{name: "german phrase", query: `"über die brücke"`, want: []string{"de_strasse"}},

		{name: "japanese two-character word in a sentence", query: "東京", want: []string{"ja_tower"}},
		{name: "japanese word mid-sentence", query: "港区", want: []string{"ja_tower"}},
		{name: "japanese kanji and katakana", query: "東京タワー", want: []string{"ja_tower"}},
		{name: "japanese single character", query: "塔", want: []string{"ja_tower"}},
		{name: "japanese other text", query: "公園", want: []string{"ja_park"}},
		{name: "japanese and", query: "公園 散歩", want: []string{"ja_park"}},
		{name: "japanese absent word", query: "名古屋"},
		{name: "japanese halfwidth katakana folded", query: "ﾀﾜｰ", want: []string{"ja_tower"}},
		{name: "japanese prefix is a word", query: "電波*", want: []string{"ja_tower"}},
		{name: "japanese word before latin", query: "大阪", want: []string{"ja_mixed"}},
		{name: "phrase across scripts", query: `"大阪 tower"`, want: []string{"ja_mixed"}},
		{name: "phrase across scripts, wrong order", query: `"tower 大阪"`},
		{name: "phrase from the last character of a run", query: `"阪 tower"`, want: []string{"ja_mixed"}},
		{name: "phrase across scripts, gap", query: `"次は大阪 tower に"`, want: []string{"ja_mixed"}},
		{name: "chinese word", query: "机器学习", want: []string{"zh_ml"}},
		{name: "chinese two characters", query: "日志", want: []string{"zh_ml"}},

		{name: "korean whole word", query: "서울에서", want: []string{"ko_meet"}},
		{name: "korean word stem needs a prefix", query: "서울"},
		{name: "korean prefix", query: "서울*", want: []string{"ko_meet"}},

		{name: "russian word", query: "москва", want: []string{"ru_moscow"}},
		{name: "russian uppercase", query: "МОСКВА", want: []string{"ru_moscow"}},
		{name: "russian and", query: "столица России", want: []string{"ru_moscow"}},
		{name: "russian prefix", query: "перевед*", want: []string{"ru_text"}},
		{name: "russian phrase", query: `"английский язык"`, want: []string{"ru_text"}},

		{name: "kinds: all", query: "the", want: []string{"en_fox", "en_revenue"}},
		{name: "kinds: prompt", query: "the", kinds: []string{KindPrompt}, want: []string{"en_fox"}},
		{name: "kinds: completion", query: "the", kinds: []string{KindCompletion}, want: []string{"en_revenue"}},
		{name: "kinds: two", query: "the", kinds: []string{KindCompletion, KindPrompt}, want: []string{"en_fox", "en_revenue"}},
		{name: "kinds: log_body", query: "the", kinds: []string{KindLogBody}},
		{name: "kinds: empty means all", query: "die", kinds: []string{}, want: []string{"de_wolken", "de_strasse"}},

		{name: "limit", query: "die", limit: 1, want: []string{"de_strasse"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := x.Search(context.Background(), tc.query, tc.kinds, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			checkOrder(t, hits)
			var got []string
			for _, h := range hits {
				got = append(got, labelOf(h.ID))
				d := corpus[labelOf(h.ID)]
				if h.Kind != d.Kind {
					t.Errorf("hit %s: kind %q, want %q", labelOf(h.ID), h.Kind, d.Kind)
				}
				if h.Score <= 0 {
					t.Errorf("hit %s: score %v", labelOf(h.ID), h.Score)
				}
			}
			want := slices.Clone(tc.want)
			if tc.limit == 0 {
				slices.Sort(got)
				slices.Sort(want)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Search(%q, %v) = %v, want %v", tc.query, tc.kinds, got, want)
			}
		})
	}
}

func TestSearchFragment(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	indexCorpus(t, x)
	mustIndex(t, x, doc(KindLogBody, "a <b>bold</b> fox & friends"))

	f := func(query, want string) {
		t.Helper()
		hits, err := x.Search(context.Background(), query, []string{KindLogBody}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 1 || !strings.Contains(hits[0].Fragment, want) {
			t.Fatalf("Search(%q) = %+v, want one hit whose fragment has %q", query, hits, want)
		}
	}
	f("fox", "&lt;b&gt;bold&lt;/b&gt; <mark>fox</mark> &amp; friends")
	f("frie*", "<mark>friends</mark>")
	hits, err := x.Search(context.Background(), "東京", nil, 0)
	if err != nil || len(hits) != 1 || !strings.Contains(hits[0].Fragment, "<mark>東京</mark>") {
		t.Fatalf("Search(東京) = %+v, %v; want a fragment marking 東京", hits, err)
	}
}

func TestSearchTiesByID(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	// Same length, same term frequencies: equal BM25 scores.
	var docs []Doc
	for i := range 20 {
		docs = append(docs, doc(KindPrompt, fmt.Sprintf("alpha beta gamma%02d", i)))
	}
	mustIndex(t, x, docs...)
	hits, err := x.Search(context.Background(), "alpha", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != len(docs) {
		t.Fatalf("%d hits, want %d", len(hits), len(docs))
	}
	checkOrder(t, hits)
	if hits[0].Score != hits[len(hits)-1].Score {
		t.Fatalf("scores differ: %v, %v", hits[0].Score, hits[len(hits)-1].Score)
	}
	page, err := x.Search(context.Background(), "alpha", nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(page, hits[:5]) {
		t.Fatalf("limit 5 = %v, want the first 5 of %v", page, hits)
	}
}

func TestSearchBadQuery(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	indexCorpus(t, x)
	// 1,100 distinct words starting with "zz": "zz*" is too broad.
	var b strings.Builder
	for i := range 1100 {
		fmt.Fprintf(&b, "zz%04d ", i)
	}
	mustIndex(t, x, doc(KindLogBody, b.String()))

	tests := []struct {
		name  string
		query string
		kinds []string
	}{
		{name: "empty", query: ""},
		{name: "blank", query: " \t\n"},
		{name: "unterminated quote", query: `fox "brown`},
		{name: "star inside a word", query: "fo*x"},
		{name: "two stars", query: "fox**"},
		{name: "star alone", query: "*"},
		{name: "prefix too short", query: "f*"},
		{name: "prefix of punctuation", query: "--*"},
		{name: "prefix of two words", query: "payment-ser*"},
		{name: "prefix too broad", query: "zz*"},
		{name: "punctuation only", query: `, . ; ""`},
		{name: "unknown kind", query: "fox", kinds: []string{"span"}},
		{name: "too long", query: strings.Repeat("fox ", MaxQueryBytes/4+1)},
		{name: "too many words", query: strings.Repeat("fox ", MaxClauses+1)},
		{name: "invalid utf-8", query: "fox \xff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := x.Search(context.Background(), tc.query, tc.kinds, 10)
			if !errors.Is(err, ErrQuery) {
				t.Fatalf("Search(%q) = %v, %v; want ErrQuery", tc.query, hits, err)
			}
		})
	}

	// A narrower prefix of the same words is fine.
	hits, err := x.Search(context.Background(), "zz00*", nil, 0)
	if err != nil || len(hits) != 1 {
		t.Fatalf("Search(zz00*) = %v, %v; want 1 hit", hits, err)
	}
}

func TestIndexIdempotent(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	ctx := context.Background()
	text := "Translate this prompt into French, please."
	p := doc(KindPrompt, text)

	count := func(want uint64) {
		t.Helper()
		n, err := x.Count()
		if err != nil || n != want {
			t.Fatalf("Count() = %d, %v; want %d", n, err, want)
		}
	}
	kindOf := func(kinds ...string) string {
		t.Helper()
		hits, err := x.Search(ctx, "translate", kinds, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 1 {
			return ""
		}
		return hits[0].Kind
	}

	mustIndex(t, x, p, p) // twice in one call
	mustIndex(t, x, p)    // and again
	count(1)
	if k := kindOf(KindLogBody); k != "" {
		t.Fatalf("found as %q among log bodies before indexed as one", k)
	}
	// The same text seen as a log body: still one document, both kinds.
	mustIndex(t, x, Doc{ID: p.ID, Kind: KindLogBody, Text: text})
	count(1)
	for _, tc := range []struct {
		kinds []string
		want  string
	}{
		{nil, KindPrompt},
		{[]string{KindPrompt}, KindPrompt},
		{[]string{KindLogBody}, KindLogBody},
		{[]string{KindCompletion, KindLogBody}, KindLogBody},
		{[]string{KindCompletion}, ""},
	} {
		if got := kindOf(tc.kinds...); got != tc.want {
			t.Errorf("kinds %v: hit kind %q, want %q", tc.kinds, got, tc.want)
		}
	}
}

func TestIndexBadDoc(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	good := doc(KindPrompt, "fine text")
	tests := []struct {
		name string
		doc  Doc
	}{
		{"empty id", Doc{Kind: KindPrompt, Text: "x"}},
		{"short id", Doc{ID: "abc", Kind: KindPrompt, Text: "x"}},
		{"uppercase id", Doc{ID: strings.ToUpper(sha("x")), Kind: KindPrompt, Text: "x"}},
		{"unknown kind", Doc{ID: sha("x"), Kind: "span", Text: "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := x.Index(context.Background(), []Doc{good, tc.doc})
			if !errors.Is(err, ErrDoc) {
				t.Fatalf("Index = %v, want ErrDoc", err)
			}
			if n, _ := x.Count(); n != 0 {
				t.Fatalf("%d docs indexed by a refused call", n)
			}
		})
	}
	if err := x.Delete(context.Background(), []string{"nope"}); !errors.Is(err, ErrDoc) {
		t.Fatalf("Delete(nope) = %v, want ErrDoc", err)
	}
}

func TestDelete(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	ctx := context.Background()
	indexCorpus(t, x)
	absent := sha("never indexed")
	if err := x.Delete(ctx, []string{corpus["en_fox"].ID, corpus["ja_tower"].ID, absent}); err != nil {
		t.Fatal(err)
	}
	if n, err := x.Count(); err != nil || n != uint64(len(corpus)-2) {
		t.Fatalf("Count() = %d, %v; want %d", n, err, len(corpus)-2)
	}
	for _, q := range []string{"fox", "東京"} {
		if hits, err := x.Search(ctx, q, nil, 0); err != nil || len(hits) != 0 {
			t.Fatalf("Search(%q) after Delete = %v, %v", q, hits, err)
		}
	}
	// Deleted, then indexed again: back.
	mustIndex(t, x, corpus["en_fox"])
	if hits, err := x.Search(ctx, "fox", nil, 0); err != nil || len(hits) != 1 {
		t.Fatalf("Search(fox) after re-index = %v, %v", hits, err)
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	x := openTest(t, dir)
	indexCorpus(t, x)
	if err := x.Delete(ctx, []string{corpus["ru_text"].ID}); err != nil {
		t.Fatal(err)
	}
	// No Flush: Close persists.
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := x.Search(ctx, "fox", nil, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Search after Close = %v, want ErrClosed", err)
	}
	if err := x.Index(ctx, []Doc{corpus["en_fox"]}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Index after Close = %v, want ErrClosed", err)
	}
	if err := x.Flush(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close = %v, want ErrClosed", err)
	}

	x = openTest(t, dir)
	defer x.Close()
	if n, err := x.Count(); err != nil || n != uint64(len(corpus)-1) {
		t.Fatalf("Count() after reopen = %d, %v; want %d", n, err, len(corpus)-1)
	}
	for _, tc := range []struct{ query, want string }{
		{"fox", "en_fox"}, {"über die brücke", "de_strasse"}, {"港区", "ja_tower"}, {"москва", "ru_moscow"},
	} {
		hits, err := x.Search(ctx, tc.query, nil, 0)
		if err != nil || len(hits) != 1 || labelOf(hits[0].ID) != tc.want {
			t.Fatalf("Search(%q) after reopen = %v, %v; want %s", tc.query, hits, err, tc.want)
		}
	}
	if hits, _ := x.Search(ctx, "переведите", nil, 0); len(hits) != 0 {
		t.Fatalf("deleted doc found after reopen: %v", hits)
	}
	// Still writable after reopen, and idempotent across it.
	mustIndex(t, x, corpus["en_fox"], doc(KindPrompt, "after reopen"))
	if n, _ := x.Count(); n != uint64(len(corpus)) {
		t.Fatalf("Count() = %d, want %d", n, len(corpus))
	}
}

func TestOpenTwice(t *testing.T) {
	dir := t.TempDir()
	x := openTest(t, dir)
	defer x.Close()
	if y, err := Open(dir, Options{}); err == nil {
		y.Close()
		t.Fatal("second Open of the same directory succeeded")
	}
}

func TestConcurrent(t *testing.T) {
	x := openTest(t, t.TempDir())
	defer x.Close()
	ctx := context.Background()
	indexCorpus(t, x)
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := range 20 {
				d := doc(KindCompletion, fmt.Sprintf("worker %d wrote answer number %d about foxes", w, i))
				if err := x.Index(ctx, []Doc{d, corpus["en_fox"]}); err != nil {
					t.Error(err)
					return
				}
				if i%5 == 0 {
					if err := x.Flush(); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 30 {
				hits, err := x.Search(ctx, "fox", nil, 0)
				if err != nil || len(hits) != 1 {
					t.Errorf("Search(fox) = %v, %v", hits, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n, _ := x.Count(); n != uint64(len(corpus)+60) {
		t.Fatalf("Count() = %d, want %d", n, len(corpus)+60)
	}
	hits, err := x.Search(ctx, "worker answer", []string{KindCompletion}, 0)
	if err != nil || len(hits) != 60 {
		t.Fatalf("Search(worker answer) = %d hits, %v; want 60", len(hits), err)
	}
}

func TestIndexBatches(t *testing.T) {
	// More docs than one batch, with a duplicate across batch boundaries.
	x, err := Open(t.TempDir(), Options{BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	var docs []Doc
	for i := range 50 {
		docs = append(docs, doc(KindPrompt, fmt.Sprintf("batch test document %d", i)))
	}
	docs = append(docs, docs[3])
	mustIndex(t, x, docs...)
	if n, _ := x.Count(); n != 50 {
		t.Fatalf("Count() = %d, want 50", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := x.Index(ctx, []Doc{doc(KindPrompt, "cancelled")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Index with a cancelled context = %v", err)
	}
}

func TestIndexWaitsForPersister(t *testing.T) {
	x, err := Open(t.TempDir(), Options{BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	x.maxPending = 1 // every batch waits for the previous one to be on disk
	var docs []Doc
	for i := range 30 {
		docs = append(docs, doc(KindPrompt, fmt.Sprintf("bounded memory document %d", i)))
	}
	mustIndex(t, x, docs...)
	x.p.mu.Lock()
	persisted, introduced := x.p.persisted, x.p.introduced
	x.p.mu.Unlock()
	if introduced != 3 || persisted < 2 {
		t.Fatalf("after 3 batches: introduced %d, persisted %d; want 3 and at least 2", introduced, persisted)
	}
}
