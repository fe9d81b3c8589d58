package cold

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// footerCacheFiles bounds the footers kept in memory. A footer of a
// million-span file with 16,384-row row groups is about 0.5 MiB of Go
// objects; 256 of them cover weeks of hourly files, and a miss costs one
// read of the footer (about 1 ms).
const footerCacheFiles = 256

// footer is the parsed metadata of one Parquet file, which never changes
// once the file is written.
type footer struct {
	meta *metadata.FileMetaData
	// leaves[i] are the Parquet leaf columns of the table's field i.
	leaves [][]int

	// traceStats are the trace_id statistics of a spans file's row groups,
	// decoded on the first Trace.
	traceStats traceStats

	// blooms holds the trace_id bloom filter of each row group of a spans
	// file, read on the first Trace that needs them.
	blooms struct {
		once sync.Once
		err  error
		bf   []metadata.BloomFilter // nil entries: no filter
	}
}

// footerCache maps a file's path to its footer.
type footerCache struct {
	mu  sync.Mutex // guards m
	max int
	m   map[string]*footer
}

func newFooterCache(max int) *footerCache {
	return &footerCache{max: max, m: make(map[string]*footer)}
}

func (c *footerCache) get(p string) *footer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[p]
}

func (c *footerCache) put(p string, f *footer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m { // evict an arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[p] = f
}

func (c *footerCache) drop(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, p)
}

func (c *footerCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// readProps are the Parquet reader properties. Page buffers come from the Go
// heap: the reader pools them and frees them through finalizers.
func readProps() *parquet.ReaderProperties {
	p := parquet.NewReaderProperties(memory.NewGoAllocator())
	p.BufferedStreamEnabled = bufferedStream
	return p
}

// bufferedStream makes the Parquet reader read column chunks through a
// buffer instead of whole; see doc.go.
var bufferedStream = true

// footer returns the footer of f, reading and checking it on a cache miss:
// the file must hold the Arrow schema of f's table.
func (s *Store) footer(f File) (*footer, error) {
	if ft := s.footers.get(f.Path); ft != nil {
		return ft, nil
	}
	t, err := coldTable(f.Table)
	if err != nil {
		return nil, err
	}
	r, err := file.OpenParquetFile(s.path(f.Path), false, file.WithReadProps(readProps()))
	if err != nil {
		return nil, fmt.Errorf("cold: read footer of %s: %w", f.Path, err)
	}
	defer r.Close()
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, memory.NewGoAllocator())
	if err != nil {
		return nil, fmt.Errorf("cold: read footer of %s: %w", f.Path, err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("cold: read footer of %s: %w", f.Path, err)
	}
	if err := t.Check(sc); err != nil {
		// Files store zone-less times (zone.go).
		if !sameColumns(sc, fileSchema(t)) {
			return nil, fmt.Errorf("cold: file %s: %w", f.Path, err)
		}
	}
	ft := &footer{meta: r.MetaData(), leaves: make([][]int, len(fr.Manifest.Fields))}
	for i := range fr.Manifest.Fields {
		ft.leaves[i] = leavesOf(&fr.Manifest.Fields[i], nil)
	}
	s.footers.put(f.Path, ft)
	return ft, nil
}

// leavesOf appends the leaf column indexes under sf to out.
func leavesOf(sf *pqarrow.SchemaField, out []int) []int {
	if sf.IsLeaf() {
		return append(out, sf.ColIndex)
	}
	for i := range sf.Children {
		out = leavesOf(&sf.Children[i], out)
	}
	return out
}

// path returns the OS path of the file at the relative path p.
func (s *Store) path(p string) string { return filepath.Join(s.dir, filepath.FromSlash(p)) }

// openFile opens f for reading with its cached footer.
func (s *Store) openFile(f File) (*file.Reader, *footer, error) {
	ft, err := s.footer(f)
	if err != nil {
		return nil, nil, err
	}
	osf, err := os.Open(s.path(f.Path))
	if err != nil {
		return nil, nil, fmt.Errorf("cold: open %s: %w", f.Path, err)
	}
	r, err := file.NewParquetReader(osf, file.WithReadProps(readProps()), file.WithMetadata(ft.meta))
	if err != nil {
		_ = osf.Close()
		return nil, nil, fmt.Errorf("cold: open %s: %w", f.Path, err)
	}
	return r, ft, nil
}
