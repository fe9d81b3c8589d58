package hot

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// t0 is the start of the test data.
var t0 = time.Unix(1_700_000_000, 0)

// oracle holds the rows applied to a store, rendered as strings, and answers
// every query by brute force.
type oracle struct {
	width  int64
	rows   map[schema.ID][]oracleRow
	traces map[string][]int // trace id → indexes of its rows in rows[schema.Spans]
	series map[uint64]*oracleSeries
}

type oracleRow struct {
	time   int64
	lsn    uint64
	series uint64   // metrics.series_id, for metrics
	cols   []string // one rendered value per column
}

type oracleSeries struct {
	ls      labels.Labels
	buckets map[int64]uint64 // bucket with a point → highest LSN of its points
}

func newOracle(width time.Duration) *oracle {
	return &oracle{
		width:  int64(width),
		rows:   make(map[schema.ID][]oracleRow),
		traces: make(map[string][]int),
		series: make(map[uint64]*oracleSeries),
	}
}

// add records the rows of rec, a batch of table applied at lsn.
func (o *oracle) add(table schema.ID, rec arrow.RecordBatch, lsn uint64) {
	tbl, _ := schema.ByID(table)
	times := rec.Column(tbl.TimeIndex).(*array.Timestamp)
	var b labels.ScratchBuilder
	for i := 0; i < int(rec.NumRows()); i++ {
		row := oracleRow{time: int64(times.Value(i)), lsn: lsn, cols: renderRow(rec, i, nil)}
		switch table {
		case schema.Spans:
			id := rec.Column(spansTraceID).(*array.String).Value(i)
			o.traces[id] = append(o.traces[id], len(o.rows[table]))
		case schema.Metrics:
			id := rec.Column(metricsSeriesID).(*array.Uint64).Value(i)
			row.series = id
			se := o.series[id]
			if se == nil {
				ls := rowLabels(&b, rec.Column(metricsName).(*array.String), rec.Column(metricsLabels).(*array.Map), i)
				se = &oracleSeries{ls: ls, buckets: make(map[int64]uint64)}
				o.series[id] = se
			}
			bk := bucketOf(row.time, o.width)
			se.buckets[bk] = max(se.buckets[bk], lsn)
		}
		o.rows[table] = append(o.rows[table], row)
	}
}

// hidden reports whether m hides a row of time t applied at lsn: its bucket
// ends at or before m.Before and lsn is at most m.LSN (which must not be 0).
func (o *oracle) hidden(m Moved, t int64, lsn uint64) bool {
	end := (bucketOf(t, o.width) + 1) * o.width
	return m.LSN != 0 && lsn <= m.LSN && end <= m.Before
}

// renderRow renders the columns cols (all for nil) of row i.
func renderRow(rec arrow.RecordBatch, i int, cols []int) []string {
	if cols == nil {
		cols = make([]int, rec.NumCols())
		for c := range cols {
			cols[c] = c
		}
	}
	out := make([]string, len(cols))
	for j, c := range cols {
		out[j] = rec.Column(c).ValueStr(i)
	}
	return out
}

// scan returns the rows of table in tr that hide does not hide, with the
// columns cols (all for nil), sorted; with lsn, each is prefixed with its LSN.
func (o *oracle) scan(table schema.ID, tr schema.TimeRange, cols []int, hide Moved, lsn bool) []string {
	var out []string
	for _, r := range o.rows[table] {
		if !tr.Contains(r.time) || o.hidden(hide, r.time, r.lsn) {
			continue
		}
		var sel []string
		if cols == nil {
			sel = r.cols
		} else {
			for _, c := range cols {
				sel = append(sel, r.cols[c])
			}
		}
		row := strings.Join(sel, "\x1f")
		if lsn {
			row = fmt.Sprintf("%d|%s", r.lsn, row)
		}
		out = append(out, row)
	}
	slices.Sort(out)
	return out
}

// trace returns the rows of trace id that hide does not hide, sorted.
func (o *oracle) trace(id string, hide Moved) []string {
	var out []string
	for _, i := range o.traces[id] {
		r := o.rows[schema.Spans][i]
		if !o.hidden(hide, r.time, r.lsn) {
			out = append(out, strings.Join(r.cols, "\x1f"))
		}
	}
	slices.Sort(out)
	return out
}

