package promql

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

func TestAppendValue(t *testing.T) {
	ls := labels.FromStrings("__name__", "up", "job", `a"<b>`)
	for _, tc := range []struct {
		name string
		v    parser.Value
		want string
	}{
		{"scalar", promql.Scalar{T: 1500, V: 2}, `[1.500,"2"]`},
		{"string", promql.String{T: -1, V: "x\n"}, `[-0.001,"x\n"]`},
		{"vector", promql.Vector{{Metric: ls, T: 1000, F: math.Inf(-1)}, {T: 1001, F: math.NaN()}},
			`[{"metric":{"__name__":"up","job":"a\"\u003cb\u003e"},"value":[1,"-Inf"]},{"metric":{},"value":[1.001,"NaN"]}]`},
		{"empty vector", promql.Vector{}, `[]`},
		{"matrix", promql.Matrix{{Metric: ls, Floats: []promql.FPoint{{T: 0, F: 1e-7}, {T: 10, F: 1e21}, {T: 20, F: 0.25}}}},
			`[{"metric":{"__name__":"up","job":"a\"\u003cb\u003e"},"values":[[0,"1e-07"],[0.010,"1e+21"],[0.020,"0.25"]]}]`},
		{"empty matrix", promql.Matrix{}, `[]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(appendValue(nil, tc.v))
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("invalid JSON %s", got)
			}
		})
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "\x00\x01\x1f\t\n\r\b\f", "<a href=\"x\">&</a>", "ü€😀", "bad \xff utf8 \xc3", "line\u2028para\u2029"} {
		checkAppendString(t, s)
	}
}

// checkAppendString checks that appendString escapes s as encoding/json
// does.
func checkAppendString(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendString(nil, s); string(got) != string(want) {
		t.Errorf("appendString(%q) = %s, want %s", s, got, want)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\u2028", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(checkAppendString)
}
