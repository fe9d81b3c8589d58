package remotewrite

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/golang/snappy"

	"github.com/tael/tael/engine"
	"github.com/tael/tael/schema"
)

// t0 is the time of the first sample in these tests, in milliseconds.
var t0 = time.Date(2025, 10, 9, 12, 0, 0, 0, time.UTC).UnixMilli()

// staleNaN is Prometheus's staleness marker (value.StaleNaN).
var staleNaN = math.Float64frombits(0x7ff0000000000002)

// openEngine opens a real engine in a temporary directory, with a checked
// allocator that must be empty once it is closed at the end of the test.
func openEngine(t testing.TB) *engine.Engine {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	e, err := engine.Open(context.Background(), t.TempDir(), engine.Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
		mem.AssertSize(t, 0)
	})
	return e
}

// checkedOptions returns o with a checked allocator that must be empty when
// the test ends.
func checkedOptions(t testing.TB, o Options) Options {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	o.Allocator = mem
	return o
}

// serve starts the handler on 127.0.0.1:0 and returns its URL.
func serve(t testing.TB, app interface {
	Append(context.Context, schema.ID, arrow.RecordBatch) (uint64, error)
}, o Options) string {
	t.Helper()
	srv := httptest.NewServer(NewHandler(app, checkedOptions(t, o)))
	t.Cleanup(srv.Close)
	return srv.URL
}

// row is one row of the metrics table, with the value as its bits so that
// NaNs compare exactly.
type row struct {
	Timestamp int64 // ns
	Name      string
	Labels    map[string]string
	Service   string
	Value     uint64 // math.Float64bits
	Type      string
	Unit      string // "<null>" for null
	SeriesID  uint64
}

func (r row) String() string {
	return fmt.Sprintf("%s%v@%d=%#x service=%s type=%s unit=%s id=%d", r.Name, r.Labels, r.Timestamp, r.Value, r.Service, r.Type, r.Unit, r.SeriesID)
}

// mkRow is the row a sample should become, series_id computed by the schema
// package.
func mkRow(ms int64, name string, labels map[string]string, service string, v float64, typ, unit string) row {
	if labels == nil {
		labels = map[string]string{}
	}
	if unit == "" {
		unit = "<null>"
	}
	return row{
		Timestamp: ms * 1e6, Name: name, Labels: labels, Service: service, Value: math.Float64bits(v),
		Type: typ, Unit: unit, SeriesID: schema.SeriesID(name, labels),
	}
}

func compareRows(a, b row) int {
	return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.SeriesID, b.SeriesID), cmp.Compare(a.Timestamp, b.Timestamp))
}

// scanRows reads every row of the metrics table, sorted by name, series and
// time.
func scanRows(t testing.TB, e *engine.Engine) []row {
	t.Helper()
	rr, err := e.Scan(context.Background(), schema.Metrics, schema.AllTime, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var out []row
	for rr.Next() {
		rec := rr.RecordBatch()
		ts := rec.Column(0).(*array.Timestamp)
		name := rec.Column(1).(*array.String)
		labels := rec.Column(2).(*array.Map)
		keys := labels.Keys().(*array.String)
		items := labels.Items().(*array.String)
		service := rec.Column(3).(*array.String)
		value := rec.Column(4).(*array.Float64)
		typ := rec.Column(5).(*array.String)
		unit := rec.Column(6).(*array.String)
		sid := rec.Column(7).(*array.Uint64)
		for i := range int(rec.NumRows()) {
			r := row{
				Timestamp: int64(ts.Value(i)), Name: name.Value(i), Labels: map[string]string{},
				Service: service.Value(i), Value: math.Float64bits(value.Value(i)), Type: typ.Value(i),
				Unit: "<null>", SeriesID: sid.Value(i),
			}
			if labels.IsNull(i) {
				t.Fatalf("row %d: null labels", i)
			}
			start, end := labels.ValueOffsets(i)
			var prev string
			for j := start; j < end; j++ {
				k := keys.Value(int(j))
				if j > start && k <= prev {
					t.Fatalf("row %d: label keys not sorted: %q after %q", i, k, prev)
				}
				prev = k
				r.Labels[k] = items.Value(int(j))
			}
			if unit.IsValid(i) {
				r.Unit = unit.Value(i)
			}
			out = append(out, r)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, compareRows)
	return out
}

// checkRows compares the stored rows with want (in any order).
func checkRows(t testing.TB, e *engine.Engine, want []row) {
	t.Helper()
	got := scanRows(t, e)
	want = slices.Clone(want)
	slices.SortFunc(want, compareRows)
	if len(got) != len(want) {
		t.Errorf("%d rows stored, want %d", len(got), len(want))
	}
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i].String()
		}
		if i < len(want) {
			w = want[i].String()
		}
		if g != w {
			t.Errorf("row %d:\n got  %s\n want %s", i, g, w)
		}
	}
}

// post sends body (snappy-encoded when encode is set) with the given
// Content-Type and returns the status, the response body and headers.
func post(t testing.TB, url, contentType string, body []byte, encode bool) (int, string, http.Header) {
	t.Helper()
	if encode {
		body = snappy.Encode(nil, body)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Content-Encoding", "snappy")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String(), resp.Header
}
