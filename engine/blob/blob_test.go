package blob

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPutGetDedupRefs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	prompt := "user: Wie spät ist es in Zürich? 東京の天気は？"
	long := strings.Repeat("a long log body line\n", 1000)
	blobs := []Blob{
		{SHA256: SHA256(prompt), Kind: KindPrompt, Text: prompt, TraceID: "t1", SpanID: "s1"},
		{SHA256: SHA256(prompt), Kind: KindPrompt, Text: prompt, TraceID: "t2", SpanID: "s2"},
		{SHA256: SHA256(long), Kind: KindLogBody, Text: long, TraceID: "", SpanID: ""},
	}
	if err := s.Put(ctx, blobs, 0, 7); err != nil {
		t.Fatal(err)
	}
	// Replaying the same record changes nothing.
	if err := s.Put(ctx, blobs, 0, 7); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store) {
		t.Helper()
		got, err := s.Get(ctx, SHA256(prompt))
		if err != nil || got.Text != prompt || got.Kind != KindPrompt {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		got, err = s.Get(ctx, SHA256(long))
		if err != nil || got.Text != long || got.Kind != KindLogBody {
			t.Fatalf("Get long: kind %q len %d, %v", got.Kind, len(got.Text), err)
		}
		refs, err := s.Refs(ctx, SHA256(prompt), 0)
		if err != nil || len(refs) != 2 || refs[0] != (Ref{"t1", "s1"}) || refs[1] != (Ref{"t2", "s2"}) {
			t.Fatalf("Refs = %+v, %v", refs, err)
		}
		pending, err := s.Pending(ctx, 10)
		if err != nil || len(pending) != 2 {
			t.Fatalf("Pending = %d, %v; want the 2 distinct texts", len(pending), err)
		}
		if lsn, err := s.AppliedLSN(); err != nil || lsn != 7 {
			t.Fatalf("AppliedLSN = %d, %v", lsn, err)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	check(s)
	if err := s.Indexed(ctx, []string{SHA256(prompt)}); err != nil {
		t.Fatal(err)
	}
	if pending, _ := s.Pending(ctx, 10); len(pending) != 1 || pending[0].Kind != KindLogBody {
		t.Fatalf("after Indexed: pending = %+v", pending)
	}
	// Re-putting an indexed text does not mark it pending again.
	if err := s.Put(ctx, blobs[:1], 0, 8); err != nil {
		t.Fatal(err)
	}
	if pending, _ := s.Pending(ctx, 10); len(pending) != 1 {
		t.Fatalf("re-put marked an indexed text pending: %d", len(pending))
	}
	if _, err := s.Get(ctx, SHA256("absent")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get absent: %v", err)
	}
}

func TestPutRejectsInvalid(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	defer s.Close()
	good := Blob{SHA256: SHA256("x"), Kind: KindPrompt, Text: "x"}
	cases := []struct {
		name string
		b    Blob
	}{
		{"sha of other text", Blob{SHA256: SHA256("y"), Kind: KindPrompt, Text: "x"}},
		{"short sha", Blob{SHA256: "abc", Kind: KindPrompt, Text: "x"}},
		{"non-hex sha", Blob{SHA256: strings.Repeat("z", 64), Kind: KindPrompt, Text: "x"}},
		{"unknown kind", Blob{SHA256: SHA256("x"), Kind: "image", Text: "x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := s.Put(ctx, []Blob{good, c.b}, 0, 1); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			// Nothing of the request was written, not even the good blob.
			if _, err := s.Get(ctx, good.SHA256); !errors.Is(err, ErrNotFound) {
				t.Fatalf("good blob of a refused Put was stored: %v", err)
			}
		})
	}
}
