package schema

import (
	"sort"

	"github.com/cespare/xxhash/v2"
)

// SeriesID is the stable hash of a metric series: its name and every label
// (metrics.labels holds all series labels except __name__). The hash is
// xxhash64 over name, then each label sorted by name, with 0xff separators so
// that no two distinct label sets can concatenate to the same bytes. It is
// persisted (metrics.series_id): never change it.
func SeriesID(name string, labels map[string]string) uint64 {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := xxhash.New()
	sep := []byte{0xff}
	_, _ = h.WriteString(name)
	for _, k := range keys {
		_, _ = h.Write(sep)
		_, _ = h.WriteString(k)
		_, _ = h.Write(sep)
		_, _ = h.WriteString(labels[k])
	}
	return h.Sum64()
}