// buckets returns what Store.Buckets should: the start times of the oldest
// and newest buckets with rows of table that hide does not hide, and the
// number of values holding them, one per (bucket, LSN) as no test batch has
// maxPartRows rows in a bucket.
func (o *oracle) buckets(table schema.ID, hide Moved) (minTime, maxTime int64, n int) {
	values := make(map[[2]int64]bool)
	for _, r := range o.rows[table] {
		if o.hidden(hide, r.time, r.lsn) {
			continue
		}
		b := bucketOf(r.time, o.width)
		if len(values) == 0 || b*o.width < minTime {
			minTime = b * o.width
		}
		if len(values) == 0 || b*o.width > maxTime {
			maxTime = b * o.width
		}
		values[[2]int64{b, int64(r.lsn)}] = true
	}
	return minTime, maxTime, len(values)
}

// seriesMatching returns the series matching ms with a point in a bucket
// overlapping tr. After DeleteMoved(schema.Metrics, trimmed), a bucket wholly
// before trimmed.Before counts only if it holds a point trimmed does not
// hide, since its other activity keys are deleted.
func (o *oracle) seriesMatching(ms []*labels.Matcher, tr schema.TimeRange, trimmed Moved) []Series {
	var out []Series
	if tr.Empty() {
		return nil
	}
	bMin, bMax := bucketOf(tr.Min, o.width), bucketOf(tr.Max-1, o.width)
	for id, se := range o.series {
		active := false
		for b, lsn := range se.buckets {
			if b >= bMin && b <= bMax && !o.hidden(trimmed, b*o.width, lsn) {
				active = true
			}
		}
		if active && MatchesAll(ms, se.ls) {
			out = append(out, Series{ID: id, Labels: se.ls})
		}
	}
	slices.SortFunc(out, func(a, b Series) int { return labels.Compare(a.Labels, b.Labels) })
	return out
}

// harness is a store under test, the oracle of what was applied to it, and
// the batches applied, kept to replay them.
type harness struct {
	t       *testing.T
	mem     *memory.CheckedAllocator
	dir     string
	opts    Options
	s       *Store
	o       *oracle
	rng     *rand.Rand
	lsn     uint64
	applied []appliedBatch
	// hide is the mark readers are given, per table.
	hide map[schema.ID]Moved
	// trimmed is the mark DeleteMoved last ran under for metrics: the
	// activity keys it deleted change what Series returns.
	trimmed Moved
	// nonEmpty counts the checks whose answer was not empty, to show that
	// the random queries hit data.
	nonEmpty struct{ scans, scanRows, traces, series, checks int }
}

type appliedBatch struct {
	lsn   uint64
	table schema.ID
	rec   arrow.RecordBatch
}

func newHarness(t *testing.T, width time.Duration, seed uint64) *harness {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	h := &harness{
		t:    t,
		mem:  mem,
		dir:  t.TempDir(),
		opts: Options{Allocator: mem, BucketWidth: width},
		o:    newOracle(width),
		rng:  rand.New(rand.NewPCG(seed, 0x407)),
		hide: make(map[schema.ID]Moved),
	}
	h.open()
	t.Cleanup(func() {
		for _, a := range h.applied {
			a.rec.Release()
		}
		if h.s != nil {
			if err := h.s.Close(); err != nil {
				t.Error(err)
			}
		}
		mem.AssertSize(t, 0)
	})
	return h
}

