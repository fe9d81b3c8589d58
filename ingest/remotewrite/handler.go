package remotewrite

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/golang/snappy"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/tael/tael/ingest"
	"github.com/tael/tael/schema"
)

// Protobuf messages a request may carry, named by the proto parameter of its
// Content-Type.
const (
	protoV1 = "prometheus.WriteRequest"
	protoV2 = "io.prometheus.write.v2.Request"
)

// Response headers of remote-write 2.0: what the receiver stored.
const (
	headerSamplesWritten    = "X-Prometheus-Remote-Write-Samples-Written"
	headerHistogramsWritten = "X-Prometheus-Remote-Write-Histograms-Written"
	headerExemplarsWritten  = "X-Prometheus-Remote-Write-Exemplars-Written"
)

// retryAfterSeconds is the Retry-After of an overloaded answer (503): the
// smallest delay the header can say. Requests in flight finish in tens of
// milliseconds, so the budget frees up well within it.
const retryAfterSeconds = "1"

// bytesPerSample estimates the samples in a decoded request, to size the
// Arrow builders once: a 1.0 series of ~8 labels and one sample takes
// about 150-250 bytes of protobuf, so this overestimates a little.
const bytesPerSample = 128

var _ http.Handler = (*handler)(nil)

type handler struct {
	app    ingest.Appender
	mem    memory.Allocator
	limits ingest.Limits
	gate   *ingest.Gate
	log    *slog.Logger
	m      *metrics
	meta   *metadataCache

	// bufs holds decoded request bodies for reuse (*[]byte).
	bufs sync.Pool
	// histogramsLogged makes the "native histograms dropped" warning
	// appear once per handler.
	histogramsLogged sync.Once
}

// NewHandler returns the receiver of Prometheus remote-write 1.0 and 2.0
// requests (flightd mounts it at POST /api/v1/write), storing each float
// sample as a row of the metrics table through app. See the package
// documentation for the mapping and the status codes.
func NewHandler(app ingest.Appender, o Options) http.Handler {
	o = o.withDefaults()
	return &handler{
		app:    app,
		mem:    o.Allocator,
		limits: o.Limits,
		gate:   ingest.NewGate(o.Limits.MaxInflightBytes),
		log:    o.Logger,
		m:      newMetrics(o.Registerer),
		meta:   newMetadataCache(),
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := h.serve(w, r)
	h.m.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	h.m.duration.Observe(time.Since(start).Seconds())
}

// fail answers with a plain-text message, as Prometheus's own receiver does.
func fail(w http.ResponseWriter, code int, format string, args ...any) int {
	http.Error(w, fmt.Sprintf(format, args...), code)
	return code
}

// serve handles one request and returns the status it answered.
func (h *handler) serve(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return fail(w, http.StatusMethodNotAllowed, "remote write takes POST, not %s", r.Method)
	}
	proto, err := protoOf(r.Header.Get("Content-Type"))
	if err != nil {
		return fail(w, http.StatusUnsupportedMediaType, "%v", err)
	}
	if enc := strings.TrimSpace(r.Header.Get("Content-Encoding")); enc != "" && !strings.EqualFold(enc, "snappy") {
		return fail(w, http.StatusUnsupportedMediaType, "Content-Encoding %q is not supported; remote write bodies are snappy (block format)", enc)
	}

	// The snappy block format starts with the decoded length: check it
	// before decoding anything. A body longer than the longest encoding
	// of MaxRequestBytes cannot decode within it.
	max := h.limits.MaxRequestBytes
	wireMax := int64(math.MaxInt64)
	if max <= math.MaxInt32 {
		wireMax = int64(snappy.MaxEncodedLen(int(max)))
	}
	body, err := ingest.ReadBody(r.Body, "", wireMax)
	switch {
	case errors.Is(err, ingest.ErrTooLarge):
		return fail(w, http.StatusRequestEntityTooLarge, "request body larger than %d bytes, the longest snappy encoding of the %d-byte limit", wireMax, max)
	case err != nil:
		return fail(w, http.StatusBadRequest, "read request body: %v", err)
	}
	n, err := snappy.DecodedLen(body)
	switch {
	case errors.Is(err, snappy.ErrTooLarge):
		return fail(w, http.StatusRequestEntityTooLarge, "request decodes to more than the limit of %d bytes", max)
	case err != nil:
		return fail(w, http.StatusBadRequest, "snappy: %v", err)
	}
	if int64(n) > max {
		return fail(w, http.StatusRequestEntityTooLarge, "request decodes to %d bytes, more than the limit of %d", n, max)
	}
	held := int64(n) + int64(len(body))
	if err := h.gate.Acquire(held); err != nil {
		w.Header().Set("Retry-After", retryAfterSeconds)
		return fail(w, http.StatusServiceUnavailable, "%v", err)
	}
	defer h.gate.Release(held)

	bp := h.buffer(n)
	defer h.bufs.Put(bp)
	data, err := snappy.Decode((*bp)[:cap(*bp)], body)
	if err != nil {
		return fail(w, http.StatusBadRequest, "snappy: %v", err)
	}

	c := newConverter(h.mem, len(data)/bytesPerSample)
	defer c.release()
	if proto == protoV2 {
		return h.serveV2(w, r, c, data)
	}
	return h.serveV1(w, r, c, data)
}

