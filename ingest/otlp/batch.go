package otlp

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tael/tael/schema"
)

// column returns the builder of the named column, typed. A missing column or
// a wrong type is a broken invariant: the schema package and this package
// disagree.
func column[T array.Builder](b *array.RecordBuilder, name string) T {
	idx := b.Schema().FieldIndices(name)
	if len(idx) != 1 {
		panic(fmt.Sprintf("BUG: schema %s has no column %q", b.Schema(), name))
	}
	c, ok := b.Field(idx[0]).(T)
	if !ok {
		panic(fmt.Sprintf("BUG: column %q has builder %T", name, b.Field(idx[0])))
	}
	return c
}

func mustTable(id schema.ID) *schema.Table {
	t, err := schema.ByID(id)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return t
}

// finish returns the builder's rows as a batch checked against the table, or
// nil when there are none.
func finish(b *array.RecordBuilder, t *schema.Table) (arrow.RecordBatch, error) {
	rec := b.NewRecordBatch()
	if rec.NumRows() == 0 {
		rec.Release()
		return nil, nil
	}
	if err := t.Validate(rec); err != nil {
		rec.Release()
		return nil, fmt.Errorf("otlp: %w", err)
	}
	return rec, nil
}

// maxTimestamp is the latest time stored: math.MaxInt64 itself is the
// exclusive end of schema.AllTime, and the engine's hot tier refuses it.
const maxTimestamp = math.MaxInt64 - 1

// timestamp converts OTLP nanoseconds, clamping values from maxTimestamp on
// (year 2262) to maxTimestamp rather than wrapping them negative.
func timestamp(t pcommon.Timestamp) arrow.Timestamp {
	if t > maxTimestamp {
		return maxTimestamp
	}
	return arrow.Timestamp(t)
}

// appendStringOrNull appends s, or null when it is empty.
func appendStringOrNull(b *array.StringBuilder, s string) {
	if s == "" {
		b.AppendNull()
		return
	}
	b.Append(validUTF8(s))
}

// appendHex appends id as lowercase hex.
func appendHex(b *array.StringBuilder, id []byte) {
	var buf [32]byte
	n := hex.Encode(buf[:], id)
	b.BinaryBuilder.Append(buf[:n])
}

// sha256Hex is the lowercase hex sha256 of s.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
