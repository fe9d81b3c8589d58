package otlp

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var (
	tid = pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	sid = pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}
)

// oneSpan returns a request with one valid span, and the span to fill in.
func oneSpan() (ptrace.Traces, ptrace.Span) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(tid)
	s.SetSpanID(sid)
	s.SetName("op")
	s.SetStartTimestamp(1_000_000_000)
	s.SetEndTimestamp(1_002_500_000)
	return td, s
}

func TestAttributeValues(t *testing.T) {
	tests := []struct {
		name string
		set  func(v pcommon.Value)
		want string
	}{
		{"string", func(v pcommon.Value) { v.SetStr("héllo \"x\"") }, `héllo "x"`},
		{"empty string", func(v pcommon.Value) { v.SetStr("") }, ``},
		{"invalid utf-8", func(v pcommon.Value) { v.SetStr("a\xffb") }, "a\ufffdb"},
		{"int", func(v pcommon.Value) { v.SetInt(-42) }, `-42`},
		{"max int", func(v pcommon.Value) { v.SetInt(math.MaxInt64) }, `9223372036854775807`},
		{"double", func(v pcommon.Value) { v.SetDouble(0.1) }, `0.1`},
		{"integral double", func(v pcommon.Value) { v.SetDouble(3) }, `3`},
		{"negative zero", func(v pcommon.Value) { v.SetDouble(math.Copysign(0, -1)) }, `-0`},
		{"large double", func(v pcommon.Value) { v.SetDouble(1.5e300) }, `1.5e+300`},
		{"small double", func(v pcommon.Value) { v.SetDouble(2.5e-9) }, `2.5e-9`},
		{"NaN", func(v pcommon.Value) { v.SetDouble(math.NaN()) }, `NaN`},
		{"+Inf", func(v pcommon.Value) { v.SetDouble(math.Inf(1)) }, `Infinity`},
		{"-Inf", func(v pcommon.Value) { v.SetDouble(math.Inf(-1)) }, `-Infinity`},
		{"true", func(v pcommon.Value) { v.SetBool(true) }, `true`},
		{"false", func(v pcommon.Value) { v.SetBool(false) }, `false`},
		{"bytes", func(v pcommon.Value) { v.SetEmptyBytes().FromRaw([]byte{0xde, 0xad, 0xbe, 0xef, 0x01}) }, `3q2+7wE=`},
		{"empty bytes", func(v pcommon.Value) { v.SetEmptyBytes() }, ``},
		{"empty value", func(v pcommon.Value) {}, ``},
		{"empty array", func(v pcommon.Value) { v.SetEmptySlice() }, `[]`},
		{"empty map", func(v pcommon.Value) { v.SetEmptyMap() }, `{}`},
		{"array", func(v pcommon.Value) {
			s := v.SetEmptySlice()
			s.AppendEmpty().SetStr("a\n\"b\"\\\x01<>&")
			s.AppendEmpty().SetInt(1)
			s.AppendEmpty().SetDouble(math.NaN())
			s.AppendEmpty().SetBool(true)
			s.AppendEmpty()
			s.AppendEmpty().SetEmptyBytes().FromRaw([]byte("hi"))
			s.AppendEmpty().SetStr("\xff")
		}, `["a\n\"b\"\\\u0001<>&",1,"NaN",true,null,"aGk=","` + "\ufffd" + `"]`},
		{"map in OTLP order", func(v pcommon.Value) {
			m := v.SetEmptyMap()
			m.PutStr("z", "1")
			m.PutDouble("a", 1e-7)
			n := m.PutEmptyMap("nested")
			n.PutEmptySlice("l").AppendEmpty().SetInt(7)
		}, `{"z":"1","a":1e-7,"nested":{"l":[7]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td, s := oneSpan()
			tt.set(s.Attributes().PutEmpty("k"))
			res := convertTraces(t, td, Options{})
			got := kvs(rows(t, res.Batch)[0]["attributes"])
			if got["k"] != tt.want {
				t.Errorf("got %q, want %q", got["k"], tt.want)
			}
		})
	}
}

func TestKindsAndStatuses(t *testing.T) {
	kinds := []struct {
		kind ptrace.SpanKind
		want string
	}{
		{ptrace.SpanKindUnspecified, "unspecified"},
		{ptrace.SpanKindInternal, "internal"},
		{ptrace.SpanKindServer, "server"},
		{ptrace.SpanKindClient, "client"},
		{ptrace.SpanKindProducer, "producer"},
		{ptrace.SpanKindConsumer, "consumer"},
		{ptrace.SpanKind(42), "unspecified"},
		{ptrace.SpanKind(-1), "unspecified"},
	}
	for _, k := range kinds {
		t.Run("kind "+k.want, func(t *testing.T) {
			td, s := oneSpan()
			s.SetKind(k.kind)
			if got := rows(t, convertTraces(t, td, Options{}).Batch)[0]["kind"]; got != k.want {
				t.Errorf("kind %d: got %v, want %s", k.kind, got, k.want)
			}
		})
	}
	statuses := []struct {
		code ptrace.StatusCode
		msg  string
		want string
	}{
		{ptrace.StatusCodeUnset, "", "unset"},
		{ptrace.StatusCodeOk, "", "ok"},
		{ptrace.StatusCodeError, "boom", "error"},
		{ptrace.StatusCode(9), "", "unset"},
	}
	for _, st := range statuses {
		t.Run("status "+st.want, func(t *testing.T) {
			td, s := oneSpan()
			s.Status().SetCode(st.code)
			s.Status().SetMessage(st.msg)
			row := rows(t, convertTraces(t, td, Options{}).Batch)[0]
			if row["status"] != st.want {
				t.Errorf("status %d: got %v, want %s", st.code, row["status"], st.want)
			}
			if want := any(st.msg); st.msg == "" && row["status_message"] != nil || st.msg != "" && row["status_message"] != want {
				t.Errorf("status_message: got %v, want %q", row["status_message"], st.msg)
			}
		})
	}
}

func TestSpanColumns(t *testing.T) {
	td, s := oneSpan()
	s.SetParentSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, 1})
	s.TraceState().FromRaw("k=v")
	s.SetKind(ptrace.SpanKindServer)
	ev := s.Events().AppendEmpty()
	ev.SetName("e")
	ev.SetTimestamp(1_001_000_000)
	ev.Attributes().PutInt("n", 1)
	l := s.Links().AppendEmpty()
	l.SetTraceID(pcommon.TraceID{15: 2})
	l.SetSpanID(pcommon.SpanID{7: 3})
	l.Attributes().PutBool("b", true)
	rs := td.ResourceSpans().AppendEmpty() // a resource without service.name
	s2 := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s2.SetTraceID(tid)
	s2.SetSpanID(pcommon.SpanID{1})
	s2.SetStartTimestamp(math.MaxUint64) // clamped, not negative
	s2.SetEndTimestamp(math.MaxUint64)

	res := convertTraces(t, td, Options{})
	r := rows(t, res.Batch)
	if len(r) != 2 || res.Rejected != 0 || res.Message != "" {
		t.Fatalf("rows %d, rejected %d, message %q", len(r), res.Rejected, res.Message)
	}
	want := map[string]any{
		"trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174",
		"parent_span_id": "0000000000000001", "trace_state": "k=v", "service": "svc",
		"operation": "op", "kind": "server", "start_time": "1970-01-01T00:00:01Z",
		"end_time": "1970-01-01T00:00:01.0025Z", "duration_ms": 2.5, "status": "unset", "scope_name": nil,
	}
	for k, v := range want {
		if r[0][k] != v {
			t.Errorf("%s: got %v, want %v", k, r[0][k], v)
		}
	}
	evs := r[0]["events"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["name"] != "e" || evs[0].(map[string]any)["time"] != "1970-01-01T00:00:01.001Z" ||
		kvs(evs[0].(map[string]any)["attributes"])["n"] != "1" {
		t.Errorf("events: %v", evs)
	}
	links := r[0]["links"].([]any)
	if lk := links[0].(map[string]any); len(links) != 1 || lk["trace_id"] != "00000000000000000000000000000002" ||
		lk["span_id"] != "0000000000000003" || kvs(lk["attributes"])["b"] != "true" {
		t.Errorf("links: %v", links)
	}
	if r[1]["service"] != "unknown_service" || r[1]["start_time"] != "2262-04-11T23:47:16.854775806Z" || r[1]["duration_ms"] != 0.0 {
		t.Errorf("second span: service %v start %v duration %v", r[1]["service"], r[1]["start_time"], r[1]["duration_ms"])
	}
	if r[1]["events"] != nil || r[1]["links"] != nil || r[1]["parent_span_id"] != nil || r[1]["trace_state"] != nil {
		t.Errorf("second span: want null events, links, parent, trace_state: %v", r[1])
	}
}

func TestInvalidIDs(t *testing.T) {
	tests := []struct {
		name     string
		trace    pcommon.TraceID
		span     pcommon.SpanID
		rejected int64
		message  string
	}{
		{"valid", tid, sid, 0, ""},
		{"zero trace id", pcommon.TraceID{}, sid, 1, "rejected 1 span: 1 with an all-zero trace_id"},
		{"zero span id", tid, pcommon.SpanID{}, 1, "rejected 1 span: 1 with an all-zero span_id"},
		{"both zero", pcommon.TraceID{}, pcommon.SpanID{}, 1, "rejected 1 span: 1 with an all-zero trace_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td, s := oneSpan()
			s.SetTraceID(tt.trace)
			s.SetSpanID(tt.span)
			// A valid span in the same request still converts.
			ok := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			ok.SetTraceID(tid)
			ok.SetSpanID(pcommon.SpanID{9})
			res := convertTraces(t, td, Options{})
			if res.Rejected != tt.rejected || res.Message != tt.message {
				t.Errorf("rejected %d message %q, want %d %q", res.Rejected, res.Message, tt.rejected, tt.message)
			}
			if n := res.Batch.NumRows(); n != 2-tt.rejected {
				t.Errorf("%d rows, want %d", n, 2-tt.rejected)
			}
		})
	}
	t.Run("all rejected", func(t *testing.T) {
		td, s := oneSpan()
		s.SetTraceID(pcommon.TraceID{})
		res := convertTraces(t, td, Options{})
		if res.Batch != nil || res.Rejected != 1 {
			t.Errorf("batch %v rejected %d, want nil batch and 1", res.Batch, res.Rejected)
		}
	})
	t.Run("empty request", func(t *testing.T) {
		res := convertTraces(t, ptrace.NewTraces(), Options{})
		if res.Batch != nil || res.Rejected != 0 || res.Message != "" {
			t.Errorf("got %+v", res)
		}
	})
}

func TestAttributeLimits(t *testing.T) {
	tests := []struct {
		name            string
		count, length   int
		attrs           int
		value           string
		wantKept        int
		wantValue       string
		wantMessagePart string
	}{
		{"defaults keep 128", 0, 0, 130, "v", 128, "v", "dropped 2 attributes beyond the limit of 128 per item"},
		{"count limit", 3, 0, 5, "v", 3, "v", "dropped 2 attributes beyond the limit of 3 per item"},
		{"no count limit", -1, 0, 300, "v", 300, "v", ""},
		{"length limit", 0, 4, 2, "abcdefgh", 2, "abcd", "truncated 2 attribute values to 4 bytes"},
		{"length limit on a UTF-8 boundary", 0, 4, 1, "abcü", 1, "abc", "truncated 1 attribute value to 4 bytes"},
		{"no length limit", 0, -1, 1, strings.Repeat("x", 20000), 1, strings.Repeat("x", 20000), ""},
		{"default length limit", 0, 0, 1, strings.Repeat("x", 9000), 1, strings.Repeat("x", 8192), "truncated 1 attribute value to 8192 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td, s := oneSpan()
			for i := range tt.attrs {
				s.Attributes().PutStr(fmt.Sprintf("k%03d", i), tt.value)
			}
			res := convertTraces(t, td, Options{MaxAttributeCount: tt.count, MaxAttributeValueLength: tt.length})
			got := kvs(rows(t, res.Batch)[0]["attributes"])
			if len(got) != tt.wantKept {
				t.Errorf("kept %d attributes, want %d", len(got), tt.wantKept)
			}
			if got["k000"] != tt.wantValue {
				t.Errorf("value %q, want %q", got["k000"], tt.wantValue)
			}
			if tt.count > 0 {
				if _, ok := got[fmt.Sprintf("k%03d", tt.count)]; ok {
					t.Error("kept an attribute beyond the limit: the first ones must be kept")
				}
			}
			if res.Message != tt.wantMessagePart && !(tt.wantMessagePart != "" && strings.Contains(res.Message, tt.wantMessagePart)) {
				t.Errorf("message %q, want %q", res.Message, tt.wantMessagePart)
			}
			if res.Rejected != 0 {
				t.Errorf("limits must not reject: rejected %d", res.Rejected)
			}
		})
	}
	t.Run("resource, event and link maps", func(t *testing.T) {
		td, s := oneSpan()
		td.ResourceSpans().At(0).Resource().Attributes().PutStr("r", "long value")
		s.Events().AppendEmpty().Attributes().PutStr("e", "long value")
		s.Links().AppendEmpty().Attributes().PutStr("l", "long value")
		res := convertTraces(t, td, Options{MaxAttributeValueLength: 4})
		r := rows(t, res.Batch)[0]
		if kvs(r["resource"])["r"] != "long" || kvs(r["events"].([]any)[0].(map[string]any)["attributes"])["e"] != "long" ||
			kvs(r["links"].([]any)[0].(map[string]any)["attributes"])["l"] != "long" {
			t.Errorf("limits not applied: %v", r)
		}
		// service.name is 3 bytes, kept; the other three are cut.
		if want := "truncated 3 attribute values to 4 bytes"; res.Message != want {
			t.Errorf("message %q, want %q", res.Message, want)
		}
	})
	t.Run("duplicate keys keep the first", func(t *testing.T) {
		// pcommon.Map's Put replaces, but a decoded request can hold
		// duplicates. 40 distinct keys take the hash set path too.
		var attrs []string
		for i := range 40 {
			attrs = append(attrs, fmt.Sprintf(`{"key":"k%d","value":{"intValue":"%d"}}`, i, i))
		}
		for i := range 40 {
			attrs = append(attrs, fmt.Sprintf(`{"key":"k%d","value":{"stringValue":"dup"}}`, i))
		}
		js := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","attributes":[` +
			strings.Join(attrs, ",") + `]}]}]}]}`
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		res := convertTraces(t, td, Options{})
		list := rows(t, res.Batch)[0]["attributes"].([]any)
		got := kvs(list)
		if len(list) != 40 || got["k0"] != "0" || got["k39"] != "39" {
			t.Errorf("got %d entries (%v), want 40 with the first values", len(list), got)
		}
	})
}
