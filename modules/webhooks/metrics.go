package webhooks

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/queue"
)

// metrics are the delivery pipeline's Prometheus metrics. The module is a
// prometheus.Collector; the composition root registers it.
type metrics struct {
	attempts   *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	latency    prometheus.Histogram
	depth      *prometheus.Desc
	oldest     *prometheus.Desc
	db         *database.DB
}

func newMetrics(db *database.DB) *metrics {
	return &metrics{
		db: db,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhook_delivery_attempts_total",
			Help: "Webhook delivery attempts by outcome: success, or the error code (timeout, connection_failed, destination_not_allowed, tls_error, http_status, redirect).",
		}, []string{"outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhook_deliveries_total",
			Help: "Webhook deliveries that finished, by final status (succeeded, failed).",
		}, []string{"status"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "webhook_delivery_attempt_duration_seconds",
			Help:    "Latency of webhook delivery attempts, from sending to the end of the answer.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		depth: prometheus.NewDesc("webhook_queue_depth",
			"Webhook delivery jobs waiting in the queue (available, scheduled or to be retried).", nil, nil),
		oldest: prometheus.NewDesc("webhook_queue_oldest_job_age_seconds",
			"How long the oldest webhook delivery job that is due has been waiting; 0 when none is.", nil, nil),
	}
}

func (m *metrics) attempted(o outcome) {
	label := "success"
	if !o.OK() {
		label = o.Err
	}
	m.attempts.WithLabelValues(label).Inc()
	m.latency.Observe(o.Duration.Seconds())
}

func (m *metrics) finished(status string) { m.deliveries.WithLabelValues(status).Inc() }

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.attempts.Describe(ch)
	m.deliveries.Describe(ch)
	m.latency.Describe(ch)
	ch <- m.depth
	ch <- m.oldest
}

// Collect implements prometheus.Collector. The queue gauges are read from River's job table
// at each scrape.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.attempts.Collect(ch)
	m.deliveries.Collect(ch)
	m.latency.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var depth int64
	var oldest float64
	err := m.db.Pool.QueryRow(ctx, `SELECT count(*),
			coalesce(extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE scheduled_at <= now())), 0)::float8
		FROM river_job WHERE queue = $1 AND state IN ('available', 'scheduled', 'retryable')`, queue.Webhooks).Scan(&depth, &oldest)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(m.depth, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(m.depth, prometheus.GaugeValue, float64(depth))
	ch <- prometheus.MustNewConstMetric(m.oldest, prometheus.GaugeValue, max(oldest, 0))
}
