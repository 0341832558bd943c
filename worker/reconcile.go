package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/lease"
	"github.com/karmagate/karmagate/models"
)

// ReconcileStore is what a Reconciler needs of the store (models.Store).
type ReconcileStore interface {
	Rules() *gate.Rules
	ReplanEvery(ctx context.Context, actor string) (models.Replan, error)
	ChatRows(ctx context.Context) ([]models.ChatRow, error)
	QueueChatAction(ctx context.Context, kind, chat, reason string) (bool, error)
	RecordReconcile(ctx context.Context, actor, detail string) error
	AuditResults(ctx context.Context, chats []string, since time.Time) (map[string]models.Audit, int, error)
	LastReconcile(ctx context.Context) (time.Time, error)
	MarkReconciled(ctx context.Context, started time.Time) error
	// Leases elect the instance that runs a scheduled pass
	// (ReconcileLease).
	Leases() *lease.Leases
}

// ReconcileLease names the lease of the scheduled reconcile pass: its
// holder runs the pass, and the pass's writes carry its fencing token.
const ReconcileLease = "reconcile"

// Auditor lists a gated chat's participants in Telegram and records them
// (models.Store.RecordParticipants): the userbot pool. AuditChat returns a
// RetryError when the account that is in the chat's group is not connected
// here (another instance holds it, or it is still connecting), and an error
// wrapping ErrCannotAudit when no account is in the group at all.
type Auditor interface {
	AuditChat(ctx context.Context, chat string) (models.Audit, error)
}

// ErrCannotAudit means no userbot account is in a chat's group, so nobody
// can list its participants.
var ErrCannotAudit = errors.New("no userbot account is in the group")

// AuditAction is the outbox kind of a chat audit the userbot pool carries
// out (userbot.ActionAudit): a pass queues one for a chat it cannot audit
// itself.
const AuditAction = "audit"

// ReconcileOptions configures a Reconciler. Store is required.
type ReconcileOptions struct {
	Store ReconcileStore
	// Auditor audits the gated chats; nil: the pass re-plans only.
	Auditor Auditor
	// Every is how often the scheduled pass runs
	// (KARMAGATE_RECONCILE_EVERY); 6 h by default, negative: never.
	Every time.Duration
	// Check is how often Run asks the database whether a scheduled pass is
	// due; a minute, or Every when shorter, by default.
	Check time.Duration
	// LeaseTTL is how long the scheduled pass's lease lasts; 30 minutes by
	// default. An instance that dies mid-pass holds up the schedule that
	// long at most.
	LeaseTTL time.Duration
	// Owner names this instance in the lease; unique per process by
	// default.
	Owner string
	// AuditWait is how long a pass waits for the audits it queued for
	// another instance (the one holding the chat's account) to be done, to
	// report what they found; 0: it does not wait (serve: the pass's audit
	// events follow in the audit trail).
	AuditWait time.Duration
	// OnStart makes Run start with a pass (serve does: a full pass on
	// start), unless another instance is running one or started one
	// within the last minute.
	OnStart bool
	// WakeWorkers is called when a pass queued actions.
	WakeWorkers func()
	Now         func() time.Time
	Logger      *slog.Logger
	// Registerer, when set, receives the reconciler's metrics.
	Registerer prometheus.Registerer
}

