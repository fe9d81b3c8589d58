package wal

import (
	"context"
	"errors"
	"fmt"
	"time"
)

const (
	// writeChunk is the most encoded bytes buffered before a write call:
	// a group of 8-16 typical 200 KiB batches is one call, while a group of
	// huge records does not need a buffer of its total size.
	writeChunk = 4 << 20
	// maxKeptBuffer is the largest write buffer kept between groups; a
	// bigger one (after a huge record) is left to the garbage collector.
	maxKeptBuffer = 2 * writeChunk
)

// request is one Append waiting for the writer goroutine.
type request struct {
	table    uint8
	payload  []byte
	enqueued time.Time
	done     chan result // buffered: the writer never blocks on it
}

type result struct {
	lsn uint64
	err error
}

// Append writes one record holding table and payload and returns its LSN
// once the record is durable (written and fsync'd). Concurrent appends share
// one write and one fsync (group commit); LSNs follow the order in the file.
//
// ctx is only consulted before the record is queued: if it is done, Append
// returns ctx.Err() and writes nothing. Once queued, the record is written
// and Append waits for the outcome whatever happens to ctx, so that a
// returned error always means "not acknowledged" and never "maybe written".
//
// A payload larger than Options.MaxRecordSize fails with ErrTooLarge. If the
// write or fsync fails, Append returns that error and the record is not in
// the log (its LSN is reused); after a failure the WAL could not repair, it
// returns an error wrapping ErrFailed. Append does not retain payload.
func (w *WAL) Append(ctx context.Context, table uint8, payload []byte) (lsn uint64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(payload) > w.opts.MaxRecordSize {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(payload), w.opts.MaxRecordSize)
	}
	req := w.reqPool.Get().(*request)
	req.table, req.payload, req.enqueued = table, payload, w.now()

	w.mu.Lock()
	switch {
	case w.mu.closed:
		err = ErrClosed
	case w.mu.failed != nil:
		err = failedError(w.mu.failed)
	default:
		w.mu.queue = append(w.mu.queue, req)
		w.mu.cond.Signal()
	}
	w.mu.Unlock()
	if err != nil {
		req.payload = nil
		w.reqPool.Put(req)
		return 0, err
	}

	res := <-req.done
	req.payload = nil
	w.reqPool.Put(req)
	return res.lsn, res.err
}

func failedError(cause error) error { return fmt.Errorf("%w: %w", ErrFailed, cause) }

// run is the writer goroutine: it drains the queue, commits each batch as
// one group, and on Close finishes the queue and closes the active segment.
func (w *WAL) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		for len(w.mu.queue) == 0 && !w.mu.closed {
			w.mu.cond.Wait()
		}
		batch := w.mu.queue
		w.mu.queue = w.spare[:0]
		failed := w.mu.failed
		w.mu.Unlock()

		if len(batch) == 0 { // closed, and nothing left
			w.closeErr = w.shutdown(failed)
			return
		}
		if failed != nil {
			w.reply(batch, 0, failedError(failed))
		} else {
			w.commit(batch)
		}
		clear(batch)
		w.spare = batch
	}
}

// commit writes batch to the log in as few groups as segment boundaries
// allow (usually one) and answers every request.
func (w *WAL) commit(batch []*request) {
	for len(batch) > 0 {
		if w.activeSize >= w.opts.SegmentSize {
			if err := w.rotate(); err != nil {
				w.reply(batch, 0, err)
				return
			}
		}
		first := w.nextLSN
		n, err := w.writeGroup(batch)
		if err != nil {
			w.reply(batch, 0, err)
			return
		}
		w.reply(batch[:n], first, nil)
		batch = batch[n:]
	}
	if w.activeSize >= w.opts.SegmentSize {
		// Rotate now rather than at the next append, so that Checkpoint can
		// remove the full segment. If it fails, the next commit retries.
		if err := w.rotate(); err != nil {
			w.log.Warn("wal: rotating segment failed; will retry", "err", err)
		}
	}
}

