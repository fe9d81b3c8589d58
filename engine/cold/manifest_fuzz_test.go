package cold

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tael/tael/schema"
)

// FuzzDecodeManifest feeds MANIFEST bytes to the decoder: it never panics,
// every refusal wraps ErrCorruptManifest, and what it accepts encodes back
// to a manifest that decodes the same.
func FuzzDecodeManifest(f *testing.F) {
	good := &Manifest{
		Version: 3,
		Files: []File{{Table: schema.Spans, Path: "spans/date=2026-01-01/hour=00/01M8EQKJK86ZYTXQ2C571X5FXV.parquet",
			Hour: 1767225600000000000, MinTime: 1767225600000000000, MaxTime: 1767225604247000000, Rows: 870, Bytes: 47250}},
		Moved:   map[schema.ID]Moved{schema.Spans: {Before: 1767225900000000000, LSN: 42}},
		Garbage: []Garbage{{Path: "spans/date=2026-01-01/hour=00/01M8EQKM6DZYB47N5M9DM7CEKS.parquet", Removed: 5}},
	}
	b, err := good.encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"format": 1, "crc32c": 0, "manifest": {}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := decodeManifest(in)
		if err != nil {
			if !errors.Is(err, ErrCorruptManifest) {
				t.Fatalf("error %v does not wrap ErrCorruptManifest", err)
			}
			return
		}
		out, err := m.encode()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := decodeManifest(out)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		out2, _ := m2.encode()
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip differs:\n%s\n%s", out, out2)
		}
	})
}
