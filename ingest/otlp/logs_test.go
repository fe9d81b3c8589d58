package otlp

import (
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func oneLog() (plog.Logs, plog.LogRecord) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "svc")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(1_000_000_000)
	return ld, lr
}

func TestSeverity(t *testing.T) {
	tests := []struct {
		n    plog.SeverityNumber
		text string
		want string
	}{
		{1, "", "trace"}, {4, "", "trace"}, {5, "", "debug"}, {8, "", "debug"},
		{9, "", "info"}, {12, "", "info"}, {13, "", "warn"}, {16, "", "warn"},
		{17, "", "error"}, {20, "", "error"}, {21, "", "fatal"}, {24, "", "fatal"},
		{9, "ERROR", "info"}, // the number wins
		{0, "", "info"},
		{0, "TRACE", "trace"}, {0, "debug", "debug"}, {0, "Information", "info"}, {0, "NOTICE", "info"},
		{0, "WARN", "warn"}, {0, "Warning", "warn"}, {0, "err", "error"}, {0, "ERROR3", "error"},
		{0, " Fatal ", "fatal"}, {0, "CRITICAL", "fatal"}, {0, "panic", "fatal"},
		{0, "verbose", "info"}, {0, "E", "info"},
		{25, "warn", "warn"}, {-3, "", "info"}, // out of range: as 0
	}
	for _, tt := range tests {
		if got := severity(tt.n, tt.text); got != tt.want {
			t.Errorf("severity(%d, %q) = %q, want %q", tt.n, tt.text, got, tt.want)
		}
	}
}

func TestLogTimestamps(t *testing.T) {
	tests := []struct {
		name         string
		ts, observed pcommon.Timestamp
		wantTS       string
		wantObserved any
	}{
		{"both", 1_000_000_000, 2_000_000_000, "1970-01-01T00:00:01Z", "1970-01-01T00:00:02Z"},
		{"only observed", 0, 2_000_000_000, "1970-01-01T00:00:02Z", "1970-01-01T00:00:02Z"},
		{"only time", 1_000_000_000, 0, "1970-01-01T00:00:01Z", nil},
		{"neither: the clock", 0, 0, "2025-10-09T12:00:00Z", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ld, lr := oneLog()
			lr.SetTimestamp(tt.ts)
			lr.SetObservedTimestamp(tt.observed)
			r := rows(t, convertLogs(t, ld, Options{}).Batch)[0]
			if r["timestamp"] != tt.wantTS || r["observed_timestamp"] != tt.wantObserved {
				t.Errorf("timestamp %v observed %v, want %v %v", r["timestamp"], r["observed_timestamp"], tt.wantTS, tt.wantObserved)
			}
		})
	}
}

func TestLogIDs(t *testing.T) {
	ld, lr := oneLog()
	lr.SetTraceID(tid)
	lr.SetSpanID(sid)
	lr2 := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
	lr2.SetTimestamp(1)
	r := rows(t, convertLogs(t, ld, Options{}).Batch)
	if r[0]["trace_id"] != "5b8efff798038103d269b633813fc60c" || r[0]["span_id"] != "eee19b7ec3c1b174" {
		t.Errorf("ids %v %v", r[0]["trace_id"], r[0]["span_id"])
	}
	if r[1]["trace_id"] != nil || r[1]["span_id"] != nil {
		t.Errorf("empty ids must be null: %v %v", r[1]["trace_id"], r[1]["span_id"])
	}
}

func TestLongLogBody(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantBody string
	}{
		{"at the limit", strings.Repeat("a", MaxBodyBytes), strings.Repeat("a", MaxBodyBytes)},
		{"one over", strings.Repeat("a", MaxBodyBytes+1), strings.Repeat("a", MaxBodyBytes)},
		// "ä" is 2 bytes: 8191 a's then ä straddles the limit and is cut whole.
		{"on a UTF-8 boundary", strings.Repeat("a", MaxBodyBytes-1) + "äb", strings.Repeat("a", MaxBodyBytes-1)},
		{"long Japanese", strings.Repeat("日本語", 2000), strings.Repeat("日本語", 910)}, // 3-byte runes: 8190 bytes,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ld, lr := oneLog()
			lr.SetTraceID(tid)
			lr.Body().SetStr(tt.body)
			res := convertLogs(t, ld, Options{})
			r := rows(t, res.Batch)[0]
			got := r["body"].(string)
			if got != tt.wantBody || !utf8.ValidString(got) {
				t.Errorf("body: %d bytes, want %d", len(got), len(tt.wantBody))
			}
			if len(tt.body) <= MaxBodyBytes {
				if r["body_sha256"] != nil || len(res.Payloads) != 0 {
					t.Errorf("short body: sha %v, %d payloads", r["body_sha256"], len(res.Payloads))
				}
				return
			}
			want := Payload{SHA256: sha256Hex(tt.body), Kind: KindLogBody, Text: tt.body, TraceID: "5b8efff798038103d269b633813fc60c"}
			if len(res.Payloads) != 1 || res.Payloads[0] != want || r["body_sha256"] != want.SHA256 {
				t.Errorf("payloads %d, sha %v", len(res.Payloads), r["body_sha256"])
			}
		})
	}
	t.Run("attribute length limit does not cut the body", func(t *testing.T) {
		ld, lr := oneLog()
		lr.Body().SetStr("0123456789")
		if got := rows(t, convertLogs(t, ld, Options{MaxAttributeValueLength: 4}).Batch)[0]["body"]; got != "0123456789" {
			t.Errorf("body %v", got)
		}
	})
}

func TestLogContentEvents(t *testing.T) {
	build := func() plog.Logs {
		ld, lr := oneLog()
		lr.SetEventName("gen_ai.choice")
		lr.Body().SetEmptyMap().PutStr("content", "Die Antwort ist 42.")
		lr.Attributes().PutStr("gen_ai.system", "openai")
		lr.Attributes().PutStr("gen_ai.output.messages", "Die Antwort ist 42.")
		lr2 := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
		lr2.Attributes().PutStr("event.name", "gen_ai.user.message") // the older way to name an event
		lr2.Body().SetStr("Was ist die Antwort?")
		return ld
	}
	off := rows(t, convertLogs(t, build(), Options{CaptureLLMContent: false}).Batch)
	for i, r := range off {
		if r["body"] != nil {
			t.Errorf("record %d: body %v kept without content capture", i, r["body"])
		}
	}
	if a := kvs(off[0]["attributes"]); a["gen_ai.output.messages"] != "" || a["gen_ai.system"] != "openai" || a["event.name"] != "gen_ai.choice" {
		t.Errorf("attributes %v", a)
	}
	on := rows(t, convertLogs(t, build(), Options{CaptureLLMContent: true}).Batch)
	if on[0]["body"] != `{"content":"Die Antwort ist 42."}` || on[1]["body"] != "Was ist die Antwort?" {
		t.Errorf("bodies %v %v", on[0]["body"], on[1]["body"])
	}
}
