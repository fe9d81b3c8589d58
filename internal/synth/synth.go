// Package synth makes synthetic telemetry as Arrow record batches in tael's
// table schemas, for tests and benchmarks. Output is a pure function of the
// options (including Seed), so a test can rebuild the rows it expects.
package synth

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/schema"
)

// SpanOptions shapes a batch of spans.
type SpanOptions struct {
	Rows int
	// Start is the first span's start time; span i starts at Start+i*Step.
	Start time.Time
	// Step between consecutive start times. Zero means 1ms.
	Step time.Duration
	// Jitter adds a random offset in [0, Jitter) to each start time, so
	// batches are not sorted by time. Zero means none.
	Jitter time.Duration
	// SpansPerTrace groups consecutive spans into traces. Zero means 8.
	SpansPerTrace int
	// Services is the number of distinct services. Zero means 8.
	Services int
	// LLMEvery makes every n-th span an LLM span. Zero means never.
	LLMEvery int
	Seed     uint64
}

var (
	operations = []string{"GET /api/v1/users", "POST /api/v1/chat", "SELECT users", "redis GET", "chat gpt-4o", "embeddings", "HTTP GET", "process_order"}
	kinds      = []string{"server", "client", "internal", "producer", "consumer"}
	models     = []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "llama-3.1-70b"}
)

// TraceID returns the hex trace id synth gives trace n of seed.
func TraceID(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b[:])
}

// Spans builds a spans batch. The caller releases it.
func Spans(mem memory.Allocator, o SpanOptions) arrow.RecordBatch {
	if o.Step == 0 {
		o.Step = time.Millisecond
	}
	if o.SpansPerTrace == 0 {
		o.SpansPerTrace = 8
	}
	if o.Services == 0 {
		o.Services = 8
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	b := array.NewRecordBuilder(mem, mustTable(schema.Spans).Schema)
	defer b.Release()
	str := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	ts := func(i int) *array.TimestampBuilder { return b.Field(i).(*array.TimestampBuilder) }
	f64 := func(i int) *array.Float64Builder { return b.Field(i).(*array.Float64Builder) }
	i64 := func(i int) *array.Int64Builder { return b.Field(i).(*array.Int64Builder) }
	start0 := o.Start.UnixNano()
	firstTrace := int(start0/int64(o.Step)) / o.SpansPerTrace
	for i := 0; i < o.Rows; i++ {
		traceN := firstTrace + i/o.SpansPerTrace
		str(0).Append(TraceID(o.Seed, traceN))
		str(1).Append(fmt.Sprintf("%016x", rng.Uint64()))
		if i%o.SpansPerTrace == 0 {
			str(2).AppendNull()
		} else {
			str(2).Append(fmt.Sprintf("%016x", rng.Uint64()))
		}
		str(3).AppendNull()
		svc := fmt.Sprintf("svc-%d", traceN%o.Services)
		str(4).Append(svc)
		op := operations[rng.IntN(len(operations))]
		str(5).Append(op)
		str(6).Append(kinds[rng.IntN(len(kinds))])
		st := start0 + int64(i)*int64(o.Step)
		if o.Jitter > 0 {
			st += rng.Int64N(int64(o.Jitter))
		}
		dur := rng.Int64N(int64(500 * time.Millisecond))
		ts(7).Append(arrow.Timestamp(st))
		ts(8).Append(arrow.Timestamp(st + dur))
		f64(9).Append(float64(dur) / 1e6)
		if rng.IntN(50) == 0 {
			str(10).Append("error")
			str(11).Append("upstream returned 503")
		} else {
			str(10).Append("ok")
			str(11).AppendNull()
		}
		appendMap(b.Field(12).(*array.MapBuilder), "http.method", "GET", "http.route", op, "http.status_code", fmt.Sprint(200+rng.IntN(4)), "net.peer.name", "10.0.0."+fmt.Sprint(rng.IntN(255)), "thread.id", fmt.Sprint(rng.IntN(64)))
		appendMap(b.Field(13).(*array.MapBuilder), "service.name", svc, "service.version", "1.4.2", "host.name", fmt.Sprintf("host-%d", traceN%3), "telemetry.sdk.language", "go", "telemetry.sdk.name", "opentelemetry")
		str(14).Append("github.com/example/app")
		evs := b.Field(15).(*array.ListBuilder)
		if rng.IntN(10) == 0 {
			evs.Append(true)
			sb := evs.ValueBuilder().(*array.StructBuilder)
			sb.Append(true)
			sb.FieldBuilder(0).(*array.TimestampBuilder).Append(arrow.Timestamp(st + dur/2))
			sb.FieldBuilder(1).(*array.StringBuilder).Append("exception")
			appendMap(sb.FieldBuilder(2).(*array.MapBuilder), "exception.type", "TimeoutError", "exception.message", "deadline exceeded")
		} else {
			evs.AppendNull()
		}
		b.Field(16).(*array.ListBuilder).AppendNull()
		if o.LLMEvery > 0 && i%o.LLMEvery == 0 {
			m := models[rng.IntN(len(models))]
			str(17).Append("openai")
			str(18).Append(m)
			str(19).Append("chat")
			in, out := rng.Int64N(4000), rng.Int64N(1000)
			i64(20).Append(in)
			i64(21).Append(out)
			i64(22).Append(in + out)
			f64(23).Append(float64(in)*2.5e-6 + float64(out)*1e-5)
			f64(24).Append(float64(rng.IntN(800)))
			str(25).Append("stop")
			str(26).Append(fmt.Sprintf("conv-%d", traceN))
			str(27).Append(fmt.Sprintf("%064x", rng.Uint64()))
			str(28).Append(fmt.Sprintf("%064x", rng.Uint64()))
		} else {
			for c := 17; c <= 28; c++ {
				b.Field(c).AppendNull()
			}
		}
	}
	return b.NewRecordBatch()
}

// LogOptions shapes a batch of logs.
type LogOptions struct {
	Rows  int
	Start time.Time
	// Step between consecutive timestamps. Zero means 1ms.
	Step time.Duration
	Seed uint64
}

var severities = []struct {
	name string
	num  int32
}{{"trace", 1}, {"debug", 5}, {"info", 9}, {"warn", 13}, {"error", 17}, {"fatal", 21}}

// Logs builds a logs batch. The caller releases it.
func Logs(mem memory.Allocator, o LogOptions) arrow.RecordBatch {
	if o.Step == 0 {
		o.Step = time.Millisecond
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x1095))
	b := array.NewRecordBuilder(mem, mustTable(schema.Logs).Schema)
	defer b.Release()
	start0 := o.Start.UnixNano()
	for i := 0; i < o.Rows; i++ {
		t := start0 + int64(i)*int64(o.Step)
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(t))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t + 1000))
		b.Field(2).(*array.StringBuilder).Append(TraceID(o.Seed, i/4))
		b.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("%016x", rng.Uint64()))
		sev := severities[rng.IntN(len(severities))]
		b.Field(4).(*array.StringBuilder).Append(sev.name)
		b.Field(5).(*array.Int32Builder).Append(sev.num)
		b.Field(6).(*array.StringBuilder).Append(sev.name)
		b.Field(7).(*array.StringBuilder).Append(fmt.Sprintf("request %d handled in %dms", rng.IntN(1e6), rng.IntN(900)))
		b.Field(8).(*array.StringBuilder).AppendNull()
		svc := fmt.Sprintf("svc-%d", rng.IntN(8))
		b.Field(9).(*array.StringBuilder).Append(svc)
		appendMap(b.Field(10).(*array.MapBuilder), "code.function", "handle", "thread.id", fmt.Sprint(rng.IntN(64)))
		appendMap(b.Field(11).(*array.MapBuilder), "service.name", svc)
	}
	return b.NewRecordBatch()
}

