package sql

import (
	"container/list"
	"sync"
	"time"
)

// lru is a map whose entries expire after idle time without a get, and
// whose size is capped: putting into a full map drops the least recently
// used entry. It bounds every piece of per-client state the server keeps.
type lru[V any] struct {
	idle time.Duration
	max  int
	now  func() time.Time

	// mu guards order and items.
	mu sync.Mutex
	// order holds *lruEntry, most recently used first.
	order *list.List
	items map[string]*list.Element
}

type lruEntry[V any] struct {
	key  string
	val  V
	used time.Time
}

func newLRU[V any](idle time.Duration, max int, now func() time.Time) *lru[V] {
	return &lru[V]{idle: idle, max: max, now: now, order: list.New(), items: map[string]*list.Element{}}
}

// get returns the value under key and marks it used, unless it has expired.
func (c *lru[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[key]
	if !ok {
		return zero, false
	}
	e := el.Value.(*lruEntry[V])
	now := c.now()
	if now.Sub(e.used) > c.idle {
		c.order.Remove(el)
		delete(c.items, key)
		return zero, false
	}
	e.used = now
	c.order.MoveToFront(el)
	return e.val, true
}

// put stores val under key, replacing any value there.
func (c *lru[V]) put(key string, val V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*lruEntry[V])
		e.val, e.used = val, now
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry[V]).key)
	}
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, val: val, used: now})
}

// remove deletes key and returns its value, if it was there.
func (c *lru[V]) remove(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[key]
	if !ok {
		return zero, false
	}
	c.order.Remove(el)
	delete(c.items, key)
	return el.Value.(*lruEntry[V]).val, true
}

// sweep drops the expired entries.
func (c *lru[V]) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for el := c.order.Back(); el != nil; {
		e := el.Value.(*lruEntry[V])
		if now.Sub(e.used) <= c.idle {
			return
		}
		prev := el.Prev()
		c.order.Remove(el)
		delete(c.items, e.key)
		el = prev
	}
}

// len returns the number of entries, expired or not.
func (c *lru[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
