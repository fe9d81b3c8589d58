package blob

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dgraph-io/badger/v4"
	"github.com/klauspost/compress/zstd"

	"github.com/tael/tael/engine/internal/badgerdb"
)

// Kinds of blob.
const (
	KindPrompt     = "prompt"
	KindCompletion = "completion"
	KindLogBody    = "log_body"
)

var kinds = []string{"", KindPrompt, KindCompletion, KindLogBody}

func kindByte(k string) (byte, bool) {
	for i, s := range kinds {
		if i > 0 && s == k {
			return byte(i), true
		}
	}
	return 0, false
}

var (
	// ErrNotFound is returned by Get for a sha256 the store does not hold.
	ErrNotFound = errors.New("blob: not found")
	// ErrInvalid is returned by Put for a blob whose sha256 is not the hex
	// sha256 of a 64-character form, or whose kind is unknown.
	ErrInvalid = errors.New("blob: invalid blob")
	// errCorrupt reports a stored value that cannot be decoded.
	errCorrupt = errors.New("blob: corrupt stored value")
)

var keyApplied = []byte("m/applied")

const (
	prefixBlob    = 'b'
	prefixRef     = 'r'
	prefixPending = 'p'
	prefixPut     = 'l' // 'l' | sha → time of the latest Put naming it (unix ns, 8 bytes)
)

// Blob is one stored text and one row that references it.
type Blob struct {
	SHA256 string // lowercase hex
	Kind   string // KindPrompt, KindCompletion or KindLogBody
	Text   string
	// TraceID and SpanID name the row that references the text (either
	// may be empty, e.g. a log without trace context).
	TraceID, SpanID string
}

// Ref is a row that references a blob.
type Ref struct{ TraceID, SpanID string }

// Options configures a Store.
type Options struct {
	// Logger receives Badger's warnings and errors. Nil means discard.
	Logger *slog.Logger
}

// Store is the blob store. Its methods are safe for concurrent use.
type Store struct {
	db  *badger.DB
	enc *zstd.Encoder
	dec *zstd.Decoder
}

// Open opens the store in dir, creating it if needed.
func Open(dir string, o Options) (*Store, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	bo := badger.DefaultOptions(dir).
		WithSyncWrites(false). // the WAL gives durability; see package engine
		WithNumVersionsToKeep(1).
		// Texts are a few hundred bytes to a few KiB compressed: above this
		// they go to the value log and keep the LSM small.
		WithValueThreshold(512).
		// Payload volume is a fraction of span volume: 16 MiB memtables
		// keep the store's resident memory small.
		WithMemTableSize(16 << 20).
		WithBlockCacheSize(32 << 20).
		WithIndexCacheSize(16 << 20)
	db, err := badgerdb.Open(bo, o.Logger, "blob-badger")
	if err != nil {
		return nil, fmt.Errorf("blob: open badger in %s: %w", dir, err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		db.Close()
		return nil, err
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, enc: enc, dec: dec}, nil
}

func shaKey(prefix byte, sha string) ([]byte, error) {
	if len(sha) != 64 {
		return nil, fmt.Errorf("%w: sha256 %q is not 64 hex characters", ErrInvalid, sha)
	}
	k := make([]byte, 33, 33+64)
	k[0] = prefix
	if _, err := hex.Decode(k[1:], []byte(sha)); err != nil {
		return nil, fmt.Errorf("%w: sha256 %q: %v", ErrInvalid, sha, err)
	}
	return k, nil
}

// Put stores blobs and their references, and the applied watermark, in one
// transaction (split across several if Badger finds it too big; the
// watermark goes in the last). A text already stored is not rewritten, but
// its put time becomes now (unix ns), which keeps Sweep off it for a while.
// Blobs whose sha256 does not match their text are refused with ErrInvalid
// before anything is written.
func (s *Store) Put(ctx context.Context, blobs []Blob, now int64, watermark uint64) error {
	type entry struct{ k, v []byte }
	var entries []entry
	seen := map[string]bool{}
	for _, b := range blobs {
		if err := Check(b); err != nil {
			return err
		}
		kb, _ := kindByte(b.Kind)
		key, _ := shaKey(prefixBlob, b.SHA256)
		ref := append(append(append(append([]byte{prefixRef}, key[1:]...), b.TraceID...), 0), b.SpanID...)
		entries = append(entries, entry{ref, nil})
		if seen[b.SHA256] {
			continue
		}
		seen[b.SHA256] = true
		entries = append(entries, entry{append([]byte{prefixPut}, key[1:]...), binary.BigEndian.AppendUint64(nil, uint64(now))})
		has, err := s.has(key)
		if err != nil {
			return err
		}
		if has {
			continue
		}
		v := s.enc.EncodeAll([]byte(b.Text), []byte{kb})
		entries = append(entries, entry{key, v}, entry{append([]byte{prefixPending}, key[1:]...), nil})
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	for _, e := range entries {
		err := txn.Set(e.k, e.v)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err := txn.Commit(); err != nil {
				return fmt.Errorf("blob: commit: %w", err)
			}
			txn = s.db.NewTransaction(true)
			err = txn.Set(e.k, e.v)
		}
		if err != nil {
			return fmt.Errorf("blob: write: %w", err)
		}
	}
	if err := txn.Set(keyApplied, binary.BigEndian.AppendUint64(nil, watermark)); err != nil {
		if !errors.Is(err, badger.ErrTxnTooBig) {
			return fmt.Errorf("blob: write: %w", err)
		}
		if err := txn.Commit(); err != nil {
			return fmt.Errorf("blob: commit: %w", err)
		}
		txn = s.db.NewTransaction(true)
		if err := txn.Set(keyApplied, binary.BigEndian.AppendUint64(nil, watermark)); err != nil {
			return fmt.Errorf("blob: write: %w", err)
		}
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("blob: commit: %w", err)
	}
	return nil
}

// Check reports whether b can be stored: a known kind and a sha256 that is
// the hex sha256 of its text. It fails with ErrInvalid.
func Check(b Blob) error {
	if _, ok := kindByte(b.Kind); !ok {
		return fmt.Errorf("%w: unknown kind %q", ErrInvalid, b.Kind)
	}
	if _, err := shaKey(prefixBlob, b.SHA256); err != nil {
		return err
	}
	if got := SHA256(b.Text); got != b.SHA256 {
		return fmt.Errorf("%w: sha256 %s does not match its text (%s)", ErrInvalid, b.SHA256, got)
	}
	return nil
}

func (s *Store) has(key []byte) (bool, error) {
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(key)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("blob: read: %w", err)
	}
	return true, nil
}

