package otlp

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

// cpuTime is the user and system CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGRPCTraces sends 1,000-span OTLP/gRPC requests (benchRequest's
// shape) from 4 and 16 concurrent clients, each on its own connection, to a
// receiver over a real engine: each answer means the spans are durable
// (fsync'd). It reports spans/s and the 99th percentile of the time from
// sending a request to its answer. The clients send pre-encoded bytes, so
// what they cost on the shared cores is gRPC framing only.
func BenchmarkGRPCTraces(b *testing.B) {
	const spans = 1000
	body, err := ptraceotlp.NewExportRequestFromTraces(benchRequest(spans)).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	for _, clients := range []int{4, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			s := startServer(b, serverConfig{opts: ReceiverOptions{Convert: DefaultOptions()}, unchecked: true})
			conns := make([]*grpc.ClientConn, clients)
			for i := range conns {
				conns[i] = dial(b, s.grpcAddr)
				var out rawMessage // warm the connection up
				if err := conns[i].Invoke(context.Background(), traceExport, &rawMessage{b: body}, &out); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([][]time.Duration, clients)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for c := range clients {
				wg.Go(func() {
					var out rawMessage
					for next.Add(1) <= int64(b.N) {
						start := time.Now()
						if err := conns[c].Invoke(context.Background(), traceExport, &rawMessage{b: body}, &out); err != nil {
							b.Error(err)
							return
						}
						lat[c] = append(lat[c], time.Since(start))
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			// cores is the CPU the whole process (server and clients)
			// used: below 2 on 2 cores means something else (fsync, or
			// other processes on a shared machine) bounds the figure.
			b.ReportMetric((cpuTime(b)-cpu0).Seconds()/b.Elapsed().Seconds(), "cores")
			all := slices.Concat(lat...)
			slices.Sort(all)
			b.ReportMetric(float64(spans*b.N)/b.Elapsed().Seconds(), "spans/s")
			if len(all) > 0 {
				b.ReportMetric(float64(all[(len(all)*99)/100])/1e6, "p99_ms")
			}
		})
	}
}
