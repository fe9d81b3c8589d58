package remotewrite

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cespare/xxhash/v2"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/tael/tael/schema"
)

var metricsTable = func() *schema.Table {
	t, err := schema.ByID(schema.Metrics)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return t
}()

// unknownService is metrics.service for a series without a job label, the
// default ingest/otlp uses for a resource without service.name.
const unknownService = "unknown_service"

// Timestamps are milliseconds; rows hold nanoseconds. A sample whose time
// does not fit int64 nanoseconds (before 1677-09-21 or after 2262-04-11) is
// rejected.
const (
	minMillis = math.MinInt64 / int64(time.Millisecond)
	maxMillis = math.MaxInt64 / int64(time.Millisecond)
)

// label is one series label.
type label struct{ name, value string }

// converter turns the series of one request into rows of the metrics table
// and counts what it cannot store.
type converter struct {
	b                               *array.RecordBuilder
	timestamp                       *array.TimestampBuilder
	name, service, metricType, unit *array.StringBuilder
	labels                          *array.MapBuilder
	labelKeys, labelValues          *array.StringBuilder
	value                           *array.Float64Builder
	seriesID                        *array.Uint64Builder

	// scratch holds the labels of the series being converted, norm the
	// ones normalize keeps.
	scratch, norm []label

	rows       int64 // float samples converted
	histograms int64 // native histogram samples skipped
	exemplars  int64 // exemplars skipped
	rejected   rejections
}

func newConverter(mem memory.Allocator, rows int) *converter {
	b := array.NewRecordBuilder(mem, metricsTable.Schema)
	c := &converter{b: b}
	c.timestamp = b.Field(0).(*array.TimestampBuilder)
	c.name = b.Field(1).(*array.StringBuilder)
	c.labels = b.Field(2).(*array.MapBuilder)
	c.labelKeys = c.labels.KeyBuilder().(*array.StringBuilder)
	c.labelValues = c.labels.ItemBuilder().(*array.StringBuilder)
	c.service = b.Field(3).(*array.StringBuilder)
	c.value = b.Field(4).(*array.Float64Builder)
	c.metricType = b.Field(5).(*array.StringBuilder)
	c.unit = b.Field(6).(*array.StringBuilder)
	c.seriesID = b.Field(7).(*array.Uint64Builder)
	b.Reserve(rows)
	return c
}

// release frees the builders.
func (c *converter) release() { c.b.Release() }

// batch returns the converted rows, or nil when there are none. The caller
// releases it.
func (c *converter) batch() (arrow.RecordBatch, error) {
	rec := c.b.NewRecordBatch()
	if rec.NumRows() == 0 {
		rec.Release()
		return nil, nil
	}
	if err := metricsTable.Validate(rec); err != nil {
		rec.Release()
		return nil, fmt.Errorf("remotewrite: %w", err)
	}
	return rec, nil
}

// v1 converts the series of a remote-write 1.0 request (data, a
// prometheus.WriteRequest). lookup finds the metadata of a metric family.
// A decoding error leaves the converter holding part of the request.
func (c *converter) v1(data []byte, lookup func(string) (meta, bool)) error {
	// Metric names repeat across series (one per label combination):
	// resolve each once.
	resolved := make(map[string]meta)
	s := &v1Series{labels: c.scratch}
	return decodeV1Series(data, s, func(s *v1Series) {
		c.histograms += int64(s.histograms)
		c.exemplars += int64(s.exemplars)
		c.scratch = s.labels
		name, ls, why := c.normalize()
		if why != "" {
			c.rejected.addSeries(why, labelString(c.scratch), len(s.samples))
			return
		}
		m, ok := resolved[name]
		if !ok {
			m = resolve(name, lookup)
			resolved[name] = m
		}
		ser := c.series(name, ls, m)
		for _, p := range s.samples {
			ser.sample(c, p.Timestamp, p.Value)
		}
	})
}

