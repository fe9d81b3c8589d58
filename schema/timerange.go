package schema

import (
	"math"
	"time"
)

// TimeRange is a half-open interval [Min, Max) of Unix nanoseconds over a
// table's TimeColumn.
type TimeRange struct {
	Min, Max int64
}

// AllTime covers every representable time.
var AllTime = TimeRange{Min: math.MinInt64, Max: math.MaxInt64}

// Between returns the range [from, to).
func Between(from, to time.Time) TimeRange {
	return TimeRange{Min: from.UnixNano(), Max: to.UnixNano()}
}

// Contains reports whether t (Unix ns) lies in r.
func (r TimeRange) Contains(t int64) bool { return t >= r.Min && t < r.Max }

// Overlaps reports whether r and o share any instant.
func (r TimeRange) Overlaps(o TimeRange) bool { return r.Min < o.Max && o.Min < r.Max }

// Empty reports whether r contains no instant.
func (r TimeRange) Empty() bool { return r.Min >= r.Max }
