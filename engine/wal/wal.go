package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	// ErrClosed is returned by calls on a WAL after Close.
	ErrClosed = errors.New("wal: closed")
	// ErrTooLarge is returned by Append for a payload larger than
	// Options.MaxRecordSize.
	ErrTooLarge = errors.New("wal: record too large")
	// ErrFailed is wrapped, together with the original cause, by the errors
	// of every Append after a write or fsync failure that the WAL could not
	// repair by truncating the active segment. Nothing more is written; the
	// WAL must be closed and reopened, which recovers the log from its
	// files. The records of the group that failed were not acknowledged,
	// but, the repair having failed, they may be found there.
	ErrFailed = errors.New("wal: failed")
)

// Options configures a WAL.
type Options struct {
	// SegmentSize is the size in bytes at which the active segment is
	// closed and the next one begins; the record that reaches it is the
	// segment's last, so a segment exceeds it by less than one record.
	// Zero means 64 MiB; it must exceed the 16-byte segment header.
	SegmentSize int64
	// MaxRecordSize is the largest payload in bytes that Append accepts;
	// larger payloads fail with ErrTooLarge. Zero means 128 MiB; at most
	// 1 GiB.
	MaxRecordSize int
	// FirstLSN is the LSN of the first record when Open finds no segment in
	// the directory (for example, when every segment was removed after a
	// checkpoint, pass the last applied LSN + 1). It is ignored when
	// segments exist. Zero means 1.
	FirstLSN uint64
	// Logger receives recovery warnings and write errors. Nil discards.
	Logger *slog.Logger
	// Registerer registers the tael_wal_* metrics. Nil means no metrics.
	Registerer prometheus.Registerer
}

// DefaultOptions returns the options used for zero fields.
func DefaultOptions() Options {
	return Options{
		// 64 MiB: a few hundred 200 KiB span batches per segment, so that
		// checkpoints free space in steps small next to a disk, while
		// rotation (three fsyncs) stays rare.
		SegmentSize: 64 << 20,
		// 128 MiB: far above a 1,000-span Arrow batch (about 200 KiB), still
		// small enough to hold in memory for replay.
		MaxRecordSize: 128 << 20,
		FirstLSN:      1,
	}
}

func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	if o.SegmentSize == 0 {
		o.SegmentSize = d.SegmentSize
	}
	if o.MaxRecordSize == 0 {
		o.MaxRecordSize = d.MaxRecordSize
	}
	if o.FirstLSN == 0 {
		o.FirstLSN = d.FirstLSN
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SegmentSize <= segmentHeaderSize {
		return o, fmt.Errorf("wal: SegmentSize %d must exceed %d bytes", o.SegmentSize, segmentHeaderSize)
	}
	if o.MaxRecordSize < 0 || o.MaxRecordSize > maxPayload {
		return o, fmt.Errorf("wal: MaxRecordSize %d out of range [0, %d]", o.MaxRecordSize, maxPayload)
	}
	return o, nil
}

// WAL is a write-ahead log in one directory. Its methods are safe for
// concurrent use.
type WAL struct {
	dir      string
	opts     Options
	log      *slog.Logger
	m        *metrics
	now      func() time.Time
	wrapFile func(*os.File) file // wraps every segment file the WAL writes to

	lastLSN atomic.Uint64 // highest durable LSN
	fsyncs  atomic.Uint64 // fsyncs of files and directories, for tests and benchmarks
	reqPool sync.Pool     // of *request

	// mu guards the append queue and the WAL's state. Append and Close hold
	// it briefly; the writer goroutine holds it to drain the queue.
	mu struct {
		sync.Mutex
		cond   sync.Cond  // signalled when queue grows or closed is set
		queue  []*request // appends waiting for the writer, in arrival order
		closed bool       // Close was called: no new requests
		failed error      // why the WAL is failed, or nil
	}

	// segs guards what Replay and Checkpoint need to know of the files. The
	// writer goroutine adds segments and moves activeEnd; Checkpoint
	// removes segments from the front.
	segs struct {
		sync.Mutex
		firsts    []uint64 // first LSN of each segment, ascending; the last is active
		activeEnd int64    // durable end of the active segment
	}

	// ckptMu serialises Checkpoint calls.
	ckptMu sync.Mutex

	// Owned by the writer goroutine once Open returns.
	active      file       // the last segment, open for writing
	activeFirst uint64     // its first LSN
	activeSize  int64      // its size: everything in it is durable
	nextLSN     uint64     // LSN of the next record
	buf         []byte     // encoded records of the group being written
	spare       []*request // the drained queue's slice, to reuse

	done     chan struct{} // closed when the writer goroutine has exited
	closeErr error         // set by the writer goroutine before done is closed
	once     sync.Once     // makes Close idempotent
}

// Open opens the WAL in dir, creating dir if it is missing. It recovers the
// log: it checks every segment's header, reads the last segment, truncates a
// torn record at its end (logged at Warn) and returns a *CorruptionError for
// any other damage. When dir holds no segment, the first record will have
// LSN opts.FirstLSN.
func Open(dir string, opts Options) (*WAL, error) {
	return open(dir, opts, func(f *os.File) file { return f })
}

// open is Open with wrapFile applied to every segment file opened for
// writing; tests use it to inject failures.
func open(dir string, opts Options, wrapFile func(*os.File) file) (*WAL, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	w := &WAL{
		dir:      dir,
		opts:     opts,
		log:      opts.Logger,
		m:        m,
		now:      time.Now,
		wrapFile: wrapFile,
		done:     make(chan struct{}),
	}
	w.mu.cond.L = &w.mu.Mutex
	w.reqPool.New = func() any { return &request{done: make(chan result, 1)} }
	if err := w.makeDir(); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	if err := w.recover(); err != nil {
		var ce *CorruptionError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	go w.run()
	return w, nil
}

// makeDir creates the WAL directory if it is missing, durably.
func (w *WAL) makeDir() error {
	if _, err := os.Stat(w.dir); err == nil || !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return err
	}
	return w.syncDir(filepath.Dir(filepath.Clean(w.dir)))
}

// LastLSN returns the highest LSN durable in the log, or FirstLSN-1 when
// the log has never held a record.
func (w *WAL) LastLSN() uint64 { return w.lastLSN.Load() }

// Close waits for the appends already queued to finish, fsyncs and closes
// the active segment. Later calls return ErrClosed (Append, Replay,
// Checkpoint) or the first Close's result (Close). If the WAL is failed,
// Close returns an error wrapping ErrFailed.
func (w *WAL) Close() error {
	w.once.Do(func() {
		w.mu.Lock()
		w.mu.closed = true
		w.mu.cond.Signal()
		w.mu.Unlock()
		<-w.done
	})
	return w.closeErr
}

// isClosed reports whether Close was called.
func (w *WAL) isClosed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.closed
}