// v2 converts a remote-write 2.0 request: labels and units are references
// into the request's symbols, and metadata comes with each series.
func (c *converter) v2(req *writev2.Request) {
	syms := req.Symbols
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		c.histograms += int64(len(ts.Histograms))
		c.exemplars += int64(len(ts.Exemplars))
		c.scratch = c.scratch[:0]
		refs := ts.LabelsRefs
		why := ""
		if len(refs)%2 != 0 {
			why = "whose labels_refs has an odd length"
		}
		for j := 0; why == "" && j < len(refs); j += 2 {
			n, v := refs[j], refs[j+1]
			if int64(n) >= int64(len(syms)) || int64(v) >= int64(len(syms)) {
				why = fmt.Sprintf("with a label reference outside the symbols table (%d entries)", len(syms))
				break
			}
			c.scratch = append(c.scratch, label{syms[n], syms[v]})
		}
		if why == "" && int64(ts.Metadata.UnitRef) >= int64(len(syms)) {
			why = fmt.Sprintf("with a unit_ref outside the symbols table (%d entries)", len(syms))
		}
		var (
			name string
			ls   []label
		)
		if why == "" {
			name, ls, why = c.normalize()
		}
		if why != "" {
			c.rejected.addSeries(why, labelString(c.scratch), len(ts.Samples))
			continue
		}
		m := meta{typ: typeV2(ts.Metadata.Type), unit: syms[ts.Metadata.UnitRef]}
		s := c.series(name, ls, m)
		for _, p := range ts.Samples {
			s.sample(c, p.Timestamp, p.Value)
		}
	}
}

// series is what every row of one series shares.
type series struct {
	name, service string
	labels        []label
	meta          meta
	id            uint64
}

func (c *converter) series(name string, ls []label, m meta) series {
	s := series{name: name, service: unknownService, labels: ls, meta: m, id: seriesID(name, ls)}
	if i, ok := slices.BinarySearchFunc(ls, "job", func(l label, n string) int { return strings.Compare(l.name, n) }); ok {
		s.service = ls[i].value
	}
	if !utf8.ValidString(s.meta.unit) {
		s.meta.unit = strings.ToValidUTF8(s.meta.unit, "\uFFFD")
	}
	return s
}

// sample appends one row, or rejects a time that does not fit.
func (s *series) sample(c *converter, ms int64, v float64) {
	if ms < minMillis || ms > maxMillis {
		c.rejected.addSample(whyTimestamp, strconv.FormatInt(ms, 10)+" ms")
		return
	}
	c.timestamp.Append(arrow.Timestamp(ms * int64(time.Millisecond)))
	c.name.Append(s.name)
	c.labels.Append(true)
	for _, l := range s.labels {
		c.labelKeys.Append(l.name)
		c.labelValues.Append(l.value)
	}
	c.service.Append(s.service)
	c.value.Append(v) // bits kept as sent: StaleNaN stays a stale marker
	c.metricType.Append(s.meta.typ)
	if s.meta.unit == "" {
		c.unit.AppendNull()
	} else {
		c.unit.Append(s.meta.unit)
	}
	c.seriesID.Append(s.id)
	c.rows++
}

// Rejection reasons, completing "N samples rejected: M of a series …".
const (
	whyNoName    = "without a metric name (__name__)"
	whyLabelName = "with an empty or invalid UTF-8 label name"
	whyValue     = "with a label value that is not valid UTF-8"
	whyDuplicate = "with a duplicate label name"
	whyTimestamp = "with a timestamp outside 1677-09-21 to 2262-04-11 (int64 nanoseconds)"
)

