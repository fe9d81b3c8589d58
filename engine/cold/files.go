package cold

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/tael/tael/schema"
)

// hourNs is the width of a partition, in ns.
const hourNs = int64(time.Hour)

// Names of the store's own files in its directory.
const (
	manifestName   = "MANIFEST"
	quarantineDir  = "quarantine"
	tmpSuffix      = ".tmp"
	parquetSuffix  = ".parquet"
	manifestTmp    = manifestName + tmpSuffix
	dirPermissions = 0o755
)

// partitionDir returns the slash-separated directory, relative to the
// store's, of table t's partition starting at hour.
func partitionDir(t *schema.Table, hour int64) string {
	h := time.Unix(0, hour).UTC()
	return path.Join(t.Name, h.Format("date=2006-01-02"), fmt.Sprintf("hour=%02d", h.Hour()))
}

// hourOf returns the start of the hour partition holding t (Unix ns).
func hourOf(t int64) int64 {
	h := t / hourNs * hourNs
	if h > t { // negative t: division truncated toward zero
		h -= hourNs
	}
	return h
}

// crockford is Crockford's base32 alphabet, in ascending byte order so that
// ids sort like the numbers they encode.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newID returns a ULID-like id for a new file: 26 characters of Crockford
// base32 encoding 48 bits of Unix milliseconds followed by 80 random bits,
// so that ids sort by creation time (to the millisecond) and never collide.
func newID(now time.Time) (string, error) {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	if _, err := rand.Read(b[6:]); err != nil {
		return "", fmt.Errorf("cold: new file id: %w", err)
	}
	return encodeID(b), nil
}

// encodeID encodes 128 bits as 26 base32 digits, most significant first
// (the first digit holds the top 3 bits, as in ULID).
func encodeID(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// syncDir fsyncs directory dir, so that entries created, renamed or removed
// in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// mkdirAll creates dir and its missing parents below root, fsyncing the
// parent of each directory it creates.
func mkdirAll(root, rel string) error {
	var missing []string
	for d := rel; d != "." && d != "/"; d = path.Dir(d) {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(d))); err == nil {
			break
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := filepath.Join(root, filepath.FromSlash(missing[i]))
		if err := os.Mkdir(d, dirPermissions); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}
