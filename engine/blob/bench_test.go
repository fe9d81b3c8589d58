package blob

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// promptText makes a prompt-like text of about n bytes.
func promptText(rng *rand.Rand, n int) string {
	words := []string{"the", "user", "asks", "about", "invoice", "refund", "policy", "order", "shipping", "delay", "customer", "support", "please", "summarise", "context"}
	var b strings.Builder
	b.WriteString("system: You are a helpful assistant.\nuser: ")
	for b.Len() < n {
		b.WriteString(words[rng.IntN(len(words))])
		b.WriteByte(' ')
	}
	return b.String()
}

func pct(d []time.Duration, p int) float64 {
	slices.Sort(d)
	return float64(d[len(d)*p/100].Microseconds()) / 1000
}

// BenchmarkBlob measures the blob store's Put of a new text, Put of a text
// already stored (dedup: a reference is added, the text is not rewritten)
// and Get, each of one ~1.5 KiB prompt, reporting p50/p99 latency in ms.
// Put is not fsync'd: durability comes from the WAL in front of the store.
func BenchmarkBlob(b *testing.B) {
	ctx := context.Background()
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 20000
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("%d %s", i, promptText(rng, 1500))
	}
	blobOf := func(i, ref int) Blob {
		return Blob{SHA256: SHA256(texts[i]), Kind: KindPrompt, Text: texts[i], TraceID: fmt.Sprintf("%032x", ref), SpanID: fmt.Sprintf("%016x", ref)}
	}
	b.Run("put", func(b *testing.B) {
		var lat []time.Duration
		i := 0
		for b.Loop() {
			start := time.Now()
			if err := s.Put(ctx, []Blob{blobOf(i%n, i)}, 0, 0); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			i++
		}
		b.ReportMetric(pct(lat, 50), "p50-ms")
		b.ReportMetric(pct(lat, 99), "p99-ms")
	})
	for i := range n {
		if err := s.Put(ctx, []Blob{blobOf(i, i)}, 0, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("put-dedup", func(b *testing.B) {
		var lat []time.Duration
		i := 0
		for b.Loop() {
			start := time.Now()
			if err := s.Put(ctx, []Blob{blobOf(i%n, n+i)}, 0, 0); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			i++
		}
		b.ReportMetric(pct(lat, 50), "p50-ms")
		b.ReportMetric(pct(lat, 99), "p99-ms")
	})
	b.Run("get", func(b *testing.B) {
		var lat []time.Duration
		i := 0
		for b.Loop() {
			start := time.Now()
			got, err := s.Get(ctx, SHA256(texts[(i*7919)%n]))
			lat = append(lat, time.Since(start))
			if err != nil || got.Text != texts[(i*7919)%n] {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(pct(lat, 50), "p50-ms")
		b.ReportMetric(pct(lat, 99), "p99-ms")
	})
}