func (h *harness) open() {
	h.t.Helper()
	s, err := Open(h.dir, h.opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.s = s
}

func (h *harness) reopen() {
	h.t.Helper()
	if err := h.s.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.s = nil
	h.open()
}

// apply applies rec under the next LSN, records it in the oracle and keeps it
// for replay; the harness owns rec.
func (h *harness) apply(table schema.ID, rec arrow.RecordBatch) {
	h.t.Helper()
	h.lsn++
	// As the engine does: encode once, then apply those bytes (used when
	// the batch is one bucket). replay re-applies without them.
	enc, err := h.s.Encode(table, rec)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.s.Apply(h.lsn, table, rec, enc, h.lsn); err != nil {
		h.t.Fatalf("apply lsn %d: %v", h.lsn, err)
	}
	h.o.add(table, rec, h.lsn)
	h.applied = append(h.applied, appliedBatch{h.lsn, table, rec})
}

// replay applies every batch again, in random order, under its own LSN.
func (h *harness) replay() {
	h.t.Helper()
	for _, i := range h.rng.Perm(len(h.applied)) {
		a := h.applied[i]
		if err := h.s.Apply(a.lsn, a.table, a.rec, nil, h.lsn); err != nil {
			h.t.Fatalf("replay lsn %d: %v", a.lsn, err)
		}
	}
}

// applyRandom applies n random batches of every kind: spans whose jitter
// makes them straddle buckets (some sharing traces, some with non-hex trace
// ids), logs, synth metrics and metrics with uneven label sets.
func (h *harness) applyRandom(n int) {
	h.t.Helper()
	r := h.rng
	for i := 0; i < n; i++ {
		start := t0.Add(time.Duration(r.Int64N(int64(60 * time.Second))))
		switch k := r.IntN(10); {
		case k < 5:
			seed := r.Uint64N(8) // few seeds: traces recur across batches
			rec := synth.Spans(h.mem, synth.SpanOptions{
				Rows:     1 + r.IntN(200),
				Start:    start,
				Step:     time.Duration(1+r.IntN(20)) * time.Millisecond,
				Jitter:   time.Duration(r.Int64N(int64(3 * time.Second))),
				LLMEvery: r.IntN(4),
				Seed:     seed,
			})
			if r.IntN(4) == 0 {
				rec = h.withOddTraceIDs(rec)
			}
			h.apply(schema.Spans, rec)
		case k < 7:
			h.apply(schema.Logs, synth.Logs(h.mem, synth.LogOptions{
				Rows:  1 + r.IntN(100),
				Start: start,
				Step:  time.Duration(1+r.IntN(50)) * time.Millisecond,
				Seed:  r.Uint64(),
			}))
		case k < 9:
			h.apply(schema.Metrics, synth.Metrics(h.mem, synth.MetricOptions{
				Series: 1 + r.IntN(20),
				Points: 1 + r.IntN(6),
				Start:  start,
				Step:   time.Duration(1+r.IntN(3000)) * time.Millisecond,
				Seed:   r.Uint64(),
			}))
		default:
			h.apply(schema.Metrics, h.unevenMetrics(start, 1+r.IntN(40)))
		}
	}
}

var (
	labelNames  = []string{"job", "instance", "env", "path"}
	labelValues = []string{"a", "b", "svc-1", "svc-2", "prod", ""}
	metricNames = []string{"up", "http_requests_total", "queue_depth"}
)

// unevenMetrics returns rows points of series whose label sets differ in
// which labels they have, so that empty-matching matchers are exercised.
func (h *harness) unevenMetrics(start time.Time, rows int) arrow.RecordBatch {
	tbl, _ := schema.ByID(schema.Metrics)
	b := array.NewRecordBuilder(h.mem, tbl.Schema)
	defer b.Release()
	for i := 0; i < rows; i++ {
		name := metricNames[h.rng.IntN(len(metricNames))]
		ls := make(map[string]string)
		for _, n := range labelNames {
			if h.rng.IntN(2) == 0 {
				ls[n] = labelValues[h.rng.IntN(len(labelValues))]
			}
		}
		ts := start.Add(time.Duration(h.rng.Int64N(int64(5 * time.Second)))).UnixNano()
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(ts))
		b.Field(1).(*array.StringBuilder).Append(name)
		mb := b.Field(2).(*array.MapBuilder)
		if len(ls) == 0 && h.rng.IntN(2) == 0 {
			mb.AppendNull()
		} else {
			mb.Append(true)
			for _, n := range labelNames {
				if v, ok := ls[n]; ok {
					mb.KeyBuilder().(*array.StringBuilder).Append(n)
					mb.ItemBuilder().(*array.StringBuilder).Append(v)
				}
			}
		}
		b.Field(3).(*array.StringBuilder).Append("svc")
		b.Field(4).(*array.Float64Builder).Append(float64(i))
		b.Field(5).(*array.StringBuilder).Append("gauge")
		b.Field(6).(*array.StringBuilder).AppendNull()
		b.Field(7).(*array.Uint64Builder).Append(schema.SeriesID(name, ls))
	}
	return b.NewRecordBatch()
}

