package cold

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/schema"
)

// Errors returned by the store. Each is wrapped with details; test with
// errors.Is.
var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("cold: store closed")
	// ErrCorruptManifest is returned by Open when the MANIFEST cannot be
	// parsed or fails its checksum. Open does not repair it: the files it
	// lists are the only record of which Parquet files are live.
	ErrCorruptManifest = errors.New("cold: corrupt manifest")
	// ErrConflict is returned by Commit for a change that does not fit the
	// current manifest: it removes a file that is not live (another change
	// removed it first), adds one already listed, or lowers a watermark.
	ErrConflict = errors.New("cold: change conflicts with the manifest")
	// ErrInvalid is returned for arguments that can never be right: a batch
	// not of its table, a row outside the partition, a malformed File.
	ErrInvalid = errors.New("cold: invalid argument")
	// ErrFailed is returned once a Commit renamed its new MANIFEST into place
	// but could not fsync the directory: the new version may or may not
	// survive a crash, so the store refuses further changes. Reopen it: Open
	// reads whichever version is on disk.
	ErrFailed = errors.New("cold: store failed, reopen it")
)

// Store is the cold tier: immutable Parquet files and the MANIFEST that lists
// the live ones. Its methods are safe for concurrent use.
type Store struct {
	dir   string
	log   *slog.Logger
	mem   memory.Allocator
	clock func() time.Time
	opts  Options

	// cur is the current manifest; it changes only under mu.
	cur    atomic.Pointer[Manifest]
	closed atomic.Bool

	// mu serialises changes to the manifest (Commit, and the reads of the
	// current manifest that the changes are computed from).
	mu struct {
		sync.Mutex
		// failed is the error that made the store refuse changes (ErrFailed).
		failed error
	}

	// dirs guards partition directories: Write holds it shared from creating
	// its directory until its file is in it, CollectGarbage exclusively
	// while it removes empty ones.
	dirs sync.RWMutex

	// quarantined are the paths (relative to dir) Open moved to quarantine.
	quarantined []string

	footers *footerCache
}

// Open opens the store in dir, creating dir if needed. It loads the
// MANIFEST (none means an empty store), deletes temporary files and Parquet
// files that no manifest version lists (left by a crash between Write and
// Commit), checks every live file (its size and Parquet footer) and moves a
// damaged one to dir/quarantine, removing it from the manifest, and deletes
// the garbage whose grace has passed.
func Open(dir string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, dirPermissions); err != nil {
		return nil, fmt.Errorf("cold: open %s: %w", dir, err)
	}
	s := &Store{
		dir:     dir,
		log:     opts.Logger,
		mem:     opts.Allocator,
		clock:   opts.Clock,
		opts:    opts,
		footers: newFooterCache(footerCacheBytes),
	}
	m, err := s.loadManifest()
	if err != nil {
		return nil, err
	}
	s.cur.Store(m)
	if err := s.removeOrphans(m); err != nil {
		return nil, err
	}
	if err := s.verify(); err != nil {
		return nil, err
	}
	if _, err := s.CollectGarbage(); err != nil {
		return nil, err
	}
	return s, nil
}

// loadManifest reads dir/MANIFEST.
func (s *Store) loadManifest() (*Manifest, error) {
	name := filepath.Join(s.dir, manifestName)
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return &Manifest{Moved: map[schema.ID]Moved{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cold: read manifest %s: %w", name, err)
	}
	m, err := decodeManifest(b)
	if err != nil {
		return nil, fmt.Errorf("cold: manifest %s: %w", name, err)
	}
	return m, nil
}

// removeOrphans deletes temporary files and Parquet files m neither lists
// as live nor as garbage: what a crash left of a Write, a Commit or a
// garbage collection.
func (s *Store) removeOrphans(m *Manifest) error {
	known := make(map[string]bool, len(m.Files)+len(m.Garbage))
	for _, f := range m.Files {
		known[f.Path] = true
	}
	for _, g := range m.Garbage {
		known[g.Path] = true
	}
	return filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("cold: open: scan %s: %w", p, err)
		}
		rel, err := filepath.Rel(s.dir, p)
		if err != nil {
			return fmt.Errorf("cold: open: %w", err)
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == quarantineDir {
				return filepath.SkipDir
			}
			return nil
		}
		orphan := strings.HasSuffix(rel, tmpSuffix) || (strings.HasSuffix(rel, parquetSuffix) && !known[rel])
		if !orphan {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cold: open: remove orphan %s: %w", p, err)
		}
		s.log.Info("cold: removed orphan file", "path", rel)
		return nil
	})
}

