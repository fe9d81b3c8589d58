package rest

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tael/tael/analytics"
)

// sse is one Server-Sent Event, or a comment (name ":").
type sse struct{ name, data string }

// openStream GETs an SSE route and returns its events as they arrive; the
// channel closes when the stream ends. cancel drops the connection.
func openStream(t *testing.T, url string) (events <-chan sse, cancel context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s = %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sse, 100)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					ch <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, ":"):
				ch <- sse{name: ":", data: strings.TrimSpace(line[1:])}
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			}
		}
	}()
	t.Cleanup(cancel)
	return ch, cancel
}

// next returns the next event that is not a comment, failing after 5 s.
func next(t *testing.T, events <-chan sse) sse {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			if ev.name != ":" {
				return ev
			}
		case <-timeout:
			t.Fatal("no event within 5s")
		}
	}
}

// TestLiveSpans tails spans of one service: rows stored before the client
// connected are not sent, rows appended after arrive within seconds.
func TestLiveSpans(t *testing.T) {
	e := newEnv(t, Options{TailInterval: 50 * time.Millisecond, KeepAlive: 200 * time.Millisecond})
	e.feed(t)
	events, _ := openStream(t, e.srv.URL+"/api/v1/traces/live?service=checkout")
	now := time.Now()
	const live = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	e.sendSpans(t,
		span{trace: live, id: "1111111111111111", service: "search", op: "GET /other", start: now, dur: time.Millisecond},
		span{trace: live, id: "2222222222222222", service: "checkout", op: "POST /live", start: now, dur: time.Millisecond},
	)
	ev := next(t, events)
	var s analytics.Span
	if err := json.Unmarshal([]byte(ev.data), &s); err != nil {
		t.Fatalf("event %+v: %v", ev, err)
	}
	if ev.name != "span" || s.TraceID != live || s.SpanID != "2222222222222222" || s.Operation != "POST /live" {
		t.Fatalf("first event %s %+v, want the checkout span appended after connecting", ev.name, s)
	}
	e.sendSpans(t, span{trace: live, id: "3333333333333333", service: "checkout", op: "POST /again", start: now, dur: time.Millisecond})
	if ev := next(t, events); !strings.Contains(ev.data, `"span_id":"3333333333333333"`) {
		t.Fatalf("second event %+v", ev)
	}

	// Nothing to send: keep-alive comments.
	timeout := time.After(5 * time.Second)
	for keepalive := false; !keepalive; {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			keepalive = ev.name == ":" && ev.data == "keepalive"
		case <-timeout:
			t.Fatal("no keepalive within 5s")
		}
	}

	// Close (server shutdown) ends the stream.
	e.api.Close()
	select {
	case _, ok := <-events:
		for ok {
			_, ok = <-events
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open 5s after Close")
	}
}

// TestLiveLogs tails logs of a minimum severity, and checks that a tail
// ends when its client goes away.
func TestLiveLogs(t *testing.T) {
	e := newEnv(t, Options{TailInterval: 50 * time.Millisecond})
	e.feed(t)
	events, cancel := openStream(t, e.srv.URL+"/api/v1/logs/live?severity=warn")
	now := time.Now()
	e.sendLogs(t,
		logRec{service: "checkout", severity: "info", body: "fine", at: now},
		logRec{service: "checkout", severity: "error", body: "card expired", at: now},
	)
	ev := next(t, events)
	var l analytics.Log
	if err := json.Unmarshal([]byte(ev.data), &l); err != nil {
		t.Fatal(err)
	}
	if ev.name != "log" || l.Body != "card expired" || l.Severity != "error" {
		t.Fatalf("event %s %+v", ev.name, l)
	}

	// The client goes away: the handler returns, so the server can close
	// (httptest.Server.Close waits for every running handler).
	cancel()
	closed := make(chan struct{})
	go func() { e.srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("live tail still running 5s after its client went away")
	}
}

// TestLiveFromEmptyStore tails a store with no hot rows: the first rows
// appended must arrive too.
func TestLiveFromEmptyStore(t *testing.T) {
	e := newEnv(t, Options{TailInterval: 50 * time.Millisecond})
	events, _ := openStream(t, e.srv.URL+"/api/v1/logs/live")
	e.sendLogs(t, logRec{service: "checkout", severity: "info", body: "first", at: time.Now()})
	if ev := next(t, events); !strings.Contains(ev.data, `"body":"first"`) {
		t.Fatalf("event %+v", ev)
	}
}
