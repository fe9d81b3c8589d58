package analytics

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Anomaly kinds, scopes and severities.
const (
	KindErrorRate       = "error_rate"
	KindLatencyP95      = "latency_p95"
	KindThroughputDrop  = "throughput_drop"
	KindThroughputSpike = "throughput_spike"
	KindTokenCostSpike  = "token_cost_spike"

	ScopeService = "service"
	ScopeModel   = "model"

	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// The thresholds of the anomaly rules, part of the contract doc.go states.
// The minimum span counts keep a quiet service from flapping: 5 spans make
// an error rate or a percentile worth comparing, 20 a throughput.
const (
	minSpans           = 5
	minThroughputSpans = 20

	errorRateMinDelta      = 0.05
	errorRateWarningDelta  = 0.10
	errorRateCriticalDelta = 0.25

	latencyMinRatio      = 1.5
	latencyMinDeltaMS    = 25
	latencyWarningRatio  = 2
	latencyCriticalRatio = 3

	dropMaxRatio      = 0.5
	dropWarningRatio  = 0.25
	dropCriticalRatio = 0.1

	spikeMinRatio      = 2
	spikeWarningRatio  = 5
	spikeCriticalRatio = 10
)

// windowStats are one subject's numbers in one window.
type windowStats struct {
	spans, errors int64
	p95           float64
	cost          float64 // LLM: sum of cost_usd
	costs         int64   // LLM: spans with a cost
	tokens        int64   // LLM: sum of total_tokens
}

// Anomalies compares the current window with the baseline before it.
func (s *Service) Anomalies(ctx context.Context, current, baseline time.Duration, service string) (*Anomalies, error) {
	current, err := window("current", current, DefaultCurrent)
	if err != nil {
		return nil, err
	}
	baseline, err = window("baseline", baseline, DefaultBaseline)
	if err != nil {
		return nil, err
	}
	now := s.now()
	split := now.Add(-current)
	from := split.Add(-baseline)
	out := &Anomalies{WindowSeconds: current.Seconds(), BaselineSeconds: baseline.Seconds(), Anomalies: []Anomaly{}}
	// The baseline is [from, split), the current window [split, now].
	cond := "start_time >= ? AND start_time <= ?"
	params := []any{split, from, now}
	if service != "" {
		out.ServiceFilter = &service
		cond += " AND service = ?"
		params = append(params, service)
	}
	cur, base := map[string]*windowStats{}, map[string]*windowStats{}
	curM, baseM := map[string]*windowStats{}, map[string]*windowStats{}
	get := func(m map[string]*windowStats, k string) *windowStats {
		if m[k] == nil {
			m[k] = &windowStats{}
		}
		return m[k]
	}
	// One scan of both windows, grouped per service and per LLM model.
	q := `SELECT service, llm_model, grouping(service) = 1 AS by_model, start_time >= ? AS cur,
  count(*), count(*) FILTER (WHERE status = 'error'), quantile_cont(duration_ms, 0.95),
  coalesce(sum(cost_usd), 0), count(cost_usd), coalesce(sum(total_tokens), 0)::BIGINT
FROM spans WHERE ` + cond + `
GROUP BY GROUPING SETS ((service, cur), (llm_model, cur)) ORDER BY ALL`
	err = s.each(ctx, q, params, func(rec arrow.RecordBatch) error {
		c := rec.Columns()
		for i := range int(rec.NumRows()) {
			isCur := c[3].(interface{ Value(int) bool }).Value(i)
			if c[2].(interface{ Value(int) bool }).Value(i) {
				if c[1].IsNull(i) {
					continue // spans that are not LLM calls
				}
				m := baseM
				if isCur {
					m = curM
				}
				w := get(m, str(c[1], i))
				w.spans, w.cost, w.costs, w.tokens = i64(c[4], i), f64(c[7], i), i64(c[8], i), i64(c[9], i)
				continue
			}
			m := base
			if isCur {
				m = cur
			}
			w := get(m, str(c[0], i))
			w.spans, w.errors, w.p95 = i64(c[4], i), i64(c[5], i), f64(c[6], i)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, svc := range sortedKeys(cur, base) {
		c, b := get(cur, svc), get(base, svc)
		out.Anomalies = append(out.Anomalies, serviceAnomalies(svc, c, b, current, baseline)...)
	}
	for _, model := range sortedKeys(curM, baseM) {
		if a, ok := costAnomaly(model, get(curM, model), get(baseM, model), current, baseline); ok {
			out.Anomalies = append(out.Anomalies, a)
		}
	}
	slices.SortFunc(out.Anomalies, func(a, b Anomaly) int {
		return cmp.Or(cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)),
			cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Subject, b.Subject))
	})
	return out, nil
}

func sortedKeys(a, b map[string]*windowStats) []string {
	var ks []string
	for k := range a {
		ks = append(ks, k)
	}
	for k := range b {
		if a[k] == nil {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func severityRank(s string) int {
	switch s {
	case SeverityCritical:
		return 0
	case SeverityWarning:
		return 1
	}
	return 2
}

// serviceAnomalies applies the service rules to one service's windows.
func serviceAnomalies(svc string, c, b *windowStats, current, baseline time.Duration) []Anomaly {
	var out []Anomaly
	if c.spans >= minSpans && b.spans >= minSpans {
		cr, br := ratio(c.errors, c.spans), ratio(b.errors, b.spans)
		if d := cr - br; reaches(d, errorRateMinDelta) {
			out = append(out, Anomaly{
				Kind: KindErrorRate, Scope: ScopeService, Subject: svc,
				Severity: grade(d, errorRateWarningDelta, errorRateCriticalDelta),
				Current:  cr, Baseline: br, Delta: d,
				Message: fmt.Sprintf("error rate of %s rose from %.1f%% to %.1f%% (%d of %d spans)",
					svc, 100*br, 100*cr, c.errors, c.spans),
			})
		}
		d := c.p95 - b.p95
		r := math.Inf(1) // a baseline p95 of 0 ms: any increase is a regression
		if b.p95 > 0 {
			r = c.p95 / b.p95
		}
		if reaches(r, latencyMinRatio) && reaches(d, latencyMinDeltaMS) {
			out = append(out, Anomaly{
				Kind: KindLatencyP95, Scope: ScopeService, Subject: svc,
				Severity: grade(r, latencyWarningRatio, latencyCriticalRatio),
				Current:  c.p95, Baseline: b.p95, Delta: d,
				Message: fmt.Sprintf("p95 latency of %s rose from %.1f ms to %.1f ms (%s)", svc, b.p95, c.p95, times(r)),
			})
		}
	}
	cRate, bRate := float64(c.spans)/current.Seconds(), float64(b.spans)/baseline.Seconds()
	if b.spans >= minThroughputSpans && atMost(cRate, dropMaxRatio*bRate) {
		r := cRate / bRate // bRate > 0: at least 20 spans
		sev := SeverityInfo
		switch {
		case atMost(r, dropCriticalRatio):
			sev = SeverityCritical
		case atMost(r, dropWarningRatio):
			sev = SeverityWarning
		}
		out = append(out, Anomaly{
			Kind: KindThroughputDrop, Scope: ScopeService, Subject: svc, Severity: sev,
			Current: cRate, Baseline: bRate, Delta: cRate - bRate,
			Message: fmt.Sprintf("throughput of %s fell from %s to %s spans/s (%s the baseline)", svc, num(bRate), num(cRate), times(r)),
		})
	}
	if c.spans >= minThroughputSpans && b.spans >= minSpans && reaches(cRate, spikeMinRatio*bRate) {
		r := cRate / bRate // bRate > 0: at least 5 spans
		out = append(out, Anomaly{
			Kind: KindThroughputSpike, Scope: ScopeService, Subject: svc,
			Severity: grade(r, spikeWarningRatio, spikeCriticalRatio),
			Current:  cRate, Baseline: bRate, Delta: cRate - bRate,
			Message: fmt.Sprintf("throughput of %s rose from %s to %s spans/s (%s the baseline)", svc, num(bRate), num(cRate), times(r)),
		})
	}
	return out
}

// costAnomaly applies the token_cost_spike rule to one model's windows.
func costAnomaly(model string, c, b *windowStats, current, baseline time.Duration) (Anomaly, bool) {
	if c.spans < minSpans || b.spans < minSpans {
		return Anomaly{}, false
	}
	byCost := c.costs > 0 || b.costs > 0
	cv, bv := float64(c.tokens), float64(b.tokens)
	if byCost {
		cv, bv = c.cost, b.cost
	}
	cRate, bRate := cv/current.Seconds(), bv/baseline.Seconds()
	if cRate <= 0 {
		return Anomaly{}, false
	}
	r := math.Inf(1) // nothing spent in the baseline, something now
	if bRate > 0 {
		r = cRate / bRate
	}
	if !reaches(r, spikeMinRatio) {
		return Anomaly{}, false
	}
	a := Anomaly{
		Kind: KindTokenCostSpike, Scope: ScopeModel, Subject: model,
		Severity: grade(r, spikeWarningRatio, spikeCriticalRatio),
		Current:  cRate, Baseline: bRate, Delta: cRate - bRate,
	}
	if byCost {
		// Per hour, where LLM costs read naturally.
		a.Message = fmt.Sprintf("cost of %s rose from $%s/h to $%s/h (%s the baseline)", model, num(3600*bRate), num(3600*cRate), times(r))
	} else {
		a.Message = fmt.Sprintf("token use of %s rose from %s to %s tokens/s (%s the baseline)", model, num(bRate), num(cRate), times(r))
	}
	return a, true
}

// grade is critical at or above critical, warning at or above warning, else
// info.
func grade(v, warning, critical float64) string {
	switch {
	case reaches(v, critical):
		return SeverityCritical
	case reaches(v, warning):
		return SeverityWarning
	}
	return SeverityInfo
}

// reaches reports v ≥ t, and atMost v ≤ t, forgiving the last bits of
// floating-point error: the compared values are ratios and differences of
// counts, which hit a threshold exactly (6 of 20 errors against 5 of 20 is
// a Δ of exactly 0.05, computed as 0.04999999999999999).
func reaches(v, t float64) bool { return v >= t-thresholdSlack*math.Max(1, math.Abs(t)) }
func atMost(v, t float64) bool  { return v <= t+thresholdSlack*math.Max(1, math.Abs(t)) }

// thresholdSlack is the relative error reaches and atMost forgive.
const thresholdSlack = 1e-9

// num renders a rate for a message: three significant digits below 1
// ("0.0333"), two decimals up to 100, none above.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// times renders a ratio: "3.0×", or "∞×" for a zero baseline.
func times(r float64) string {
	if math.IsInf(r, 1) {
		return "∞×"
	}
	return fmt.Sprintf("%.1f×", r)
}
