package cold

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

var steps = []string{"write", "fsync", "rename", "commit-write", "commit-fsync", "commit-rename"}

// TestFaults fails each step of a Write and Commit pair that replaces file A
// (rows RA) with file B (rows RA ∪ RB), and also copies the directory as it
// is just before each step, as a crash there would leave it. Reopened, the
// store must hold exactly RA or exactly RA ∪ RB, with no temporary or
// orphan file left.
func TestFaults(t *testing.T) {
	for _, step := range append(steps, "done") {
		for _, mode := range []string{"error", "crash"} {
			if step == "done" && mode == "error" {
				continue
			}
			t.Run(step+"/"+mode, func(t *testing.T) {
				h := newHarness(t)
				ra := synth.Logs(h.mem, synth.LogOptions{Rows: 300, Start: t0, Step: time.Second, Seed: 1})
				defer ra.Release()
				rb := synth.Logs(h.mem, synth.LogOptions{Rows: 200, Start: t0.Add(10 * time.Minute), Step: time.Second, Seed: 2})
				defer rb.Release()
				a := h.write(schema.Logs, t0, ra)
				oldRows := filterRows(schema.Logs, []arrow.RecordBatch{ra}, schema.AllTime, nil)
				newRows := filterRows(schema.Logs, []arrow.RecordBatch{ra, rb}, schema.AllTime, nil)

				crashDir := ""
				injected := errors.New("injected")
				h.opts.FaultHook = func(s string) error {
					if s != step {
						return nil
					}
					if mode == "crash" {
						crashDir = t.TempDir()
						copyDir(t, h.dir, crashDir)
						return nil
					}
					return injected
				}
				h.reopen()
				f, err := h.s.Write(context.Background(), schema.Logs, t0.UnixNano(), []arrow.RecordBatch{ra, rb})
				if err == nil {
					_, err = h.s.Commit(Change{Add: []File{f}, Remove: []string{a.Path}})
				}
				if step == "done" {
					crashDir = t.TempDir()
					copyDir(t, h.dir, crashDir)
				}
				if mode == "error" {
					if !errors.Is(err, injected) {
						t.Fatalf("err = %v, want the injected error", err)
					}
				} else {
					if err != nil {
						t.Fatal(err)
					}
					h.dir = crashDir
				}
				h.opts.FaultHook = nil
				h.reopen()
				got := h.scanRows(nil, schema.Logs, schema.AllTime, nil)
				m := h.s.Manifest()
				if step == "done" && !slices.Equal(got, newRows) {
					t.Fatal("a completed commit was lost")
				}
				switch {
				case slices.Equal(got, oldRows):
					if m.Version != 1 {
						t.Fatalf("old rows in version %d", m.Version)
					}
				case slices.Equal(got, newRows):
					if m.Version != 2 || len(m.Garbage) != 1 {
						t.Fatalf("new rows in version %d, garbage %v", m.Version, m.Garbage)
					}
				default:
					t.Fatalf("%d rows, neither the old %d nor the new %d", len(got), len(oldRows), len(newRows))
				}
				checkNoStrays(t, h.dir, m)
			})
		}
	}
}