// oddTraceIDs are trace ids that are not 32 lowercase hex characters; the
// first is the upper-case form of a hex id and must not collide with it.
var oddTraceIDs = []string{
	strings.ToUpper(synth.TraceID(1, 1)),
	"not-a-hex-trace-id",
	"",
	"abc",
	strings.Repeat("g", 32),
}

// withOddTraceIDs replaces some of rec's trace ids with oddTraceIDs, taking
// over rec.
func (h *harness) withOddTraceIDs(rec arrow.RecordBatch) arrow.RecordBatch {
	defer rec.Release()
	ids := rec.Column(spansTraceID).(*array.String)
	b := array.NewStringBuilder(h.mem)
	defer b.Release()
	for i := 0; i < ids.Len(); i++ {
		if h.rng.IntN(3) == 0 {
			b.Append(oddTraceIDs[h.rng.IntN(len(oddTraceIDs))])
		} else {
			b.Append(ids.Value(i))
		}
	}
	col := b.NewArray()
	defer col.Release()
	out, err := rec.SetColumn(spansTraceID, col)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// randomRange returns a time range around the test data: often unaligned,
// sometimes on bucket boundaries, sometimes unbounded or empty.
func (h *harness) randomRange() schema.TimeRange {
	r := h.rng
	base := t0.UnixNano()
	at := func() int64 { return base + r.Int64N(int64(70*time.Second)) - int64(5*time.Second) }
	switch r.IntN(8) {
	case 0:
		return schema.AllTime
	case 1:
		return schema.TimeRange{Min: math.MinInt64, Max: at()}
	case 2:
		return schema.TimeRange{Min: at(), Max: math.MaxInt64}
	case 3:
		m := at()
		return schema.TimeRange{Min: m, Max: m - r.Int64N(10)}
	case 4:
		w := h.o.width
		m := bucketOf(at(), w) * w
		return schema.TimeRange{Min: m, Max: m + w*(1+r.Int64N(5))}
	}
	m := at()
	return schema.TimeRange{Min: m, Max: m + r.Int64N(int64(20*time.Second))}
}

// check runs n random queries of each kind against the store and the oracle.
func (h *harness) check(n int) {
	h.t.Helper()
	for i := 0; i < n; i++ {
		for _, table := range []schema.ID{schema.Spans, schema.Logs, schema.Metrics} {
			h.checkScan(table, h.randomRange(), h.randomColumns(table))
			h.checkScanBatches(table, h.randomRange())
		}
		h.checkTrace(h.randomTraceID())
		h.checkSeries(h.randomMatchers(), h.randomRange())
		h.checkSeries(h.randomMatchers(), schema.AllTime)
	}
	for _, table := range []schema.ID{schema.Spans, schema.Logs, schema.Metrics} {
		h.checkBuckets(table)
	}
	ne := h.nonEmpty
	h.t.Logf("%d checks: %d non-empty scans (%d rows), %d non-empty traces, %d non-empty series", ne.checks, ne.scans, ne.scanRows, ne.traces, ne.series)
}

func (h *harness) randomColumns(table schema.ID) []string {
	tbl, _ := schema.ByID(table)
	if h.rng.IntN(4) == 0 {
		return nil
	}
	var cols []string
	for _, i := range h.rng.Perm(tbl.Schema.NumFields())[:1+h.rng.IntN(tbl.Schema.NumFields())] {
		cols = append(cols, tbl.Schema.Field(i).Name)
	}
	return cols
}

func (h *harness) checkScan(table schema.ID, tr schema.TimeRange, columns []string) {
	h.t.Helper()
	tbl, _ := schema.ByID(table)
	var cols []int
	for _, c := range columns {
		cols = append(cols, tbl.Schema.FieldIndices(c)[0])
	}
	want := h.o.scan(table, tr, cols, h.hide[table], false)

	r, err := h.s.Scan(context.Background(), table, tr, columns, h.hide[table])
	if err != nil {
		h.t.Fatalf("scan %s %v %v: %v", tbl.Name, tr, columns, err)
	}
	defer r.Release()
	if columns != nil {
		if got := r.Schema().NumFields(); got != len(columns) {
			h.t.Fatalf("scan %s: %d columns, want %d", tbl.Name, got, len(columns))
		}
		for i, c := range columns {
			if r.Schema().Field(i).Name != c {
				h.t.Fatalf("scan %s: column %d is %s, want %s", tbl.Name, i, r.Schema().Field(i).Name, c)
			}
		}
	}
	timeCol := slices.Index(columns, tbl.TimeColumn)
	if columns == nil {
		timeCol = tbl.TimeIndex
	}
	var got []string
	lastBucket := int64(math.MinInt64)
	for r.Next() {
		rec := r.RecordBatch()
		if !rec.Schema().Equal(r.Schema()) {
			h.t.Fatalf("scan %s: batch schema %v, reader schema %v", tbl.Name, rec.Schema(), r.Schema())
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			got = append(got, strings.Join(renderRow(rec, i, nil), "\x1f"))
			if timeCol >= 0 {
				b := bucketOf(int64(rec.Column(timeCol).(*array.Timestamp).Value(i)), h.o.width)
				if b < lastBucket {
					h.t.Fatalf("scan %s: bucket %d after bucket %d", tbl.Name, b, lastBucket)
				}
				lastBucket = b
			}
		}
	}
	if err := r.Err(); err != nil {
		h.t.Fatalf("scan %s: %v", tbl.Name, err)
	}
	slices.Sort(got)
	h.count(&h.nonEmpty.scans, len(got))
	h.nonEmpty.scanRows += len(got)
	if !slices.Equal(got, want) {
		h.t.Fatalf("scan %s %v %v: %d rows, want %d\n%s", tbl.Name, tr, columns, len(got), len(want), firstDiff(got, want))
	}
}

// checkScanBatches checks ScanBatches against the oracle: the rows and the
// LSN each came with, and the order of the values.
func (h *harness) checkScanBatches(table schema.ID, tr schema.TimeRange) {
	h.t.Helper()
	tbl, _ := schema.ByID(table)
	want := h.o.scan(table, tr, nil, h.hide[table], true)
	var (
		got  []string
		last [2]int64 // bucket and LSN of the previous value
	)
	err := h.s.ScanBatches(context.Background(), table, tr, h.hide[table], func(lsn uint64, rec arrow.RecordBatch) error {
		if !rec.Schema().Equal(tbl.Schema) {
			return fmt.Errorf("batch schema %v", rec.Schema())
		}
		if rec.NumRows() == 0 {
			return fmt.Errorf("empty batch of lsn %d", lsn)
		}
		times := rec.Column(tbl.TimeIndex).(*array.Timestamp)
		key := [2]int64{bucketOf(int64(times.Value(0)), h.o.width), int64(lsn)}
		if key[0] < last[0] || key[0] == last[0] && key[1] <= last[1] {
			return fmt.Errorf("value (bucket %d, lsn %d) after (bucket %d, lsn %d)", key[0], key[1], last[0], last[1])
		}
		last = key
		for i := 0; i < int(rec.NumRows()); i++ {
			if b := bucketOf(int64(times.Value(i)), h.o.width); b != key[0] {
				return fmt.Errorf("lsn %d: rows of buckets %d and %d in one value", lsn, key[0], b)
			}
			got = append(got, fmt.Sprintf("%d|%s", lsn, strings.Join(renderRow(rec, i, nil), "\x1f")))
		}
		return nil
	})
	if err != nil {
		h.t.Fatalf("scan batches %s %v: %v", tbl.Name, tr, err)
	}
	slices.Sort(got)
	h.count(&h.nonEmpty.scans, len(got))
	if !slices.Equal(got, want) {
		h.t.Fatalf("scan batches %s %v: %d rows, want %d\n%s", tbl.Name, tr, len(got), len(want), firstDiff(got, want))
	}
}

// checkBuckets checks Buckets against the oracle.
func (h *harness) checkBuckets(table schema.ID) {
	h.t.Helper()
	minTime, maxTime, n, err := h.s.Buckets(context.Background(), table, h.hide[table])
	if err != nil {
		h.t.Fatalf("buckets %d: %v", table, err)
	}
	wMin, wMax, wn := h.o.buckets(table, h.hide[table])
	if minTime != wMin || maxTime != wMax || n != wn {
		h.t.Fatalf("buckets %d = %d, %d, %d; want %d, %d, %d", table, minTime, maxTime, n, wMin, wMax, wn)
	}
}

func (h *harness) randomTraceID() string {
	switch h.rng.IntN(4) {
	case 0:
		return synth.TraceID(1000+h.rng.Uint64N(100), h.rng.IntN(1000)) // absent
	case 1:
		return oddTraceIDs[h.rng.IntN(len(oddTraceIDs))]
	}
	if len(h.o.traces) == 0 {
		return ""
	}
	ids := make([]string, 0, len(h.o.traces))
	for id := range h.o.traces {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids[h.rng.IntN(len(ids))]
}

func (h *harness) checkTrace(id string) {
	h.t.Helper()
	rec, err := h.s.Trace(context.Background(), id, h.hide[schema.Spans])
	if err != nil {
		h.t.Fatalf("trace %q: %v", id, err)
	}
	defer rec.Release()
	tbl, _ := schema.ByID(schema.Spans)
	if !rec.Schema().Equal(tbl.Schema) {
		h.t.Fatalf("trace %q: schema %v", id, rec.Schema())
	}
	var got []string
	for i := 0; i < int(rec.NumRows()); i++ {
		got = append(got, strings.Join(renderRow(rec, i, nil), "\x1f"))
	}
	slices.Sort(got)
	h.count(&h.nonEmpty.traces, len(got))
	if want := h.o.trace(id, h.hide[schema.Spans]); !slices.Equal(got, want) {
		h.t.Fatalf("trace %q: %d rows, want %d\n%s", id, len(got), len(want), firstDiff(got, want))
	}
}

func (h *harness) randomMatchers() []*labels.Matcher {
	r := h.rng
	names := append([]string{labels.MetricName, "absent"}, labelNames...)
	values := append(slices.Clone(labelValues), "http_requests_total", "up", "queue_depth", "host-1:9090")
	regexps := []string{"svc-[0-3]", "host-.*", ".*", ".+", "svc-1|svc-2", "a|prod", "", "up|queue_depth", "/api/1.*"}
	// Half the values are taken from a stored series, so that equality
	// matchers often match.
	var stored []labels.Labels
	for _, se := range h.o.series {
		stored = append(stored, se.ls)
	}
	slices.SortFunc(stored, labels.Compare)
	var ms []*labels.Matcher
	for range 1 + r.IntN(3) {
		typ := labels.MatchType(r.IntN(4))
		name := names[r.IntN(len(names))]
		v := values[r.IntN(len(values))]
		if len(stored) > 0 && r.IntN(2) == 0 {
			v = stored[r.IntN(len(stored))].Get(name)
		}
		if typ == labels.MatchRegexp || typ == labels.MatchNotRegexp {
			v = regexps[r.IntN(len(regexps))]
		}
		m, err := labels.NewMatcher(typ, name, v)
		if err != nil {
			h.t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

func (h *harness) checkSeries(ms []*labels.Matcher, tr schema.TimeRange) {
	h.t.Helper()
	got, err := h.s.Series(context.Background(), ms, tr)
	if err != nil {
		h.t.Fatalf("series %v %v: %v", ms, tr, err)
	}
	want := h.o.seriesMatching(ms, tr, h.trimmed)
	h.count(&h.nonEmpty.series, len(got))
	if !slices.EqualFunc(got, want, func(a, b Series) bool { return a.ID == b.ID && labels.Equal(a.Labels, b.Labels) }) {
		h.t.Fatalf("series %v %v:\ngot  %v\nwant %v", ms, tr, got, want)
	}
}

func (h *harness) count(c *int, n int) {
	h.nonEmpty.checks++
	if n > 0 {
		*c++
	}
}

func firstDiff(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("first difference at %d:\ngot  %.300q\nwant %.300q", i, g, w)
		}
	}
	return ""
}
