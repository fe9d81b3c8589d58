package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/tael/tael/analytics"
	"github.com/tael/tael/internal/duration"
)

// The table format: each answer's important fields as aligned columns,
// one row per line, times in UTC to the millisecond.

// maxCell is the most characters of free text (log bodies, comments,
// fragments, messages) a table cell shows; --format json has all of it.
const maxCell = 100

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

// row writes one line; each cell is kept on one line, without tabs.
func (t *table) row(cells ...string) {
	for i, c := range cells {
		if i > 0 {
			_, _ = io.WriteString(t.tw, "\t")
		}
		_, _ = io.WriteString(t.tw, oneLine(c))
	}
	_, _ = io.WriteString(t.tw, "\n")
}

func (t *table) flush() error { return t.tw.Flush() }

// oneLine replaces control characters (newlines, tabs) with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// clip shortens free text to maxCell characters.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxCell {
		return s
	}
	r := []rune(s)
	return string(r[:maxCell-1]) + "…"
}

func ftime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// fnum prints a number with at most three decimals.
func fnum(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

func fint(n int64) string { return strconv.FormatInt(n, 10) }

func fpct(r float64) string { return fmt.Sprintf("%.2f%%", r*100) }

// fwindow prints a window the way flags take it: "1h", "15m", "7d".
func fwindow(seconds float64) string {
	s := duration.Format(time.Duration(seconds * float64(time.Second)))
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// labelsText prints a map as k=v pairs sorted by key.
func labelsText(m map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + m[k])
	}
	return b.String()
}

func decode[T any](b []byte) (T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("decode the server's answer: %w", err)
	}
	return v, nil
}

func tracesTable(w io.Writer, b []byte) error {
	a, err := decode[struct {
		Traces []analytics.TraceSummary `json:"traces"`
	}](b)
	if err != nil {
		return err
	}
	t := newTable(w, "TRACE_ID", "ROOT_SERVICE", "ROOT_OPERATION", "START_TIME", "DURATION_MS", "SPANS", "ERRORS")
	for _, s := range a.Traces {
		t.row(s.TraceID, dash(s.RootService), dash(s.RootOperation), ftime(s.StartTime), fnum(s.DurationMS), fint(s.SpanCount), fint(s.ErrorCount))
	}
	return t.flush()
}

func logsTable(w io.Writer, b []byte) error {
	a, err := decode[struct {
		Logs []analytics.Log `json:"logs"`
	}](b)
	if err != nil {
		return err
	}
	return writeLogs(w, a.Logs)
}

func writeLogs(w io.Writer, logs []analytics.Log) error {
	t := newTable(w, "TIMESTAMP", "SEVERITY", "SERVICE", "TRACE_ID", "BODY")
	for _, l := range logs {
		t.row(ftime(l.Timestamp), l.Severity, dash(l.Service), dash(l.TraceID), clip(l.Body))
	}
	return t.flush()
}

func metricsTable(w io.Writer, b []byte) error {
	a, err := decode[struct {
		Metrics []analytics.Metric `json:"metrics"`
	}](b)
	if err != nil {
		return err
	}
	return writeMetrics(w, a.Metrics)
}

func writeMetrics(w io.Writer, ms []analytics.Metric) error {
	t := newTable(w, "TIMESTAMP", "NAME", "SERVICE", "TYPE", "VALUE", "LABELS")
	for _, m := range ms {
		t.row(ftime(m.Timestamp), m.Name, dash(m.Service), m.MetricType, strconv.FormatFloat(m.Value, 'g', -1, 64), labelsText(m.Labels))
	}
	return t.flush()
}

func traceTable(w io.Writer, b []byte) error {
	tr, err := decode[analytics.Trace](b)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "trace %s: %d spans\n\n", tr.TraceID, len(tr.Spans))
	return writeSpans(w, tr.Spans)
}