func (o *ReconcileOptions) setDefaults() {
	if o.Every == 0 {
		o.Every = 6 * time.Hour
	}
	if o.Check <= 0 {
		o.Check = time.Minute
		if o.Every > 0 {
			o.Check = min(o.Check, o.Every)
		}
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Minute
	}
	if o.Owner == "" {
		o.Owner = DefaultOwner()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Reconciler runs full reconcile passes: every member re-planned against
// the rules (desired membership), every gated chat's participants listed
// and recorded (actual membership), and whatever differs queued.
type Reconciler struct {
	opts    ReconcileOptions
	log     *slog.Logger
	metrics *reconcileMetrics
	mu      sync.Mutex // one pass at a time in this process
}

// NewReconciler returns a reconciler; Run starts its schedule, Pass runs
// one pass.
func NewReconciler(opts ReconcileOptions) (*Reconciler, error) {
	if opts.Store == nil {
		return nil, errors.New("worker: a Reconciler needs a Store")
	}
	opts.setDefaults()
	return &Reconciler{opts: opts, log: opts.Logger.With("component", "reconcile"), metrics: newReconcileMetrics(opts.Registerer)}, nil
}

// Report says what a pass found and queued.
type Report struct {
	Trigger  string // start, schedule, /sync, sync
	Started  time.Time
	Duration time.Duration

	Members   int // members planned
	Replanned int // members whose plan changed
	// Queued counts the actions the pass queued: the re-plan's and the
	// audits' (members found inside or gone, strangers).
	Queued models.Queued

	Chats        int      // gated chats with a Telegram group
	Audited      int      // chats whose participants were listed and recorded
	AuditsQueued int      // chats whose audit was queued for the instance holding their account
	NotAudited   []string // chats nobody could audit (no userbot, or none in the group)
	Joined       int      // linked members found inside whom no update had reported
	Left         int      // members recorded inside who were not there
	Strangers    int      // accounts inside linked to no member
	Errors       []string // what failed (the pass carries on past a chat's failure)
}

// String is the report in a line or two, for the audit trail, /sync and
// karmagate sync.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d members planned (%d changed); queued %d invites, %d removals, %d warnings",
		r.Members, r.Replanned, r.Queued.Invites, r.Queued.Removals, r.Queued.Warnings)
	if n := r.Queued.Uninvites + r.Queued.Flags + r.Queued.Other; n > 0 {
		fmt.Fprintf(&b, ", %d other actions", n)
	}
	fmt.Fprintf(&b, "; %d of %d chats audited", r.Audited, r.Chats)
	if r.Audited > 0 {
		fmt.Fprintf(&b, ": %d strangers, %d found inside, %d gone", r.Strangers, r.Joined, r.Left)
	}
	if r.AuditsQueued > 0 {
		fmt.Fprintf(&b, "; %d audits queued for the instance holding their account, or until one connects (their findings follow in the audit trail)", r.AuditsQueued)
	}
	if len(r.NotAudited) > 0 {
		fmt.Fprintf(&b, "; not audited: %s", strings.Join(r.NotAudited, ", "))
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(&b, "; %d errors: %s", len(r.Errors), strings.Join(r.Errors, "; "))
	}
	fmt.Fprintf(&b, " (%s)", r.Duration.Round(time.Millisecond))
	return b.String()
}

// Pass runs one full pass now, whatever the schedule, and reports it: in
// the audit trail (models.EventReconciled), the log and the metrics.
// trigger names what asked for it (start, schedule, /sync, sync); by, when
// set, who (the audit trail's actor, "reconcile:<trigger>" otherwise). An
// error means the re-plan failed; a chat that could not be audited is in
// the report instead.
func (r *Reconciler) Pass(ctx context.Context, trigger, by string) (*Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := &r.opts
	actor := by
	if actor == "" {
		actor = "reconcile:" + trigger
	}
	rep := &Report{Trigger: trigger, Started: o.Now()}
	start := time.Now()
	plan, err := o.Store.ReplanEvery(ctx, actor)
	rep.Members, rep.Replanned, rep.Queued = plan.Members, plan.Changed, plan.Queued
	if err != nil {
		rep.Duration = time.Since(start)
		r.metrics.pass(rep, false)
		r.log.ErrorContext(ctx, "reconcile pass failed", "trigger", trigger, "err", err)
		return rep, fmt.Errorf("reconcile: %w", err)
	}
	if rep.Queued.Total() > 0 {
		r.wake() // the re-plan's actions need not wait for the audits
	}
	queued := r.audit(ctx, rep, actor)
	if len(queued) > 0 && o.AuditWait > 0 {
		r.awaitAudits(ctx, rep, queued)
	}
	rep.Duration = time.Since(start)
	if err := o.Store.RecordReconcile(context.WithoutCancel(ctx), actor, trigger+": "+rep.String()); err != nil {
		rep.Errors = append(rep.Errors, err.Error())
	}
	r.metrics.pass(rep, true)
	if rep.Queued.Total() > 0 {
		r.wake()
	}
	r.log.InfoContext(ctx, "reconcile pass", "trigger", trigger, "members", rep.Members, "changed", rep.Replanned,
		"invites", rep.Queued.Invites, "removals", rep.Queued.Removals, "warnings", rep.Queued.Warnings, "other", rep.Queued.Uninvites+rep.Queued.Flags+rep.Queued.Other,
		"chats", rep.Chats, "audited", rep.Audited, "audits_queued", rep.AuditsQueued, "strangers", rep.Strangers,
		"joined", rep.Joined, "left", rep.Left, "errors", len(rep.Errors), "took", rep.Duration)
	return rep, nil
}

