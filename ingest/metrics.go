package ingest

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the ingester's Prometheus metrics, all prefixed tide_ingest_.
type metrics struct {
	consumed     prometheus.Counter
	inserted     prometheus.Counter
	deadLettered *prometheus.CounterVec
	batchRows    prometheus.Histogram
	insertSecs   prometheus.Histogram
	insertErrors prometheus.Counter
	commits      prometheus.Counter
	lag          *prometheus.GaugeVec
}

func newMetrics(r prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		consumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tide_ingest_consumed_records_total", Help: "Kafka records read from the events topic.",
		}),
		inserted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tide_ingest_inserted_rows_total", Help: "Rows ClickHouse acknowledged into events.",
		}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tide_ingest_dead_lettered_total", Help: "Records sent to the dead-letter topic, by reason (decode, or invalid_<field>).",
		}, []string{"reason"}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tide_ingest_batch_rows", Help: "Rows per ClickHouse insert.",
			Buckets: prometheus.ExponentialBuckets(100, 4, 8),
		}),
		insertSecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tide_ingest_insert_seconds", Help: "Latency of successful ClickHouse inserts.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		insertErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tide_ingest_insert_errors_total", Help: "Failed ClickHouse insert attempts (each is retried).",
		}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tide_ingest_offset_commits_total", Help: "Offset commits after ClickHouse acknowledged a batch.",
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tide_ingest_lag_records", Help: "Records between the high watermark and the next record to read, per partition.",
		}, []string{"partition"}),
	}
	for _, c := range []prometheus.Collector{m.consumed, m.inserted, m.deadLettered, m.batchRows,
		m.insertSecs, m.insertErrors, m.commits, m.lag} {
		if err := r.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) setLag(partition int32, lag int64) {
	m.lag.WithLabelValues(strconv.Itoa(int(partition))).Set(float64(lag))
}
