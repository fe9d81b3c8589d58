package fts

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the process's user and system CPU time. The benchmarks
// report CPU per document or query beside throughput: the machine is
// shared, so wall-clock figures vary with others' load, CPU time less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// textGen makes deterministic prompt- and completion-like texts of 200–2,000
// characters: English-like sentences whose words follow a Zipf law over a
// 30,000-word vocabulary (real LLM traffic has a long tail of identifiers
// and names), with one text in ten Japanese and one in twenty Russian.
type textGen struct {
	r     *rand.Rand
	zipf  *rand.Zipf
	vocab []string
}

var (
	benchCommon = strings.Fields(`the be to of and a in that have it for not on with he as you do at this
		but his by from they we say her she or an will my one all would there their what so up out if about
		who get which go me when make can like time no just him know take people into year your good some
		could them see other than then now look only come its over think also back after use two how our
		work first well way even new want because any these give day most us user assistant model answer
		question please summarize explain code function error request response token context tool call
		data file service query result step list order customer account payment retry timeout`)
	benchSyllables = strings.Fields(`ka to ri me su na lo pe an ver ing tion ex pro con de re in struct
		data ser vi ce log met ric ku ber net es gra fa na post gres red is mon go el ast ic`)
	benchJapanese = strings.Fields(`東京 大阪 天気 公園 散歩 注文 支払い 顧客 質問 回答 説明 要約 エラー
		サーバー データ 処理 結果 確認 お願い します ください です ました 今日 明日 会議 資料 報告 予定`)
	benchRussian = strings.Fields(`Москва город заказ оплата клиент вопрос ответ пожалуйста ошибка
		сервер данные отчёт встреча сегодня завтра перевод текст язык модель`)
)

func newTextGen(seed uint64) *textGen {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &textGen{r: r}
	g.vocab = append(g.vocab, benchCommon...)
	for len(g.vocab) < 30000 {
		n := 2 + r.IntN(3)
		var b strings.Builder
		for range n {
			b.WriteString(benchSyllables[r.IntN(len(benchSyllables))])
		}
		g.vocab = append(g.vocab, b.String())
	}
	g.zipf = rand.NewZipf(r, 1.1, 2, uint64(len(g.vocab)-1))
	return g
}

// text returns text number i: i is written into it, so every text differs.
func (g *textGen) text(i int) string {
	size := 200 + g.r.IntN(1800)
	var b strings.Builder
	b.Grow(size + 64)
	fmt.Fprintf(&b, "Request %d. ", i)
	switch k := g.r.IntN(20); {
	case k < 2:
		for b.Len() < size {
			b.WriteString(benchJapanese[g.r.IntN(len(benchJapanese))])
			if g.r.IntN(6) == 0 {
				b.WriteString("。")
			}
		}
	case k < 3:
		for b.Len() < size {
			b.WriteString(benchRussian[g.r.IntN(len(benchRussian))])
			b.WriteByte(' ')
		}
	default:
		for b.Len() < size {
			n := 5 + g.r.IntN(15)
			for j := range n {
				if j > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(g.vocab[g.zipf.Uint64()])
			}
			b.WriteString(". ")
		}
	}
	return b.String()
}

func (g *textGen) docs(from, n int) []Doc {
	docs := make([]Doc, n)
	for i := range docs {
		kind := KindPrompt
		if (from+i)%2 == 1 {
			kind = KindCompletion
		}
		docs[i] = doc(kind, g.text(from+i))
	}
	return docs
}