// audit lists every gated chat's participants, where an account here can;
// chats whose account is connected elsewhere get an audit action. It
// returns those chats.
func (r *Reconciler) audit(ctx context.Context, rep *Report, actor string) (queued []string) {
	o := &r.opts
	rows, err := o.Store.ChatRows(ctx)
	if err != nil {
		rep.Errors = append(rep.Errors, err.Error())
		return nil
	}
	for _, c := range rows {
		if c.TgChatID == nil {
			continue
		}
		if _, known := o.Store.Rules().Chat(c.ChatKey); !known {
			continue
		}
		rep.Chats++
		if o.Auditor == nil {
			rep.NotAudited = append(rep.NotAudited, c.ChatKey+" (no userbot)")
			continue
		}
		a, err := o.Auditor.AuditChat(ctx, c.ChatKey)
		var retry *RetryError
		switch {
		case err == nil:
			rep.Audited++
			rep.Joined += a.Joined
			rep.Left += a.Left
			rep.Strangers += a.Strangers
			rep.Queued.Add(a.Queued)
		case errors.As(err, &retry):
			if _, err := o.Store.QueueChatAction(ctx, AuditAction, c.ChatKey, "reconcile ("+actor+")"); err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("%s: queue audit: %v", c.ChatKey, err))
				continue
			}
			rep.AuditsQueued++
			queued = append(queued, c.ChatKey)
			r.wake()
		case errors.Is(err, ErrCannotAudit):
			rep.NotAudited = append(rep.NotAudited, c.ChatKey+" (no userbot in the group)")
		default:
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", c.ChatKey, err))
		}
	}
	return queued
}

// awaitAudits waits, up to AuditWait, for the audits queued for another
// instance, and adds what they found to the report.
func (r *Reconciler) awaitAudits(ctx context.Context, rep *Report, chats []string) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.AuditWait)
	defer cancel()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var got map[string]models.Audit
	defer func() {
		for _, a := range got {
			rep.Audited++
			rep.AuditsQueued--
			rep.Joined += a.Joined
			rep.Left += a.Left
			rep.Strangers += a.Strangers
			rep.Queued.Add(a.Queued)
		}
	}()
	for {
		res, open, err := r.opts.Store.AuditResults(ctx, chats, rep.Started)
		if err == nil {
			got = res
			if open == 0 || len(got) == len(chats) {
				return
			}
		}
		select {
		case <-ctx.Done():
			r.log.InfoContext(ctx, "queued audits not done in time", "chats", chats, "wait", r.opts.AuditWait)
			return
		case <-t.C:
		}
	}
}

func (r *Reconciler) wake() {
	if r.opts.WakeWorkers != nil {
		r.opts.WakeWorkers()
	}
}

// startWindow: a start pass is skipped when another started this recently.
const startWindow = time.Minute

// Run runs the scheduled passes until ctx ends: every Check it asks the
// database whether one is due (none started within Every, on any
// instance) and takes the pass's lease, so that with several instances on
// one database one of them runs it. With OnStart it begins with a pass,
// unless another instance is running one or has just run one.
func (r *Reconciler) Run(ctx context.Context) error {
	o := &r.opts
	if o.OnStart {
		// Instances started together run one pass: one started within the
		// last minute (or Every) counts.
		r.scheduled(ctx, "start", max(min(o.Every, startWindow), time.Nanosecond))
	}
	if o.Every < 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(o.Check)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			r.scheduled(ctx, "schedule", o.Every)
		}
	}
}

