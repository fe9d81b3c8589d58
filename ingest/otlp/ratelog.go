package otlp

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// rateLogger writes Warn lines, at most one per interval for each reason, so
// that a flood of bad or refused requests cannot flood the log. The next
// line written for a reason says how many were suppressed since the last.
type rateLogger struct {
	log      *slog.Logger
	interval time.Duration
	now      func() time.Time
	// mu guards reasons.
	mu      sync.Mutex
	reasons map[string]*rateState
}

type rateState struct {
	last       time.Time
	suppressed int64
}

func newRateLogger(l *slog.Logger, interval time.Duration, now func() time.Time) *rateLogger {
	return &rateLogger{log: l, interval: interval, now: now, reasons: make(map[string]*rateState)}
}

// warn logs msg with args at Warn unless a line for reason was written less
// than an interval ago.
func (l *rateLogger) warn(reason, msg string, args ...any) {
	if !l.log.Enabled(context.Background(), slog.LevelWarn) {
		return
	}
	now := l.now()
	l.mu.Lock()
	s := l.reasons[reason]
	if s == nil {
		s = &rateState{}
		l.reasons[reason] = s
	} else if now.Sub(s.last) < l.interval {
		s.suppressed++
		l.mu.Unlock()
		return
	}
	s.last = now
	suppressed := s.suppressed
	s.suppressed = 0
	l.mu.Unlock()
	if suppressed > 0 {
		args = append(args, "suppressed_since_last", suppressed)
	}
	l.log.Warn(msg, args...)
}
