package remotewrite

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Reasons a sample, histogram or exemplar is not stored
// (tael_remote_write_dropped_total{reason}).
const (
	dropInvalidSeries    = "invalid_series"
	dropInvalidTimestamp = "invalid_timestamp"
	dropNativeHistogram  = "native_histogram"
	dropExemplar         = "exemplar"
)

type metrics struct {
	requests *prometheus.CounterVec
	samples  prometheus.Counter
	dropped  *prometheus.CounterVec
	duration prometheus.Histogram
}

// newMetrics registers the handler's metrics with r; a nil r registers
// nothing (promauto.With(nil) makes unregistered collectors).
func newMetrics(r prometheus.Registerer) *metrics {
	f := promauto.With(r)
	m := &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tael_remote_write_requests_total",
			Help: "Remote-write requests answered, by HTTP status code.",
		}, []string{"code"}),
		samples: f.NewCounter(prometheus.CounterOpts{
			Name: "tael_remote_write_samples_total",
			Help: "Float samples received by remote write and stored durably.",
		}),
		dropped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tael_remote_write_dropped_total",
			Help: "Samples, native histogram samples and exemplars received by remote write and not stored, by reason.",
		}, []string{"reason"}),
		duration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "tael_remote_write_request_duration_seconds",
			Help:    "Time from receiving a remote-write request to answering it, durable append included.",
			Buckets: prometheus.DefBuckets,
		}),
	}
	for _, reason := range []string{dropInvalidSeries, dropInvalidTimestamp, dropNativeHistogram, dropExemplar} {
		m.dropped.WithLabelValues(reason)
	}
	return m
}