// reply answers reqs: with LSNs from first on success, or with err.
func (w *WAL) reply(reqs []*request, first uint64, err error) {
	now := w.now()
	for i, r := range reqs {
		if err != nil {
			r.done <- result{err: err}
			continue
		}
		w.m.appends.Inc()
		w.m.appendBytes.Add(float64(len(r.payload)))
		w.m.appendDuration.Observe(now.Sub(r.enqueued).Seconds())
		r.done <- result{lsn: first + uint64(i)}
	}
}

// writeGroup writes records from batch to the active segment, up to the one
// that brings the segment to SegmentSize, fsyncs, and returns how many it
// wrote. On failure it truncates the segment back, or fails the WAL, and
// returns the error to give every request of batch.
func (w *WAL) writeGroup(batch []*request) (int, error) {
	start, off := w.activeSize, w.activeSize
	buf := w.buf[:0]
	n := 0
	var err error
	for n < len(batch) && off+int64(len(buf)) < w.opts.SegmentSize {
		r := batch[n]
		buf = appendRecord(buf, w.nextLSN+uint64(n), r.table, r.payload)
		n++
		if len(buf) >= writeChunk {
			if err = w.writeFull(w.active, buf, off); err != nil {
				break
			}
			off += int64(len(buf))
			buf = buf[:0]
		}
	}
	if err == nil && len(buf) > 0 {
		if err = w.writeFull(w.active, buf, off); err == nil {
			off += int64(len(buf))
		}
	}
	if cap(buf) <= maxKeptBuffer {
		w.buf = buf[:0]
	} else {
		w.buf = nil
	}
	if err == nil {
		err = w.sync(w.active)
	}
	if err != nil {
		return 0, w.undo(start, fmt.Errorf("segment %s: %w", w.segmentPath(w.activeFirst), err))
	}

	w.activeSize = off
	w.nextLSN += uint64(n)
	w.segs.Lock()
	w.segs.activeEnd = off
	w.segs.Unlock()
	w.lastLSN.Store(w.nextLSN - 1)
	return n, nil
}

// undo repairs the active segment after a failed group: it truncates the
// segment to start, where the group began, and fsyncs. If that fails too,
// the WAL is failed. It returns the error for the group's requests.
func (w *WAL) undo(start int64, cause error) error {
	w.m.errors.Inc()
	err := w.active.Truncate(start)
	if err == nil {
		err = w.sync(w.active)
	}
	if err != nil {
		return w.fail(fmt.Errorf("%w; truncate back to offset %d: %w", cause, start, err))
	}
	w.log.Warn("wal: append failed; group dropped", "err", cause, "offset", start, "next_lsn", w.nextLSN)
	return fmt.Errorf("wal: %w", cause)
}

// fail puts the WAL in the failed state and returns the error for the
// requests at hand.
func (w *WAL) fail(cause error) error {
	w.m.errors.Inc()
	w.log.Error("wal: failed; appends are refused until reopened", "err", cause)
	w.mu.Lock()
	w.mu.failed = cause
	w.mu.Unlock()
	return failedError(cause)
}

// rotate seals the active segment and begins the next. Every group ends
// with an fsync, so the active segment is durable already.
func (w *WAL) rotate() error {
	f, stale, err := w.createSegment(w.nextLSN)
	if err != nil {
		if stale {
			return w.fail(err)
		}
		w.m.errors.Inc()
		return fmt.Errorf("wal: %w", err)
	}
	if err := w.active.Close(); err != nil {
		// The data is durable; a close error cannot lose it.
		w.log.Warn("wal: closing sealed segment", "segment", w.segmentPath(w.activeFirst), "err", err)
	}
	w.active, w.activeFirst, w.activeSize = f, w.nextLSN, segmentHeaderSize
	w.segs.Lock()
	w.segs.firsts = append(w.segs.firsts, w.activeFirst)
	w.segs.activeEnd = w.activeSize
	w.m.segments.Set(float64(len(w.segs.firsts)))
	w.segs.Unlock()
	return nil
}

// shutdown closes the active segment for Close.
func (w *WAL) shutdown(failed error) error {
	var err error
	if failed == nil {
		err = w.sync(w.active)
	}
	err = errors.Join(err, w.active.Close())
	switch {
	case failed != nil:
		return errors.Join(failedError(failed), err)
	case err != nil:
		return fmt.Errorf("wal: close %s: %w", w.segmentPath(w.activeFirst), err)
	}
	return nil
}
