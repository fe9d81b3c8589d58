package promql

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/tael/tael/schema"
)

// metricMetadata is one entry of /api/v1/metadata (Prometheus's
// metadata.Metadata). tael keeps no help text: Help is always empty.
type metricMetadata struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

// metadata answers /api/v1/metadata from the metrics rows of the last
// MetadataWindow: for each metric family, the distinct (metric_type, unit)
// pairs of its rows. A family is the metric name, without the _bucket, _sum
// and _count suffixes of histogram rows and the _sum and _count suffixes of
// summary rows (the names ingest gives their series).
func (a *api) metadata(r *http.Request) result {
	limit := -1
	if s := r.FormValue("limit"); s != "" {
		var err error
		if limit, err = strconv.Atoi(s); err != nil {
			return fail(errBadData, errors.New("limit must be a number"))
		}
	}
	perMetric := -1
	if s := r.FormValue("limit_per_metric"); s != "" {
		var err error
		if perMetric, err = strconv.Atoi(s); err != nil {
			return fail(errBadData, errors.New("limit_per_metric must be a number"))
		}
	}
	metric := r.FormValue("metric")

	now := a.opts.Clock().UnixNano()
	tr := schema.TimeRange{Min: now - int64(a.opts.MetadataWindow), Max: math.MaxInt64}
	rr, err := a.e.Scan(r.Context(), schema.Metrics, tr, []string{"name", "metric_type", "unit"})
	if err != nil {
		return queryError(fmt.Errorf("scan metrics: %w", err))
	}
	defer rr.Release()
	type key struct{ name, typ, unit string }
	seen := make(map[key]struct{})
	var prev key
	havePrev := false
	for rr.Next() {
		rec := rr.RecordBatch()
		names := rec.Column(0).(*array.String)
		types := rec.Column(1).(*array.String)
		units := rec.Column(2).(*array.String)
		for i := range int(rec.NumRows()) {
			name, typ, unit := names.Value(i), types.Value(i), ""
			if units.IsValid(i) {
				unit = units.Value(i)
			}
			// Rows of one series come together: skip repeats unallocated.
			if havePrev && prev.name == name && prev.typ == typ && prev.unit == unit {
				continue
			}
			k := key{strings.Clone(name), strings.Clone(typ), strings.Clone(unit)}
			prev, havePrev = k, true
			seen[k] = struct{}{}
		}
	}
	if err := rr.Err(); err != nil {
		return queryError(fmt.Errorf("scan metrics: %w", err))
	}

	families := make(map[string][]metricMetadata)
	for k := range seen {
		fam := family(k.name, k.typ)
		if metric != "" && fam != metric {
			continue
		}
		m := metricMetadata{Type: k.typ, Unit: k.unit}
		if !slices.Contains(families[fam], m) {
			families[fam] = append(families[fam], m)
		}
	}
	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make(map[string][]metricMetadata, len(names))
	for _, name := range names {
		if limit >= 0 && len(out) >= limit {
			break
		}
		ms := families[name]
		slices.SortFunc(ms, func(a, b metricMetadata) int {
			return strings.Compare(a.Type+"\xff"+a.Unit, b.Type+"\xff"+b.Unit)
		})
		if perMetric > 0 && len(ms) > perMetric {
			ms = ms[:perMetric]
		}
		out[name] = ms
	}
	return result{data: out}
}

// family returns the metric family of a series name of the given type.
func family(name, typ string) string {
	var suffixes []string
	switch typ {
	case "histogram":
		suffixes = []string{"_bucket", "_sum", "_count"}
	case "summary":
		suffixes = []string{"_sum", "_count"}
	}
	for _, s := range suffixes {
		if base, ok := strings.CutSuffix(name, s); ok && base != "" {
			return base
		}
	}
	return name
}