// writeSpans prints spans as a tree: each child under its parent, indented,
// siblings in start order.
func writeSpans(w io.Writer, spans []analytics.Span) error {
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	children := map[string][]int{}
	var roots []int
	for i, s := range spans {
		if s.ParentSpanID == "" || !ids[s.ParentSpanID] {
			roots = append(roots, i)
		} else {
			children[s.ParentSpanID] = append(children[s.ParentSpanID], i)
		}
	}
	t := newTable(w, "SPAN_ID", "SERVICE", "OPERATION", "START_TIME", "DURATION_MS", "STATUS", "LLM")
	seen := make([]bool, len(spans))
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if seen[i] {
			return
		}
		seen[i] = true
		s := spans[i]
		llm := ""
		if s.LLMModel != "" {
			llm = s.LLMModel
			if s.InputTokens != nil && s.OutputTokens != nil {
				llm += fmt.Sprintf(" %d→%d tokens", *s.InputTokens, *s.OutputTokens)
			}
		}
		t.row(s.SpanID, s.Service, strings.Repeat("  ", depth)+s.Operation, ftime(s.StartTime), fnum(s.DurationMS), s.Status, dash(llm))
		for _, c := range children[s.SpanID] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	// A cycle of parents has no root: print what is left flat.
	for i := range spans {
		walk(i, 0)
	}
	return t.flush()
}

func servicesTable(w io.Writer, b []byte) error {
	a, err := decode[struct {
		Services []analytics.ServiceInfo `json:"services"`
	}](b)
	if err != nil {
		return err
	}
	t := newTable(w, "SERVICE", "SPANS", "ERRORS", "ERROR_RATE", "AVG_MS", "P95_MS", "OPERATIONS", "LAST_SEEN")
	for _, s := range a.Services {
		t.row(s.Name, fint(s.SpanCount), fint(s.ErrorCount), fpct(s.ErrorRate), fnum(s.AvgMS), fnum(s.P95MS), fint(s.Operations), ftime(s.LastSeen))
	}
	return t.flush()
}

