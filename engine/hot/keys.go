package hot

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"

	"github.com/dgraph-io/badger/v4"

	"github.com/tael/tael/schema"
)

// Key prefixes. Each names one kind of key; see doc.go for the layout.
const (
	prefixData      = 'd' // 'd' | table | bucket | lsn | part → Arrow IPC stream
	prefixTraceHex  = 't' // 't' | 16 trace id bytes | data key → row numbers
	prefixTraceRaw  = 'u' // 'u' | uvarint len | raw trace id | data key → row numbers
	prefixSeries    = 's' // 's' | series id → labels
	prefixPosting   = 'p' // 'p' | uvarint len | name | uvarint len | value | series id → empty
	prefixActivity  = 'a' // 'a' | bucket | series id → empty
	prefixMeta      = 'm' // 'm' | name → value
	dataKeyLen      = 1 + 1 + 8 + 8 + 2
	activityKeyLen  = 1 + 8 + 8
	seriesKeyLen    = 1 + 8
	traceHexIDBytes = 16
)

var (
	keyApplied     = []byte{prefixMeta, 'a', 'p', 'p', 'l', 'i', 'e', 'd'}
	keyBucketWidth = []byte{prefixMeta, 'b', 'u', 'c', 'k', 'e', 't'}
)

// errKey reports a key that does not have its prefix's layout: the store was
// written by something else or is corrupt.
var errKey = errors.New("hot: malformed key")

// bucketOf returns floor(t / width).
func bucketOf(t, width int64) int64 {
	q := t / width
	if t%width != 0 && t < 0 {
		q--
	}
	return q
}

// putBucket writes b big-endian with the sign bit flipped, so that byte order
// is numeric order for negative buckets too.
func putBucket(dst []byte, b int64) {
	binary.BigEndian.PutUint64(dst, uint64(b)^(1<<63))
}

func getBucket(src []byte) int64 {
	return int64(binary.BigEndian.Uint64(src) ^ (1 << 63))
}

// dataKey returns the key of one stored part: 'd' | table | bucket | lsn | part.
func dataKey(table schema.ID, bucket int64, lsn uint64, part uint16) []byte {
	k := make([]byte, dataKeyLen)
	k[0] = prefixData
	k[1] = byte(table)
	putBucket(k[2:], bucket)
	binary.BigEndian.PutUint64(k[10:], lsn)
	binary.BigEndian.PutUint16(k[18:], part)
	return k
}

// dataBucketKey returns the prefix of every data key of bucket b of table,
// which is also the smallest such key.
func dataBucketKey(table schema.ID, b int64) []byte {
	k := make([]byte, 10, dataKeyLen+1)
	k[0] = prefixData
	k[1] = byte(table)
	putBucket(k[2:], b)
	return k
}

// afterPrefix returns a key greater than every key of length at most n that
// starts with p, without computing a successor (that could overflow).
func afterPrefix(p []byte, n int) []byte {
	k := append([]byte(nil), p...)
	for len(k) <= n {
		k = append(k, 0xff)
	}
	return k
}

// parseDataKey returns the bucket and LSN of a data key.
func parseDataKey(k []byte) (bucket int64, lsn uint64, err error) {
	if len(k) != dataKeyLen || k[0] != prefixData {
		return 0, 0, fmt.Errorf("%w: data key %x", errKey, k)
	}
	return getBucket(k[2:]), binary.BigEndian.Uint64(k[10:]), nil
}

// traceKeyPrefix returns the prefix of every trace index key of id. A 32-char
// lowercase hex id is stored as its 16 bytes; any other id as its raw bytes
// behind a length, under another prefix, so the two forms never collide and
// no id's prefix is another id's.
func traceKeyPrefix(id string) []byte {
	if isLowerHex32(id) {
		k := make([]byte, 1+traceHexIDBytes, 1+traceHexIDBytes+dataKeyLen)
		k[0] = prefixTraceHex
		if _, err := hex.Decode(k[1:], []byte(id)); err != nil {
			panic("BUG: checked hex id does not decode: " + err.Error())
		}
		return k
	}
	k := make([]byte, 0, 1+binary.MaxVarintLen64+len(id)+dataKeyLen)
	k = append(k, prefixTraceRaw)
	k = binary.AppendUvarint(k, uint64(len(id)))
	return append(k, id...)
}

func isLowerHex32(s string) bool {
	if len(s) != 2*traceHexIDBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// seriesKey returns 's' | id.
func seriesKey(id uint64) []byte {
	k := make([]byte, seriesKeyLen)
	k[0] = prefixSeries
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

// postingNamePrefix returns 'p' | uvarint len | name: the prefix of every
// posting of label name.
func postingNamePrefix(name string) []byte {
	k := make([]byte, 0, 1+binary.MaxVarintLen64+len(name))
	k = append(k, prefixPosting)
	k = binary.AppendUvarint(k, uint64(len(name)))
	return append(k, name...)
}

// postingValuePrefix returns the prefix of every posting of name=value.
func postingValuePrefix(name, value string) []byte {
	k := postingNamePrefix(name)
	k = binary.AppendUvarint(k, uint64(len(value)))
	return append(k, value...)
}

// postingKey returns the posting of series id under name=value.
func postingKey(name, value string, id uint64) []byte {
	return binary.BigEndian.AppendUint64(postingValuePrefix(name, value), id)
}

// parsePostingValue returns the label value and series id of a posting key
// whose name prefix (of length n) the caller has already matched.
func parsePostingValue(k []byte, n int) (string, uint64, error) {
	rest := k[n:]
	l, m := binary.Uvarint(rest)
	if m <= 0 || uint64(len(rest)-m) != l+8 {
		return "", 0, fmt.Errorf("%w: posting %x", errKey, k)
	}
	rest = rest[m:]
	return string(rest[:l]), binary.BigEndian.Uint64(rest[l:]), nil
}

// activityKey returns 'a' | bucket | id.
func activityKey(bucket int64, id uint64) []byte {
	k := make([]byte, activityKeyLen)
	k[0] = prefixActivity
	putBucket(k[1:], bucket)
	binary.BigEndian.PutUint64(k[9:], id)
	return k
}

func activityBucketKey(bucket int64) []byte {
	k := make([]byte, 9)
	k[0] = prefixActivity
	putBucket(k[1:], bucket)
	return k
}

// keyRange yields the items of it from start on while their keys have prefix
// and, unless end is nil, sort below end, each with its index from 0. It
// moves it: one keyRange at a time per iterator.
func keyRange(it *badger.Iterator, prefix, start, end []byte) iter.Seq2[int, *badger.Item] {
	return func(yield func(int, *badger.Item) bool) {
		i := 0
		for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			if end != nil && bytes.Compare(item.Key(), end) >= 0 {
				return
			}
			if !yield(i, item) {
				return
			}
			i++
		}
	}
}
