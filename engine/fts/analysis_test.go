package fts

import (
	"fmt"
	"slices"
	"testing"
)

// TestAnalyzer pins the text analysis (doc.go, "Analysis"): each token as
// term@position.
func TestAnalyzer(t *testing.T) {
	m, err := newMapping()
	if err != nil {
		t.Fatal(err)
	}
	a := m.AnalyzerNamed(textAnalyzer)
	tests := []struct {
		name, text string
		want       []string
	}{
		{"english: lowercase, no stemming, no stop words", "The Foxes JUMPED",
			[]string{"the@1", "foxes@2", "jumped@3"}},
		{"inner punctuation splits, apostrophes and numbers stay", "e-mail don't 10.0.0.7:8080",
			[]string{"e@1", "mail@2", "don't@3", "10.0.0.7@4", "8080@5"}},
		{"german: umlauts kept, lowercased", "Über die BRÜCKE", []string{"über@1", "die@2", "brücke@3"}},
		{"german: NFD composed by NFKC", "U\u0308ber", []string{"über@1"}},
		{"german: ß is not folded to ss", "Straße STRASSE", []string{"straße@1", "strasse@2"}},
		{"NFKC: ligatures and fullwidth", "ﬁle ＦＯＸ", []string{"file@1", "fox@2"}},
		{"russian: lowercased", "Москва — СТОЛИЦА", []string{"москва@1", "столица@2"}},
		{"japanese: unigrams and bigrams", "東京タワー",
			[]string{"東@1", "東京@1", "京@2", "京タ@2", "タ@3", "タワ@3", "ワ@4", "ワー@4", "ー@5"}},
		{"japanese: halfwidth katakana folded", "ﾀﾜｰ", []string{"タ@1", "タワ@1", "ワ@2", "ワー@2", "ー@3"}},
		{"chinese: unigrams and bigrams", "日志数据",
			[]string{"日@1", "日志@1", "志@2", "志数@2", "数@3", "数据@3", "据@4"}},
		{"mixed scripts keep positions", "東京 tower", []string{"東@1", "東京@1", "京@2", "tower@3"}},
		{"korean: whole words", "서울에서 만나요", []string{"서울에서@1", "만나요@2"}},
		{"overlong token dropped", "a " + longWord(maxTokenRunes+1) + " b",
			[]string{"a@1", "b@3"}},
		{"longest token kept", longWord(maxTokenRunes), []string{longWord(maxTokenRunes) + "@1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, tk := range a.Analyze([]byte(tc.text)) {
				got = append(got, fmt.Sprintf("%s@%d", tk.Term, tk.Position))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Analyze(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

func longWord(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}
