package rest

import (
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tael/tael/analytics"
	"github.com/tael/tael/internal/duration"
)

// repeatable are the query parameters that may be given more than once.
var repeatable = map[string]bool{"attribute": true}

// params are a request's query parameters, checked against the route's.
type params struct{ v url.Values }

// parseParams parses r's query and refuses a parameter not in allowed, or a
// non-repeatable one given twice: a typo must not widen a query silently.
func parseParams(r *http.Request, allowed ...string) (*params, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("malformed query string: %v", err)
	}
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if !slices.Contains(allowed, k) {
			return nil, badRequest("unknown parameter %q", k)
		}
		if n := len(v[k]); n > 1 && !repeatable[k] {
			return nil, badRequest("parameter %q given %d times", k, n)
		}
	}
	return &params{v: v}, nil
}

// str returns a parameter's value, "" when absent.
func (p *params) str(name string) string { return p.v.Get(name) }

// duration parses a window ("30s", "5m", "1h", "7d" or bare seconds); 0
// when absent, which the service reads as its default.
func (p *params) duration(name string) (time.Duration, error) {
	s := p.v.Get(name)
	if s == "" {
		return 0, nil
	}
	d, err := duration.Parse(s)
	if err != nil {
		return 0, badRequest("parameter %s: %v", name, err)
	}
	if d < 0 {
		return 0, badRequest("parameter %s: negative duration %q", name, s)
	}
	return d, nil
}

// limit parses "limit": 0 (the service's default) when absent, capped at
// analytics.MaxLimit.
func (p *params) limit() (int, error) {
	s := p.v.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("parameter limit: %q is not a whole number ≥ 0", s)
	}
	return int(min(n, analytics.MaxLimit)), nil
}

// float parses a non-negative finite number; nil when absent.
func (p *params) float(name string) (*float64, error) {
	s := p.v.Get(name)
	if s == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return nil, badRequest("parameter %s: %q is not a number ≥ 0", name, s)
	}
	return &f, nil
}

// attributes parses the repeatable attribute=key=value; nil when absent.
func (p *params) attributes() (map[string]string, error) {
	vs := p.v["attribute"]
	if len(vs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(vs))
	for _, s := range vs {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, badRequest("parameter attribute: %q is not key=value", s)
		}
		if old, dup := m[k]; dup && old != v {
			return nil, badRequest("parameter attribute: key %q given twice", k)
		}
		m[k] = v
	}
	return m, nil
}

// traceID checks an optional trace id parameter.
func (p *params) traceID(name string) (string, error) {
	s := p.v.Get(name)
	if s == "" {
		return "", nil
	}
	id, ok := hexID(s, 32)
	if !ok {
		return "", badRequest("parameter %s: %q is not a trace id (32 hex digits)", name, s)
	}
	return id, nil
}

// hexID returns s in lower case if it is n hex digits.
func hexID(s string, n int) (string, bool) {
	if len(s) != n {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", false
		}
	}
	return strings.ToLower(s), true
}

// pathTraceID checks the {id} of a /traces/{id} route.
func pathTraceID(r *http.Request) (string, error) {
	s := r.PathValue("id")
	id, ok := hexID(s, 32)
	if !ok {
		return "", badRequest("malformed trace id %q: want 32 hex digits", s)
	}
	return id, nil
}
