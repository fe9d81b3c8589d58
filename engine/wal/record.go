package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The on-disk format; doc.go describes it field by field.
const (
	segmentHeaderSize = 16
	recordHeaderSize  = 20
	formatVersion     = 1
	// maxPayload is the largest payload the format allows. It bounds what a
	// reader will believe of a length field, and Options.MaxRecordSize.
	maxPayload = 1 << 30
)

var (
	segmentMagic = [7]byte{'T', 'A', 'E', 'L', 'W', 'A', 'L'}
	castagnoli   = crc32.MakeTable(crc32.Castagnoli)
)

// ErrCorrupt is the error every *CorruptionError wraps: a segment holds
// bytes that are not a valid record or segment header where one must be.
var ErrCorrupt = errors.New("wal: corrupt record")

// CorruptionError reports damage in a segment file that Open cannot repair
// (it is not a torn tail of the last segment) or that Replay found.
type CorruptionError struct {
	// Segment is the path of the segment file.
	Segment string
	// Offset is the byte offset in the file of the damaged record (or 0 for
	// the segment header).
	Offset int64
	// Reason says what is wrong.
	Reason string
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("wal: corrupt record in segment %s at offset %d: %s", e.Segment, e.Offset, e.Reason)
}

// Unwrap returns ErrCorrupt.
func (e *CorruptionError) Unwrap() error { return ErrCorrupt }

func corruptf(segment string, off int64, format string, args ...any) *CorruptionError {
	return &CorruptionError{Segment: segment, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

func encodeSegmentHeader(first uint64) []byte {
	h := make([]byte, segmentHeaderSize)
	copy(h, segmentMagic[:])
	h[7] = formatVersion
	binary.LittleEndian.PutUint64(h[8:], first)
	return h
}

// checkSegmentHeader verifies the header h of the segment at path whose
// name says its first LSN is first.
func checkSegmentHeader(path string, h []byte, first uint64) error {
	if len(h) < segmentHeaderSize {
		return corruptf(path, 0, "segment header cut short: %d of %d bytes", len(h), segmentHeaderSize)
	}
	if [7]byte(h[:7]) != segmentMagic {
		return corruptf(path, 0, "bad segment magic %q", h[:7])
	}
	if h[7] != formatVersion {
		return corruptf(path, 0, "unknown format version %d", h[7])
	}
	if got := binary.LittleEndian.Uint64(h[8:]); got != first {
		return corruptf(path, 0, "segment header says first LSN %d, file name says %d", got, first)
	}
	return nil
}

// appendRecord appends the encoded record to buf.
func appendRecord(buf []byte, lsn uint64, table uint8, payload []byte) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, recordHeaderSize)...)
	h := buf[start:]
	binary.LittleEndian.PutUint32(h[4:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(h[8:], lsn)
	h[16] = table
	buf = append(buf, payload...)
	crc := crc32.Checksum(buf[start+4:], castagnoli)
	binary.LittleEndian.PutUint32(buf[start:], crc)
	return buf
}

// recordHeader is a decoded record header.
type recordHeader struct {
	crc      uint32
	length   uint32
	lsn      uint64
	table    uint8
	reserved [3]byte
}

func decodeRecordHeader(h []byte) recordHeader {
	return recordHeader{
		crc:      binary.LittleEndian.Uint32(h[0:]),
		length:   binary.LittleEndian.Uint32(h[4:]),
		lsn:      binary.LittleEndian.Uint64(h[8:]),
		table:    h[16],
		reserved: [3]byte(h[17:20]),
	}
}

// recordReader reads and verifies the records of one segment in order.
type recordReader struct {
	path  string        // segment file, for errors
	r     *bufio.Reader // positioned at off
	off   int64         // offset of the next record
	limit int64         // offset where the segment's records end
	next  uint64        // LSN the next record must have
	hdr   [recordHeaderSize]byte
	buf   []byte // payload of the last record read; reused
}

// reset points rr at the records of the segment at path, read from r (which
// must be positioned at offset off) up to limit.
func (rr *recordReader) reset(path string, r io.Reader, off, limit int64, next uint64) {
	rr.path, rr.off, rr.limit, rr.next = path, off, limit, next
	if rr.r == nil {
		// A 1 MiB buffer reads a typical 200 KiB batch record without an
		// extra system call; larger payloads are read straight into buf.
		rr.r = bufio.NewReaderSize(r, 1<<20)
	} else {
		rr.r.Reset(r)
	}
}

// read returns the next record. The payload is valid until the next call.
// At the end of the records it returns io.EOF; a damaged record is a
// *CorruptionError at the record's offset, after which rr must not be used.
func (rr *recordReader) read() (lsn uint64, table uint8, payload []byte, err error) {
	left := rr.limit - rr.off
	if left == 0 {
		return 0, 0, nil, io.EOF
	}
	if left < recordHeaderSize {
		return 0, 0, nil, corruptf(rr.path, rr.off, "record header cut short: %d of %d bytes", left, recordHeaderSize)
	}
	if _, err := io.ReadFull(rr.r, rr.hdr[:]); err != nil {
		return 0, 0, nil, rr.readErr(err)
	}
	h := decodeRecordHeader(rr.hdr[:])
	if int64(h.length) > left-recordHeaderSize {
		return 0, 0, nil, corruptf(rr.path, rr.off, "payload length %d runs past the end of the segment (%d bytes left)",
			h.length, left-recordHeaderSize)
	}
	if h.length > maxPayload {
		return 0, 0, nil, corruptf(rr.path, rr.off, "impossible payload length %d", h.length)
	}
	if cap(rr.buf) < int(h.length) {
		rr.buf = make([]byte, h.length)
	}
	rr.buf = rr.buf[:h.length]
	if _, err := io.ReadFull(rr.r, rr.buf); err != nil {
		return 0, 0, nil, rr.readErr(err)
	}
	crc := crc32.Update(crc32.Checksum(rr.hdr[4:], castagnoli), castagnoli, rr.buf)
	if crc != h.crc {
		return 0, 0, nil, corruptf(rr.path, rr.off, "checksum mismatch: stored %#08x, computed %#08x", h.crc, crc)
	}
	if h.reserved != [3]byte{} {
		return 0, 0, nil, corruptf(rr.path, rr.off, "reserved header bytes set: %x", h.reserved)
	}
	if h.lsn != rr.next {
		return 0, 0, nil, corruptf(rr.path, rr.off, "LSN %d out of sequence, want %d", h.lsn, rr.next)
	}
	rr.off += recordHeaderSize + int64(h.length)
	rr.next++
	return h.lsn, h.table, rr.buf, nil
}

func (rr *recordReader) readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// The file is shorter than its size said: it shrank under us.
		return fmt.Errorf("read %s at offset %d: file shorter than expected: %w", rr.path, rr.off, err)
	}
	return fmt.Errorf("read %s at offset %d: %w", rr.path, rr.off, err)
}

