package hot

import (
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"
)

// checkSchemaVectors guards arrow-go's IPC reader against a stored value
// whose schema message claims absurd vector lengths. arrow-go's schemaFromFB
// and fieldFromFB allocate make([]arrow.Field, n) from the message's own
// field and children counts before reading them, so a corrupt count
// (FuzzDecodeValue found one: 0xfffffff0 fields) is a fatal out-of-memory,
// which recover cannot catch. Every vector element takes at least 4 bytes of
// the message, so a count above len(meta)/4 cannot be genuine.
//
// meta is one IPC message's flatbuffer. Offsets are the vtable slots of
// Arrow's Message.fbs / Schema.fbs: Message.header_type 6, header 8;
// Schema.fields 6, custom_metadata 8; Field.children 14, custom_metadata 16.
// The flatbuffers accessors panic on garbage; the caller recovers.
func checkSchemaVectors(meta []byte) error {
	const headerSchema = 1 // MessageHeader.Schema
	msg := table(meta, flatbuffers.GetUOffsetT(meta))
	if o := msg.Offset(6); o == 0 || msg.GetByte(flatbuffers.UOffsetT(o)+msg.Pos) != headerSchema {
		return nil
	}
	var schema flatbuffers.Table
	o := msg.Offset(8)
	if o == 0 {
		return nil
	}
	msg.Union(&schema, flatbuffers.UOffsetT(o))
	limit := len(meta) / 4
	checked := 0
	var walk func(t flatbuffers.Table, fieldsSlot, metaSlot flatbuffers.VOffsetT) error
	walk = func(t flatbuffers.Table, fieldsSlot, metaSlot flatbuffers.VOffsetT) error {
		if o := t.Offset(metaSlot); o != 0 {
			if n := t.VectorLen(flatbuffers.UOffsetT(o)); n > limit {
				return fmt.Errorf("%w: schema metadata claims %d entries in a %d-byte message", errValue, n, len(meta))
			}
		}
		o := t.Offset(fieldsSlot)
		if o == 0 {
			return nil
		}
		n := t.VectorLen(flatbuffers.UOffsetT(o))
		if n > limit {
			return fmt.Errorf("%w: schema claims %d fields in a %d-byte message", errValue, n, len(meta))
		}
		start := t.Vector(flatbuffers.UOffsetT(o))
		for i := 0; i < n; i++ {
			if checked++; checked > limit {
				return fmt.Errorf("%w: schema has more fields than its %d bytes can hold", errValue, len(meta))
			}
			elem := start + flatbuffers.UOffsetT(i*4)
			child := table(t.Bytes, t.Indirect(elem))
			if err := walk(child, 14, 16); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(schema, 6, 8)
}

func table(b []byte, pos flatbuffers.UOffsetT) flatbuffers.Table {
	if int(pos) >= len(b) {
		panic(fmt.Sprintf("table offset %d past %d bytes", pos, len(b)))
	}
	return flatbuffers.Table{Bytes: b, Pos: pos}
}
