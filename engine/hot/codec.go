package hot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/tael/tael/schema"
)

// Value formats: the first byte of a stored value.
const (
	formatIPC  = 0 // an Arrow IPC stream
	formatLZ4  = 1 // uvarint n | LZ4 block of an n-byte Arrow IPC stream
	formatZstd = 2 // uvarint n | zstd frame of an n-byte Arrow IPC stream
)

// errValue reports a stored value that cannot be decoded.
var errValue = errors.New("hot: corrupt stored batch")

// codec compresses and decompresses stored values. Its methods are safe for
// concurrent use.
type codec struct {
	c    Codec
	mem  memory.Allocator
	zenc *zstd.Encoder
	zdec *zstd.Decoder
	lz4  sync.Pool // of *lz4.Compressor
	// streams holds buffers for IPC streams about to be compressed.
	streams sync.Pool // of *bytes.Buffer
	// rowSize is the bytes per row of the last stream encoded for each
	// table (indexed by schema.ID), to size the next one.
	rowSize [8]atomic.Int64
}

func newCodec(c Codec, mem memory.Allocator) (*codec, error) {
	if c < LZ4 || c > None {
		return nil, fmt.Errorf("hot: unknown codec %d", int(c))
	}
	zenc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return nil, err
	}
	zdec, err := zstd.NewReader(nil, zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		return nil, err
	}
	return &codec{c: c, mem: mem, zenc: zenc, zdec: zdec}, nil
}

// Encode returns rec, a batch of table, in the store's value format: one
// Arrow IPC stream behind a format byte, compressed with the store's codec
// (doc.go). Apply can take these bytes instead of encoding rec itself.
func (s *Store) Encode(table schema.ID, rec arrow.RecordBatch) ([]byte, error) {
	return s.codec.encode(table, rec)
}

// Decode returns the batch held by a value made by Encode, checked against
// table's schema. It does not reference v. The caller releases the batch.
func (s *Store) Decode(table schema.ID, v []byte) (arrow.RecordBatch, error) {
	t, err := schema.ByID(table)
	if err != nil {
		return nil, err
	}
	return s.codec.decode(t, v)
}

func (c *codec) close() {
	_ = c.zenc.Close()
	c.zdec.Close()
}

// encode returns rec, a batch of table, as a stored value: an Arrow IPC
// stream (its schema, then rec) compressed with the store's codec.
func (c *codec) encode(table schema.ID, rec arrow.RecordBatch) ([]byte, error) {
	var buf *bytes.Buffer
	if c.c == None {
		// The buffer becomes the value.
		buf = new(bytes.Buffer)
	} else {
		buf, _ = c.streams.Get().(*bytes.Buffer)
		if buf == nil {
			buf = new(bytes.Buffer)
		}
		defer c.streams.Put(buf)
		buf.Reset()
	}
	// Growing the buffer once to about the size of the stream saves copying
	// it as it grows.
	hint := &c.rowSize[int(table)%len(c.rowSize)]
	buf.Grow(int(hint.Load()*rec.NumRows()) + 8<<10)
	buf.WriteByte(formatIPC)
	w := ipc.NewWriter(buf, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(c.mem))
	if err := w.Write(rec); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("hot: encode batch: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("hot: encode batch: %w", err)
	}
	if n := rec.NumRows(); n > 0 {
		hint.Store(int64(buf.Len()) / n)
	}
	stream := buf.Bytes()[1:]
	switch c.c {
	case LZ4:
		v := make([]byte, 0, 1+binary.MaxVarintLen64+lz4.CompressBlockBound(len(stream)))
		v = append(v, formatLZ4)
		v = binary.AppendUvarint(v, uint64(len(stream)))
		comp, _ := c.lz4.Get().(*lz4.Compressor)
		if comp == nil {
			comp = new(lz4.Compressor)
		}
		n, err := comp.CompressBlock(stream, v[len(v):cap(v)])
		c.lz4.Put(comp)
		if err != nil {
			return nil, fmt.Errorf("hot: compress batch: %w", err)
		}
		if n > 0 {
			return v[:len(v)+n], nil
		}
		// Incompressible: store it plain.
		return append([]byte(nil), buf.Bytes()...), nil
	case Zstd:
		v := make([]byte, 0, 1+binary.MaxVarintLen64+len(stream)/2)
		v = append(v, formatZstd)
		v = binary.AppendUvarint(v, uint64(len(stream)))
		return c.zenc.EncodeAll(stream, v), nil
	}
	return buf.Bytes(), nil
}