// verify checks every live file and quarantines the damaged ones.
func (s *Store) verify() error {
	m := s.cur.Load()
	var bad []string
	for _, f := range m.Files {
		reason := s.check(f)
		if reason == nil {
			continue
		}
		bad = append(bad, f.Path)
		src := filepath.Join(s.dir, filepath.FromSlash(f.Path))
		dst := filepath.Join(s.dir, quarantineDir, filepath.FromSlash(f.Path))
		moveErr := os.MkdirAll(filepath.Dir(dst), dirPermissions)
		if moveErr == nil {
			moveErr = os.Rename(src, dst)
		}
		if errors.Is(moveErr, fs.ErrNotExist) {
			moveErr = nil // nothing to move
		}
		if moveErr != nil {
			return fmt.Errorf("cold: open: quarantine %s: %w", f.Path, moveErr)
		}
		s.log.Error("cold: quarantined damaged file", "path", f.Path, "table", f.Table.String(), "rows", f.Rows, "reason", reason.Error(), "moved_to", filepath.ToSlash(filepath.Join(quarantineDir, f.Path)))
	}
	if len(bad) == 0 {
		return nil
	}
	s.quarantined = bad
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.cur.Load().without(bad)
	if err := s.publish(next); err != nil {
		return fmt.Errorf("cold: open: remove quarantined files from the manifest: %w", err)
	}
	return nil
}

// check returns why f is unusable, or nil.
func (s *Store) check(f File) error {
	name := filepath.Join(s.dir, filepath.FromSlash(f.Path))
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	if info.Size() != f.Bytes {
		return fmt.Errorf("size is %d bytes, manifest says %d", info.Size(), f.Bytes)
	}
	ft, err := s.footer(f)
	if err != nil {
		return err
	}
	if n := ft.meta.NumRows; n != f.Rows {
		return fmt.Errorf("footer has %d rows, manifest says %d", n, f.Rows)
	}
	return nil
}

// without returns a new version of m without the live files at paths, which
// do not become garbage (they are gone or quarantined).
func (m *Manifest) without(paths []string) *Manifest {
	next := &Manifest{Version: m.Version + 1, Moved: m.Moved, Garbage: m.Garbage}
	for _, f := range m.Files {
		if !slices.Contains(paths, f.Path) {
			next.Files = append(next.Files, f)
		}
	}
	return next
}

// Quarantined returns the paths (relative to the store's directory, as the
// manifest had them) of the files Open found damaged and moved to
// dir/quarantine/<path>.
func (s *Store) Quarantined() []string { return slices.Clone(s.quarantined) }

// Manifest returns the current manifest. It is immutable: a reader holding it
// can still read its files for Options.GCGrace after a Commit removes them.
func (s *Store) Manifest() *Manifest { return s.cur.Load() }

// Dir returns the store's directory; File.Path is relative to it.
func (s *Store) Dir() string { return s.dir }

// Commit publishes a new manifest version with c applied, atomically: it
// writes MANIFEST.tmp, fsyncs it, renames it over MANIFEST and fsyncs the
// directory. Removed files become Garbage stamped with the clock's now.
// Commits are serialised. It returns the new manifest.
func (s *Store) Commit(c Change) (*Manifest, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.failed != nil {
		return nil, s.mu.failed
	}
	next, err := s.cur.Load().apply(c, s.clock().UnixNano())
	if err != nil {
		return nil, err
	}
	for _, f := range c.Add {
		info, err := os.Stat(filepath.Join(s.dir, filepath.FromSlash(f.Path)))
		if err != nil {
			return nil, fmt.Errorf("cold: commit: added file: %w", err)
		}
		if info.Size() != f.Bytes {
			return nil, fmt.Errorf("%w: added file %s has %d bytes, File says %d", ErrInvalid, f.Path, info.Size(), f.Bytes)
		}
	}
	if err := s.publish(next); err != nil {
		return nil, err
	}
	return next, nil
}