// checkNoStrays fails t if dir holds a temporary file or a Parquet file m
// does not list.
func checkNoStrays(t *testing.T, dir string, m *Manifest) {
	t.Helper()
	for _, p := range files(t, dir) {
		switch {
		case strings.HasSuffix(p, ".tmp"):
			t.Fatalf("temporary file %s left", p)
		case strings.HasSuffix(p, ".parquet"):
			if _, ok := m.file(p); !ok && !m.isGarbage(p) {
				t.Fatalf("orphan %s left", p)
			}
		}
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOrphansRemoved(t *testing.T) {
	h := newHarness(t)
	var logs bytes.Buffer
	h.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h.reopen()
	r := synth.Logs(h.mem, synth.LogOptions{Rows: 10, Start: t0})
	defer r.Release()
	live := h.write(schema.Logs, t0, r)
	orphan, err := h.s.Write(context.Background(), schema.Logs, t0.UnixNano(), []arrow.RecordBatch{r})
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(filepath.Dir(h.s.path(live.Path)), "01ABC.tmp")
	if err := os.WriteFile(tmp, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "MANIFEST.tmp"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	want := []string{"MANIFEST", live.Path}
	if got := files(t, h.dir); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	for _, p := range []string{orphan.Path, "01ABC.tmp", "MANIFEST.tmp"} {
		if !strings.Contains(logs.String(), p) {
			t.Fatalf("log does not name %s:\n%s", p, logs.String())
		}
	}
	if got := h.scanRows(nil, schema.Logs, schema.AllTime, nil); len(got) != 10 {
		t.Fatalf("%d rows", len(got))
	}
}

func TestQuarantine(t *testing.T) {
	h := newHarness(t)
	var hours []File
	var rows int
	for i := range 4 {
		r := synth.Logs(h.mem, synth.LogOptions{Rows: 100 + i, Start: t0.Add(time.Duration(i) * time.Hour), Seed: uint64(i)})
		hours = append(hours, h.write(schema.Logs, t0.Add(time.Duration(i)*time.Hour), r))
		r.Release()
	}
	// 0: truncated; 1: garbage bytes of the right size; 2: deleted;
	// 3: intact.
	truncated, scrambled, deleted := hours[0], hours[1], hours[2]
	rows = int(hours[3].Rows)
	if err := os.Truncate(h.s.path(truncated.Path), truncated.Bytes/2); err != nil {
		t.Fatal(err)
	}
	junk := bytes.Repeat([]byte("garbage!"), int(scrambled.Bytes)/8+1)[:scrambled.Bytes]
	if err := os.WriteFile(h.s.path(scrambled.Path), junk, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(h.s.path(deleted.Path)); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	before := h.s.Manifest().Version
	h.reopen()

	want := []string{truncated.Path, scrambled.Path, deleted.Path}
	if got := h.s.Quarantined(); !slices.Equal(got, want) {
		t.Fatalf("Quarantined() = %v, want %v", got, want)
	}
	m := h.s.Manifest()
	if m.Version != before+1 || len(m.Files) != 1 || m.Files[0] != hours[3] {
		t.Fatalf("manifest %+v", m)
	}
	for _, f := range want[:2] {
		if _, err := os.Stat(filepath.Join(h.dir, "quarantine", filepath.FromSlash(f))); err != nil {
			t.Fatalf("%s not in quarantine: %v", f, err)
		}
		if _, err := os.Stat(h.s.path(f)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s still in place", f)
		}
	}
	for _, f := range want {
		line := lineWith(logs.String(), f)
		if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "reason=") {
			t.Fatalf("no error log naming %s:\n%s", f, logs.String())
		}
	}
	if got := h.scanRows(nil, schema.Logs, schema.AllTime, nil); len(got) != rows {
		t.Fatalf("%d rows left, want %d", len(got), rows)
	}
	// Quarantined files are not orphans: a second Open leaves them.
	h.reopen()
	if len(h.s.Quarantined()) != 0 {
		t.Fatal("second open quarantined again")
	}
	if _, err := os.Stat(filepath.Join(h.dir, "quarantine", filepath.FromSlash(truncated.Path))); err != nil {
		t.Fatal(err)
	}
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// TestDirFsyncFailure: a Commit that renamed its MANIFEST but could not
// sync the directory fails the store.
func TestFailedStore(t *testing.T) {
	h := newHarness(t)
	h.s.mu.Lock()
	h.s.mu.failed = ErrFailed
	h.s.mu.Unlock()
	if _, err := h.s.Commit(Change{}); !errors.Is(err, ErrFailed) {
		t.Fatalf("commit: %v", err)
	}
	if _, err := h.s.DropBefore(context.Background(), schema.Logs, t0.UnixNano()); !errors.Is(err, ErrFailed) {
		t.Fatalf("drop: %v", err)
	}
	if _, err := h.s.CollectGarbage(); !errors.Is(err, ErrFailed) {
		t.Fatalf("collect: %v", err)
	}
	h.reopen() // reopening clears it
	if _, err := h.s.Commit(Change{}); err != nil {
		t.Fatal(err)
	}
}
