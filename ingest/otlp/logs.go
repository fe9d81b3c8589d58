package otlp

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/tael/tael/ingest/llm"
	"github.com/tael/tael/schema"
)

var logsTable = mustTable(schema.Logs)

// Logs converts an OTLP logs request into a logs batch. No log record is
// rejected today (Result.Rejected is 0); Result.Message reports what the
// attribute limits dropped or cut. A body longer than MaxBodyBytes is cut and
// returned whole as a KindLogBody payload. The error is non-nil only if the
// batch fails the schema's validation, which would be a bug here.
func Logs(ld plog.Logs, o Options) (Result, error) {
	o = o.withDefaults()
	r := &report{unit: "log record", maxCount: o.MaxAttributeCount, maxLen: o.MaxAttributeValueLength}
	lb := newLogBuilder(o.Allocator)
	defer lb.b.Release()
	reserveLogs(lb, ld, o.MaxAttributeValueLength)
	w := newAttrWriter(r)
	var payloads []Payload
	var body []byte
	var now pcommon.Timestamp // read once, when first needed

	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		resAttrs := rl.Resource().Attributes()
		service := serviceName(resAttrs)
		var res *renderedMap
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				lr := lrs.At(k)
				if res == nil {
					res = w.collect(resAttrs)
				}
				ts, obs := lr.Timestamp(), lr.ObservedTimestamp()
				if ts == 0 {
					ts = obs
				}
				if ts == 0 {
					if now == 0 {
						now = pcommon.NewTimestampFromTime(o.Now())
					}
					ts = now
				}
				lb.timestamp.Append(timestamp(ts))
				if obs == 0 {
					lb.observed.AppendNull()
				} else {
					lb.observed.Append(timestamp(obs))
				}
				traceID, spanID := lr.TraceID(), lr.SpanID()
				var traceHex, spanHex string
				if traceID.IsEmpty() {
					lb.traceID.AppendNull()
				} else {
					appendHex(lb.traceID, traceID[:])
				}
				if spanID.IsEmpty() {
					lb.spanID.AppendNull()
				} else {
					appendHex(lb.spanID, spanID[:])
				}
				lb.severity.Append(severity(lr.SeverityNumber(), lr.SeverityText()))
				lb.severityNumber.Append(int32(lr.SeverityNumber()))
				appendStringOrNull(lb.severityText, lr.SeverityText())

				eventName := lr.EventName()
				if eventName == "" {
					if v, ok := lr.Attributes().Get("event.name"); ok && v.Type() == pcommon.ValueTypeStr {
						eventName = v.Str()
					}
				}
				// A GenAI content event's body and content attributes are the
				// prompt or completion: without content capture, none is kept.
				dropContent := !o.CaptureLLMContent && llm.IsContentEvent(eventName)

				switch {
				case dropContent || lr.Body().Type() == pcommon.ValueTypeEmpty:
					lb.body.AppendNull()
					lb.bodySHA.AppendNull()
				default:
					body = appendValue(body[:0], lr.Body())
					if len(body) <= MaxBodyBytes {
						lb.body.BinaryBuilder.Append(body)
						lb.bodySHA.AppendNull()
						break
					}
					full := string(body)
					sum := sha256Hex(full)
					lb.body.Append(truncateUTF8(full, MaxBodyBytes))
					lb.bodySHA.Append(sum)
					if !traceID.IsEmpty() {
						traceHex = traceID.String()
					}
					if !spanID.IsEmpty() {
						spanHex = spanID.String()
					}
					payloads = append(payloads, Payload{SHA256: sum, Kind: KindLogBody, Text: full, TraceID: traceHex, SpanID: spanHex})
				}
				lb.service.Append(service)

				var skip func(string) bool
				if dropContent {
					skip = llm.IsContentKey
				}
				w.appendMap(lb.attrs, lr.Attributes(), skip)
				if name := lr.EventName(); name != "" {
					if _, ok := lr.Attributes().Get("event.name"); !ok {
						lb.attrKeys.Append("event.name")
						lb.attrValues.Append(validUTF8(name))
					}
				}
				res.appendTo(lb.resource)
			}
		}
	}
	batch, err := finish(lb.b, logsTable)
	if err != nil {
		return Result{}, err
	}
	return Result{Batch: batch, Payloads: payloads, Message: r.message()}, nil
}

// severity normalises a log record's severity: by number (1–4 trace, 5–8
// debug, 9–12 info, 13–16 warn, 17–20 error, 21–24 fatal), else by the text
// when it names a level, else info.
func severity(n plog.SeverityNumber, text string) string {
	if n >= 1 && n <= 24 {
		return severityNames[(n-1)/4]
	}
	if s, ok := severityWords[strings.TrimRight(strings.ToLower(strings.TrimSpace(text)), "0123456789")]; ok {
		return s
	}
	return "info"
}

var severityNames = [...]string{"trace", "debug", "info", "warn", "error", "fatal"}

// severityWords are the severity texts understood when severity_number is
// unset or out of range, lowercased and without a trailing digit (OTLP's
// short names run TRACE, TRACE2 … FATAL4). They cover the OTLP names and the
// usual syslog, log4j, Python and Go words.
var severityWords = map[string]string{
	"trace": "trace", "finest": "trace", "finer": "trace",
	"debug": "debug", "dbg": "debug", "fine": "debug",
	"info": "info", "information": "info", "informational": "info", "notice": "info",
	"warn": "warn", "warning": "warn",
	"error": "error", "err": "error", "severe": "error",
	"fatal": "fatal", "critical": "fatal", "crit": "fatal", "alert": "fatal",
	"emerg": "fatal", "emergency": "fatal", "panic": "fatal", "dpanic": "fatal",
}

// logBuilder holds the typed builders of a logs batch.
type logBuilder struct {
	b                                    *array.RecordBuilder
	timestamp, observed                  *array.TimestampBuilder
	traceID, spanID, severity            *array.StringBuilder
	severityNumber                       *array.Int32Builder
	severityText, body, bodySHA, service *array.StringBuilder
	attrs, resource                      *array.MapBuilder
	attrKeys, attrValues                 *array.StringBuilder
}

func newLogBuilder(mem memory.Allocator) *logBuilder {
	b := array.NewRecordBuilder(mem, logsTable.Schema)
	l := &logBuilder{b: b}
	str := func(n string) *array.StringBuilder { return column[*array.StringBuilder](b, n) }
	l.timestamp = column[*array.TimestampBuilder](b, "timestamp")
	l.observed = column[*array.TimestampBuilder](b, "observed_timestamp")
	l.traceID, l.spanID, l.severity = str("trace_id"), str("span_id"), str("severity")
	l.severityNumber = column[*array.Int32Builder](b, "severity_number")
	l.severityText, l.body, l.bodySHA, l.service = str("severity_text"), str("body"), str("body_sha256"), str("service")
	l.attrs = column[*array.MapBuilder](b, "attributes")
	l.resource = column[*array.MapBuilder](b, "resource")
	l.attrKeys = l.attrs.KeyBuilder().(*array.StringBuilder)
	l.attrValues = l.attrs.ItemBuilder().(*array.StringBuilder)
	return l
}
