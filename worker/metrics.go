package worker

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type poolMetrics struct {
	outcomes *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

func newPoolMetrics(reg prometheus.Registerer) *poolMetrics {
	if reg == nil {
		return nil
	}
	m := &poolMetrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karmagate_actions_total",
			Help: "Outbox actions executed, by kind and outcome (done, deferred, retry, failed).",
		}, []string{"kind", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "karmagate_action_seconds",
			Help:    "Time to execute one outbox action, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"kind"}),
	}
	reg.MustRegister(m.outcomes, m.seconds)
	return m
}

func (m *poolMetrics) count(kind, outcome string) {
	if m != nil {
		m.outcomes.WithLabelValues(kind, outcome).Inc()
	}
}

func (m *poolMetrics) observe(kind string, d time.Duration) {
	if m != nil {
		m.seconds.WithLabelValues(kind).Observe(d.Seconds())
	}
}
