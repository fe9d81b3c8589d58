package fts

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/blevesearch/bleve/v2"
)

// maxUnpersistedBytes bounds the text of batches that are searchable but not
// yet on disk (held in memory by scorch). Index waits while more is pending,
// so memory stays bounded if the persister falls behind. Persisting costs a
// small fraction of analysing (BenchmarkIndex's profile), so at the measured
// 2–5 MB/s of text this is many seconds of indexing: it binds only when the
// persister stalls, for example on a slow or failing disk.
const maxUnpersistedBytes = 64 << 20

// persistence tracks which batches scorch has written to disk. Every batch
// gets the next sequence number and a persisted callback; scorch calls the
// callbacks in introduction order after the snapshot holding the batch is
// on disk (zap segment fsync'd, root.bolt committed and fsync'd).
type persistence struct {
	// mu guards the fields below.
	mu sync.Mutex
	// next is the sequence number of the next batch.
	next uint64
	// introduced is the sequence number of the last batch bleve accepted:
	// its Batch call returned nil, so its callback will run.
	introduced uint64
	// persisted is the largest sequence number whose callback ran: that
	// batch and every earlier one are on disk.
	persisted uint64
	// flushed is the largest sequence number a flush has made durable,
	// directory entries included.
	flushed uint64
	// pending is the text bytes of introduced batches not yet persisted.
	pending int64
	// changed is closed, and replaced, whenever persisted or pending change.
	changed chan struct{}
}

func (p *persistence) init() { p.changed = make(chan struct{}) }

// broadcastLocked wakes every waiter. p.mu must be held.
func (p *persistence) broadcastLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// batch runs one bleve batch of size text bytes, tracking its persistence.
// The caller holds x.writer, so batches are introduced in sequence order.
// When more than maxUnpersistedBytes are pending it first waits for the
// persister, or for ctx.
func (x *Index) batch(ctx context.Context, b *bleve.Batch, size int64) error {
	p := &x.p
	p.mu.Lock()
	for p.pending > 0 && p.pending+size > x.maxPending {
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.mu.Lock()
	}
	p.next++
	seq := p.next
	p.pending += size
	p.mu.Unlock()

	b.SetPersistedCallback(func(error) {
		// Scorch calls this only after a successful persist (a failed
		// one is retried and the callback kept), so the error is nil.
		p.mu.Lock()
		p.persisted = max(p.persisted, seq)
		p.pending -= size
		p.broadcastLocked()
		p.mu.Unlock()
	})
	err := x.idx.Batch(b)

	p.mu.Lock()
	if err != nil {
		// Scorch registers the callback only when Batch succeeds.
		p.pending -= size
		p.broadcastLocked()
	} else {
		p.introduced = seq
	}
	p.mu.Unlock()
	return err
}

// Flush returns once every document indexed or deleted by a call that
// returned before Flush was called is on disk: it survives kill -9 of the
// process. The engine calls it at each checkpoint, before it deletes the WAL
// segments that held those documents. It returns at once when nothing was
// written since the last Flush. See doc.go, "Durability".
func (x *Index) Flush() error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.mu.closed {
		return ErrClosed
	}
	if err := x.flush(); err != nil {
		return fmt.Errorf("fts: flush: %w", err)
	}
	return nil
}

// flush waits until every batch introduced so far is persisted, then syncs
// the store directory so the segment files' names are durable too.
func (x *Index) flush() error {
	p := &x.p
	p.mu.Lock()
	target := p.introduced
	if target <= p.flushed {
		p.mu.Unlock()
		return nil
	}
	for p.persisted < target {
		ch := p.changed
		p.mu.Unlock()
		<-ch
		p.mu.Lock()
	}
	p.mu.Unlock()
	if err := syncDir(x.storeDir); err != nil {
		return err
	}
	p.mu.Lock()
	p.flushed = max(p.flushed, target)
	p.mu.Unlock()
	return nil
}

// syncDir fsyncs a directory, making the names created in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncTree fsyncs every file and directory under root.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return syncDir(path)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
}
