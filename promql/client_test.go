package promql

import (
	"context"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// TestClient drives NewAPI with Prometheus's own Go client
// (client_golang's api/prometheus/v1, which promtool's query commands use),
// so that every answer must decode as a Prometheus server's does.
func TestClient(t *testing.T) {
	srv := newAPIServer(t, APIOptions{})
	c, err := promapi.NewClient(promapi.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	p := v1.NewAPI(c)
	ctx := context.Background()
	start, end := apiNow.Add(-time.Hour), apiNow

	bi, err := p.Buildinfo(ctx)
	if err != nil || bi.Version != prometheusVersion {
		t.Errorf("Buildinfo: %+v %v", bi, err)
	}

	v, _, _, err := p.Query(ctx, "1+1", apiNow)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := v.(*model.Scalar); !ok || s.Value != 2 {
		t.Errorf("1+1 = %v", v)
	}
	v, _, _, err = p.Query(ctx, `sum by (instance) (up)`, apiNow)
	if err != nil {
		t.Fatal(err)
	}
	if vec, ok := v.(model.Vector); !ok || len(vec) != 2 || vec[0].Metric["instance"] != "a" || vec[0].Value != 1 {
		t.Errorf("sum by (instance) (up) = %v", v)
	}

	v, _, _, err = p.QueryRange(ctx, `rate(http_requests_total{instance="a"}[5m])`, v1.Range{Start: end.Add(-10 * time.Minute), End: end, Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := v.(model.Matrix)
	if !ok || len(m) != 2 || len(m[0].Values) != 11 || math.Abs(float64(m[0].Values[0].Value)-1) > 1e-9 {
		t.Errorf("rate range = %v", v)
	}

	ss, _, _, err := p.Series(ctx, []string{`{__name__=~"request_duration_seconds_.*"}`}, start, end)
	if err != nil || len(ss) != 5 {
		t.Errorf("Series: %v %v", ss, err)
	}
	names, _, _, err := p.LabelNames(ctx, []string{"up"}, start, end)
	if err != nil || len(names) != 3 {
		t.Errorf("LabelNames: %v %v", names, err)
	}
	vals, _, _, err := p.LabelValues(ctx, "le", nil, start, end)
	if err != nil || len(vals) != 3 {
		t.Errorf("LabelValues: %v %v", vals, err)
	}
	md, err := p.Metadata(ctx, "request_duration_seconds", "")
	if err != nil || len(md["request_duration_seconds"]) != 1 || md["request_duration_seconds"][0].Type != v1.MetricTypeHistogram {
		t.Errorf("Metadata: %v %v", md, err)
	}
	ex, err := p.QueryExemplars(ctx, "up", start, end)
	if err != nil || len(ex) != 0 {
		t.Errorf("QueryExemplars: %v %v", ex, err)
	}
	f, err := p.FormatQuery(ctx, "sum(up)by(job)")
	// The client hands back the data as JSON, quotes and all, from
	// Prometheus too.
	if err != nil || f != `"sum by (job) (up)"` {
		t.Errorf("FormatQuery: %q %v", f, err)
	}

	// Errors come back typed.
	_, _, _, err = p.Query(ctx, "sum(", apiNow)
	if e, ok := err.(*v1.Error); !ok || e.Type != v1.ErrBadData {
		t.Errorf("bad query: %#v", err)
	}
}

// TestPromtool runs promtool's query commands against NewAPI when promtool
// is installed (Debian's prometheus package); it cannot be built from this
// module (cmd/promtool needs modules go.mod does not require). Its query
// commands go through the same client as TestClient.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed")
	}
	srv := newAPIServer(t, APIOptions{})
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	at := strconv.FormatInt(apiNow.Unix(), 10)
	out := run("query", "instant", "--time", at, srv.URL, `up{instance="a"}`)
	if !strings.Contains(out, `up{instance="a", job="api"} => 1 @[`+at+`]`) {
		t.Errorf("query instant:\n%s", out)
	}
	out = run("query", "range", "--start", strconv.FormatInt(apiNow.Add(-10*time.Minute).Unix(), 10), "--end", at, "--step", "1m", srv.URL, `sum(rate(http_requests_total[5m]))`)
	if strings.Count(out, "@[") != 11 {
		t.Errorf("query range:\n%s", out)
	}
}
