// Package badgeropen opens a Badger database after repairing the one kind of
// crash damage Badger v4 cannot open by itself.
//
// Badger creates a new value-log file at every open. A crash between creating
// that file and writing its header leaves a zero-length *.vlog file, and the
// next open fails with `Open existing file: "…/000041.vlog" err: Create a new
// file` (value.go: logFile.open returns z.NewFile, which valueLog.open treats
// as an error; memtable files handle the same case). A zero-length file holds
// no value, so no key can point into it: removing it loses nothing. tael's
// crash test (engine.TestCrashRecovery) kills flightd during open often enough
// to hit this.
package badgeropen

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Open removes zero-length value-log files from opts.Dir, then opens Badger.
func Open(opts badger.Options, log *slog.Logger) (*badger.DB, error) {
	entries, err := os.ReadDir(opts.Dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".vlog") {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Size() != 0 {
			continue
		}
		path := filepath.Join(opts.Dir, e.Name())
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove empty value log %s: %w", path, err)
		}
		if log != nil {
			log.Warn("removed an empty Badger value-log file left by a crash", "path", path)
		}
	}
	return badger.Open(opts)
}
