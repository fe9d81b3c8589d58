package promcompare

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/promql"
	"github.com/tael/tael/schema"
)

const (
	span     = 6 * time.Hour
	interval = 15 * time.Second
	step     = time.Minute
	jobs     = 10
)

// les are the classic histogram's bucket bounds.
var les = []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"}

var queries = []struct{ name, q string }{
	{"rate", "sum by (job) (rate(x[5m]))"},
	{"quantile", "histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))"},
}

// series is one loaded series: its value at point k is k × mul (a counter).
type series struct {
	name   string
	labels [][2]string // sorted by name
	mul    float64
}

// benchSeries is TAEL_BENCH_SERIES, else 10,000.
func benchSeries(b *testing.B) int {
	if s := os.Getenv("TAEL_BENCH_SERIES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("TAEL_BENCH_SERIES=%q", s)
		}
		return n
	}
	return 10_000
}

// makeSeries returns n series: a histogram h of len(les) buckets × n/100
// instances, and the rest counters x{job, instance} over 10 jobs.
func makeSeries(n int) []series {
	hInst := max(1, n/100)
	nx := max(1, n-hInst*len(les))
	out := make([]series, 0, nx+hInst*len(les))
	for s := range nx {
		out = append(out, series{
			name:   "x",
			labels: [][2]string{{"instance", fmt.Sprintf("instance-%d", s)}, {"job", fmt.Sprintf("job-%d", s%jobs)}},
			mul:    float64(s%7 + 1),
		})
	}
	for i := range hInst {
		for j, le := range les {
			out = append(out, series{
				name:   "h_bucket",
				labels: [][2]string{{"instance", fmt.Sprintf("instance-%d", i)}, {"le", le}},
				mul:    float64((j+1)*(j+2)/2 + i%3),
			})
		}
	}
	return out
}

