package remotewrite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/tael/tael/engine"
)

// benchNames are metric names of the kind a Kubernetes Prometheus scrapes.
var benchNames = []string{
	"container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "container_network_receive_bytes_total",
	"container_network_transmit_bytes_total", "container_fs_reads_bytes_total", "http_requests_total",
	"http_request_duration_seconds_bucket", "http_request_duration_seconds_sum", "http_request_duration_seconds_count",
	"process_cpu_seconds_total", "process_resident_memory_bytes", "go_goroutines", "go_memstats_alloc_bytes",
	"kube_pod_container_status_restarts_total", "kube_pod_status_phase", "node_cpu_seconds_total",
	"node_memory_MemAvailable_bytes", "node_filesystem_avail_bytes", "up", "scrape_duration_seconds",
}

// benchRequests returns n snappy-encoded 1.0 requests of the given series
// each with samplesPerSeries samples 15 s apart, request k starting where
// request k-1 ended. Series carry 8 labels, as in a Kubernetes setup.
func benchRequests(n, series, samplesPerSeries int) [][]byte {
	ts := make([]prompb.TimeSeries, series)
	for i := range ts {
		ts[i].Labels = lbls(
			"__name__", benchNames[i%len(benchNames)],
			"container", "app-"+strconv.Itoa(i%7),
			"instance", fmt.Sprintf("10.1.%d.%d:8080", i/250%250, i%250),
			"job", "kubernetes-pods",
			"le", strconv.Itoa(i%11),
			"namespace", "team-"+strconv.Itoa(i%5),
			"node", "worker-"+strconv.Itoa(i%16),
			"pod", fmt.Sprintf("app-%d-7d9f8b6c5-%05d", i%7, i),
		)
		ts[i].Samples = make([]prompb.Sample, samplesPerSeries)
	}
	out := make([][]byte, n)
	for k := range out {
		for i := range ts {
			for j := range ts[i].Samples {
				ts[i].Samples[j] = prompb.Sample{
					Timestamp: t0 + int64((k*samplesPerSeries+j)*15000),
					Value:     float64(k*samplesPerSeries+j) * float64(i+1),
				}
			}
		}
		req := prompb.WriteRequest{Timeseries: ts}
		pb, err := req.Marshal()
		if err != nil {
			panic(err)
		}
		out[k] = snappy.Encode(nil, pb)
	}
	return out
}

// BenchmarkRemoteWrite sends remote-write 1.0 requests of 2,000 samples
// (Prometheus's default max_samples_per_send) over HTTP to the handler
// backed by a real engine (every request durable before its answer), from
// 1 and 4 concurrent senders, and reports samples stored per second.
func BenchmarkRemoteWrite(b *testing.B) {
	for _, shape := range []struct{ series, samples int }{{2000, 1}, {500, 10}} {
		reqs := benchRequests(64, shape.series, shape.samples)
		perReq := shape.series * shape.samples
		wire := 0
		for _, r := range reqs {
			wire += len(r)
		}
		for _, senders := range []int{1, 4} {
			b.Run(fmt.Sprintf("series=%d/samples=%d/senders=%d", shape.series, shape.samples, senders), func(b *testing.B) {
				e, err := engine.Open(context.Background(), b.TempDir(), engine.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				srv := httptest.NewServer(NewHandler(e, Options{}))
				defer srv.Close()
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
				send := func(body []byte) {
					req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					req.Header.Set("Content-Type", "application/x-protobuf")
					req.Header.Set("Content-Encoding", "snappy")
					req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					msg, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusNoContent {
						b.Errorf("status %d: %s", resp.StatusCode, msg)
					}
				}
				b.SetBytes(int64(wire / len(reqs)))
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				var next atomic.Int64
				var wg sync.WaitGroup
				for range senders {
					wg.Go(func() {
						for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
							send(reqs[int(i)%len(reqs)])
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				samples := float64(b.N * perReq)
				b.ReportMetric(samples/b.Elapsed().Seconds(), "samples/s")
				b.ReportMetric(float64(cpuTime()-cpu0)/samples, "cpu-ns/sample")
			})
		}
	}
}

// cpuTime is the CPU time (user and system) this process has used. On a
// machine shared with other work, CPU time per sample is a steadier figure
// than samples per second of wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConvert measures the handler's own work on a 1.0 request of
// 2,000 series × 1 sample, without HTTP or storage: snappy decoding,
// protobuf decoding and building the Arrow batch.
func BenchmarkConvert(b *testing.B) {
	req := benchRequests(1, 2000, 1)[0]
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	var buf []byte
	cpu0 := cpuTime()
	for b.Loop() {
		n, _ := snappy.DecodedLen(req)
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		data, err := snappy.Decode(buf[:cap(buf)], req)
		if err != nil {
			b.Fatal(err)
		}
		c := newConverter(memory.DefaultAllocator, len(data)/bytesPerSample)
		if err := c.v1(data, func(string) (meta, bool) { return meta{}, false }); err != nil {
			b.Fatal(err)
		}
		rec, err := c.batch()
		if err != nil {
			b.Fatal(err)
		}
		rec.Release()
		c.release()
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(2000*b.N), "cpu-ns/sample")
}
