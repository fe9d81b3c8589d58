package cold

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"path"
	"slices"
	"strings"

	"github.com/tael/tael/schema"
)

// File is one live Parquet file of the cold tier. In the MANIFEST its table
// is written by name ("table": "spans"), not by ID.
type File struct {
	Table schema.ID
	// Path is relative to the store's directory, slash-separated:
	// <table>/date=YYYY-MM-DD/hour=HH/<id>.parquet.
	Path string
	// Hour is the start of the file's hour partition, Unix ns UTC.
	Hour int64
	// MinTime and MaxTime are the smallest and largest values of the
	// table's time column in the file (both inclusive), Unix ns.
	MinTime, MaxTime int64
	// Rows is the number of rows; Bytes the size of the file.
	Rows, Bytes int64
}

// Moved marks which hot-tier rows of a table already live in cold files:
// every hot row with time < Before (Unix ns) and WAL LSN <= LSN. It only
// grows: Commit rejects a change that lowers either field.
type Moved struct {
	Before int64  `json:"before"`
	LSN    uint64 `json:"lsn"`
}

// Garbage is a file removed from the manifest at Removed (Unix ns, by the
// store's clock), deleted once Options.GCGrace has passed.
type Garbage struct {
	Path    string `json:"path"`
	Removed int64  `json:"removed"`
}

// Manifest is one version of the set of live files. A published Manifest is
// immutable: share it freely, never modify it.
type Manifest struct {
	// Version is 0 for an empty store and grows by one with each Commit.
	Version uint64
	// Files are the live files, ordered by (Table, Hour, Path).
	Files []File
	// Moved is the hot-tier watermark of each table that has one.
	Moved map[schema.ID]Moved
	// Garbage are the removed files not yet deleted, oldest first.
	Garbage []Garbage
}

// Change is what one Commit does to the manifest.
type Change struct {
	// Add are new live files, as Write returned them.
	Add []File
	// Remove are paths of live files to remove; they become Garbage.
	Remove []string
	// Moved sets the watermark of the tables it names; tables it does not
	// name keep theirs. Nil changes none.
	Moved map[schema.ID]Moved
}

// TableFiles returns the live files of table that may hold a row in tr (by
// MinTime and MaxTime), in (Hour, Path) order.
func (m *Manifest) TableFiles(table schema.ID, tr schema.TimeRange) []File {
	var out []File
	if tr.Empty() {
		return out
	}
	for _, f := range m.Files {
		if f.Table == table && f.MinTime < tr.Max && f.MaxTime >= tr.Min {
			out = append(out, f)
		}
	}
	return out
}

// MovedOf returns table's watermark, zero if it has none.
func (m *Manifest) MovedOf(table schema.ID) Moved { return m.Moved[table] }

// file returns the live file at p.
func (m *Manifest) file(p string) (File, bool) {
	for _, f := range m.Files {
		if f.Path == p {
			return f, true
		}
	}
	return File{}, false
}

// isGarbage reports whether p is a removed file not yet deleted.
func (m *Manifest) isGarbage(p string) bool {
	for _, g := range m.Garbage {
		if g.Path == p {
			return true
		}
	}
	return false
}

// apply returns the manifest after c, with removed files stamped now. It
// checks c against m: added paths must be new and well-formed, removed
// paths live, watermarks must not go down.
func (m *Manifest) apply(c Change, now int64) (*Manifest, error) {
	live := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		live[f.Path] = true
	}
	next := &Manifest{Version: m.Version + 1, Moved: make(map[schema.ID]Moved, len(m.Moved))}
	for _, p := range c.Remove {
		if !live[p] {
			return nil, fmt.Errorf("%w: removed file %s is not live", ErrConflict, p)
		}
		delete(live, p)
	}
	for _, f := range m.Files {
		if live[f.Path] {
			next.Files = append(next.Files, f)
		}
	}
	for _, f := range c.Add {
		if err := f.check(); err != nil {
			return nil, err
		}
		if live[f.Path] || m.isGarbage(f.Path) {
			return nil, fmt.Errorf("%w: added file %s is already in the manifest", ErrConflict, f.Path)
		}
		live[f.Path] = true
		next.Files = append(next.Files, f)
	}
	sortFiles(next.Files)
	next.Garbage = slices.Clone(m.Garbage)
	for _, p := range c.Remove {
		next.Garbage = append(next.Garbage, Garbage{Path: p, Removed: now})
	}
	for t, mv := range m.Moved {
		next.Moved[t] = mv
	}
	for t, mv := range c.Moved {
		if _, err := schema.ByID(t); err != nil {
			return nil, fmt.Errorf("%w: moved: %w", ErrInvalid, err)
		}
		old := m.Moved[t]
		if mv.Before < old.Before || mv.LSN < old.LSN {
			return nil, fmt.Errorf("%w: table %s: moved watermark would go back from %+v to %+v", ErrConflict, t, old, mv)
		}
		next.Moved[t] = mv
	}
	return next, nil
}

