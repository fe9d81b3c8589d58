package hot

import (
	"encoding/binary"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/tael/tael/internal/synth"
	"github.com/tael/tael/schema"
)

// FuzzDecodeValue feeds arbitrary stored values to the value decoder: it
// must return an error, not panic, and leak nothing.
func FuzzDecodeValue(f *testing.F) {
	mem := memory.NewGoAllocator()
	for _, c := range []Codec{Zstd, LZ4, None} {
		cd, err := newCodec(c, mem)
		if err != nil {
			f.Fatal(err)
		}
		rec := synth.Metrics(mem, synth.MetricOptions{Series: 2, Points: 2, Start: t0})
		v, err := cd.encode(schema.Metrics, rec)
		rec.Release()
		cd.close()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v)
		f.Add(v[:len(v)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{formatZstd, 0})
	// One decoder for every input (making one is slow); the fuzz function
	// runs one input at a time, so the allocator is back to 0 after each.
	checked := memory.NewCheckedAllocator(memory.NewGoAllocator())
	cd, err := newCodec(None, checked)
	if err != nil {
		f.Fatal(err)
	}
	defer cd.close()
	tbl, _ := schema.ByID(schema.Metrics)
	f.Fuzz(func(t *testing.T, v []byte) {
		if len(v) > 1 && v[0] != formatIPC {
			// A corrupt length could ask for any allocation; Badger's
			// checksums keep such values from reaching decode.
			if n, m := binary.Uvarint(v[1:]); m <= 0 || n > 1<<20 {
				t.Skip()
			}
		}
		defer checked.AssertSize(t, 0)
		rec, err := cd.decode(tbl, v)
		if err == nil {
			rec.Release()
		}
	})
}

// FuzzDecodeLabels checks that decodeLabels returns an error, not a panic,
// on arbitrary input, and that what it decodes encodes back to its input
// when the input is sorted and well formed.
func FuzzDecodeLabels(f *testing.F) {
	f.Add(encodeLabels(labels.FromStrings("__name__", "up", "job", "a")))
	f.Add([]byte{1, 'a'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, v []byte) {
		var b labels.ScratchBuilder
		ls, err := decodeLabels(&b, v)
		if err != nil {
			return
		}
		if got, err := decodeLabels(&b, encodeLabels(ls)); err != nil || !labels.Equal(got, ls) {
			t.Fatalf("labels %v do not round-trip: %v, %v", ls, got, err)
		}
	})
}

// FuzzDecodeRows checks the trace index row lists the same way.
func FuzzDecodeRows(f *testing.F) {
	f.Add(encodeRows([]int{0, 3, 7}), int64(8))
	f.Add([]byte{0x80}, int64(1))
	f.Fuzz(func(t *testing.T, v []byte, n int64) {
		rows, err := decodeRows(v, n)
		if err != nil {
			return
		}
		for i, r := range rows {
			if int64(r) >= n || (i > 0 && r < rows[i-1]) {
				t.Fatalf("decodeRows(%x, %d) = %v", v, n, rows)
			}
		}
	})
}