// Get returns the blob with that sha256 (TraceID and SpanID empty), or
// ErrNotFound.
func (s *Store) Get(ctx context.Context, sha string) (Blob, error) {
	key, err := shaKey(prefixBlob, sha)
	if err != nil {
		return Blob{}, err
	}
	var out Blob
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: %s", ErrNotFound, sha)
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			b, err := s.decode(sha, v)
			out = b
			return err
		})
	})
	return out, err
}

func (s *Store) decode(sha string, v []byte) (Blob, error) {
	if len(v) < 1 || int(v[0]) >= len(kinds) || v[0] == 0 {
		return Blob{}, fmt.Errorf("%w: %s", errCorrupt, sha)
	}
	text, err := s.dec.DecodeAll(v[1:], nil)
	if err != nil {
		return Blob{}, fmt.Errorf("%w: %s: %v", errCorrupt, sha, err)
	}
	return Blob{SHA256: sha, Kind: kinds[v[0]], Text: string(text)}, nil
}

// Refs returns the rows that reference sha, at most limit (0: all).
func (s *Store) Refs(ctx context.Context, sha string, limit int) ([]Ref, error) {
	key, err := shaKey(prefixRef, sha)
	if err != nil {
		return nil, err
	}
	var refs []Ref
	errEnough := errors.New("enough")
	err = s.db.View(func(txn *badger.Txn) error {
		err := eachRef(txn, key[1:], func(r Ref, _ []byte) error {
			refs = append(refs, r)
			if limit > 0 && len(refs) >= limit {
				return errEnough
			}
			return nil
		})
		if err != nil && !errors.Is(err, errEnough) {
			return err
		}
		return ctx.Err()
	})
	return refs, err
}

// eachRef calls fn with each reference of the blob whose raw sha256 is
// raw, in key order, and the reference's key.
func eachRef(txn *badger.Txn, raw []byte, fn func(r Ref, key []byte) error) error {
	prefix := append([]byte{prefixRef}, raw...)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		rest := it.Item().Key()[len(prefix):]
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return fmt.Errorf("%w: reference key %x", errCorrupt, it.Item().Key())
		}
		if err := fn(Ref{TraceID: string(rest[:i]), SpanID: string(rest[i+1:])}, it.Item().Key()); err != nil {
			return err
		}
	}
	return nil
}

// Pending returns up to limit blobs not yet marked indexed, oldest key first.
func (s *Store) Pending(ctx context.Context, limit int) ([]Blob, error) {
	var out []Blob
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := []byte{prefixPending}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix) && len(out) < limit; it.Next() {
			sha := hex.EncodeToString(it.Item().Key()[1:])
			b, err := s.getTxn(txn, sha)
			if errors.Is(err, ErrNotFound) {
				continue // swept; Indexed clears the key
			}
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return ctx.Err()
	})
	return out, err
}

func (s *Store) getTxn(txn *badger.Txn, sha string) (Blob, error) {
	key, err := shaKey(prefixBlob, sha)
	if err != nil {
		return Blob{}, err
	}
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Blob{}, fmt.Errorf("%w: %s", ErrNotFound, sha)
	}
	if err != nil {
		return Blob{}, err
	}
	var out Blob
	err = item.Value(func(v []byte) error {
		out, err = s.decode(sha, v)
		return err
	})
	return out, err
}

