package sql

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
)

// queries tracks running executions by ticket id, so that CancelFlightInfo
// can stop them, and remembers cancel requests for executions that have not
// started, so their tickets are refused.
type queries struct {
	// mu guards running and next.
	mu      sync.Mutex
	running map[queryID]map[uint64]context.CancelFunc
	next    uint64

	cancelled *lru[struct{}]
}

func newQueries(now func() time.Time) *queries {
	return &queries{
		running:   map[queryID]map[uint64]context.CancelFunc{},
		cancelled: newLRU[struct{}](cancelledKeep, maxCancelled, now),
	}
}

// start registers an execution of id under ctx bounded by timeout and
// returns its context and the func that unregisters it (which also cancels
// the context). It fails with context.Canceled if id was cancelled before.
func (q *queries) start(ctx context.Context, id queryID, timeout time.Duration) (context.Context, func(), error) {
	if _, ok := q.cancelled.get(id.String()); ok {
		return nil, nil, fmt.Errorf("query %s: %w", id, context.Canceled)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	ctx, cancel := context.WithCancel(ctx)
	q.mu.Lock()
	n := q.next
	q.next++
	if q.running[id] == nil {
		q.running[id] = map[uint64]context.CancelFunc{}
	}
	q.running[id][n] = cancel
	q.mu.Unlock()
	done := func() {
		q.mu.Lock()
		delete(q.running[id], n)
		if len(q.running[id]) == 0 {
			delete(q.running, id)
		}
		q.mu.Unlock()
		cancel()
		cancelTimeout()
	}
	return ctx, done, nil
}

// cancel stops the running executions of id and marks id so that its
// ticket is refused from now on.
func (q *queries) cancel(id queryID) flight.CancelStatus {
	q.cancelled.put(id.String(), struct{}{})
	q.mu.Lock()
	for _, f := range q.running[id] {
		f()
	}
	q.mu.Unlock()
	return flight.CancelStatusCancelled
}
