// Package blob is tael's content-addressed store for LLM prompt and
// completion text and long log bodies: each distinct text is stored once,
// zstd-compressed, under its sha256, with the (trace, span) rows that
// reference it.
//
// Keys (one Badger database):
//
//	'b' | sha256 (32 bytes)                          → kind (1 byte) | zstd(text)
//	'r' | sha256 (32 bytes) | trace_id | 0 | span_id → empty: a reference
//	'p' | sha256 (32 bytes)                          → empty: not yet full-text indexed
//	"m/applied"                                      → uint64 BE: WAL watermark
//
// Invariants:
//   - Put is idempotent: the keys derive from the text and its references
//     alone, so replaying a WAL record of payloads stores nothing twice.
//   - A blob is written together with its pending-index key in one
//     transaction; the engine's indexer clears the key only after the
//     full-text index has made the document durable, so a crash never loses
//     a document from the index.
//   - The applied watermark follows the engine's contract (package engine):
//     every WAL record at or below it is in the store.
package blob
