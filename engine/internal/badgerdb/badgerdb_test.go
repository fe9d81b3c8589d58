package badgerdb

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// A crash can leave Badger's newest value-log or memtable file zero bytes
// long; Badger alone then refuses to open. Open must repair that and keep
// every committed key.
func TestOpenAfterEmptyLogFiles(t *testing.T) {
	dir := t.TempDir()
	opts := badger.DefaultOptions(dir).WithSyncWrites(true)
	db, err := Open(opts, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := SetUint64(db, []byte("k"), 42); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"000099.vlog", "00099.mem"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if db, err := badger.Open(opts); err == nil {
		db.Close()
		t.Log("badger opened the damaged directory by itself: the repair may no longer be needed")
	}
	for _, name := range []string{"000099.vlog", "00099.mem"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, err = Open(opts, nil, "test")
	if err != nil {
		t.Fatalf("open after empty log files: %v", err)
	}
	defer db.Close()
	if n, err := Uint64(db, []byte("k")); err != nil || n != 42 {
		t.Fatalf("k = %d, %v; want 42", n, err)
	}
}
