package wal

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the WAL's Prometheus metrics. They always exist, so that code
// can update them unconditionally; they are registered only when
// Options.Registerer is set.
type metrics struct {
	appends        prometheus.Counter
	appendBytes    prometheus.Counter
	fsyncs         prometheus.Counter
	fsyncDuration  prometheus.Histogram
	appendDuration prometheus.Histogram
	segments       prometheus.Gauge
	errors         prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	// From 100µs (an NVMe fsync) to about 6.5s (a saturated network disk),
	// doubling.
	durationBuckets := prometheus.ExponentialBuckets(100e-6, 2, 17)
	m := &metrics{
		appends: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tael_wal_appends_total", Help: "Records appended and acknowledged.",
		}),
		appendBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tael_wal_append_bytes_total", Help: "Payload bytes appended and acknowledged.",
		}),
		fsyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tael_wal_fsyncs_total", Help: "fsync calls on segment files and the WAL directory.",
		}),
		fsyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tael_wal_fsync_duration_seconds", Help: "Duration of segment file fsyncs.",
			Buckets: durationBuckets,
		}),
		appendDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tael_wal_append_duration_seconds", Help: "Time from an append being queued to it being durable.",
			Buckets: durationBuckets,
		}),
		segments: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tael_wal_segments", Help: "Segment files in the WAL directory.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tael_wal_errors_total", Help: "Failed writes, fsyncs and segment rotations.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.appends, err = register(reg, m.appends, err)
	m.appendBytes, err = register(reg, m.appendBytes, err)
	m.fsyncs, err = register(reg, m.fsyncs, err)
	m.fsyncDuration, err = register(reg, m.fsyncDuration, err)
	m.appendDuration, err = register(reg, m.appendDuration, err)
	m.segments, err = register(reg, m.segments, err)
	m.errors, err = register(reg, m.errors, err)
	return m, err
}

// register registers c unless an earlier error occurred. If an equal
// collector is registered already (a WAL reopened with the same registerer),
// it returns that one.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, prev error) (C, error) {
	if prev != nil {
		return c, prev
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
