package llm

import (
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
)

// parseJSONStd is parseJSON as encoding/json does it: the reference that
// parseJSON must agree with.
func parseJSONStd(s string) (any, bool) {
	t := strings.TrimSpace(s)
	if t == "" || (t[0] != '[' && t[0] != '{') {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

// jsonCases are inputs for TestParseJSON and seeds for FuzzParseJSON, each
// at an edge of the grammar or of unquoting.
var jsonCases = []string{
	`[]`, `{}`, ` [ ] `, "\t{\n}\r\n", `[1]`, `[-0]`, `[0.5e-3]`, `[1E+2]`, `[-1.25e300]`, `[12345678901234567890]`,
	`[01]`, `[-]`, `[1.]`, `[.5]`, `[1e]`, `[1e+]`, `[+1]`, `[0x1]`, `[NaN]`, `[Infinity]`,
	`[true,false,null]`, `[tru]`, `[nulll]`, `[True]`,
	`{"a":1,"a":2}`, `{"a":{"b":[{"c":"d"}]}}`, `{"a":1,}`, `[1,]`, `[,1]`, `{"a"}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`,
	`["a\"b\\c\/d\be\ff\ng\rh\ti"]`, `["\u00e9\u6771\u4EAC"]`, `["\ud83d\ude00"]`, `["\ud83d"]`, `["\ud83dx"]`,
	`["\ud83d\u0041"]`, `["\ude00\ud83d"]`, `["\u12"]`, `["\u12G4"]`, `["\x"]`, `["\'"]`, "[\"a\x01b\"]", "[\"a\x7fb\"]",
	"[\"\xff\"]", "[\"a\xe6\x9d\"]", "[\"\xed\xa0\x80\"]", "[\"\xef\xbf\xbd\"]", `["東京"]`, `["unterminated]`,
	`[1] [2]`, `[1]x`, `{"a":1}{}`, `[[[[["deep"]]]]]`, `"top string"`, `1`, "\xef\xbb\xbf[]", "\u00a0[1]\u00a0",
	`[{"role":"user","parts":[{"type":"text","content":"Summarise ticket 7."}]}]`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
}

func TestParseJSON(t *testing.T) {
	for _, s := range jsonCases {
		checkParseJSON(t, s)
	}
}

func checkParseJSON(t *testing.T, s string) {
	t.Helper()
	got, gotOK := parseJSON(s)
	want, wantOK := parseJSONStd(s)
	if gotOK != wantOK || !reflect.DeepEqual(got, want) {
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		t.Errorf("parseJSON(%q) = %#v, %v; encoding/json gives %#v, %v", s, got, gotOK, want, wantOK)
	}
}

// FuzzParseJSON checks parseJSON against encoding/json.
func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonCases {
		f.Add(s)
	}
	f.Fuzz(checkParseJSON)
}

func BenchmarkParseJSON(b *testing.B) {
	const doc = `[{"role":"assistant","parts":[{"type":"text","content":"The ticket reports elevated 5xx rates after the 14:00 deploy."}],"finish_reason":"stop"}]`
	for _, f := range []struct {
		name  string
		parse func(string) (any, bool)
	}{{"tael", parseJSON}, {"encoding_json", parseJSONStd}} {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := f.parse(doc); !ok {
					b.Fatal("not parsed")
				}
			}
		})
	}
}
