package source

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	polls    *prometheus.CounterVec
	seconds  prometheus.Histogram
	rows     *prometheus.GaugeVec
	refusals *prometheus.CounterVec
	changes  *prometheus.CounterVec
	held     prometheus.Gauge
	success  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karmagate_source_polls_total",
			Help: "Polls of the pull source, by result (ok, failed).",
		}, []string{"result"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "karmagate_source_poll_seconds",
			Help:    "Time one poll of the pull source took: the query, the comparison and the changes.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		rows: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "karmagate_source_members",
			Help: "Members in the last successful poll of the pull source, by outcome (accepted, refused).",
		}, []string{"outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karmagate_source_refusals_total",
			Help: "Rows of the pull source newly refused, by the field at fault (id, karma, groups, name, phone, username).",
		}, []string{"field"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karmagate_source_changes_total",
			Help: "Members the pull source changed, by change (created, updated, deleted).",
		}, []string{"change"}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "karmagate_source_deletions_held",
			Help: "Members missing from the source but not deleted, because the last poll would have deleted more than max_delete allows.",
		}),
		success: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "karmagate_source_last_success_timestamp_seconds",
			Help: "When the last successful poll of the pull source ended (Unix time).",
		}),
	}
	for _, c := range []prometheus.Collector{m.polls, m.seconds, m.rows, m.refusals, m.changes, m.held, m.success} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register source metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observe(res Result, err error) {
	if m == nil {
		return
	}
	m.seconds.Observe(res.Duration.Seconds())
	if err != nil {
		m.polls.WithLabelValues("failed").Inc()
		return
	}
	m.polls.WithLabelValues("ok").Inc()
	m.rows.WithLabelValues("accepted").Set(float64(res.Members))
	m.rows.WithLabelValues("refused").Set(float64(len(res.Refused)))
	m.changes.WithLabelValues("created").Add(float64(res.Created))
	m.changes.WithLabelValues("updated").Add(float64(res.Updated))
	m.changes.WithLabelValues("deleted").Add(float64(res.Deleted))
	held := 0
	if res.Held {
		held = res.Missing
	}
	m.held.Set(float64(held))
	m.success.Set(float64(time.Now().Unix()))
}

func (m *metrics) refusal(field string) {
	if m != nil {
		m.refusals.WithLabelValues(field).Inc()
	}
}
