package remotewrite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/prometheus/prometheus/prompb"
)

// A remote-write 1.0 request is decoded here rather than by prompb's
// generated (gogo) WriteRequest.Unmarshal, which allocates every label name
// and value as a string and every series' label and sample slices: for
// 2,000 series of 8 labels that is some 40,000 allocations, and it took
// 45% of the handler's CPU time before rows reach the engine
// (BenchmarkConvert). decodeV1 walks the same message without copying:
// label strings point into the decoded body, which outlives the conversion
// (the Arrow builders copy what they keep).
//
// It accepts and rejects exactly the inputs Unmarshal does, with the same
// field semantics (unknown fields skipped, groups included; a repeated
// scalar field keeps its last value); FuzzDecodeV1 checks both against
// each other. Exemplars, native histograms and metadata are rare and are
// decoded by prompb itself, which also validates them as Unmarshal would.

var (
	errProtoOverflow = errors.New("proto: integer overflow")
	errProtoLength   = errors.New("proto: negative length found during unmarshaling")
	errProtoEndGroup = errors.New("proto: unexpected end of group")
)

// pbReader reads protobuf wire format from b, as gogo-generated code does.
type pbReader struct {
	b []byte
	i int
}

func (r *pbReader) more() bool { return r.i < len(r.b) }

// varint reads at most 10 bytes; high bits beyond 64 are dropped, as in
// gogo's loops.
func (r *pbReader) varint() (uint64, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 {
			return 0, errProtoOverflow
		}
		if r.i >= len(r.b) {
			return 0, io.ErrUnexpectedEOF
		}
		c := r.b[r.i]
		r.i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
}

// key reads a field key of message msg.
func (r *pbReader) key(msg string) (field int32, wireType int, err error) {
	w, err := r.varint()
	if err != nil {
		return 0, 0, err
	}
	field, wireType = int32(w>>3), int(w&7)
	if wireType == 4 {
		return 0, 0, fmt.Errorf("proto: %s: wiretype end group for non-group", msg)
	}
	if field <= 0 {
		return 0, 0, fmt.Errorf("proto: %s: illegal tag %d (wire type %d)", msg, field, w)
	}
	return field, wireType, nil
}

// bytes reads a length-delimited field of wire type 2, without copying.
func (r *pbReader) bytes(wireType int, name string) ([]byte, error) {
	if wireType != 2 {
		return nil, fmt.Errorf("proto: wrong wireType = %d for field %s", wireType, name)
	}
	v, err := r.varint()
	if err != nil {
		return nil, err
	}
	n := int(v)
	if n < 0 {
		return nil, errProtoLength
	}
	end := r.i + n
	if end < 0 {
		return nil, errProtoLength
	}
	if end > len(r.b) {
		return nil, io.ErrUnexpectedEOF
	}
	b := r.b[r.i:end]
	r.i = end
	return b, nil
}

// skip steps over the unknown field whose key starts at from.
func (r *pbReader) skip(from int) error {
	n, err := skipField(r.b[from:])
	if err != nil {
		return err
	}
	if n < 0 || from+n < 0 {
		return errProtoLength
	}
	if from+n > len(r.b) {
		return io.ErrUnexpectedEOF
	}
	r.i = from + n
	return nil
}

// skipField returns the length of the field (a group with what it holds)
// at the start of b: gogo's generated skip functions.
func skipField(b []byte) (int, error) {
	r := pbReader{b: b}
	depth := 0
	for r.more() {
		w, err := r.varint()
		if err != nil {
			return 0, err
		}
		switch wireType := int(w & 7); wireType {
		case 0:
			if _, err := r.varint(); err != nil {
				return 0, err
			}
		case 1:
			r.i += 8
		case 2:
			v, err := r.varint()
			if err != nil {
				return 0, err
			}
			if int(v) < 0 {
				return 0, errProtoLength
			}
			r.i += int(v)
		case 3:
			depth++
		case 4:
			if depth == 0 {
				return 0, errProtoEndGroup
			}
			depth--
		case 5:
			r.i += 4
		default:
			return 0, fmt.Errorf("proto: illegal wireType %d", wireType)
		}
		if r.i < 0 {
			return 0, errProtoLength
		}
		if depth == 0 {
			return r.i, nil
		}
	}
	return 0, io.ErrUnexpectedEOF
}