// normalize validates the series' labels in c.scratch as Prometheus's
// remote-write receiver does (a non-empty __name__, names and values valid
// UTF-8, no name twice) and returns the metric name and the other labels
// sorted by name, without those of empty value (Prometheus treats an empty
// label as absent). It sorts c.scratch; out is c.norm. why is non-empty when
// the series is rejected.
func (c *converter) normalize() (name string, out []label, why string) {
	ls := c.scratch
	if !slices.IsSortedFunc(ls, compareLabels) {
		slices.SortFunc(ls, compareLabels)
	}
	out = c.norm[:0]
	hasName := false
	for i, l := range ls {
		switch {
		case i > 0 && ls[i-1].name == l.name:
			why = whyDuplicate
		case l.name == "" || !utf8.ValidString(l.name):
			why = whyLabelName
		case !utf8.ValidString(l.value):
			why = whyValue
		case l.name == "__name__":
			name, hasName = l.value, l.value != ""
		case l.value != "":
			out = append(out, l)
		}
		if why != "" {
			break
		}
	}
	c.norm = out
	if why == "" && !hasName {
		why = whyNoName
	}
	if why != "" {
		return "", nil, why
	}
	return name, out, ""
}

func compareLabels(a, b label) int { return cmp.Compare(a.name, b.name) }

// seriesID is schema.SeriesID(name, labels) for labels sorted by name with
// no name twice, without building a map: the map and the sort in
// schema.SeriesID cost more than the rest of a series' conversion.
// TestSeriesIDMatchesSchema checks that the two agree.
func seriesID(name string, ls []label) uint64 {
	var d xxhash.Digest
	d.Reset()
	sep := []byte{0xff}
	_, _ = d.WriteString(name)
	for _, l := range ls {
		_, _ = d.Write(sep)
		_, _ = d.WriteString(l.name)
		_, _ = d.Write(sep)
		_, _ = d.WriteString(l.value)
	}
	return d.Sum64()
}

// maxLabelString is the most bytes of a series shown in an error message.
const maxLabelString = 256

// labelString renders labels for an error message, Prometheus style:
// {__name__="up", job="x"} (names that are not classic label names
// quoted), cut to maxLabelString bytes.
func labelString(ls []label) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteString(", ")
		}
		if isIdent(l.name) {
			b.WriteString(l.name)
		} else {
			b.WriteString(strconv.Quote(l.name))
		}
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l.value))
		if b.Len() > maxLabelString {
			break
		}
	}
	b.WriteByte('}')
	s := b.String()
	if len(s) > maxLabelString {
		s = strings.ToValidUTF8(s[:maxLabelString], "") + "…"
	}
	return s
}

// isIdent reports whether s is a classic Prometheus label name
// ([a-zA-Z_][a-zA-Z0-9_]*), shown unquoted.
func isIdent(s string) bool {
	for i, r := range s {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return s != ""
}

// rejections counts series and samples that cannot be stored, by reason.
type rejections struct {
	series, samples int64
	reasons         []rejection // in order of first occurrence
}

type rejection struct {
	why     string
	unit    string // what count counts: "series" or "samples"
	count   int64
	example string
}

// addSeries counts a rejected series holding samples float samples.
func (r *rejections) addSeries(why, example string, samples int) {
	r.series++
	r.samples += int64(samples)
	r.add(why, "series", example)
}

// addSample counts one rejected sample.
func (r *rejections) addSample(why, example string) {
	r.samples++
	r.add(why, "samples", example)
}

func (r *rejections) add(why, unit, example string) {
	for i := range r.reasons {
		if r.reasons[i].why == why {
			r.reasons[i].count++
			return
		}
	}
	r.reasons = append(r.reasons, rejection{why: why, unit: unit, count: 1, example: example})
}

func (r *rejections) any() bool { return len(r.reasons) > 0 }

// message explains the rejections to the client, e.g. "3 samples rejected:
// 1 series without a metric name (__name__), e.g. {"job"="x"}".
func (r *rejections) message() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d samples rejected: ", r.samples)
	for i, x := range r.reasons {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d %s %s, e.g. %s", x.count, x.unit, x.why, x.example)
	}
	return b.String()
}
