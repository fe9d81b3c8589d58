package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
)

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadBody(t *testing.T) {
	body := []byte(strings.Repeat("x", 1000))
	bomb := gz(t, make([]byte, 64<<20)) // 64 MiB of zeros, ~64 KiB on the wire
	cases := []struct {
		name     string
		in       []byte
		encoding string
		max      int64
		want     error
		wantLen  int
	}{
		{"plain", body, "", 1000, nil, 1000},
		{"identity", body, "identity", 1000, nil, 1000},
		{"gzip", gz(t, body), "gzip", 1000, nil, 1000},
		{"plain over limit", body, "", 999, ErrTooLarge, 0},
		{"gzip over limit", gz(t, body), "gzip", 999, ErrTooLarge, 0},
		{"gzip bomb", bomb, "gzip", 16 << 20, ErrTooLarge, 0},
		{"not gzip", body, "gzip", 1 << 20, ErrEncoding, 0},
		{"truncated gzip", gz(t, body)[:20], "gzip", 1 << 20, ErrEncoding, 0},
		{"brotli", body, "br", 1 << 20, ErrEncoding, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadBody(bytes.NewReader(c.in), c.encoding, c.max)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err == nil && len(got) != c.wantLen {
				t.Fatalf("len = %d, want %d", len(got), c.wantLen)
			}
		})
	}
}

func TestGate(t *testing.T) {
	g := NewGate(100)
	if err := g.Acquire(60); err != nil {
		t.Fatal(err)
	}
	if err := g.Acquire(50); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("over budget: err = %v", err)
	}
	if err := g.Acquire(40); err != nil {
		t.Fatal(err)
	}
	g.Release(60)
	g.Release(40)
	if g.InUse() != 0 {
		t.Fatalf("in use = %d", g.InUse())
	}
	// One request larger than the budget still goes through alone.
	if err := g.Acquire(500); err != nil {
		t.Fatal(err)
	}
	if err := g.Acquire(1); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("err = %v", err)
	}
	g.Release(500)
}