// decode returns the batch of a stored value, checked against table t. Its
// buffers are slices of one allocation from the store's allocator holding
// the decompressed stream; it does not reference v.
func (c *codec) decode(t *schema.Table, v []byte) (arrow.RecordBatch, error) {
	if len(v) == 0 {
		return nil, fmt.Errorf("%w: empty value", errValue)
	}
	format, v := v[0], v[1:]
	n := uint64(len(v))
	if format != formatIPC {
		var m int
		n, m = binary.Uvarint(v)
		if m <= 0 || n == 0 || n > 1<<40 {
			return nil, fmt.Errorf("%w: bad length", errValue)
		}
		v = v[m:]
	}
	buf := memory.NewResizableBuffer(c.mem)
	defer buf.Release()
	buf.Resize(int(n))
	dst := buf.Bytes()
	switch format {
	case formatIPC:
		copy(dst, v)
	case formatLZ4:
		got, err := lz4.UncompressBlock(v, dst)
		if err != nil || got != len(dst) {
			return nil, fmt.Errorf("%w: lz4: %d of %d bytes, %v", errValue, got, len(dst), err)
		}
	case formatZstd:
		got, err := c.zdec.DecodeAll(v, dst[:0])
		if err != nil || len(got) != len(dst) || (len(got) > 0 && &got[0] != &dst[0]) {
			return nil, fmt.Errorf("%w: zstd: %d of %d bytes, %v", errValue, len(got), len(dst), err)
		}
	default:
		return nil, fmt.Errorf("%w: unknown format %d", errValue, format)
	}

	mr := &bufferMessageReader{buf: buf}
	mr.refs.Store(1)
	r, err := ipc.NewReaderFromMessageReader(mr, ipc.WithAllocator(c.mem))
	if err != nil {
		mr.Release()
		return nil, fmt.Errorf("hot: decode batch: %w", err)
	}
	defer r.Release()
	if err := t.Check(r.Schema()); err != nil {
		return nil, fmt.Errorf("hot: decode batch: %w", err)
	}
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("hot: decode batch: %w", err)
		}
		return nil, fmt.Errorf("%w: no batch in the stream", errValue)
	}
	rec := r.RecordBatch()
	rec.Retain()
	return rec, nil
}

// bufferMessageReader reads the IPC messages of a stream held in one buffer
// without copying: each message's body is a slice of the buffer.
type bufferMessageReader struct {
	refs atomic.Int64
	buf  *memory.Buffer
	pos  int
	msg  *ipc.Message
}

var _ ipc.MessageReader = (*bufferMessageReader)(nil)

func (r *bufferMessageReader) Retain() { r.refs.Add(1) }

func (r *bufferMessageReader) Release() {
	if r.refs.Add(-1) == 0 && r.msg != nil {
		r.msg.Release()
		r.msg = nil
	}
}

// Message returns the next message, valid until the next call.
func (r *bufferMessageReader) Message() (msg *ipc.Message, err error) {
	defer func() {
		// The flatbuffers accessors panic on garbage.
		if p := recover(); p != nil {
			msg, err = nil, fmt.Errorf("%w: bad message metadata: %v", errValue, p)
		}
	}()
	data := r.buf.Bytes()
	u32 := func() (uint32, bool) {
		if r.pos+4 > len(data) {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(data[r.pos:])
		r.pos += 4
		return v, true
	}
	n, ok := u32()
	if !ok {
		return nil, io.EOF
	}
	if n == 0xFFFFFFFF { // continuation token, then the length
		if n, ok = u32(); !ok {
			return nil, fmt.Errorf("%w: truncated message length", errValue)
		}
	}
	if n == 0 {
		return nil, io.EOF
	}
	if int64(n) > int64(len(data)-r.pos) {
		return nil, fmt.Errorf("%w: message metadata of %d bytes past the end", errValue, n)
	}
	if err := checkSchemaVectors(data[r.pos : r.pos+int(n)]); err != nil {
		return nil, err
	}
	meta := memory.NewBufferBytes(data[r.pos : r.pos+int(n)])
	r.pos += int(n)
	empty := memory.NewBufferBytes(nil)
	bodyLen := ipc.NewMessage(meta, empty).BodyLen()
	if bodyLen < 0 || bodyLen > int64(len(data)-r.pos) {
		return nil, fmt.Errorf("%w: message body of %d bytes past the end", errValue, bodyLen)
	}
	body := memory.SliceBuffer(r.buf, r.pos, int(bodyLen))
	defer body.Release()
	r.pos += int(bodyLen)
	if r.msg != nil {
		r.msg.Release()
	}
	r.msg = ipc.NewMessage(meta, body)
	return r.msg, nil
}

// withSchema returns rec's columns under sch, which must have the same types:
// stored batches keep the nullability and metadata of the batch that was
// applied, while a reader's batches all have the table's schema.
func withSchema(sch *arrow.Schema, rec arrow.RecordBatch, cols []int) arrow.RecordBatch {
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		arrs[i] = rec.Column(c)
	}
	return array.NewRecordBatch(sch, arrs, rec.NumRows())
}
