package remotewrite

import (
	"strings"
	"sync"

	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// Values of metrics.metric_type.
const (
	typeCounter   = "counter"
	typeGauge     = "gauge"
	typeHistogram = "histogram"
	typeSummary   = "summary"
	typeUnknown   = "unknown"
)

// meta is what a series' rows carry from its metric family's metadata.
type meta struct {
	typ  string // one of the type* constants
	unit string // "" stores null
}

var unknownMeta = meta{typ: typeUnknown}

// metaV1 maps remote-write 1.0 metadata. Gauge histograms, info and
// stateset metrics have no metric_type of their own in the metrics table
// and become unknown.
func metaV1(m *prompb.MetricMetadata) meta {
	out := meta{typ: typeUnknown, unit: m.Unit}
	switch m.Type {
	case prompb.MetricMetadata_COUNTER:
		out.typ = typeCounter
	case prompb.MetricMetadata_GAUGE:
		out.typ = typeGauge
	case prompb.MetricMetadata_HISTOGRAM:
		out.typ = typeHistogram
	case prompb.MetricMetadata_SUMMARY:
		out.typ = typeSummary
	}
	return out
}

// typeV2 maps a remote-write 2.0 series' metadata type, as metaV1 does.
func typeV2(t writev2.Metadata_MetricType) string {
	switch t {
	case writev2.Metadata_METRIC_TYPE_COUNTER:
		return typeCounter
	case writev2.Metadata_METRIC_TYPE_GAUGE:
		return typeGauge
	case writev2.Metadata_METRIC_TYPE_HISTOGRAM:
		return typeHistogram
	case writev2.Metadata_METRIC_TYPE_SUMMARY:
		return typeSummary
	}
	return typeUnknown
}

// familySuffixes are the suffixes a sample name adds to its metric family's
// name, with the family types that use each (the Prometheus and
// OpenMetrics exposition formats).
var familySuffixes = []struct {
	suffix string
	types  []string
}{
	{"_bucket", []string{typeHistogram}},
	{"_sum", []string{typeHistogram, typeSummary}},
	{"_count", []string{typeHistogram, typeSummary}},
	{"_total", []string{typeCounter}},
	{"_created", []string{typeCounter, typeHistogram, typeSummary}},
}

// resolve finds the metadata of the family the sample name belongs to:
// the family of that exact name, else the family the name is a component of
// (NAME_bucket of histogram NAME, NAME_total of counter NAME, …). lookup
// returns a family's metadata.
func resolve(name string, lookup func(family string) (meta, bool)) meta {
	if m, ok := lookup(name); ok {
		return m
	}
	for _, s := range familySuffixes {
		base, ok := strings.CutSuffix(name, s.suffix)
		if !ok || base == "" {
			continue
		}
		if m, ok := lookup(base); ok {
			for _, t := range s.types {
				if m.typ == t {
					return m
				}
			}
		}
	}
	return unknownMeta
}

// maxCachedFamilies bounds the metadata cache. A Prometheus server sends
// the metadata of every family its targets expose; 65,536 families is far
// more than a large server scrapes (kube-prometheus setups expose a few
// thousand), and at about 100 bytes an entry it stays under 10 MiB.
const maxCachedFamilies = 1 << 16

// metadataCache remembers remote-write 1.0 metadata across requests.
// Prometheus sends 1.0 metadata in requests of their own (metadata_config,
// every minute by default), never with the samples, so without it every
// 1.0 sample from a real Prometheus would be of unknown type.
type metadataCache struct {
	// mu guards families.
	mu       sync.RWMutex
	families map[string]meta
}

func newMetadataCache() *metadataCache {
	return &metadataCache{families: make(map[string]meta)}
}

func (c *metadataCache) get(family string) (meta, bool) {
	c.mu.RLock()
	m, ok := c.families[family]
	c.mu.RUnlock()
	return m, ok
}

// update records the families of a request. When the cache is full it is
// emptied first: the next metadata requests refill it with what senders
// still send.
func (c *metadataCache) update(ms []prompb.MetricMetadata) {
	if len(ms) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range ms {
		name := ms[i].MetricFamilyName
		if name == "" {
			continue
		}
		m := metaV1(&ms[i])
		if old, ok := c.families[name]; ok && old == m {
			continue
		}
		if len(c.families) >= maxCachedFamilies {
			clear(c.families)
		}
		c.families[strings.Clone(name)] = meta{typ: m.typ, unit: strings.Clone(m.unit)}
	}
}