// BenchmarkIndex measures indexing: each iteration indexes 4,096 new
// documents in one Index call (or in calls of "call" documents from "writers"
// goroutines), split into
// bleve batches of the given size, then Flushes them, as the engine does at
// a checkpoint. "dup" re-indexes
// documents already in the index (the same prompt sent again).
func BenchmarkIndex(b *testing.B) {
	const perIter = 4096
	ctx := context.Background()
	for _, tc := range []struct{ batch, call, writers int }{
		{64, perIter, 1}, {256, perIter, 1}, {1024, perIter, 1}, {4096, perIter, 1},
		// The engine applying small WAL records, alone or concurrently.
		{1024, 8, 1}, {1024, 8, 8},
	} {
		name := fmt.Sprintf("batch=%d", tc.batch)
		if tc.call != perIter {
			name += fmt.Sprintf("/call=%d/writers=%d", tc.call, tc.writers)
		}
		b.Run(name, func(b *testing.B) {
			x, err := Open(b.TempDir(), Options{BatchSize: tc.batch})
			if err != nil {
				b.Fatal(err)
			}
			defer x.Close()
			g := newTextGen(1)
			next, bytes := 0, 0
			var cpu time.Duration
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				docs := g.docs(next, perIter)
				for _, d := range docs {
					bytes += len(d.Text)
				}
				next += perIter
				b.StartTimer()
				c := cpuTime()
				var wg sync.WaitGroup
				share := len(docs) / tc.writers
				for w := range tc.writers {
					wg.Go(func() {
						mine := docs[w*share : (w+1)*share]
						for i := 0; i < len(mine); i += tc.call {
							if err := x.Index(ctx, mine[i:i+tc.call]); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				if err := x.Flush(); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - c
			}
			b.ReportMetric(float64(next)/b.Elapsed().Seconds(), "docs/s")
			b.ReportMetric(float64(bytes)/b.Elapsed().Seconds()/1e6, "MB/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(next), "cpu-µs/doc")
		})
	}
	b.Run("batch=1024/dup", func(b *testing.B) {
		x, err := Open(b.TempDir(), Options{BatchSize: 1024})
		if err != nil {
			b.Fatal(err)
		}
		defer x.Close()
		docs := newTextGen(1).docs(0, perIter)
		if err := x.Index(ctx, docs); err != nil {
			b.Fatal(err)
		}
		n := 0
		c := cpuTime()
		b.ReportAllocs()
		for b.Loop() {
			if err := x.Index(ctx, docs); err != nil {
				b.Fatal(err)
			}
			n += len(docs)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "docs/s")
		b.ReportMetric(float64((cpuTime()-c).Microseconds())/float64(n), "cpu-µs/doc")
	})
}

// BenchmarkSearch measures queries over 50,000 documents (built once, about
// 50 MB of text), 20 hits per query with fragments, as a search page asks.
func BenchmarkSearch(b *testing.B) {
	const nDocs = 50000
	ctx := context.Background()
	x, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	g := newTextGen(2)
	for i := 0; i < nDocs; i += 5000 {
		if err := x.Index(ctx, g.docs(i, 5000)); err != nil {
			b.Fatal(err)
		}
	}
	if err := x.Flush(); err != nil {
		b.Fatal(err)
	}
	waitMerged(b, x)
	var size, text int64
	_ = filepath.WalkDir(x.storeDir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	for _, d := range newTextGen(2).docs(0, 1000) {
		text += int64(len(d.Text))
	}
	b.Logf("%d docs, about %d MB of text: index %.1f MB on disk, %d bytes/doc",
		nDocs, text*nDocs/1000/1e6, float64(size)/1e6, size/nDocs)
	// Words at several ranks of the Zipf vocabulary.
	v := g.vocab
	tests := []struct {
		name    string
		queries []string
		kinds   []string
	}{
		{"word/common", []string{"the", "user", "error", "data"}, nil},
		{"word/rare", []string{v[5000], v[12000], v[20000], v[29000]}, nil},
		{"and/two-words", []string{"user error", "payment " + v[300], "token " + v[800], v[200] + " " + v[400]}, nil},
		{"phrase", []string{`"the user"`, `"please explain"`, `"` + v[10] + " " + v[11] + `"`, `"retry timeout"`}, nil},
		{"prefix", []string{"pay*", "expl*", "kuber*", "gra*"}, nil},
		{"japanese", []string{"東京", "天気 公園", "支払い", "エラー"}, nil},
		{"russian", []string{"москва", "ошибка сервер", "перев*", "заказ"}, nil},
		{"kinds/completion", []string{"the", "user error", "東京", v[5000]}, []string{KindCompletion}},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			n, hits := 0, 0
			c := cpuTime()
			b.ReportAllocs()
			for b.Loop() {
				h, err := x.Search(ctx, tc.queries[n%len(tc.queries)], tc.kinds, 20)
				if err != nil {
					b.Fatal(err)
				}
				hits += len(h)
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "queries/s")
			b.ReportMetric(float64(hits)/float64(n), "hits/query")
			b.ReportMetric(float64((cpuTime()-c).Microseconds())/float64(n), "cpu-µs/query")
		})
	}
}

// waitMerged waits until scorch's background merger has been idle for a
// second, so that the merges left over from building the index neither
// compete with the queries measured nor count in their CPU time.
func waitMerged(b *testing.B, x *Index) {
	b.Helper()
	stat := func() (beg, end uint64) {
		m, _ := x.idx.StatsMap()["index"].(map[string]any)
		beg, _ = m["TotFileMergeZapBeg"].(uint64)
		end, _ = m["TotFileMergeZapEnd"].(uint64)
		return beg, end
	}
	last, idle := uint64(0), 0
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline) && idle < 5; {
		time.Sleep(200 * time.Millisecond)
		beg, end := stat()
		if beg == end && beg == last {
			idle++
		} else {
			idle = 0
		}
		last = beg
	}
}
