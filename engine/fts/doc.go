// Package fts is the full-text index of LLM prompts, completions and long log
// bodies. It indexes each distinct text once, keyed by its sha256 (the blob
// store's key); which traces and spans reference a text is kept by the
// engine, not here. It is built on bleve v2 with its scorch index.
//
// Layout of the directory given to Open:
//
//	bleve/       the bleve index (index_meta.json, store/ with zap segment
//	             files and root.bolt)
//	bleve.tmp/   an index being created: built, synced, then renamed to
//	             bleve/; a leftover one is removed by Open
//
// # Invariants
//
//   - One document per ID. Index is idempotent: a text already indexed with
//     the same kind is skipped before analysis; with another kind, the
//     document is rewritten with the union of its kinds.
//   - A document is searchable when the Index call that wrote it returns.
//   - A document is durable (survives kill -9) once a Flush called after its
//     Index returned has returned. Close persists too. Nothing else is
//     durable: the engine's WAL is the source of truth until its checkpoint
//     has called Flush.
//   - Batches are introduced one at a time, in the order of their sequence
//     numbers (persistence), by the goroutine holding Index.writer.
//
// # Durability: what bleve does, and how Flush works
//
// Read from bleve v2.6.3 (index/scorch) and checked by the tests. A scorch
// Batch analyses the documents and builds an in-memory zap segment; the
// introducer goroutine publishes a new root snapshot containing it (the
// batch is now searchable); the persister goroutine later writes the
// snapshot's in-memory segments to zap files (each fsync'd), commits a
// snapshot record to root.bolt (bbolt commits with fsync) and fsyncs
// root.bolt again. By default Batch also waits for that persist, so every
// call pays two or more fsyncs and becomes its own small file. With the
// "unsafe_batch" option Batch returns after the introduction and persisting
// happens in the background: that is how this package opens the index.
//
// Two consequences. First, kill -9 loses whatever the persister had not yet
// written: the crash test loses 50 to 500 documents without Flush. Second,
// bleve's Close does not persist pending segments either (it stops the
// persister; an experiment lost up to 2,000 of 10,000 documents), so Close flushes
// first.
//
// Flush uses the batch "persisted callback" (Batch.SetPersistedCallback):
// scorch queues a batch's callback when it introduces the batch and runs the
// queued callbacks, in order, only after a snapshot containing them is on
// disk (a failed persist is retried, keeping the callbacks). Each batch
// carries a sequence number; Flush takes the number of the last batch
// introduced before it and waits until that callback has run, then fsyncs
// the segment directory (bleve does not, so a new segment's directory entry
// could otherwise be lost on power failure). With nothing written since the
// last Flush it returns at once. Scorch's persister naps 200 ms between
// rounds (persisterNapMS), so a Flush takes up to that long. The callbacks
// also bound memory: Index waits while more than 64 MiB of text is
// searchable but not yet persisted.
//
// TestFlushSurvivesKill checks this: a child process indexes documents,
// Flushes, prints "flushed" and keeps indexing; the parent kill -9s it,
// reopens the index and finds every document indexed before the Flush, for
// three rounds on the same directory.
//
// If the index is ever lost or damaged beyond opening, it can be rebuilt
// from the blob store, which holds every text. Open returns ErrFormat for
// an index written with another analysis, which also needs a rebuild.
//
// # Analysis
//
// Texts are in any language, so one language-neutral analyzer serves all:
//
//  1. Unicode word segmentation (UAX #29, bleve's "unicode" tokenizer):
//     words for scripts that separate them, and Han and kana characters
//     tagged for step 4.
//  2. NFKC normalisation: composed and decomposed "ü" are the same term,
//     full-width Latin and half-width katakana become their usual forms,
//     ligatures ("ﬁ") expand.
//  3. Lowercasing (Unicode, per character): "Über" matches "über",
//     "МОСКВА" matches "москва".
//  4. CJK bigrams with unigrams (cjk_bigram, output_unigram): a run of Han
//     and kana is indexed as each character and each overlapping pair, so a
//     two-character word inside a Japanese or Chinese sentence matches its
//     bigram, and a one-character word its unigram.
//  5. Tokens over 255 characters are dropped (base64 blobs, minified code).
//
// Deliberately absent: stemming (English stemmers mangle other languages,
// and "jump" not matching "jumped" is predictable), stop words (phrases need
// them, and a stop list is per language) and accent folding ("uber" does not
// match "über": in German they are different words). Known limits: "ß" is
// not folded to "ss"; Korean is indexed by whole space-separated words,
// particles attached ("서울에서"), so search "서울*" for "서울"; Thai, Lao,
// Khmer and Myanmar runs are single tokens.
//
// # Queries
//
// A query is words, "quoted phrases" and prefixes (word*), separated by
// white space; every one must match (AND). There are no operators, field
// names or OR: other punctuation is dropped by analysis, so "payment-service"
// searches the phrase "payment service". A word that analyses to several
// tokens (inner punctuation, or CJK) must match them adjacent, as a phrase.
// A prefix needs at least 2 characters and may expand to at most 1,024
// indexed terms; a Chinese or Japanese "word*" is searched as the word,
// which already matches inside longer words. Malformed queries fail with
// ErrQuery: see parseQuery and the limits MaxQueryBytes, MaxClauses,
// MinPrefixRunes, MaxPrefixTerms.
//
// Hits are scored by BM25 and returned by score descending, then ID
// ascending, at most MaxLimit of them, each with an HTML fragment.
//
// # Cost
//
// BenchmarkIndex, 1.1 KB texts on 2 shared cores: about 360 µs of CPU per
// new document in batches of 1,024 (3,000–4,000 documents/s when the cores
// are free), about 650 µs in calls of 8, and 8 µs for a document already
// indexed. On disk the index takes about 3.5 times the text (BenchmarkSearch:
// 189 MB for 55 MB): positions and offsets, for phrases and fragments, and
// the stored text, for fragments.
//
// # Concurrency
//
// An Index is safe for concurrent use. Searches run in parallel with each
// other and with writes. Index calls are group-committed: one goroutine
// writes while the others queue, and the next writer takes every queued
// call's documents into the same batches, so many small concurrent calls
// cost about what few large ones do.
package fts
