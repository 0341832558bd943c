package bot

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type botMetrics struct {
	calls    *prometheus.CounterVec
	updates  *prometheus.CounterVec
	handle   *prometheus.HistogramVec
	webhooks *prometheus.CounterVec
	joins    *prometheus.HistogramVec
	links    *prometheus.CounterVec
	retries  *prometheus.CounterVec
	dropped  *prometheus.CounterVec
}

func newBotMetrics(reg prometheus.Registerer) *botMetrics {
	if reg == nil {
		return nil
	}
	m := &botMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karmagate_telegram_calls_total",
			Help: "Bot API calls by method and outcome (ok, 429, error)."}, []string{"method", "outcome"}),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karmagate_updates_total",
			Help: "Telegram updates processed, by kind and outcome."}, []string{"kind", "outcome"}),
		handle: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "karmagate_update_seconds",
			Help: "Time to process one update, by kind.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"kind"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karmagate_webhook_requests_total",
			Help: "Webhook deliveries by outcome (stored, unauthorized, too_large, malformed, store_failed)."}, []string{"outcome"}),
		joins: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "karmagate_join_request_seconds",
			Help: "Time from a join request to its answer, by verdict.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}, []string{"verdict", "guard"}),
		links: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karmagate_link_attempts_total",
			Help: "Linking attempts by outcome."}, []string{"outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karmagate_retry_checks_total",
			Help: "Retried invites and removals checked against Telegram first, by kind and finding (already_done, repeated)."}, []string{"kind", "finding"}),
	}
	m.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "karmagate_replies_dropped_total",
		Help: "Answers not sent, by reason (stranger: a person who is no member, answered less than a minute before)."}, []string{"reason"})
	reg.MustRegister(m.calls, m.updates, m.handle, m.webhooks, m.joins, m.links, m.retries, m.dropped)
	return m
}

func (m *botMetrics) sent(method string, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
		if ae := apiErrorOf(err); ae != nil && ae.Code == 429 {
			outcome = "429"
		}
	}
	m.calls.WithLabelValues(method, outcome).Inc()
}

func (m *botMetrics) update(kind string, err error, d time.Duration) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.updates.WithLabelValues(kind, outcome).Inc()
	m.handle.WithLabelValues(kind).Observe(d.Seconds())
}

func (m *botMetrics) webhook(outcome string) {
	if m != nil {
		m.webhooks.WithLabelValues(outcome).Inc()
	}
}

func (m *botMetrics) join(verdict string, guard bool, d time.Duration) {
	if m == nil {
		return
	}
	g := "no"
	if guard {
		g = "yes"
	}
	m.joins.WithLabelValues(verdict, g).Observe(d.Seconds())
}

func (m *botMetrics) link(outcome string) {
	if m != nil {
		m.links.WithLabelValues(outcome).Inc()
	}
}

func (m *botMetrics) retryChecked(kind, finding string) {
	if m != nil {
		m.retries.WithLabelValues(kind, finding).Inc()
	}
}

func (m *botMetrics) replyDropped(reason string) {
	if m != nil {
		m.dropped.WithLabelValues(reason).Inc()
	}
}
