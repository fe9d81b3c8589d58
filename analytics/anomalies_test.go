package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// gen makes the spans of an anomaly scenario. With the default windows
// (current 15m, baseline 1h) ending at fixNow, the baseline is [fixNow−75m,
// fixNow−15m) and the current window [fixNow−15m, fixNow].
type gen struct {
	spans []synth.SpanRow
	n     int
}

var (
	baselineStart = fixNow.Add(-75 * time.Minute)
	currentStart  = fixNow.Add(-15 * time.Minute)
)

// steady adds n spans of svc spread evenly over [from, from+length), each
// lasting dur; the first errs of them fail. It returns the new rows, for
// the caller to make LLM spans of.
func (g *gen) steady(svc string, n int, from time.Time, length, dur time.Duration, errs int) []synth.SpanRow {
	first := len(g.spans)
	for i := range n {
		g.n++
		status := "ok"
		if i < errs {
			status = "error"
		}
		g.spans = append(g.spans, synth.SpanRow{
			TraceID: tid(1000 + g.n), SpanID: sid(1000+g.n, 0), Service: svc, Operation: "op",
			Start: from.Add(time.Duration(i) * length / time.Duration(n)), Duration: dur, Status: status,
		})
	}
	return g.spans[first:]
}

// both adds spans to the baseline and to the current window.
func (g *gen) both(svc string, baseN, curN int, baseDur, curDur time.Duration, baseErrs, curErrs int) {
	g.steady(svc, baseN, baselineStart, time.Hour, baseDur, baseErrs)
	g.steady(svc, curN, currentStart, 15*time.Minute, curDur, curErrs)
}

// llm makes rows LLM spans of model, each with tokens total tokens and
// cost (nil: none).
func llm(rows []synth.SpanRow, model string, tokens int64, cost *float64) {
	for i := range rows {
		rows[i].LLMProvider, rows[i].LLMModel = "openai", model
		rows[i].InputTokens, rows[i].OutputTokens = tokens, 0
		rows[i].CostUSD = cost
	}
}