// Indexed clears the pending-index mark of the given blobs. Call it only
// once the full-text index has made them durable.
func (s *Store) Indexed(ctx context.Context, shas []string) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, sha := range shas {
		k, err := shaKey(prefixPending, sha)
		if err != nil {
			return err
		}
		if err := wb.Delete(k); err != nil {
			return fmt.Errorf("blob: clear pending: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("blob: clear pending: %w", err)
	}
	return nil
}

// AppliedLSN returns the stored watermark, or 0.
func (s *Store) AppliedLSN() (uint64, error) {
	lsn, err := badgerdb.Uint64(s.db, keyApplied)
	if err != nil {
		return 0, fmt.Errorf("blob: read applied LSN: %w", err)
	}
	return lsn, nil
}

// SetApplied writes the watermark alone.
func (s *Store) SetApplied(lsn uint64) error {
	if err := badgerdb.SetUint64(s.db, keyApplied, lsn); err != nil {
		return fmt.Errorf("blob: write applied LSN: %w", err)
	}
	return nil
}

// Sync makes every committed write durable.
func (s *Store) Sync() error { return s.db.Sync() }

// Close closes the store.
func (s *Store) Close() error {
	_ = s.enc.Close()
	s.dec.Close()
	return s.db.Close()
}

// Unreferenced returns the blobs that keep rejects and whose latest Put
// was at or before putBefore (unix ns): the candidates of a sweep. keep is
// the set of blobs rows still reference; putBefore protects blobs written
// while that set was being built (and a payload written just before the
// span that references it).
func (s *Store) Unreferenced(ctx context.Context, keep func(sha string) bool, putBefore int64) ([]string, error) {
	var cands []string
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := []byte{prefixBlob}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			raw := it.Item().Key()[1:]
			sha := hex.EncodeToString(raw)
			if keep(sha) {
				continue
			}
			put, err := putTime(txn, raw)
			if err != nil {
				return err
			}
			if put <= putBefore {
				cands = append(cands, sha)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blob: find unreferenced: %w", err)
	}
	return cands, nil
}

// putTime returns the latest put time of a blob, 0 when it has none (a
// blob stored before put times were kept).
func putTime(txn *badger.Txn, raw []byte) (int64, error) {
	item, err := txn.Get(append([]byte{prefixPut}, raw...))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var put int64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("%w: put time of %x", errCorrupt, raw)
		}
		put = int64(binary.BigEndian.Uint64(v))
		return nil
	})
	return put, err
}

// Delete deletes the given blobs with their references and marks, except
// those put after putBefore since Unreferenced chose them: those are marked
// pending again, so the full-text index (from which the caller removed them)
// gets them back. Each blob's keys go in one batch, its text key last, so a
// crash leaves either the whole blob or part of its bookkeeping, which the
// next sweep finishes. It returns the sha256s it deleted.
func (s *Store) Delete(ctx context.Context, shas []string, putBefore int64) ([]string, error) {
	var out []string
	for _, sha := range shas {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		key, err := shaKey(prefixBlob, sha)
		if err != nil {
			return out, err
		}
		deleted, err := s.delete(key[1:], putBefore)
		if err != nil {
			return out, fmt.Errorf("blob: delete %s: %w", sha, err)
		}
		if deleted {
			out = append(out, sha)
		}
	}
	return out, nil
}

func (s *Store) delete(raw []byte, putBefore int64) (bool, error) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	put, err := putTime(txn, raw)
	if err != nil {
		return false, err
	}
	if put > putBefore {
		return false, txn.Set(append([]byte{prefixPending}, raw...), nil)
	}
	var refs [][]byte
	if err := eachRef(txn, raw, func(_ Ref, key []byte) error {
		refs = append(refs, bytes.Clone(key))
		return nil
	}); err != nil {
		return false, err
	}
	for _, k := range refs {
		if err := txn.Delete(k); err != nil {
			return false, err
		}
	}
	for _, p := range []byte{prefixPending, prefixPut, prefixBlob} {
		if err := txn.Delete(append([]byte{p}, raw...)); err != nil {
			return false, err
		}
	}
	return true, txn.Commit()
}

// Each calls fn with every stored text, one snapshot, in sha256 order, each
// with one of its references (or none) per call: a text with n references
// is passed n times, the text read once. fn's error stops the walk.
func (s *Store) Each(ctx context.Context, fn func(b Blob) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		prefix := []byte{prefixBlob}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			raw := it.Item().KeyCopy(nil)[1:]
			sha := hex.EncodeToString(raw)
			var b Blob
			if err := it.Item().Value(func(v []byte) error {
				var err error
				b, err = s.decode(sha, v)
				return err
			}); err != nil {
				return err
			}
			n := 0
			if err := eachRef(txn, raw, func(r Ref, _ []byte) error {
				b.TraceID, b.SpanID = r.TraceID, r.SpanID
				n++
				return fn(b)
			}); err != nil {
				return err
			}
			if n == 0 {
				if err := fn(b); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
