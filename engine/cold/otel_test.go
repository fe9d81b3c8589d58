package cold

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tael/tael/schema"
)

// otelGen makes spans shaped like what an OpenTelemetry SDK exports from a
// small microservice system: 10 services with 5 operations each, traces of
// 1 to 40 spans (a root server span, then client, server, internal and
// database spans below it), random 16-byte trace ids and 8-byte span ids,
// nanosecond start times, log-normal durations, the semantic-convention
// attributes an HTTP or database instrumentation sets, resource attributes
// per service instance, and an exception event on failed spans. synth's
// spans are simpler (8 spans per trace, uniform durations, the same
// attributes everywhere).
type otelGen struct {
	rng      *rand.Rand
	services []otelService
}

type otelService struct {
	name, version, lang, scope string
	hosts                      []string
	ops                        []otelOp
}

type otelOp struct {
	name, kind string
	attrs      func(r *rand.Rand) []string
	dbSystem   string
}

func newOTelGen(seed uint64) *otelGen {
	r := rand.New(rand.NewPCG(seed, 0x07e1))
	g := &otelGen{rng: r}
	names := []string{"frontend", "cart", "checkout", "currency", "email", "payment", "product-catalog", "recommendation", "shipping", "ad"}
	langs := []string{"go", "java", "python", "nodejs", "dotnet"}
	routes := []string{"/api/products", "/api/cart", "/api/checkout", "/api/currency/convert", "/api/recommendations", "/api/shipping/quote", "/api/ads", "/api/orders/{id}", "/healthz", "/api/users/{id}"}
	methods := []string{"GET", "GET", "GET", "POST", "PUT"}
	for i, n := range names {
		s := otelService{name: n, version: fmt.Sprintf("1.%d.%d", i%4, i%7), lang: langs[i%len(langs)], scope: "io.opentelemetry." + langs[i%len(langs)] + ".http"}
		for h := range 3 {
			s.hosts = append(s.hosts, fmt.Sprintf("%s-%x", n, r.Uint32()|uint32(h)))
		}
		for j := range 5 {
			route := routes[(i+j)%len(routes)]
			method := methods[(i*5+j)%len(methods)]
			switch j {
			case 0, 1:
				s.ops = append(s.ops, otelOp{name: method + " " + route, kind: "server", attrs: func(r *rand.Rand) []string {
					code := "200"
					if r.IntN(40) == 0 {
						code = "500"
					}
					return []string{"http.request.method", method, "http.route", route, "http.response.status_code", code,
						"url.scheme", "http", "server.address", n, "user_agent.original", "grpc-go/1.64.0", "network.peer.address", fmt.Sprintf("10.1.%d.%d", r.IntN(4), r.IntN(250))}
				}})
			case 2:
				s.ops = append(s.ops, otelOp{name: method, kind: "client", attrs: func(r *rand.Rand) []string {
					return []string{"http.request.method", method, "server.address", names[r.IntN(len(names))], "server.port", "8080",
						"url.full", fmt.Sprintf("http://%s:8080%s", names[r.IntN(len(names))], route), "http.response.status_code", "200"}
				}})
			case 3:
				db := []string{"postgresql", "redis"}[i%2]
				stmt := []string{"SELECT * FROM products WHERE id = $1", "GET", "UPDATE carts SET items = $1 WHERE user_id = $2", "HGETALL"}[(i+j)%4]
				s.ops = append(s.ops, otelOp{name: stmt, kind: "client", dbSystem: db, attrs: func(r *rand.Rand) []string {
					return []string{"db.system", db, "db.statement", stmt, "db.name", "shop", "server.address", db + "-0"}
				}})
			default:
				s.ops = append(s.ops, otelOp{name: fmt.Sprintf("%s.process", n), kind: "internal", attrs: func(r *rand.Rand) []string {
					return []string{"app.items.count", fmt.Sprint(r.IntN(20)), "thread.id", fmt.Sprint(1 + r.IntN(32))}
				}})
			}
		}
		g.services = append(g.services, s)
	}
	return g
}

