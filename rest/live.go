package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/tael/tael/analytics"
)

// tailBatch is the most rows one poll of a live tail asks for; when a poll
// returns this many, the next follows at once instead of after
// TailInterval. 1,000 rows of JSON are a few hundred KiB: small enough to
// write between two checks that the client is still there.
const tailBatch = 1000

// poller returns the rows after cursor and the cursor to pass next time.
type poller[T any] func(ctx context.Context, cursor uint64, limit int) ([]T, uint64, error)

// liveSpans serves GET /api/v1/traces/live: every span appended from now
// on, as SSE "span" events.
func (a *API) liveSpans(w http.ResponseWriter, r *http.Request) {
	p, err := parseParams(r, "service")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	service := p.str("service")
	stream(a, w, r, "span", func(ctx context.Context, cursor uint64, limit int) ([]analytics.Span, uint64, error) {
		return a.svc.TailSpans(ctx, service, cursor, limit)
	})
}

// liveLogs serves GET /api/v1/logs/live: every log record appended from
// now on, as SSE "log" events.
func (a *API) liveLogs(w http.ResponseWriter, r *http.Request) {
	p, err := parseParams(r, "service", "severity")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	service, severity := p.str("service"), p.str("severity")
	stream(a, w, r, "log", func(ctx context.Context, cursor uint64, limit int) ([]analytics.Log, uint64, error) {
		return a.svc.TailLogs(ctx, service, severity, cursor, limit)
	})
}

// stream polls poll every TailInterval and writes each row as an SSE event
// named event, until the client goes away or Close is called. The first
// poll (cursor 0: "from now") runs before the answer starts, so bad
// arguments get a JSON error with its status.
func stream[T any](a *API, w http.ResponseWriter, r *http.Request, event string, poll poller[T]) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(a.done, cancel)
	defer stop()

	pollOnce := func(cursor uint64) ([]T, uint64, error) {
		pctx, pcancel := a.requestContext(ctx)
		defer pcancel()
		rows, next, err := poll(pctx, cursor, tailBatch)
		if err != nil && pctx.Err() != nil && ctx.Err() == nil {
			// The poll, not the stream, ran out of time.
			err = errors.Join(err, context.DeadlineExceeded)
		}
		return rows, next, err
	}
	_, cursor, err := pollOnce(0)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if err := rc.Flush(); err != nil {
		a.log.Warn("rest: live tail cannot flush", "path", r.URL.Path, "err", err)
		return
	}

	// send writes and flushes b, giving up on a client that has not read
	// for writeTimeout: a stalled reader must not hold the handler (and the
	// server's shutdown) forever.
	send := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	tick := time.NewTicker(a.opts.TailInterval)
	defer tick.Stop()
	keep := time.NewTicker(a.opts.KeepAlive)
	defer keep.Stop()
	var buf bytes.Buffer
	for {
		select {
		case <-ctx.Done():
			return
		case <-keep.C:
			if !send([]byte(": keepalive\n\n")) {
				return
			}
			continue
		case <-tick.C:
		}
		for {
			rows, next, err := pollOnce(cursor)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				// The answer has started: say why it ends in the stream.
				_, msg := a.status(ctx, err)
				a.log.Error("rest: live tail failed", "path", r.URL.Path, "err", err)
				b, _ := json.Marshal(errorBody{Error: msg})
				send([]byte("event: error\ndata: " + string(b) + "\n\n"))
				return
			}
			cursor = next
			if len(rows) == 0 {
				break
			}
			buf.Reset()
			for _, row := range rows {
				b, err := json.Marshal(row)
				if err != nil {
					a.log.Error("rest: live tail: encode row", "err", err)
					continue
				}
				buf.WriteString("event: ")
				buf.WriteString(event)
				buf.WriteString("\ndata: ")
				buf.Write(b) // one line: json.Marshal writes no newline
				buf.WriteString("\n\n")
			}
			if !send(buf.Bytes()) {
				return
			}
			keep.Reset(a.opts.KeepAlive)
			if len(rows) < tailBatch || ctx.Err() != nil {
				break
			}
		}
	}
}

// writeTimeout bounds one write of a live tail to its client.
const writeTimeout = 30 * time.Second
