// Package badgerdb holds what the engine's Badger stores (engine/hot,
// engine/blob) share: opening a database after repairing the one kind of
// crash damage Badger v4 cannot open by itself, routing Badger's logs to
// slog, and reading and writing a uint64 under a key (the applied WAL
// watermark).
//
// The repair: Badger creates a new value-log file at every open, and a new
// memtable log file (*.mem) at open and whenever a memtable fills. A crash
// between creating such a file and writing its header leaves it zero bytes
// long, and the next open fails with `Open existing file: "…/000041.vlog"
// err: Create a new file`, or `while opening memtables err: while opening
// fid: 1 err: Create a new file` (ristretto's z.OpenMmapFile reports an empty
// file as z.NewFile, which valueLog.open and openMemTables treat as errors).
// A zero-length file holds no entry, so removing it loses nothing. tael's
// crash test (engine.TestCrashRecovery) kills the engine often enough to hit
// both.
package badgerdb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// ErrValue is returned by Uint64 when the stored value is not 8 bytes.
var ErrValue = errors.New("badgerdb: stored value is not a uint64")

// Open removes zero-length value-log and memtable files from opts.Dir, routes Badger's
// warnings and errors to log (nil: discard) tagged with component, then
// opens Badger.
func Open(opts badger.Options, log *slog.Logger, component string) (*badger.DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	entries, err := os.ReadDir(opts.Dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".vlog") || strings.HasSuffix(e.Name(), ".mem")) {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Size() != 0 {
			continue
		}
		path := filepath.Join(opts.Dir, e.Name())
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove empty Badger log %s: %w", path, err)
		}
		log.Warn("removed an empty Badger log file left by a crash", "path", path)
	}
	return badger.Open(opts.WithLogger(logger{log, component}))
}

// Uint64 returns the big-endian uint64 stored under key, or 0 when there is
// none.
func Uint64(db *badger.DB, key []byte) (uint64, error) {
	var n uint64
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("%w: %q is %d bytes", ErrValue, key, len(v))
			}
			n = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	return n, err
}

// SetUint64 stores n under key, big-endian, in a transaction of its own.
func SetUint64(db *badger.DB, key []byte, n uint64) error {
	return db.Update(func(txn *badger.Txn) error {
		return txn.Set(key, binary.BigEndian.AppendUint64(nil, n))
	})
}

// logger routes Badger's messages to slog, dropping Info and Debug.
type logger struct {
	l         *slog.Logger
	component string
}

func (b logger) Errorf(format string, args ...any) {
	b.l.Log(context.Background(), slog.LevelError, message(format, args), "component", b.component)
}

func (b logger) Warningf(format string, args ...any) {
	b.l.Log(context.Background(), slog.LevelWarn, message(format, args), "component", b.component)
}

func (logger) Infof(string, ...any)  {}
func (logger) Debugf(string, ...any) {}

func message(format string, args []any) string {
	return strings.TrimRight(fmt.Sprintf(format, args...), "\n")
}