func sortFiles(fs []File) {
	slices.SortFunc(fs, func(a, b File) int {
		if a.Table != b.Table {
			return int(a.Table) - int(b.Table)
		}
		if a.Hour != b.Hour {
			if a.Hour < b.Hour {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Path, b.Path)
	})
}

// check reports whether f could have been written by Write.
func (f File) check() error {
	t, err := schema.ByID(f.Table)
	if err != nil {
		return fmt.Errorf("%w: file %s: %w", ErrInvalid, f.Path, err)
	}
	if err := checkPath(f.Path); err != nil {
		return err
	}
	if want := partitionDir(t, f.Hour); path.Dir(f.Path) != want {
		return fmt.Errorf("%w: file %s is not in its partition %s", ErrInvalid, f.Path, want)
	}
	if f.Rows <= 0 || f.Bytes <= 0 || f.MinTime > f.MaxTime || f.MinTime < f.Hour || f.MaxTime >= f.Hour+hourNs {
		return fmt.Errorf("%w: file %s: bad fields %+v", ErrInvalid, f.Path, f)
	}
	return nil
}

// checkPath reports whether p is a clean relative path of a Parquet file
// inside the store's directory.
func checkPath(p string) error {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || strings.HasPrefix(p, "../") || strings.Contains(p, `\`) || !strings.HasSuffix(p, ".parquet") {
		return fmt.Errorf("%w: bad file path %q", ErrInvalid, p)
	}
	return nil
}

// The MANIFEST file is JSON:
//
//	{"format": 1, "crc32c": <CRC32C of the bytes of "manifest">, "manifest": {
//	  "version": 7,
//	  "files": [{"table": "spans", "path": "...", "hour": ..., "min_time": ...,
//	             "max_time": ..., "rows": ..., "bytes": ...}],
//	  "moved": {"spans": {"before": ..., "lsn": ...}},
//	  "garbage": [{"path": "...", "removed": ...}]}}
const manifestFormat = 1

type manifestEnvelope struct {
	Format   int             `json:"format"`
	CRC32C   uint32          `json:"crc32c"`
	Manifest json.RawMessage `json:"manifest"`
}

type manifestJSON struct {
	Version uint64           `json:"version"`
	Files   []fileJSON       `json:"files"`
	Moved   map[string]Moved `json:"moved,omitempty"`
	Garbage []Garbage        `json:"garbage"`
}

type fileJSON struct {
	Table   string `json:"table"`
	Path    string `json:"path"`
	Hour    int64  `json:"hour"`
	MinTime int64  `json:"min_time"`
	MaxTime int64  `json:"max_time"`
	Rows    int64  `json:"rows"`
	Bytes   int64  `json:"bytes"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encode returns the MANIFEST bytes of m.
func (m *Manifest) encode() ([]byte, error) {
	mj := manifestJSON{Version: m.Version, Files: make([]fileJSON, len(m.Files)), Garbage: m.Garbage}
	if mj.Garbage == nil {
		mj.Garbage = []Garbage{}
	}
	for i, f := range m.Files {
		mj.Files[i] = fileJSON{Table: f.Table.String(), Path: f.Path, Hour: f.Hour, MinTime: f.MinTime, MaxTime: f.MaxTime, Rows: f.Rows, Bytes: f.Bytes}
	}
	if len(m.Moved) > 0 {
		mj.Moved = make(map[string]Moved, len(m.Moved))
		for t, mv := range m.Moved {
			mj.Moved[t.String()] = mv
		}
	}
	body, err := json.MarshalIndent(mj, "", " ")
	if err != nil {
		return nil, fmt.Errorf("cold: encode manifest: %w", err)
	}
	// Written by hand, not with json.Marshal, which would compact body and
	// so change the bytes the checksum covers.
	out := fmt.Appendf(nil, "{\"format\": %d, \"crc32c\": %d, \"manifest\": ", manifestFormat, crc32.Checksum(body, castagnoli))
	out = append(out, body...)
	return append(out, "}\n"...), nil
}

// decodeManifest parses MANIFEST bytes. Any error wraps ErrCorruptManifest.
func decodeManifest(b []byte) (*Manifest, error) {
	var env manifestEnvelope
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptManifest, err)
	}
	if env.Format != manifestFormat {
		return nil, fmt.Errorf("%w: format %d, want %d", ErrCorruptManifest, env.Format, manifestFormat)
	}
	if got := crc32.Checksum(env.Manifest, castagnoli); got != env.CRC32C {
		return nil, fmt.Errorf("%w: checksum %#x, want %#x", ErrCorruptManifest, got, env.CRC32C)
	}
	var mj manifestJSON
	if err := json.Unmarshal(env.Manifest, &mj); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptManifest, err)
	}
	m := &Manifest{Version: mj.Version, Files: make([]File, len(mj.Files)), Moved: make(map[schema.ID]Moved, len(mj.Moved)), Garbage: mj.Garbage}
	seen := make(map[string]bool, len(mj.Files)+len(mj.Garbage))
	for i, fj := range mj.Files {
		t, err := schema.ByName(fj.Table)
		if err != nil {
			return nil, fmt.Errorf("%w: file %s: %w", ErrCorruptManifest, fj.Path, err)
		}
		f := File{Table: t.ID, Path: fj.Path, Hour: fj.Hour, MinTime: fj.MinTime, MaxTime: fj.MaxTime, Rows: fj.Rows, Bytes: fj.Bytes}
		if err := f.check(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorruptManifest, err)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("%w: file %s listed twice", ErrCorruptManifest, f.Path)
		}
		seen[f.Path] = true
		m.Files[i] = f
	}
	for _, g := range m.Garbage {
		if err := checkPath(g.Path); err != nil {
			return nil, fmt.Errorf("%w: garbage: %w", ErrCorruptManifest, err)
		}
		if seen[g.Path] {
			return nil, fmt.Errorf("%w: file %s listed twice", ErrCorruptManifest, g.Path)
		}
		seen[g.Path] = true
	}
	for name, mv := range mj.Moved {
		t, err := schema.ByName(name)
		if err != nil {
			return nil, fmt.Errorf("%w: moved: %w", ErrCorruptManifest, err)
		}
		m.Moved[t.ID] = mv
	}
	sortFiles(m.Files)
	return m, nil
}
