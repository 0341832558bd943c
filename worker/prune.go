package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/karmagate/karmagate/models"
)

// PruneStore is what a Pruner needs of the store (models.Store).
type PruneStore interface {
	Prune(ctx context.Context, r models.Retention) (models.Pruned, error)
}

// PruneOptions configures a Pruner; Store is required.
type PruneOptions struct {
	Store PruneStore
	// Retention says how long each kind of row is kept
	// (KARMAGATE_RETENTION); models.DefaultRetention when zero.
	Retention models.Retention
	// Every is how often Run prunes; an hour by default. Several instances
	// may prune at once: deleting what is already gone does nothing.
	Every  time.Duration
	Logger *slog.Logger
	// Registerer, when set, receives karmagate_pruned_rows_total.
	Registerer prometheus.Registerer
}

// Pruner deletes what is older than its retention, on start and then
// periodically.
type Pruner struct {
	opts   PruneOptions
	pruned *prometheus.CounterVec
}

// NewPruner returns a Pruner.
func NewPruner(opts PruneOptions) *Pruner {
	if opts.Retention == (models.Retention{}) {
		opts.Retention = models.DefaultRetention()
	}
	if opts.Every <= 0 {
		opts.Every = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pruner{opts: opts, pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "karmagate_pruned_rows_total", Help: "Rows deleted because they outlived their retention (KARMAGATE_RETENTION), by table.",
	}, []string{"table"})}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(p.pruned)
	}
	return p
}

// Run prunes now and every opts.Every until ctx ends.
func (p *Pruner) Run(ctx context.Context) error {
	t := time.NewTicker(p.opts.Every)
	defer t.Stop()
	for {
		p.Once(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once prunes once and reports what it deleted; a failure is logged, and
// the next round tries again.
func (p *Pruner) Once(ctx context.Context) models.Pruned {
	n, err := p.opts.Store.Prune(ctx, p.opts.Retention)
	for table, k := range map[string]int64{"events": n.Events, "notifications": n.Notifications, "actions": n.Actions, "updates": n.Updates, "link_tokens": n.Tokens} {
		p.pruned.WithLabelValues(table).Add(float64(k))
	}
	switch {
	case err != nil && ctx.Err() == nil:
		p.opts.Logger.WarnContext(ctx, "prune: failed; trying again next round", "err", err, "retention", p.opts.Retention.String())
	case n.Total() > 0:
		p.opts.Logger.InfoContext(ctx, "pruned rows past their retention", "events", n.Events, "notifications", n.Notifications,
			"actions", n.Actions, "updates", n.Updates, "tokens", n.Tokens, "retention", p.opts.Retention.String())
	}
	return n
}
