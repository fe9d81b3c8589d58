package analytics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// traceID returns id in lowercase if it is 32 hex digits.
func traceID(id string) (string, error) {
	if !isHex(id, 32) {
		return "", fmt.Errorf("%w: trace id %q: want 32 hex digits", ErrInvalid, id)
	}
	return strings.ToLower(id), nil
}

// spanID returns id in lowercase if it is 16 hex digits.
func spanID(id string) (string, error) {
	if !isHex(id, 16) {
		return "", fmt.Errorf("%w: span id %q: want 16 hex digits", ErrInvalid, id)
	}
	return strings.ToLower(id), nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// limit applies the limit rules: 0 is def, above MaxLimit is MaxLimit,
// negative is invalid.
func limit(n, def int) (int, error) {
	switch {
	case n < 0:
		return 0, fmt.Errorf("%w: limit %d: must not be negative", ErrInvalid, n)
	case n == 0:
		return def, nil
	case n > MaxLimit:
		return MaxLimit, nil
	}
	return n, nil
}

// maxWindow bounds every window, so that now minus two of them (Anomalies)
// stays within the nanosecond timestamps that start in 1677.
const maxWindow = 100 * 365 * 24 * time.Hour

// window applies the window rules: 0 is def, negative or above maxWindow is
// invalid.
func window(name string, d, def time.Duration) (time.Duration, error) {
	switch {
	case d < 0:
		return 0, fmt.Errorf("%w: %s %s: must not be negative", ErrInvalid, name, d)
	case d > maxWindow:
		return 0, fmt.Errorf("%w: %s %s: at most 100 years", ErrInvalid, name, d)
	case d == 0:
		return def, nil
	}
	return d, nil
}

func checkStatus(v string) error {
	switch v {
	case "", "unset", "ok", "error":
		return nil
	}
	return fmt.Errorf("%w: status %q: want unset, ok or error", ErrInvalid, v)
}

// severities lists the log severities, least severe first.
var severities = []string{"trace", "debug", "info", "warn", "error", "fatal"}

// atLeast returns the severities at least as severe as min ("" means
// every severity).
func atLeast(min string) ([]string, error) {
	if min == "" {
		return severities, nil
	}
	i := slices.Index(severities, min)
	if i < 0 {
		return nil, fmt.Errorf("%w: severity %q: want trace, debug, info, warn, error or fatal", ErrInvalid, min)
	}
	return severities[i:], nil
}

func checkMetricType(v string) error {
	switch v {
	case "", "gauge", "counter", "histogram", "summary", "unknown":
		return nil
	}
	return fmt.Errorf("%w: metric_type %q: want gauge, counter, histogram, summary or unknown", ErrInvalid, v)
}

func checkDuration(name string, v *float64) error {
	if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
		return fmt.Errorf("%w: %s %v: want a finite number", ErrInvalid, name, *v)
	}
	return nil
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func itoa(n int) string { return strconv.Itoa(n) }
