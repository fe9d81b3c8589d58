package otlp

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// report counts what a conversion rejected, dropped or cut, for
// Result.Rejected and Result.Message.
type report struct {
	unit     string // "span", "log record", "data point"
	rejected int64
	reasons  []reason // in order of first occurrence

	maxCount, maxLen int
	droppedAttrs     int64
	truncatedValues  int64
	notes            []string
}

type reason struct {
	why string
	n   int64
}

func (r *report) reject(why string) {
	r.rejected++
	for i := range r.reasons {
		if r.reasons[i].why == why {
			r.reasons[i].n++
			return
		}
	}
	r.reasons = append(r.reasons, reason{why, 1})
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// message is Result.Message: empty when nothing was rejected, dropped or cut.
func (r *report) message() string {
	var parts []string
	if r.rejected > 0 {
		why := make([]string, len(r.reasons))
		for i, x := range r.reasons {
			why[i] = fmt.Sprintf("%d %s", x.n, x.why)
		}
		parts = append(parts, fmt.Sprintf("rejected %d %s: %s", r.rejected, plural(r.rejected, r.unit, r.unit+"s"), strings.Join(why, ", ")))
	}
	if r.droppedAttrs > 0 {
		parts = append(parts, fmt.Sprintf("dropped %d %s beyond the limit of %d per item",
			r.droppedAttrs, plural(r.droppedAttrs, "attribute", "attributes"), r.maxCount))
	}
	if r.truncatedValues > 0 {
		parts = append(parts, fmt.Sprintf("truncated %d attribute %s to %d bytes",
			r.truncatedValues, plural(r.truncatedValues, "value", "values"), r.maxLen))
	}
	parts = append(parts, r.notes...)
	return strings.Join(parts, "; ")
}

// dedupLinear is the map size up to which duplicate keys are found by a
// linear scan; beyond it a hash set is cheaper. Most OTLP maps hold fewer
// than 16 attributes.
const dedupLinear = 16

// attrWriter renders attribute maps, applying the limits and counting what
// they drop into its report. Its buffers are reused from map to map.
type attrWriter struct {
	r    *report
	buf  []byte
	keys []string
	seen map[string]struct{}
}

func newAttrWriter(r *report) *attrWriter { return &attrWriter{r: r} }

// each calls f with every kept attribute of m: keys skip reports (nil: none)
// and duplicate keys (after the first) are left out; the count and length
// limits are applied. The value's text is text, or, when text is nil, the
// string s (a string value kept as it is, without a copy). text is only
// valid during the call.
func (w *attrWriter) each(m pcommon.Map, skip func(string) bool, f func(key string, text []byte, s string)) {
	w.keys = w.keys[:0]
	clear(w.seen)
	n := 0
	for k, v := range m.All() {
		if skip != nil && skip(k) {
			continue
		}
		k = validUTF8(k)
		if !w.firstSeen(k) {
			continue
		}
		if w.r.maxCount >= 0 && n >= w.r.maxCount {
			w.r.droppedAttrs++
			continue
		}
		n++
		if v.Type() == pcommon.ValueTypeStr {
			if s := v.Str(); (w.r.maxLen < 0 || len(s) <= w.r.maxLen) && utf8.ValidString(s) {
				f(k, nil, s)
				continue
			}
		}
		w.buf = appendValue(w.buf[:0], v)
		if w.r.maxLen >= 0 && len(w.buf) > w.r.maxLen {
			w.buf = truncateUTF8(w.buf, w.r.maxLen)
			w.r.truncatedValues++
		}
		f(k, w.buf, "")
	}
}

func (w *attrWriter) firstSeen(k string) bool {
	if len(w.keys) < dedupLinear {
		if slices.Contains(w.keys, k) {
			return false
		}
		w.keys = append(w.keys, k)
		return true
	}
	if len(w.seen) == 0 {
		if w.seen == nil {
			w.seen = make(map[string]struct{})
		}
		for _, x := range w.keys {
			w.seen[x] = struct{}{}
		}
	}
	if _, ok := w.seen[k]; ok {
		return false
	}
	w.seen[k] = struct{}{}
	return true
}

// appendMap appends m to mb as one (non-null) map value.
func (w *attrWriter) appendMap(mb *array.MapBuilder, m pcommon.Map, skip func(string) bool) {
	mb.Append(true)
	kb := mb.KeyBuilder().(*array.StringBuilder)
	ib := mb.ItemBuilder().(*array.StringBuilder)
	w.each(m, skip, func(k string, text []byte, s string) {
		kb.Append(k)
		if text == nil {
			ib.Append(s)
		} else {
			ib.BinaryBuilder.Append(text)
		}
	})
}

// renderedMap is a map rendered once, for a map that repeats on many rows
// (a resource): keys[i] has the value vals[i].
type renderedMap struct{ keys, vals []string }

// collect renders m.
func (w *attrWriter) collect(m pcommon.Map) *renderedMap {
	out := &renderedMap{keys: make([]string, 0, m.Len()), vals: make([]string, 0, m.Len())}
	w.each(m, nil, func(k string, text []byte, s string) {
		if text != nil {
			s = string(text)
		}
		out.keys, out.vals = append(out.keys, k), append(out.vals, s)
	})
	return out
}

// appendTo appends the map to mb as one (non-null) map value.
func (r *renderedMap) appendTo(mb *array.MapBuilder) {
	mb.Append(true)
	mb.KeyBuilder().(*array.StringBuilder).AppendValues(r.keys, nil)
	mb.ItemBuilder().(*array.StringBuilder).AppendValues(r.vals, nil)
}

// serviceName is the resource's service.name, or "unknown_service".
func serviceName(res pcommon.Map) string {
	if v, ok := res.Get("service.name"); ok {
		if s := validUTF8(v.AsString()); s != "" {
			return s
		}
	}
	return "unknown_service"
}