// scheduled runs a pass if it is due (none started within every before
// now, on any instance; every 0: whenever the lease is free) and this
// instance takes the pass's lease. The lease is renewed while the pass
// runs and the pass's writes carry its token: should another instance take
// it over (this one's heart stopped), the pass stops, and any write it
// still makes is refused.
func (r *Reconciler) scheduled(ctx context.Context, trigger string, every time.Duration) {
	o := &r.opts
	leases := o.Store.Leases()
	l, err := leases.Acquire(ctx, ReconcileLease, o.Owner, o.LeaseTTL)
	if errors.Is(err, lease.ErrHeld) {
		return
	}
	if err != nil {
		if ctx.Err() == nil {
			r.log.WarnContext(ctx, "reconcile lease", "err", err)
		}
		return
	}
	defer func() {
		if err := leases.Release(context.WithoutCancel(ctx), l); err != nil {
			r.log.WarnContext(ctx, "release the reconcile lease", "err", err)
		}
	}()
	last, err := o.Store.LastReconcile(ctx)
	if err != nil {
		r.log.WarnContext(ctx, "reconcile: last pass", "err", err)
		return
	}
	if every > 0 && !last.IsZero() && l.At.Sub(last) < every {
		return
	}
	hctx, stop := leases.Hold(ctx, l, o.LeaseTTL)
	_, err = r.Pass(hctx, trigger, "")
	lost := lease.Lost(hctx)
	stop()
	switch {
	case lost:
		r.log.WarnContext(ctx, "reconcile: the pass's lease went to another instance; this pass stopped", "err", context.Cause(hctx))
		return
	case err != nil && ctx.Err() != nil:
		return // stopping: the next start runs a pass
	}
	// Fenced: refused if the lease changed hands since.
	if err := o.Store.MarkReconciled(lease.WithFence(context.WithoutCancel(ctx), l), l.At); err != nil {
		r.log.WarnContext(ctx, "reconcile: record the pass", "err", err)
	}
}

type reconcileMetrics struct {
	passes    *prometheus.CounterVec
	seconds   prometheus.Histogram
	last      prometheus.Gauge
	found     *prometheus.GaugeVec
	queued    *prometheus.CounterVec
	strangers prometheus.Counter
}

func newReconcileMetrics(reg prometheus.Registerer) *reconcileMetrics {
	if reg == nil {
		return nil
	}
	m := &reconcileMetrics{
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karmagate_reconcile_passes_total",
			Help: "Full reconcile passes, by trigger (start, schedule, /sync) and outcome (ok, error).",
		}, []string{"trigger", "outcome"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "karmagate_reconcile_seconds",
			Help:    "Time a full reconcile pass took.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "karmagate_reconcile_last_success_timestamp_seconds",
			Help: "When the last full reconcile pass that succeeded started (Unix time).",
		}),
		found: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "karmagate_reconcile_last",
			Help: "What the last full reconcile pass found: members planned, members changed, chats audited, strangers, joined, left.",
		}, []string{"what"}),
		queued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karmagate_reconcile_queued_total",
			Help: "Actions full reconcile passes queued, by kind.",
		}, []string{"kind"}),
		strangers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "karmagate_reconcile_strangers_total",
			Help: "Accounts linked to no member that reconcile passes found in gated chats.",
		}),
	}
	reg.MustRegister(m.passes, m.seconds, m.last, m.found, m.queued, m.strangers)
	return m
}

func (m *reconcileMetrics) pass(r *Report, ok bool) {
	if m == nil {
		return
	}
	if !ok {
		m.passes.WithLabelValues(r.Trigger, "error").Inc()
		return
	}
	m.passes.WithLabelValues(r.Trigger, "ok").Inc()
	m.seconds.Observe(r.Duration.Seconds())
	m.last.Set(float64(r.Started.Unix()))
	for what, v := range map[string]int{"members": r.Members, "changed": r.Replanned, "chats": r.Chats, "audited": r.Audited,
		"strangers": r.Strangers, "joined": r.Joined, "left": r.Left} {
		m.found.WithLabelValues(what).Set(float64(v))
	}
	q := r.Queued
	for kind, v := range map[string]int{"invite": q.Invites, "uninvite": q.Uninvites, "warn": q.Warnings, "remove": q.Removals, "flag": q.Flags, "other": q.Other} {
		m.queued.WithLabelValues(kind).Add(float64(v))
	}
	m.strangers.Add(float64(r.Strangers))
}