// buffer returns a pooled buffer of at least n bytes.
func (h *handler) buffer(n int) *[]byte {
	if bp, ok := h.bufs.Get().(*[]byte); ok && cap(*bp) >= n {
		return bp
	}
	b := make([]byte, n)
	return &b
}

func (h *handler) serveV1(w http.ResponseWriter, r *http.Request, c *converter, data []byte) int {
	md, err := decodeV1Metadata(data)
	if err != nil {
		return fail(w, http.StatusBadRequest, "decode prometheus.WriteRequest: %v", err)
	}
	// Families of this request take precedence over the cache.
	var own map[string]meta
	if len(md) > 0 {
		own = make(map[string]meta, len(md))
		for i := range md {
			own[md[i].MetricFamilyName] = metaV1(&md[i])
		}
	}
	err = c.v1(data, func(family string) (meta, bool) {
		if m, ok := own[family]; ok {
			return m, true
		}
		return h.meta.get(family)
	})
	if err != nil {
		return fail(w, http.StatusBadRequest, "decode prometheus.WriteRequest: %v", err)
	}
	h.meta.update(md)
	if code, msg := h.store(r, c); code != 0 {
		return fail(w, code, "%s", msg)
	}
	if c.rejected.any() {
		return fail(w, http.StatusBadRequest, "%s", c.rejected.message())
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

func (h *handler) serveV2(w http.ResponseWriter, r *http.Request, c *converter, data []byte) int {
	setWritten := func(samples int64) {
		hd := w.Header()
		hd.Set(headerSamplesWritten, strconv.FormatInt(samples, 10))
		hd.Set(headerHistogramsWritten, "0")
		hd.Set(headerExemplarsWritten, "0")
	}
	var req writev2.Request
	if err := req.Unmarshal(data); err != nil {
		setWritten(0)
		return fail(w, http.StatusBadRequest, "decode io.prometheus.write.v2.Request: %v", err)
	}
	c.v2(&req)
	if code, msg := h.store(r, c); code != 0 {
		setWritten(0)
		return fail(w, code, "%s", msg)
	}
	setWritten(c.rows)
	if c.rejected.any() {
		return fail(w, http.StatusBadRequest, "%s", c.rejected.message())
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// store appends the converted rows and counts what was dropped. A non-zero
// code is the failure to answer with.
func (h *handler) store(r *http.Request, c *converter) (code int, msg string) {
	h.count(c)
	rec, err := c.batch()
	if err != nil {
		h.log.Error("remote write: converted batch is invalid", "err", err)
		return http.StatusInternalServerError, err.Error()
	}
	if rec == nil {
		return 0, ""
	}
	defer rec.Release()
	if _, err := h.app.Append(r.Context(), schema.Metrics, rec); err != nil {
		h.log.Warn("remote write: append failed; the sender will retry", "rows", rec.NumRows(), "err", err)
		return http.StatusServiceUnavailable, "store samples: " + err.Error()
	}
	h.m.samples.Add(float64(rec.NumRows()))
	return 0, ""
}

// count records what the conversion could not store.
func (h *handler) count(c *converter) {
	var ts int64
	for _, x := range c.rejected.reasons {
		if x.why == whyTimestamp {
			ts += x.count
		}
	}
	if ts > 0 {
		h.m.dropped.WithLabelValues(dropInvalidTimestamp).Add(float64(ts))
	}
	if n := c.rejected.samples - ts; n > 0 {
		h.m.dropped.WithLabelValues(dropInvalidSeries).Add(float64(n))
	}
	if c.histograms > 0 {
		h.m.dropped.WithLabelValues(dropNativeHistogram).Add(float64(c.histograms))
		h.histogramsLogged.Do(func() {
			h.log.Warn("remote write: native histogram samples are not stored yet and are dropped (float samples of the same requests are stored); counted in tael_remote_write_dropped_total{reason=\"native_histogram\"}; this is logged once")
		})
	}
	if c.exemplars > 0 {
		h.m.dropped.WithLabelValues(dropExemplar).Add(float64(c.exemplars))
	}
}

// protoOf returns the message a Content-Type names: remote-write 1.0 for
// application/x-protobuf without a proto parameter (or with
// proto=prometheus.WriteRequest) and for an empty header, as Prometheus's
// receiver assumes; 2.0 for proto=io.prometheus.write.v2.Request.
func protoOf(contentType string) (string, error) {
	if strings.TrimSpace(contentType) == "" {
		return protoV1, nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("Content-Type %q: %v", contentType, err)
	}
	if mt != "application/x-protobuf" {
		return "", fmt.Errorf("Content-Type %q is not supported; remote write takes application/x-protobuf", contentType)
	}
	switch p := params["proto"]; p {
	case "", protoV1:
		return protoV1, nil
	case protoV2:
		return protoV2, nil
	default:
		return "", fmt.Errorf("Content-Type %q: proto %q is not supported; this server accepts %s and %s", contentType, p, protoV1, protoV2)
	}
}
