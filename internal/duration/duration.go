// Package duration parses the durations tael's flags, configuration and
// REST parameters accept: Go durations ("1h30m", "500ms"), days ("7d",
// "1d12h"), and bare seconds ("30", "1.5").
package duration

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Parse parses s as a duration. It accepts a Go duration, optionally led by
// a whole number of days ("7d", "1d12h"), or a bare number of seconds.
func Parse(s string) (time.Duration, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("invalid duration %q: empty", in)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(math.MaxInt64)/1e9 {
			return 0, fmt.Errorf("invalid duration %q: out of range", in)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	var days time.Duration
	if i := strings.IndexByte(body, 'd'); i > 0 {
		n, err := strconv.ParseUint(body[:i], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: days must be a whole number", in)
		}
		if n > 100_000 {
			return 0, fmt.Errorf("invalid duration %q: out of range", in)
		}
		days = time.Duration(n) * 24 * time.Hour
		body = body[i+1:]
	}
	var rest time.Duration
	if body != "" {
		d, err := time.ParseDuration(body)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("invalid duration %q: use a number of seconds or units like 30s, 5m, 1h, 7d", in)
		}
		rest = d
	}
	d := days + rest
	if neg {
		d = -d
	}
	return d, nil
}

// Value is a flag.Value holding a duration Parse accepts.
type Value struct{ D *time.Duration }

func (v Value) String() string {
	if v.D == nil {
		return ""
	}
	return Format(*v.D)
}

func (v Value) Set(s string) error {
	d, err := Parse(s)
	if err != nil {
		return err
	}
	*v.D = d
	return nil
}

// Format renders d, using days for whole days ("7d", "1d12h0m0s").
func Format(d time.Duration) string {
	day := 24 * time.Hour
	if d >= day {
		days := d / day
		if rest := d % day; rest != 0 {
			return fmt.Sprintf("%dd%s", days, rest)
		}
		return fmt.Sprintf("%dd", days)
	}
	return d.String()
}