// MetricOptions shapes a batch of metric points: Series series, Points each,
// Step apart, series-major (all points of series 0, then series 1, …).
type MetricOptions struct {
	Series, Points int
	Start          time.Time
	// Step between a series' points. Zero means 15s.
	Step time.Duration
	Seed uint64
}

// MetricLabels returns the labels synth gives series n.
func MetricLabels(n int) (name string, labels map[string]string) {
	names := []string{"http_requests_total", "process_cpu_seconds_total", "queue_depth", "llm_tokens_total"}
	name = names[n%len(names)]
	return name, map[string]string{
		"job":      fmt.Sprintf("svc-%d", n%8),
		"instance": fmt.Sprintf("host-%d:9090", n%5),
		"path":     fmt.Sprintf("/api/%d", n),
	}
}

// Metrics builds a metrics batch. The caller releases it.
func Metrics(mem memory.Allocator, o MetricOptions) arrow.RecordBatch {
	if o.Step == 0 {
		o.Step = 15 * time.Second
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x3e7))
	b := array.NewRecordBuilder(mem, mustTable(schema.Metrics).Schema)
	defer b.Release()
	start0 := o.Start.UnixNano()
	for s := 0; s < o.Series; s++ {
		name, labels := MetricLabels(s)
		id := schema.SeriesID(name, labels)
		kv := make([]string, 0, 2*len(labels))
		for k, v := range labels {
			kv = append(kv, k, v)
		}
		v := 0.0
		for p := 0; p < o.Points; p++ {
			v += float64(rng.IntN(100))
			b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(start0 + int64(p)*int64(o.Step)))
			b.Field(1).(*array.StringBuilder).Append(name)
			appendMap(b.Field(2).(*array.MapBuilder), kv...)
			b.Field(3).(*array.StringBuilder).Append(labels["job"])
			b.Field(4).(*array.Float64Builder).Append(v)
			b.Field(5).(*array.StringBuilder).Append("counter")
			b.Field(6).(*array.StringBuilder).AppendNull()
			b.Field(7).(*array.Uint64Builder).Append(id)
		}
	}
	return b.NewRecordBatch()
}

func appendMap(mb *array.MapBuilder, kv ...string) {
	mb.Append(true)
	kb := mb.KeyBuilder().(*array.StringBuilder)
	ib := mb.ItemBuilder().(*array.StringBuilder)
	for i := 0; i+1 < len(kv); i += 2 {
		kb.Append(kv[i])
		ib.Append(kv[i+1])
	}
}

func mustTable(id schema.ID) *schema.Table {
	t, err := schema.ByID(id)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return t
}