// spans returns about n spans (whole traces) whose traces start uniformly
// in [start, start+window), each trace within window's end.
func (g *otelGen) spans(mem memory.Allocator, n int, start time.Time, window time.Duration) arrow.RecordBatch {
	r := g.rng
	b := array.NewRecordBuilder(mem, mustTable(schema.Spans).Schema)
	defer b.Release()
	str := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	ts := func(i int) *array.TimestampBuilder { return b.Field(i).(*array.TimestampBuilder) }
	kv := func(mb *array.MapBuilder, pairs []string) {
		mb.Append(true)
		for i := 0; i+1 < len(pairs); i += 2 {
			mb.KeyBuilder().(*array.StringBuilder).Append(pairs[i])
			mb.ItemBuilder().(*array.StringBuilder).Append(pairs[i+1])
		}
	}
	var idb [16]byte
	rows := 0
	for rows < n {
		for i := range idb {
			idb[i] = byte(r.Uint32())
		}
		traceID := hex.EncodeToString(idb[:])
		size := 1 + int(math.Min(39, r.ExpFloat64()*8))
		// Leave room for the trace's spans in the window.
		tStart := start.UnixNano() + r.Int64N(int64(window)-int64(2*time.Second))
		rootDur := int64(math.Min(1.5e9, math.Exp(r.NormFloat64()*1.2+16))) // median ~9ms
		var parents []string
		svc := &g.services[r.IntN(len(g.services))]
		for k := 0; k < size && rows < n; k++ {
			var op otelOp
			if k == 0 {
				op = svc.ops[r.IntN(2)]
			} else {
				if r.IntN(3) == 0 {
					svc = &g.services[r.IntN(len(g.services))]
				}
				op = svc.ops[r.IntN(len(svc.ops))]
			}
			for i := range 8 {
				idb[i] = byte(r.Uint32())
			}
			spanID := hex.EncodeToString(idb[:8])
			str(0).Append(traceID)
			str(1).Append(spanID)
			if k == 0 {
				str(2).AppendNull()
			} else {
				str(2).Append(parents[r.IntN(len(parents))])
			}
			parents = append(parents, spanID)
			str(3).AppendNull()
			str(4).Append(svc.name)
			str(5).Append(op.name)
			str(6).Append(op.kind)
			st := tStart
			dur := rootDur
			if k > 0 {
				st += r.Int64N(max(rootDur, 1))
				dur = int64(float64(rootDur) * r.Float64() * 0.8)
			}
			ts(7).Append(arrow.Timestamp(st))
			ts(8).Append(arrow.Timestamp(st + dur))
			b.Field(9).(*array.Float64Builder).Append(float64(dur) / 1e6)
			failed := r.IntN(50) == 0
			switch {
			case failed:
				str(10).Append("error")
				str(11).Append("rpc error: code = Unavailable desc = connection refused")
			case k == 0 && r.IntN(4) == 0:
				str(10).Append("ok")
				str(11).AppendNull()
			default:
				str(10).Append("unset")
				str(11).AppendNull()
			}
			kv(b.Field(12).(*array.MapBuilder), op.attrs(r))
			host := svc.hosts[r.IntN(len(svc.hosts))]
			kv(b.Field(13).(*array.MapBuilder), []string{"service.name", svc.name, "service.version", svc.version, "host.name", host,
				"service.instance.id", host, "telemetry.sdk.language", svc.lang, "telemetry.sdk.name", "opentelemetry", "telemetry.sdk.version", "1.28.0",
				"deployment.environment", "production"})
			str(14).Append(svc.scope)
			evs := b.Field(15).(*array.ListBuilder)
			if failed {
				evs.Append(true)
				sb := evs.ValueBuilder().(*array.StructBuilder)
				sb.Append(true)
				sb.FieldBuilder(0).(*array.TimestampBuilder).Append(arrow.Timestamp(st + dur))
				sb.FieldBuilder(1).(*array.StringBuilder).Append("exception")
				kv(sb.FieldBuilder(2).(*array.MapBuilder), []string{"exception.type", "ConnectionError", "exception.message", "connection refused"})
			} else {
				evs.AppendNull()
			}
			b.Field(16).(*array.ListBuilder).AppendNull()
			for c := 17; c <= 28; c++ {
				b.Field(c).AppendNull()
			}
			rows++
		}
	}
	return b.NewRecordBatch()
}