// appendTael loads ss into e, one batch per 100 series.
func appendTael(ctx context.Context, e *engine.Engine, ss []series, start time.Time, points int) error {
	tbl, _ := schema.ByID(schema.Metrics)
	const perBatch = 100
	for first := 0; first < len(ss); first += perBatch {
		b := array.NewRecordBuilder(e.Allocator(), tbl.Schema)
		last := min(first+perBatch, len(ss))
		b.Reserve((last - first) * points)
		ts := b.Field(0).(*array.TimestampBuilder)
		name := b.Field(1).(*array.StringBuilder)
		lm := b.Field(2).(*array.MapBuilder)
		keys := lm.KeyBuilder().(*array.StringBuilder)
		vals := lm.ItemBuilder().(*array.StringBuilder)
		service := b.Field(3).(*array.StringBuilder)
		value := b.Field(4).(*array.Float64Builder)
		typ := b.Field(5).(*array.StringBuilder)
		unit := b.Field(6).(*array.StringBuilder)
		id := b.Field(7).(*array.Uint64Builder)
		for _, s := range ss[first:last] {
			m := map[string]string{}
			for _, l := range s.labels {
				m[l[0]] = l[1]
			}
			sid := schema.SeriesID(s.name, m)
			for k := range points {
				ts.Append(arrow.Timestamp(start.Add(time.Duration(k) * interval).UnixNano()))
				name.Append(s.name)
				lm.Append(true)
				for _, l := range s.labels {
					keys.Append(l[0])
					vals.Append(l[1])
				}
				service.Append("bench")
				value.Append(float64(k) * s.mul)
				typ.Append("counter")
				unit.AppendNull()
				id.Append(sid)
			}
		}
		rec := b.NewRecordBatch()
		b.Release()
		_, err := e.Append(ctx, schema.Metrics, rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// writeOpenMetrics writes ss to path in OpenMetrics text, series after
// series, each in time order, ending with # EOF.
func writeOpenMetrics(path string, ss []series, start time.Time, points int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	t0 := start.Unix()
	for _, s := range ss {
		var sb strings.Builder
		sb.WriteString(s.name)
		sb.WriteByte('{')
		for i, l := range s.labels {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "%s=%q", l[0], l[1])
		}
		sb.WriteString("} ")
		prefix := sb.String()
		buf := make([]byte, 0, 128)
		for k := range points {
			buf = append(buf[:0], prefix...)
			buf = strconv.AppendFloat(buf, float64(k)*s.mul, 'g', -1, 64)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, t0+int64(k)*int64(interval/time.Second), 10)
			buf = append(buf, '\n')
			if _, err := w.Write(buf); err != nil {
				f.Close()
				return err
			}
		}
	}
	if _, err := w.WriteString("# EOF\n"); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func toolsBin(b *testing.B) string {
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command("bash", filepath.Join(root, "scripts/tools.sh")).Output()
	if err != nil {
		b.Fatalf("scripts/tools.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func freePort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startPrometheus runs prometheus on dataDir and returns its base URL once
// it is ready; the process is killed when b ends.
func startPrometheus(b *testing.B, bin, dataDir string) string {
	cfg := filepath.Join(b.TempDir(), "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 15s\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	port := freePort(b)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logf, err := os.Create(filepath.Join(b.TempDir(), "prometheus.log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "prometheus"),
		"--storage.tsdb.path="+dataDir,
		"--config.file="+cfg,
		"--web.listen-address="+addr,
		"--storage.tsdb.retention.time=30d",
		// Keep the backfilled 2 h blocks as they are: no background
		// compaction competing with the timed queries.
		"--storage.tsdb.min-block-duration=2h",
		"--storage.tsdb.max-block-duration=2h",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	base := "http://" + addr
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	log, _ := os.ReadFile(logf.Name())
	b.Fatalf("prometheus not ready after 3 min:\n%s", log)
	return ""
}

type matrix []struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
}

// queryRange runs q over [start, end] at step on the API at base and
// returns the decoded matrix.
func queryRange(base, q string, start, end time.Time) (matrix, error) {
	v := url.Values{}
	v.Set("query", q)
	v.Set("start", strconv.FormatInt(start.Unix(), 10))
	v.Set("end", strconv.FormatInt(end.Unix(), 10))
	v.Set("step", strconv.Itoa(int(step/time.Second)))
	resp, err := http.Get(base + "/api/v1/query_range?" + v.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     matrix `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s: %w: %.200s", base, err, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s %s", base, r.Status, r.Error)
	}
	return r.Data.Result, nil
}

func key(m map[string]string) string {
	ks := make([]string, 0, len(m))
	for k, v := range m {
		ks = append(ks, k+"="+v)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

// compare returns the differences between tael's and Prometheus's results
// (series count, timestamps, values beyond 1e-6 relative), at most 10.
func compare(tael, prom matrix) []string {
	var diffs []string
	if len(tael) != len(prom) {
		diffs = append(diffs, fmt.Sprintf("series: tael %d, prometheus %d", len(tael), len(prom)))
	}
	pm := map[string][][2]any{}
	for _, s := range prom {
		pm[key(s.Metric)] = s.Values
	}
	for _, s := range tael {
		k := key(s.Metric)
		pv, ok := pm[k]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("{%s}: only in tael", k))
			continue
		}
		if len(pv) != len(s.Values) {
			diffs = append(diffs, fmt.Sprintf("{%s}: points tael %d, prometheus %d", k, len(s.Values), len(pv)))
		}
		for i := range min(len(pv), len(s.Values)) {
			tt, pt := fmt.Sprint(s.Values[i][0]), fmt.Sprint(pv[i][0])
			tv, _ := strconv.ParseFloat(fmt.Sprint(s.Values[i][1]), 64)
			pvv, _ := strconv.ParseFloat(fmt.Sprint(pv[i][1]), 64)
			same := tv == pvv || (math.IsNaN(tv) && math.IsNaN(pvv)) ||
				math.Abs(tv-pvv) <= 1e-6*math.Max(math.Abs(tv), math.Abs(pvv))
			if tt != pt || !same {
				diffs = append(diffs, fmt.Sprintf("{%s}[%d]: tael %s@%s, prometheus %s@%s", k, i, s.Values[i][1], tt, pv[i][1], pt))
				break
			}
		}
		if len(diffs) >= 10 {
			break
		}
	}
	return diffs
}

// BenchmarkPromCompare loads TAEL_BENCH_SERIES series × 6 h at 15 s into
// tael and into Prometheus, checks both answer the queries alike, then times
// each range query over the 6 h at step 60 s on both, alternately, over
// HTTP: tael_ms and prom_ms per query and their ratio. The tier=cold
// sub-benchmarks run after compacting all of tael's rows to the cold tier.
func BenchmarkPromCompare(b *testing.B) {
	ctx := context.Background()
	n := benchSeries(b)
	ss := makeSeries(n)
	points := int(span / interval)
	// A 6 h window ending 2 h before the last full hour: Prometheus loads
	// backfilled blocks that end before now.
	end := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	start := end.Add(-span)
	b.Logf("%d series (%d samples) from %s to %s", len(ss), len(ss)*points, start.Format(time.RFC3339), end.Format(time.RFC3339))

	// Prometheus: OpenMetrics file → promtool backfill, in the background
	// while tael loads.
	bin := toolsBin(b)
	promDir := b.TempDir()
	promDone := make(chan error, 1)
	go func() {
		t := time.Now()
		om := filepath.Join(b.TempDir(), "series.om")
		if err := writeOpenMetrics(om, ss, start, points); err != nil {
			promDone <- err
			return
		}
		out, err := exec.Command(filepath.Join(bin, "promtool"), "tsdb", "create-blocks-from", "openmetrics", "--quiet", om, promDir).CombinedOutput()
		if err != nil {
			promDone <- fmt.Errorf("promtool: %v: %s", err, out)
			return
		}
		os.Remove(om)
		b.Logf("prometheus: backfilled in %v", time.Since(t).Round(time.Millisecond))
		promDone <- nil
	}()

	e, err := engine.Open(ctx, b.TempDir(), engine.Options{CompactInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	t := time.Now()
	if err := appendTael(ctx, e, ss, start, points); err != nil {
		b.Fatal(err)
	}
	b.Logf("tael: loaded in %v", time.Since(t).Round(time.Millisecond))
	srv := httptest.NewServer(promql.NewAPI(e, promql.DefaultAPIOptions()))
	defer srv.Close()
	if err := <-promDone; err != nil {
		b.Fatal(err)
	}
	promURL := startPrometheus(b, bin, promDir)

	run := func(tier string) {
		for _, q := range queries {
			b.Run("query="+q.name+"/tier="+tier, func(b *testing.B) {
				tm, err := queryRange(srv.URL, q.q, start, end)
				if err != nil {
					b.Fatal(err)
				}
				pm, err := queryRange(promURL, q.q, start, end)
				if err != nil {
					b.Fatal(err)
				}
				if len(tm) == 0 {
					b.Fatalf("%s: empty result", q.q)
				}
				if diffs := compare(tm, pm); len(diffs) > 0 {
					b.Errorf("%s: results differ:\n%s", q.q, strings.Join(diffs, "\n"))
				} else {
					b.Logf("%s: %d series agree (%d points each)", q.q, len(tm), len(tm[0].Values))
				}
				var tael, prom time.Duration
				for b.Loop() {
					t0 := time.Now()
					if _, err := queryRange(srv.URL, q.q, start, end); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					if _, err := queryRange(promURL, q.q, start, end); err != nil {
						b.Fatal(err)
					}
					tael += t1.Sub(t0)
					prom += time.Since(t1)
				}
				tms := float64(tael.Microseconds()) / 1000 / float64(b.N)
				pms := float64(prom.Microseconds()) / 1000 / float64(b.N)
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(tms, "tael_ms")
				b.ReportMetric(pms, "prom_ms")
				b.ReportMetric(tms/pms, "tael/prom")
			})
		}
	}
	run("hot")
	t = time.Now()
	st, err := e.Compact(ctx, engine.CompactOptions{All: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("tael: compacted %d rows into %d files in %v", st.Rows, st.Files, time.Since(t).Round(time.Millisecond))
	run("cold")
}
