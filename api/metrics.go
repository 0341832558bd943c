package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/karmagate/karmagate/models"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry, store *models.Store, log *slog.Logger) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karmagate_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "karmagate_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration, &stateCollector{store: store, log: log},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (m *metrics) instrument(route string, h http.Handler) http.Handler {
	hist := m.duration.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		hist.Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
	})
}

// metricsHandler serves the metrics; with a metrics token configured, only
// to a scraper that sends it (Authorization: Bearer).
func (s *Server) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: nil})
	if s.metricsHash == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got, ok := bearer(r); !ok || !sameHash(got, *s.metricsHash) {
			p := problem(http.StatusUnauthorized, "unauthorized", "missing or wrong metrics token: send Authorization: Bearer <KARMAGATE_METRICS_TOKEN>")
			p.header = http.Header{"WWW-Authenticate": {`Bearer realm="karmagate metrics"`}}
			s.writeError(w, r, p)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// stateCollector reads gate states and outbox depth from the database at
// scrape time. A failed read shows as karmagate_database_up 0 and a warning
// in the log, at most one a minute.
type stateCollector struct {
	store      *models.Store
	log        *slog.Logger
	lastWarn   atomic.Int64 // when the last warning was logged, Unix ns
	suppressed atomic.Int64 // failures not logged since
}

// warnEvery spaces the collector's warnings.
const warnEvery = time.Minute

func (c *stateCollector) failed(ctx context.Context, what string, err error) {
	now, last := time.Now().UnixNano(), c.lastWarn.Load()
	if now-last < int64(warnEvery) || !c.lastWarn.CompareAndSwap(last, now) {
		c.suppressed.Add(1)
		return
	}
	c.log.WarnContext(ctx, "metrics: cannot read "+what, "err", err, "suppressed", c.suppressed.Swap(0))
}

var (
	descStates = prometheus.NewDesc("karmagate_chat_members", "Members per gated chat and state.", []string{"chat", "state"}, nil)
	descOutbox = prometheus.NewDesc("karmagate_outbox_actions", "Outbox actions by status.", []string{"status"}, nil)
	descUp     = prometheus.NewDesc("karmagate_database_up", "Whether the last scrape could read the database.", nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descStates
	ch <- descOutbox
	ch <- descUp
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	up := 1.0
	if sums, err := c.store.ChatSummaries(ctx); err == nil {
		for _, s := range sums {
			for st, n := range s.Counts {
				ch <- prometheus.MustNewConstMetric(descStates, prometheus.GaugeValue, float64(n), s.Chat.Key, string(st))
			}
		}
	} else {
		up = 0
		c.failed(ctx, "chat states", err)
	}
	if counts, err := c.store.OutboxCounts(ctx); err == nil {
		for st, n := range counts {
			ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(n), st)
		}
	} else {
		up = 0
		c.failed(ctx, "outbox", err)
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
}