// publish writes m as the MANIFEST and makes it current. The caller holds mu.
// An error before the rename leaves the old version in place and current; an
// error after it (the directory fsync) fails the store.
func (s *Store) publish(m *Manifest) error {
	b, err := m.encode()
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, manifestTmp)
	if err := s.writeManifestTmp(tmp, b); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cold: commit version %d: %w", m.Version, err)
	}
	if err := s.opts.FaultHook("commit-rename"); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cold: commit version %d: rename: %w", m.Version, err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, manifestName)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cold: commit version %d: rename: %w", m.Version, err)
	}
	// The rename happened: m is what a reopen reads unless the machine
	// crashes before the directory reaches the disk.
	s.cur.Store(m)
	if err := syncDir(s.dir); err != nil {
		s.mu.failed = fmt.Errorf("%w: commit version %d: fsync %s: %w", ErrFailed, m.Version, s.dir, err)
		return s.mu.failed
	}
	return nil
}

func (s *Store) writeManifestTmp(tmp string, b []byte) error {
	if err := s.opts.FaultHook("commit-write"); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("write: %w", err)
	}
	if err := s.opts.FaultHook("commit-fsync"); err != nil {
		_ = f.Close()
		return fmt.Errorf("fsync: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("fsync: %w", err)
	}
	return f.Close()
}

// CollectGarbage deletes the removed files whose grace (Options.GCGrace) has
// passed, and the partition directories that leaves empty, and commits the
// manifest without them. It returns how many files it deleted.
func (s *Store) CollectGarbage() (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.failed != nil {
		return 0, s.mu.failed
	}
	m := s.cur.Load()
	deadline := s.clock().Add(-s.opts.GCGrace).UnixNano()
	var keep []Garbage
	var gone []string
	for _, g := range m.Garbage {
		if g.Removed > deadline {
			keep = append(keep, g)
			continue
		}
		// A file is deleted before the manifest forgets it: a crash in
		// between leaves a garbage entry without a file, which is harmless.
		if err := os.Remove(filepath.Join(s.dir, filepath.FromSlash(g.Path))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("cold: collect garbage: %w", err)
		}
		s.footers.drop(g.Path)
		gone = append(gone, g.Path)
	}
	if len(gone) == 0 {
		return 0, nil
	}
	s.removeEmptyDirs(gone)
	next := &Manifest{Version: m.Version + 1, Files: m.Files, Moved: m.Moved, Garbage: keep}
	if err := s.publish(next); err != nil {
		return 0, err
	}
	s.log.Info("cold: collected garbage", "files", len(gone), "left", len(keep))
	return len(gone), nil
}

// removeEmptyDirs removes the partition (hour and date) directories of the
// deleted files at paths, where they are empty.
func (s *Store) removeEmptyDirs(paths []string) {
	s.dirs.Lock()
	defer s.dirs.Unlock()
	seen := map[string]bool{}
	for _, p := range paths {
		hour := path.Dir(p)
		date := path.Dir(hour)
		for _, d := range []string{hour, date} {
			if seen[d] {
				continue
			}
			seen[d] = true
			// Remove fails on a directory that is not empty: that is the test.
			_ = os.Remove(filepath.Join(s.dir, filepath.FromSlash(d)))
		}
	}
}

// Close closes the store. Readers returned by Scan keep their files open and
// may still be read.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return ErrClosed
	}
	s.footers.clear()
	return nil
}

// coldTable returns the table id names, if the cold tier stores it.
func coldTable(id schema.ID) (*schema.Table, error) {
	t, err := schema.ByID(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if t.TimeIndex < 0 {
		return nil, fmt.Errorf("%w: table %s has no time column and is not stored in the cold tier", ErrInvalid, t.Name)
	}
	return t, nil
}
