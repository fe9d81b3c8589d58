package llm

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// spanAttrs reads typed values out of a span's attributes.
type spanAttrs struct{ m pcommon.Map }

// firstString returns the first non-empty string attribute among keys.
func (a spanAttrs) firstString(keys ...string) string {
	for _, k := range keys {
		if v, ok := a.m.Get(k); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
			return v.Str()
		}
	}
	return ""
}

// firstInt returns the first attribute among keys that holds an integer.
func (a spanAttrs) firstInt(keys ...string) *int64 {
	for _, k := range keys {
		if v, ok := a.m.Get(k); ok {
			if n, ok := intValue(v); ok {
				return &n
			}
		}
	}
	return nil
}

// firstFloat returns the first attribute among keys that holds a finite number.
func (a spanAttrs) firstFloat(keys ...string) *float64 {
	for _, k := range keys {
		if v, ok := a.m.Get(k); ok {
			if f, ok := floatValue(v); ok {
				return &f
			}
		}
	}
	return nil
}

func intValue(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		return integral(v.Double())
	case pcommon.ValueTypeStr:
		s := strings.TrimSpace(v.Str())
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return integral(f)
		}
	}
	return 0, false
}

func integral(f float64) (int64, bool) {
	// 2^63 is exactly representable; anything at or beyond it overflows int64.
	if f != math.Trunc(f) || f >= 1<<63 || f < -(1<<63) {
		return 0, false
	}
	return int64(f), true
}

func floatValue(v pcommon.Value) (float64, bool) {
	var f float64
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		f = v.Double()
	case pcommon.ValueTypeInt:
		f = float64(v.Int())
	case pcommon.ValueTypeStr:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(v.Str()), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// firstJSONString returns s, or the first non-empty string of s when s holds
// a JSON array.
func firstJSONString(s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "[") {
		return s
	}
	var arr []any
	if json.Unmarshal([]byte(t), &arr) != nil {
		return s
	}
	for _, e := range arr {
		if str, ok := e.(string); ok && str != "" {
			return str
		}
	}
	return ""
}