func TestAnomalies(t *testing.T) {
	ms100, ms500 := 100*time.Millisecond, 500*time.Millisecond
	cases := []struct {
		name    string
		service string
		make    func(g *gen)
		// want is "severity kind scope subject" of each anomaly, in order.
		want  []string
		check func(t *testing.T, as []Anomaly)
	}{
		{
			name: "error burst",
			make: func(g *gen) {
				g.both("checkout", 240, 60, ms100, ms100, 5, 19)
				g.both("payments", 240, 60, ms100, ms100, 5, 1)
			},
			want: []string{"critical error_rate service checkout"},
			check: func(t *testing.T, as []Anomaly) {
				a := as[0]
				if !near(a.Current, 19.0/60) || !near(a.Baseline, 5.0/240) || !near(a.Delta, 19.0/60-5.0/240) {
					t.Errorf("numbers %+v", a)
				}
				if want := "error rate of checkout rose from 2.1% to 31.7% (19 of 60 spans)"; a.Message != want {
					t.Errorf("message %q, want %q", a.Message, want)
				}
			},
		},
		{
			name:    "error burst of another service",
			service: "payments",
			make: func(g *gen) {
				g.both("checkout", 240, 60, ms100, ms100, 5, 19)
				g.both("payments", 240, 60, ms100, ms100, 5, 1)
			},
		},
		{
			name: "latency regression",
			make: func(g *gen) {
				g.both("api", 240, 60, ms100, 300*time.Millisecond, 0, 0)                // ×3
				g.both("db", 240, 60, 50*time.Millisecond, 80*time.Millisecond, 0, 0)    // ×1.6, +30 ms
				g.both("cache", 240, 60, 30*time.Millisecond, 48*time.Millisecond, 0, 0) // ×1.6 but +18 ms
			},
			want: []string{"critical latency_p95 service api", "info latency_p95 service db"},
			check: func(t *testing.T, as []Anomaly) {
				if a := as[0]; !near(a.Current, 300) || !near(a.Baseline, 100) || !near(a.Delta, 200) ||
					a.Message != "p95 latency of api rose from 100.0 ms to 300.0 ms (3.0×)" {
					t.Errorf("api %+v", a)
				}
				if a := as[1]; !near(a.Delta, 30) {
					t.Errorf("db %+v", a)
				}
			},
		},
		{
			name: "no baseline",
			make: func(g *gen) {
				g.steady("fresh", 100, currentStart, 15*time.Minute, ms500, 100)
			},
		},
		{
			name: "too few spans",
			make: func(g *gen) {
				g.both("thin", 10, 4, ms100, ms500, 0, 4)   // 4 in the current window, all failed
				g.both("thin2", 4, 10, ms100, ms500, 0, 10) // 4 in the baseline
			},
		},
		{
			name: "throughput drop",
			make: func(g *gen) {
				g.both("worker", 120, 0, ms100, ms100, 0, 0) // stopped
				g.both("batch", 240, 24, ms100, ms100, 0, 0) // 0.4×
			},
			want: []string{"critical throughput_drop service worker", "info throughput_drop service batch"},
			check: func(t *testing.T, as []Anomaly) {
				a := as[0]
				if a.Current != 0 || !near(a.Baseline, 120.0/3600) || !near(a.Delta, -120.0/3600) {
					t.Errorf("worker %+v", a)
				}
				if want := "throughput of worker fell from 0.0333 to 0 spans/s (0.0× the baseline)"; a.Message != want {
					t.Errorf("message %q, want %q", a.Message, want)
				}
				if !near(as[1].Current/as[1].Baseline, 0.4) {
					t.Errorf("batch %+v", as[1])
				}
			},
		},
		{
			name: "throughput spike",
			make: func(g *gen) {
				g.both("api", 10, 100, ms100, ms100, 0, 0) // 40×
				g.steady("newbie", 100, currentStart, 15*time.Minute, ms100, 0)
			},
			want: []string{"critical throughput_spike service api"},
			check: func(t *testing.T, as []Anomaly) {
				if a := as[0]; !near(a.Current/a.Baseline, 40) {
					t.Errorf("api %+v", a)
				}
			},
		},
		{
			name: "token cost spike",
			make: func(g *gen) {
				llm(g.steady("llm-gateway", 12, baselineStart, time.Hour, ms500, 0), "gpt-4o", 100, fp(0.001))
				llm(g.steady("llm-gateway", 6, currentStart, 15*time.Minute, ms500, 0), "gpt-4o", 100, fp(0.01)) // 20× per second
				llm(g.steady("llm-gateway", 12, baselineStart, time.Hour, ms500, 0), "claude-sonnet-4", 100, fp(0.002))
				llm(g.steady("llm-gateway", 5, currentStart, 15*time.Minute, ms500, 0), "claude-sonnet-4", 100, fp(0.001))
				llm(g.steady("llm-gateway", 10, baselineStart, time.Hour, ms500, 0), "local-llama", 100, nil)
				llm(g.steady("llm-gateway", 5, currentStart, 15*time.Minute, ms500, 0), "local-llama", 1000, nil) // tokens 20×
			},
			want: []string{"critical token_cost_spike model gpt-4o", "critical token_cost_spike model local-llama"},
			check: func(t *testing.T, as []Anomaly) {
				if a := as[0]; !near(a.Current, 0.06/900) || !near(a.Baseline, 0.012/3600) || !strings.HasPrefix(a.Message, "cost of gpt-4o rose") {
					t.Errorf("gpt-4o %+v", a)
				}
				if a := as[1]; !near(a.Current, 5000.0/900) || !near(a.Baseline, 1000.0/3600) || !strings.HasPrefix(a.Message, "token use of local-llama rose") {
					t.Errorf("local-llama %+v", a)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newEnv(t, fixNow)
			var g gen
			c.make(&g)
			v.append(t, schema.Spans, synth.SpanRows(v.mem, g.spans))
			got, err := v.s.Anomalies(context.Background(), 0, 0, c.service)
			if err != nil {
				t.Fatal(err)
			}
			if got.WindowSeconds != 900 || got.BaselineSeconds != 3600 {
				t.Errorf("windows %v, %v", got.WindowSeconds, got.BaselineSeconds)
			}
			var kinds []string
			for _, a := range got.Anomalies {
				kinds = append(kinds, strings.Join([]string{a.Severity, a.Kind, a.Scope, a.Subject}, " "))
				for _, f := range []float64{a.Current, a.Baseline, a.Delta} {
					if math.IsInf(f, 0) || math.IsNaN(f) {
						t.Errorf("non-finite number in %+v", a)
					}
				}
			}
			if fmt.Sprint(kinds) != fmt.Sprint(c.want) {
				t.Fatalf("anomalies %q, want %q\n%+v", kinds, c.want, got.Anomalies)
			}
			if c.check != nil {
				c.check(t, got.Anomalies)
			}
			if _, err := json.Marshal(got); err != nil {
				t.Fatal(err)
			}
			golden(t, "anomalies_"+strings.ReplaceAll(c.name, " ", "_"), got, true)
		})
	}
}

// near reports whether a and b agree to 9 significant digits.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

// TestAnomalyBoundaries checks the thresholds hold at exact count ratios,
// where floating point lands a hair below them (6/20 − 5/20 computes to
// 0.04999999999999999).
func TestAnomalyBoundaries(t *testing.T) {
	kinds := func(as []Anomaly) map[string]string {
		out := map[string]string{}
		for _, a := range as {
			out[a.Kind] = a.Severity
		}
		return out
	}
	cur, base := 15*time.Minute, time.Hour
	for _, c := range []struct {
		name       string
		c, b       windowStats
		kind, want string // want "" for no finding of kind
	}{
		{"error Δ exactly 0.05", windowStats{spans: 20, errors: 6}, windowStats{spans: 20, errors: 5}, KindErrorRate, SeverityInfo},
		{"error Δ exactly 0.25", windowStats{spans: 20, errors: 7}, windowStats{spans: 20, errors: 2}, KindErrorRate, SeverityCritical},
		{"error Δ exactly 0.10", windowStats{spans: 20, errors: 3}, windowStats{spans: 20, errors: 1}, KindErrorRate, SeverityWarning},
		{"error Δ below 0.05", windowStats{spans: 100, errors: 9}, windowStats{spans: 100, errors: 5}, KindErrorRate, ""},
		// 25 spans in 15 minutes against 20 in an hour: exactly 5× the rate.
		{"spike exactly 5×", windowStats{spans: 25}, windowStats{spans: 20}, KindThroughputSpike, SeverityWarning},
		{"spike exactly 10×", windowStats{spans: 50}, windowStats{spans: 20}, KindThroughputSpike, SeverityCritical},
		// 10 spans in 15 minutes against 80 in an hour: exactly 0.5×.
		{"drop exactly 0.5×", windowStats{spans: 10}, windowStats{spans: 80}, KindThroughputDrop, SeverityInfo},
	} {
		got := kinds(serviceAnomalies("svc", &c.c, &c.b, cur, base))[c.kind]
		if got != c.want {
			t.Errorf("%s: %s severity %q, want %q", c.name, c.kind, got, c.want)
		}
	}
}
