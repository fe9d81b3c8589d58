package otlp

import (
	"encoding/base64"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/array"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tael/tael/ingest/llm"
)

// The converters size a request before converting it and reserve the
// builders' memory once: an Arrow builder that grows by itself doubles its
// buffers, copying and zeroing them again each time, which showed as a fifth
// of Traces' CPU time (BenchmarkTraces) before. The sizes are estimates:
// exact for strings, close for other values; a low estimate costs one more
// doubling, a high one unused capacity in the batch.

// mapSize is the size of a rendered attribute map: entries and the bytes of
// their keys and values.
type mapSize struct{ n, keys, vals int }

func (s *mapSize) add(o mapSize) { s.n, s.keys, s.vals = s.n+o.n, s.keys+o.keys, s.vals+o.vals }

func (s mapSize) times(k int) mapSize { return mapSize{s.n * k, s.keys * k, s.vals * k} }

// sizeMap estimates m rendered, each value cut to maxLen (negative: no
// limit). With dropContent, LLM content attributes are left out: they leave
// an LLM span's attributes (and on other spans the estimate is low).
func sizeMap(m pcommon.Map, maxLen int, dropContent bool) mapSize {
	s := mapSize{}
	for k, v := range m.All() {
		if dropContent && len(k) > 0 && (k[0] == 'g' || k[0] == 'l' || k[0] == 'i' || k[0] == 'o') && llm.IsContentKey(k) {
			continue
		}
		n := valueSize(v)
		if maxLen >= 0 && n > maxLen {
			n = maxLen
		}
		s.n++
		s.keys += len(k)
		s.vals += n
	}
	return s
}

// valueSize estimates the length of v's text (see appendValue): exact for
// strings, ints, bools and bytes.
func valueSize(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return len(v.Str())
	case pcommon.ValueTypeInt:
		var buf [20]byte
		return len(strconv.AppendInt(buf[:0], v.Int(), 10))
	case pcommon.ValueTypeBool:
		return 5
	case pcommon.ValueTypeBytes:
		return base64.StdEncoding.EncodedLen(v.Bytes().Len())
	case pcommon.ValueTypeDouble:
		return 20
	case pcommon.ValueTypeMap:
		return 2 + 24*v.Map().Len()
	case pcommon.ValueTypeSlice:
		return 2 + 16*v.Slice().Len()
	}
	return 0
}

// reserveMap reserves room for n more entries of s's size in mb.
func reserveMap(mb *array.MapBuilder, s mapSize) {
	mb.ValueBuilder().Reserve(s.n)
	mb.KeyBuilder().(*array.StringBuilder).ReserveData(s.keys)
	mb.ItemBuilder().(*array.StringBuilder).ReserveData(s.vals)
}

// reserveSpans reserves the builders of sb for td's spans.
func reserveSpans(sb *spanBuilder, td ptrace.Traces, maxLen int) {
	var (
		spans, parents, events, links          int
		service, operation, statusMsg, traceSt int
		scope, kind, status, eventName         int
		attrs, resource, eventAttrs, linkAttrs mapSize
	)
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		res := sizeMap(rs.Resource().Attributes(), maxLen, false)
		name := len(serviceName(rs.Resource().Attributes()))
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			ss := sss.At(j)
			n := ss.Spans().Len()
			spans += n
			service += n * name
			scope += n * len(ss.Scope().Name())
			resource.add(res.times(n))
			for k := range n {
				span := ss.Spans().At(k)
				if !span.ParentSpanID().IsEmpty() {
					parents++
				}
				operation += len(span.Name())
				statusMsg += len(span.Status().Message())
				traceSt += len(span.TraceState().AsRaw())
				kind += len(kindName(span.Kind()))
				status += len(statusName(span.Status().Code()))
				attrs.add(sizeMap(span.Attributes(), maxLen, true))
				evs := span.Events()
				events += evs.Len()
				for e := range evs.Len() {
					ev := evs.At(e)
					eventName += len(ev.Name())
					eventAttrs.add(sizeMap(ev.Attributes(), maxLen, false))
				}
				ls := span.Links()
				links += ls.Len()
				for l := range ls.Len() {
					linkAttrs.add(sizeMap(ls.At(l).Attributes(), maxLen, false))
				}
			}
		}
	}
	sb.b.Reserve(spans)
	for _, c := range []struct {
		b *array.StringBuilder
		n int
	}{
		{sb.traceID, 32 * spans}, {sb.spanID, 16 * spans}, {sb.parent, 16 * parents},
		{sb.traceState, traceSt}, {sb.service, service}, {sb.operation, operation}, {sb.kind, kind},
		{sb.status, status}, {sb.statusMsg, statusMsg}, {sb.scope, scope},
	} {
		c.b.ReserveData(c.n)
	}
	reserveMap(sb.attrs, attrs)
	reserveMap(sb.resource, resource)
	sb.event.Reserve(events)
	sb.eventName.ReserveData(eventName)
	reserveMap(sb.eventAttrs, eventAttrs)
	sb.link.Reserve(links)
	sb.linkTraceID.ReserveData(32 * links)
	sb.linkSpanID.ReserveData(16 * links)
	reserveMap(sb.linkAttrs, linkAttrs)
}

// reserveLogs reserves the builders of lb for ld's log records.
func reserveLogs(lb *logBuilder, ld plog.Logs, maxLen int) {
	var (
		records, service, sev, severityText, body int
		traceIDs, spanIDs                         int
		attrs, resource                           mapSize
	)
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		res := sizeMap(rl.Resource().Attributes(), maxLen, false)
		name := len(serviceName(rl.Resource().Attributes()))
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			n := lrs.Len()
			records += n
			service += n * name
			resource.add(res.times(n))
			for k := range n {
				lr := lrs.At(k)
				sev += len(severity(lr.SeverityNumber(), lr.SeverityText()))
				if !lr.TraceID().IsEmpty() {
					traceIDs++
				}
				if !lr.SpanID().IsEmpty() {
					spanIDs++
				}
				severityText += len(lr.SeverityText())
				body += min(valueSize(lr.Body()), MaxBodyBytes)
				a := sizeMap(lr.Attributes(), maxLen, false)
				if lr.EventName() != "" {
					a.add(mapSize{1, len("event.name"), len(lr.EventName())})
				}
				attrs.add(a)
			}
		}
	}
	lb.b.Reserve(records)
	for _, c := range []struct {
		b *array.StringBuilder
		n int
	}{
		{lb.traceID, 32 * traceIDs}, {lb.spanID, 16 * spanIDs}, {lb.severity, sev},
		{lb.severityText, severityText}, {lb.body, body}, {lb.service, service},
	} {
		c.b.ReserveData(c.n)
	}
	reserveMap(lb.attrs, attrs)
	reserveMap(lb.resource, resource)
}
