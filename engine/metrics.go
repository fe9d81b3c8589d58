package engine

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	appends, rows, bytes, appendErrors *prometheus.CounterVec
	appendSeconds                      prometheus.Histogram
	appliedLSN                         prometheus.Gauge
	replayed, checkpoints, indexed     prometheus.Counter
	mirrorErrors                       prometheus.Counter
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		appends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tael_engine_appends_total", Help: "WAL records appended, by table.",
		}, []string{"table"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tael_engine_append_rows_total", Help: "Rows appended, by table.",
		}, []string{"table"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tael_engine_append_bytes_total", Help: "Encoded bytes appended to the WAL, by table.",
		}, []string{"table"}),
		appendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tael_engine_append_errors_total", Help: "Appends that failed after validation, by table.",
		}, []string{"table"}),
		appendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tael_engine_append_duration_seconds",
			Help:    "Time from Append to durable and applied, per WAL record.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		appliedLSN: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tael_engine_applied_lsn", Help: "Highest LSN below which every WAL record is in the hot tier.",
		}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tael_engine_replayed_records_total", Help: "WAL records replayed into the hot tier at open.",
		}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tael_engine_checkpoints_total", Help: "Hot-tier syncs that let WAL segments go.",
		}),
		indexed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tael_engine_fulltext_indexed_total", Help: "Texts added to the full-text index.",
		}),
		mirrorErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tael_engine_mirror_errors_total", Help: "Changes the SQL layer's copy of the hot tier failed to take (it is rebuilt at start).",
		}),
	}
	if r != nil {
		r.MustRegister(m.appends, m.rows, m.bytes, m.appendErrors, m.appendSeconds, m.appliedLSN, m.replayed, m.checkpoints, m.indexed, m.mirrorErrors)
	}
	return m
}
