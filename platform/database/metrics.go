package database

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector exposes pgxpool statistics to Prometheus.
type PoolCollector struct {
	db                                             *DB
	total, idle, acquired, max, acquires, emptyAcq *prometheus.Desc
	waitSeconds, scanSlots, scansRunning           *prometheus.Desc
	scanWaits, scanWaitSeconds, scanBypasses       *prometheus.Desc
}

// NewPoolCollector returns a collector of the statistics of db's pool and scan slots.
func NewPoolCollector(db *DB) *PoolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("db_pool_"+name, help, nil, nil)
	}
	return &PoolCollector{
		db:              db,
		total:           d("connections", "Open connections."),
		idle:            d("idle_connections", "Idle connections."),
		acquired:        d("acquired_connections", "Connections in use."),
		max:             d("max_connections", "Largest pool size."),
		acquires:        d("acquires_total", "Connections acquired from the pool."),
		emptyAcq:        d("empty_acquires_total", "Acquires that had to wait for a connection."),
		waitSeconds:     d("acquire_wait_seconds_total", "Time spent waiting for a connection."),
		scanSlots:       prometheus.NewDesc("db_scan_slots", "Statements of filtered lists that may run at once (DB_SCAN_SLOTS; 0 when unlimited).", nil, nil),
		scansRunning:    prometheus.NewDesc("db_scan_slots_in_use", "Statements of filtered lists running in a scan slot.", nil, nil),
		scanWaits:       prometheus.NewDesc("db_scan_slot_waits_total", "Statements of filtered lists that waited for a scan slot.", nil, nil),
		scanWaitSeconds: prometheus.NewDesc("db_scan_slot_wait_seconds_total", "Time spent waiting for a scan slot.", nil, nil),
		scanBypasses:    prometheus.NewDesc("db_scan_slot_bypasses_total", "Statements of filtered lists that ran without a scan slot after waiting the longest wait for one.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.total, c.idle, c.acquired, c.max, c.acquires, c.emptyAcq, c.waitSeconds, c.scanSlots, c.scansRunning, c.scanWaits, c.scanWaitSeconds, c.scanBypasses} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.Pool.Stat()
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(s.TotalConns()))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.IdleConns()))
	ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.GaugeValue, float64(s.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.acquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.emptyAcq, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.waitSeconds, prometheus.CounterValue, s.AcquireDuration().Seconds())
	ch <- prometheus.MustNewConstMetric(c.scanSlots, prometheus.GaugeValue, float64(cap(c.db.scans)))
	ch <- prometheus.MustNewConstMetric(c.scansRunning, prometheus.GaugeValue, float64(len(c.db.scans)))
	ch <- prometheus.MustNewConstMetric(c.scanWaits, prometheus.CounterValue, float64(c.db.scanWaits.Load()))
	ch <- prometheus.MustNewConstMetric(c.scanWaitSeconds, prometheus.CounterValue, time.Duration(c.db.scanWaitNanos.Load()).Seconds())
	ch <- prometheus.MustNewConstMetric(c.scanBypasses, prometheus.CounterValue, float64(c.db.scanBypasses.Load()))
}
