package cold

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/schema"
)

func TestFooterSize(t *testing.T) {
	if os.Getenv("FOOTER") == "" {
		t.Skip()
	}
	for _, rg := range []int{4096, 16384} {
		s, _ := Open(t.TempDir(), Options{RowGroupRows: rg})
		rec := newOTelGen(1).spans(memory.DefaultAllocator, 500000, t0, 15*time.Minute)
		f, err := s.Write(context.Background(), schema.Spans, t0.UnixNano(), []arrow.RecordBatch{rec})
		if err != nil {
			t.Fatal(err)
		}
		rec.Release()
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		ft, err := s.footer(f)
		if err != nil {
			t.Fatal(err)
		}
		ft.traceRanges()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		fmt.Printf("rg=%d: footer %d bytes serialized, %d row groups, heap +%d bytes\n", rg, ft.meta.Size(), ft.meta.NumRowGroups(), m1.HeapAlloc-m0.HeapAlloc)
		runtime.KeepAlive(ft)
	}
}