func summaryTable(w io.Writer, b []byte) error {
	s, err := decode[analytics.Summary](b)
	if err != nil {
		return err
	}
	service := "all"
	if s.ServiceFilter != nil {
		service = *s.ServiceFilter
	}
	tr := s.Traces
	kv := newTable(w)
	kv.row("window", fwindow(s.WindowSeconds))
	kv.row("service", service)
	kv.row("spans", fint(tr.SpanCount))
	kv.row("traces", fint(tr.TraceCount))
	kv.row("errors", fmt.Sprintf("%d (%s)", tr.ErrorCount, fpct(tr.ErrorRate)))
	kv.row("latency ms", fmt.Sprintf("avg %s  p50 %s  p95 %s  p99 %s  max %s", fnum(tr.AvgMS), fnum(tr.P50MS), fnum(tr.P95MS), fnum(tr.P99MS), fnum(tr.MaxMS)))
	kv.row("logs", fmt.Sprintf("%d (error %d, warn %d, info %d, debug %d)", s.Logs.Total, s.Logs.Error, s.Logs.Warn, s.Logs.Info, s.Logs.Debug))
	kv.row("metric points", fmt.Sprintf("%d (%d names)", s.Metrics.PointCount, s.Metrics.UniqueNames))
	kv.row("llm calls", fmt.Sprintf("%d (tokens in %d, out %d, total %d; cost $%s)", s.LLM.Calls, s.LLM.InputTokens, s.LLM.OutputTokens, s.LLM.TotalTokens, fcost(s.LLM.CostUSD)))
	if err := kv.flush(); err != nil {
		return err
	}
	if len(s.TopServices) > 0 {
		fmt.Fprintln(w, "\ntop services")
		t := newTable(w, "SERVICE", "SPANS", "ERRORS", "ERROR_RATE")
		for _, c := range s.TopServices {
			t.row(c.Service, fint(c.SpanCount), fint(c.ErrorCount), fpct(c.ErrorRate))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(s.TopErrorOperations) > 0 {
		fmt.Fprintln(w, "\ntop error operations")
		t := newTable(w, "SERVICE", "OPERATION", "ERRORS", "SPANS")
		for _, o := range s.TopErrorOperations {
			t.row(o.Service, o.Operation, fint(o.ErrorCount), fint(o.SpanCount))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(s.LLM.Models) > 0 {
		fmt.Fprintln(w, "\nllm models")
		t := newTable(w, "MODEL", "PROVIDER", "CALLS", "INPUT_TOKENS", "OUTPUT_TOKENS", "COST_USD", "ERRORS", "AVG_MS")
		for _, m := range s.LLM.Models {
			t.row(m.Model, dash(m.Provider), fint(m.Calls), fint(m.InputTokens), fint(m.OutputTokens), fcost(m.CostUSD), fint(m.ErrorCount), fnum(m.AvgMS))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return nil
}

// fcost prints dollars to the micro-dollar: LLM calls cost fractions of a
// cent.
func fcost(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

func anomaliesTable(w io.Writer, b []byte) error {
	a, err := decode[analytics.Anomalies](b)
	if err != nil {
		return err
	}
	service := "all services"
	if a.ServiceFilter != nil {
		service = "service " + *a.ServiceFilter
	}
	fmt.Fprintf(w, "last %s against the %s before, %s\n\n", fwindow(a.WindowSeconds), fwindow(a.BaselineSeconds), service)
	if len(a.Anomalies) == 0 {
		_, err := fmt.Fprintln(w, "no anomalies")
		return err
	}
	t := newTable(w, "SEVERITY", "KIND", "SCOPE", "SUBJECT", "CURRENT", "BASELINE", "DELTA", "MESSAGE")
	for _, x := range a.Anomalies {
		t.row(x.Severity, x.Kind, x.Scope, x.Subject, fnum(x.Current), fnum(x.Baseline), fnum(x.Delta), clip(x.Message))
	}
	return t.flush()
}

func correlateTable(w io.Writer, b []byte) error {
	c, err := decode[analytics.Correlation](b)
	if err != nil {
		return err
	}
	kv := newTable(w)
	kv.row("trace", c.TraceID)
	kv.row("services", strings.Join(c.Services, ", "))
	kv.row("start", ftime(c.StartTime))
	kv.row("end", ftime(c.EndTime))
	kv.row("duration ms", fnum(c.DurationMS))
	kv.row("spans", fmt.Sprintf("%d (%d errors)", c.SpanCount, c.ErrorCount))
	kv.row("logs", strconv.Itoa(len(c.Logs)))
	kv.row("metric points", strconv.Itoa(len(c.Metrics)))
	if err := kv.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nspans")
	if err := writeSpans(w, c.Spans); err != nil {
		return err
	}
	if len(c.Logs) > 0 {
		fmt.Fprintln(w, "\nlogs")
		if err := writeLogs(w, c.Logs); err != nil {
			return err
		}
	}
	if len(c.Metrics) > 0 {
		fmt.Fprintln(w, "\nmetrics")
		if err := writeMetrics(w, c.Metrics); err != nil {
			return err
		}
	}
	return nil
}

func commentTable(w io.Writer, b []byte) error {
	c, err := decode[analytics.Comment](b)
	if err != nil {
		return err
	}
	kv := newTable(w)
	kv.row("id", c.ID)
	kv.row("trace", c.TraceID)
	kv.row("span", dash(c.SpanID))
	kv.row("author", c.Author)
	kv.row("created", ftime(c.CreatedAt))
	kv.row("body", c.Body)
	return kv.flush()
}

func commentsTable(w io.Writer, b []byte) error {
	a, err := decode[struct {
		Comments []analytics.Comment `json:"comments"`
	}](b)
	if err != nil {
		return err
	}
	t := newTable(w, "CREATED_AT", "TRACE_ID", "SPAN_ID", "AUTHOR", "BODY")
	for _, c := range a.Comments {
		t.row(ftime(c.CreatedAt), c.TraceID, dash(c.SpanID), c.Author, clip(c.Body))
	}
	return t.flush()
}

func searchTable(w io.Writer, b []byte) error {
	a, err := decode[struct {
		Query string                `json:"query"`
		Hits  []analytics.SearchHit `json:"hits"`
	}](b)
	if err != nil {
		return err
	}
	t := newTable(w, "SCORE", "KIND", "TRACE_ID", "SPAN_ID", "SHA256", "FRAGMENT")
	for _, h := range a.Hits {
		t.row(strconv.FormatFloat(h.Score, 'f', 3, 64), h.Kind, dash(h.TraceID), dash(h.SpanID), h.SHA256, clip(h.Fragment))
	}
	return t.flush()
}
