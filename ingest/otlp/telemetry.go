package otlp

import "github.com/prometheus/client_golang/prometheus"

// receiverMetrics are the Receiver's Prometheus metrics. They always exist,
// so code updates them unconditionally; they are registered only when
// ReceiverOptions.Registerer is set.
type receiverMetrics struct {
	// requests is labelled signal, transport (grpc, http) and code: the HTTP
	// status ("200", "429") or the gRPC code name ("OK",
	// "ResourceExhausted").
	requests *prometheus.CounterVec
	// items and rejected count spans, log records and data points, by
	// signal.
	items, rejected *prometheus.CounterVec
	// bytes and duration are labelled signal and transport.
	bytes    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newReceiverMetrics(r prometheus.Registerer) *receiverMetrics {
	m := &receiverMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tael_otlp_requests_total",
			Help: "OTLP export requests answered, by signal, transport and status code.",
		}, []string{"signal", "transport", "code"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tael_otlp_items_total",
			Help: "Spans, log records and metric data points stored, by signal.",
		}, []string{"signal"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tael_otlp_rejected_items_total",
			Help: "Spans, log records and metric data points rejected in partial successes, by signal.",
		}, []string{"signal"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tael_otlp_request_bytes_total",
			Help: "Bytes of OTLP request bodies read, after decompression, by signal and transport.",
		}, []string{"signal", "transport"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tael_otlp_request_duration_seconds",
			Help: "Time from an OTLP request's arrival to its answer (durable when successful), by signal and transport.",
			// From 0.5 ms (a small request and one fsync on NVMe) to about
			// 16 s (a saturated disk), doubling.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"signal", "transport"}),
	}
	if r != nil {
		r.MustRegister(m.requests, m.items, m.rejected, m.bytes, m.duration)
	}
	return m
}
