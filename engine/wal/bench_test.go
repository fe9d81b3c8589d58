package wal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
)

// BenchmarkAppend measures durable appends with real fsyncs. A 200 KiB
// payload is about a 1,000-span Arrow batch; 4 KiB a small one.
func BenchmarkAppend(b *testing.B) {
	sizes := []struct {
		name string
		n    int
	}{{"4KiB", 4 << 10}, {"200KiB", 200 << 10}}
	for _, size := range sizes {
		for _, appenders := range []int{1, 8} {
			b.Run(fmt.Sprintf("payload=%s/appenders=%d", size.name, appenders), func(b *testing.B) {
				w, err := Open(b.TempDir(), Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer w.Close()
				payload := randomBytes(rand.New(rand.NewPCG(9, 9)), size.n)
				ctx := context.Background()
				syncs := w.fsyncs.Load()
				var records atomic.Int64
				b.ReportAllocs()
				if appenders == 1 {
					for b.Loop() {
						if _, err := w.Append(ctx, 1, payload); err != nil {
							b.Fatal(err)
						}
						records.Add(1)
					}
				} else {
					// RunParallel starts parallelism × GOMAXPROCS goroutines.
					b.SetParallelism(max(1, appenders/runtime.GOMAXPROCS(0)))
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if _, err := w.Append(ctx, 1, payload); err != nil {
								b.Error(err)
								return
							}
							records.Add(1)
						}
					})
				}
				n, secs := float64(records.Load()), b.Elapsed().Seconds()
				b.ReportMetric(n/secs, "records/s")
				b.ReportMetric(n*float64(size.n)/1e6/secs, "MB/s")
				b.ReportMetric(float64(w.fsyncs.Load()-syncs)/n, "fsyncs/op")
			})
		}
	}
}