// classifyTail decides whether the bytes tail of the last segment, which
// begin where cause found a damaged record, are a torn write (a crash in the
// middle of an append) or damage. next is the LSN the record must have. It
// returns why the tail counts as torn, or the *CorruptionError to report.
//
// A torn write leaves a prefix of the last group, or a zero-filled tail
// where the file grew but the data never reached the disk; nothing valid
// can follow it. So the tail is torn when it is all zeros, when the header
// is cut short, when the length runs past the end of the file and no valid
// later record follows (a flipped bit in a length field must not drop
// acknowledged records), or when the last complete record fails its
// checksum with nothing but zeros after it.
func classifyTail(cause *CorruptionError, tail []byte, next uint64) (string, *CorruptionError) {
	if allZero(tail) {
		return "zero-filled tail", nil
	}
	if len(tail) < recordHeaderSize {
		return "record header cut short", nil
	}
	h := decodeRecordHeader(tail)
	if int64(h.length) > int64(len(tail)-recordHeaderSize) {
		if p, ok := findRecordAfter(tail, next); ok {
			return "", corruptf(cause.Segment, cause.Offset,
				"payload length %d runs past the end of the segment, but a valid record follows at offset %d",
				h.length, cause.Offset+int64(p))
		}
		return fmt.Sprintf("payload length %d runs past the end of the segment", h.length), nil
	}
	end := recordHeaderSize + int(h.length)
	if crc32.Checksum(tail[4:end], castagnoli) == h.crc {
		// A complete record with a valid checksum but a wrong LSN or
		// header: written that way, not torn.
		return "", cause
	}
	if allZero(tail[end:]) {
		return "checksum mismatch in the final record", nil
	}
	return "", corruptf(cause.Segment, cause.Offset, "checksum mismatch with %d more bytes after the record", len(tail)-end)
}

// findRecordAfter looks for a complete record with a valid checksum and an
// LSN after next-1 anywhere in tail after its first byte.
func findRecordAfter(tail []byte, next uint64) (int, bool) {
	// A segment cannot hold more records than this past next.
	most := uint64(len(tail)/recordHeaderSize) + 1
	for p := 1; p+recordHeaderSize <= len(tail); p++ {
		h := decodeRecordHeader(tail[p:])
		if h.lsn < next || h.lsn-next > most {
			continue
		}
		if int64(h.length) > int64(len(tail)-p-recordHeaderSize) {
			continue
		}
		end := p + recordHeaderSize + int(h.length)
		if crc32.Checksum(tail[p+4:end], castagnoli) == h.crc {
			return p, true
		}
	}
	return 0, false
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