// alias returns b as a string sharing its memory.
func alias(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// v1Series is one time series of a 1.0 request as decodeV1Series hands it
// over; its slices are reused for the next series.
type v1Series struct {
	labels                []label // in wire order; strings alias the request
	samples               []prompb.Sample
	histograms, exemplars int
}

// decodeV1Metadata returns the metadata of a prometheus.WriteRequest (as
// copies) and checks the request's top level; the series are decoded by
// decodeV1Series.
func decodeV1Metadata(data []byte) ([]prompb.MetricMetadata, error) {
	var md []prompb.MetricMetadata
	r := pbReader{b: data}
	for r.more() {
		from := r.i
		field, wt, err := r.key("WriteRequest")
		if err != nil {
			return nil, err
		}
		switch field {
		case 1:
			if _, err := r.bytes(wt, "Timeseries"); err != nil {
				return nil, err
			}
		case 3:
			b, err := r.bytes(wt, "Metadata")
			if err != nil {
				return nil, err
			}
			md = append(md, prompb.MetricMetadata{})
			if err := md[len(md)-1].Unmarshal(b); err != nil {
				return nil, err
			}
		default:
			if err := r.skip(from); err != nil {
				return nil, err
			}
		}
	}
	return md, nil
}

// decodeV1Series calls fn with each time series of a prometheus.WriteRequest
// whose top level decodeV1Metadata has accepted, in order. It stops at the
// first malformed series; fn has then seen the series before it.
func decodeV1Series(data []byte, s *v1Series, fn func(*v1Series)) error {
	r := pbReader{b: data}
	for r.more() {
		from := r.i
		field, wt, err := r.key("WriteRequest")
		if err != nil {
			return err
		}
		switch field {
		case 1:
			b, err := r.bytes(wt, "Timeseries")
			if err != nil {
				return err
			}
			if err := s.decode(b); err != nil {
				return err
			}
			fn(s)
		case 3:
			if _, err := r.bytes(wt, "Metadata"); err != nil {
				return err
			}
		default:
			if err := r.skip(from); err != nil {
				return err
			}
		}
	}
	return nil
}

// decode reads a prometheus.TimeSeries.
func (s *v1Series) decode(b []byte) error {
	s.labels, s.samples = s.labels[:0], s.samples[:0]
	s.histograms, s.exemplars = 0, 0
	r := pbReader{b: b}
	for r.more() {
		from := r.i
		field, wt, err := r.key("TimeSeries")
		if err != nil {
			return err
		}
		switch field {
		case 1:
			m, err := r.bytes(wt, "Labels")
			if err != nil {
				return err
			}
			l, err := decodeLabel(m)
			if err != nil {
				return err
			}
			s.labels = append(s.labels, l)
		case 2:
			m, err := r.bytes(wt, "Samples")
			if err != nil {
				return err
			}
			p, err := decodeSample(m)
			if err != nil {
				return err
			}
			s.samples = append(s.samples, p)
		case 3:
			m, err := r.bytes(wt, "Exemplars")
			if err != nil {
				return err
			}
			var e prompb.Exemplar
			if err := e.Unmarshal(m); err != nil {
				return err
			}
			s.exemplars++
		case 4:
			m, err := r.bytes(wt, "Histograms")
			if err != nil {
				return err
			}
			var h prompb.Histogram
			if err := h.Unmarshal(m); err != nil {
				return err
			}
			s.histograms++
		default:
			if err := r.skip(from); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeLabel reads a prometheus.Label.
func decodeLabel(b []byte) (label, error) {
	var l label
	r := pbReader{b: b}
	for r.more() {
		from := r.i
		field, wt, err := r.key("Label")
		if err != nil {
			return label{}, err
		}
		switch field {
		case 1:
			v, err := r.bytes(wt, "Name")
			if err != nil {
				return label{}, err
			}
			l.name = alias(v)
		case 2:
			v, err := r.bytes(wt, "Value")
			if err != nil {
				return label{}, err
			}
			l.value = alias(v)
		default:
			if err := r.skip(from); err != nil {
				return label{}, err
			}
		}
	}
	return l, nil
}

// decodeSample reads a prometheus.Sample.
func decodeSample(b []byte) (prompb.Sample, error) {
	var p prompb.Sample
	r := pbReader{b: b}
	for r.more() {
		from := r.i
		field, wt, err := r.key("Sample")
		if err != nil {
			return p, err
		}
		switch field {
		case 1:
			if wt != 1 {
				return p, fmt.Errorf("proto: wrong wireType = %d for field Value", wt)
			}
			if r.i+8 > len(b) {
				return p, io.ErrUnexpectedEOF
			}
			p.Value = math.Float64frombits(binary.LittleEndian.Uint64(b[r.i:]))
			r.i += 8
		case 2:
			if wt != 0 {
				return p, fmt.Errorf("proto: wrong wireType = %d for field Timestamp", wt)
			}
			v, err := r.varint()
			if err != nil {
				return p, err
			}
			p.Timestamp = int64(v)
		default:
			if err := r.skip(from); err != nil {
				return p, err
			}
		}
	}
	return p, nil
}
