package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// Store is what the poller needs of karmagate's store.
type Store interface {
	Rules() *gate.Rules
	MemberPage(ctx context.Context, after string, limit int) ([]models.Member, error)
	PutMembers(ctx context.Context, ins []models.MemberInput, actor string) (models.PutResult, error)
	DeleteMember(ctx context.Context, id, actor string) (int, error)
	RecordEvents(ctx context.Context, events ...models.Event) error
}

// Row is one row of the source's query, each column as text; nil is NULL.
type Row struct {
	ID, Karma, Groups     *string
	Name, Phone, Username *string
}

// Columns says which optional columns the query returns. A column it does
// not return leaves what karmagate has (set through the API, say) alone.
type Columns struct {
	Name, Phone, Username bool
}

// Fetcher runs the source's query.
type Fetcher interface {
	// Fetch runs the query to its end and returns its rows and which
	// optional columns it has. An error means the rows are incomplete.
	Fetch(ctx context.Context) ([]Row, Columns, error)
}

// FetcherFunc adapts a function to Fetcher.
type FetcherFunc func(ctx context.Context) ([]Row, Columns, error)

// Fetch calls f.
func (f FetcherFunc) Fetch(ctx context.Context) ([]Row, Columns, error) { return f(ctx) }

// Options configures a Poller. Store and Fetcher are required; the zero
// value of every other field picks a sensible default.
type Options struct {
	Store   Store
	Fetcher Fetcher
	// Every is how often Run polls; the rules' source.every, else 1 minute.
	Every time.Duration
	// MaxDeletePercent bounds the deletions of one poll, as a share of
	// karmagate's members; the rules' source.max_delete, else 10. 0 never
	// deletes; use the rules to say so.
	MaxDeletePercent *int
	// Timeout bounds one poll's query; 5 minutes by default.
	Timeout time.Duration
	// Actor is recorded in the audit trail; "source" by default.
	Actor string
	// PageSize is how many members are compared per query of the store;
	// 5,000 by default.
	PageSize int
	// BatchSize is how many changed members are applied per transaction;
	// 5,000 by default.
	BatchSize int
	// Changed is called after a poll that changed members, to wake the
	// workers that carry out what it queued.
	Changed func()
	Logger  *slog.Logger
	// Registerer, when set, receives the poller's metrics.
	Registerer prometheus.Registerer
}

func (o *Options) setDefaults() {
	r := o.Store.Rules()
	if o.Every <= 0 {
		o.Every = gate.DefaultSourceEvery
		if r != nil && r.Source != nil {
			o.Every = r.Source.Every
		}
	}
	if o.MaxDeletePercent == nil {
		pct := gate.DefaultMaxDeletePercent
		if r != nil && r.Source != nil {
			pct = r.Source.MaxDeletePercent
		}
		o.MaxDeletePercent = &pct
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Actor == "" {
		o.Actor = "source"
	}
	if o.PageSize <= 0 {
		o.PageSize = 5000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.Changed == nil {
		o.Changed = func() {}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Refusal is a member (or a row without a usable id) the source gave that
// karmagate could not take.
type Refusal struct {
	ID     string // the row's id as the source gave it (may be invalid)
	Field  string // id, karma, groups, name, phone, username
	Reason string
}

// Result says what one poll did.
type Result struct {
	Rows    int // rows the query returned
	Members int // members accepted from them (several rows may be one member)
	// Refused lists the members and rows refused, by id.
	Refused []Refusal
	// Unchanged members the source and karmagate agree on: not re-planned.
	Unchanged int
	// Changed members were sent to the store (created or updated there).
	Changed int
	Created int
	Updated int
	Actions int // outbox actions the changes queued
	// Missing members karmagate has and the source no longer returns;
	// Deleted of them were deleted, none when the poll was held back.
	Missing int
	Deleted int
	// Held is true when the deletions exceeded max_delete (or the source
	// returned no rows) and none were made.
	Held bool
	// Query is how long the source's query took, Duration the whole poll.
	Query    time.Duration
	Duration time.Duration
}

// Poller pulls members from the source into the store.
type Poller struct {
	opts    Options
	metrics *metrics
	// What the last poll reported, so that each refusal and failure is
	// logged and recorded once, not every poll.
	lastRefused map[string]string // id → reason
	lastFailure string
	lastHeld    int
}

// New returns a poller; call Run, or Poll for one poll.
func New(opts Options) (*Poller, error) {
	if opts.Store == nil || opts.Fetcher == nil {
		return nil, errors.New("source: Store and Fetcher are required")
	}
	opts.setDefaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Poller{opts: opts, metrics: m, lastRefused: map[string]string{}}, nil
}

// Run polls at once and then every Every until ctx ends. A failed poll is
// logged and recorded; the next one tries again.
func (p *Poller) Run(ctx context.Context) error {
	t := time.NewTicker(p.opts.Every)
	defer t.Stop()
	for {
		if _, err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.opts.Logger.WarnContext(ctx, "source: poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll runs the query once and applies what changed.
func (p *Poller) Poll(ctx context.Context) (Result, error) {
	start := time.Now()
	res, err := p.poll(ctx)
	res.Duration = time.Since(start)
	p.metrics.observe(res, err)
	if err != nil {
		p.failed(ctx, err)
		return res, err
	}
	p.lastFailure = ""
	if res.Created+res.Updated+res.Deleted > 0 {
		p.opts.Changed()
	}
	log := p.opts.Logger.DebugContext
	if res.Changed+res.Deleted > 0 {
		log = p.opts.Logger.InfoContext
	}
	log(ctx, "source: polled", "rows", res.Rows, "members", res.Members, "created", res.Created, "updated", res.Updated,
		"unchanged", res.Unchanged, "deleted", res.Deleted, "refused", len(res.Refused), "query", res.Query.Round(time.Millisecond), "took", res.Duration.Round(time.Millisecond))
	return res, nil
}

func (p *Poller) poll(ctx context.Context) (Result, error) {
	var res Result
	fctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	start := time.Now()
	rows, cols, err := p.opts.Fetcher.Fetch(fctx)
	res.Query = time.Since(start)
	cancel()
	if err != nil {
		return res, fmt.Errorf("run the source query: %w", err)
	}
	res.Rows = len(rows)
	members, refused := parse(rows, p.opts.Store.Rules())
	res.Members = len(members)
	res.Refused = refused

	// Compare with karmagate's members, page by page.
	refusedIDs := make(map[string]bool, len(refused))
	for _, r := range refused {
		refusedIDs[r.ID] = true
	}
	var changed []models.MemberInput
	var missing []string
	known := 0
	for after := ""; ; {
		page, err := p.opts.Store.MemberPage(ctx, after, p.opts.PageSize)
		if err != nil {
			return res, err
		}
		for i := range page {
			m := &page[i]
			known++
			in, ok := members[m.ExternalID]
			if !ok {
				if !refusedIDs[m.ExternalID] {
					missing = append(missing, m.ExternalID)
				}
				continue
			}
			delete(members, m.ExternalID)
			in.keep(m, cols)
			if in.differs(m) {
				changed = append(changed, in.MemberInput)
			} else {
				res.Unchanged++
			}
		}
		if len(page) < p.opts.PageSize {
			break
		}
		after = page[len(page)-1].ExternalID
	}
	for _, in := range members { // new to karmagate
		changed = append(changed, in.MemberInput)
	}
	slices.SortFunc(changed, func(a, b models.MemberInput) int { return strings.Compare(a.ID, b.ID) })
	res.Changed = len(changed)
	for part := range slices.Chunk(changed, p.opts.BatchSize) {
		put, err := p.opts.Store.PutMembers(ctx, part, p.opts.Actor)
		if err != nil {
			return res, fmt.Errorf("apply %d changed members: %w", len(part), err)
		}
		res.Created += put.Created
		res.Updated += put.Updated
		res.Actions += put.Actions
	}
	p.report(ctx, refused)
	res.Missing = len(missing)
	if err := p.deleteMissing(ctx, &res, missing, known); err != nil {
		return res, err
	}
	return res, nil
}

// deleteMissing deletes the members the source no longer returns, unless
// that is more than max_delete allows or the source returned nothing.
func (p *Poller) deleteMissing(ctx context.Context, res *Result, missing []string, known int) error {
	if len(missing) == 0 {
		p.lastHeld = 0
		return nil
	}
	pct := *p.opts.MaxDeletePercent
	allowed := known * pct / 100
	if pct > 0 {
		allowed = max(allowed, 1)
	}
	var why string
	switch {
	case pct == 0:
		p.opts.Logger.DebugContext(ctx, "source: members missing from the source are kept (max_delete: 0%)", "missing", len(missing))
		return nil
	case res.Rows == 0:
		why = fmt.Sprintf("the source query returned no rows: deleting none of the %d members karmagate has", known)
	case len(missing) > allowed:
		why = fmt.Sprintf("the source no longer returns %d of %d members, more than max_delete (%d%%, %d members) allows: deleting none (first missing: %s)",
			len(missing), known, pct, allowed, strings.Join(missing[:min(5, len(missing))], ", "))
	}
	if why != "" {
		res.Held = true
		if p.lastHeld != len(missing) {
			p.lastHeld = len(missing)
			p.opts.Logger.ErrorContext(ctx, "source: "+why+"; check the query and the table, or raise source.max_delete")
			if err := p.opts.Store.RecordEvents(ctx, models.Event{Actor: p.opts.Actor, Kind: models.EventSourceHeld, Detail: why}); err != nil {
				return fmt.Errorf("record held deletions: %w", err)
			}
		}
		return nil
	}
	p.lastHeld = 0
	for _, id := range missing {
		if _, err := p.opts.Store.DeleteMember(ctx, id, p.opts.Actor); err != nil && !errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("delete member %q, gone from the source: %w", id, err)
		}
		res.Deleted++
	}
	p.opts.Logger.InfoContext(ctx, "source: deleted members the source no longer returns", "deleted", res.Deleted,
		"first", missing[:min(5, len(missing))])
	return nil
}

// report logs and records the refusals that are new since the last poll
// (or whose reason changed): a row refused every poll is reported once.
func (p *Poller) report(ctx context.Context, refused []Refusal) {
	now := make(map[string]string, len(refused))
	var events []models.Event
	logged := 0
	for _, r := range refused {
		now[r.ID] = r.Reason
		if p.lastRefused[r.ID] == r.Reason {
			continue
		}
		p.metrics.refusal(r.Field)
		if logged < 20 {
			p.opts.Logger.WarnContext(ctx, "source: row refused", "id", models.Truncate(r.ID, 80), "field", r.Field, "why", r.Reason)
		}
		logged++
		e := models.Event{Actor: p.opts.Actor, Kind: models.EventSourceRefused,
			Detail: fmt.Sprintf("row %q refused: %s", models.Truncate(r.ID, 80), r.Reason)}
		if models.ValidID(r.ID) {
			e.MemberExt = &r.ID
		}
		events = append(events, e)
	}
	if logged > 20 {
		p.opts.Logger.WarnContext(ctx, "source: more rows refused", "more", logged-20)
	}
	p.lastRefused = now
	if err := p.opts.Store.RecordEvents(ctx, events...); err != nil {
		p.opts.Logger.WarnContext(ctx, "source: record refused rows", "err", err)
		p.lastRefused = map[string]string{} // report them again next time
	}
}

// failed logs a failed poll, and records it in the audit trail when it
// fails differently from the last one.
func (p *Poller) failed(ctx context.Context, err error) {
	if ctx.Err() != nil || err.Error() == p.lastFailure {
		return
	}
	p.lastFailure = err.Error()
	if rerr := p.opts.Store.RecordEvents(context.WithoutCancel(ctx), models.Event{Actor: p.opts.Actor, Kind: models.EventSourceFailed, Detail: err.Error()}); rerr != nil {
		p.opts.Logger.WarnContext(ctx, "source: record a failed poll", "err", rerr)
	}
}

// member is a member as the source gives it, normalized.
type member struct {
	models.MemberInput
}

// keep fills in what the source's query does not return from karmagate's
// member m, so that a column the query lacks changes nothing.
func (in *member) keep(m *models.Member, cols Columns) {
	if !cols.Name {
		in.Name = m.Name
	}
	if !cols.Phone {
		in.Phone = m.Phone
	}
	if !cols.Username {
		in.Username = m.Username
	}
}

// differs reports whether the source's member differs from karmagate's.
func (in *member) differs(m *models.Member) bool {
	return in.Karma != m.Karma || strings.Join(in.Groups, ",") != m.GroupList ||
		!eq(in.Name, m.Name) || !eq(in.Phone, m.Phone) || !eq(in.Username, m.Username)
}

func eq(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// parse turns rows into members by id, merging the rows of one member
// (one row per group is fine: their groups are joined), and lists what it
// refused, in the order met.
func parse(rows []Row, rules *gate.Rules) (map[string]*member, []Refusal) {
	type acc struct {
		in      models.MemberInput
		refused *Refusal
	}
	byID := map[string]*acc{}
	var order []string
	var refused []Refusal
	for _, r := range rows {
		if r.ID == nil {
			refused = append(refused, Refusal{Field: "id", Reason: "id is NULL"})
			continue
		}
		id := strings.TrimSpace(*r.ID)
		if err := models.CheckID(id); err != nil {
			refused = append(refused, Refusal{ID: id, Field: "id", Reason: err.Error()})
			continue
		}
		in, field, err := row(id, r)
		a, seen := byID[id]
		if !seen {
			a = &acc{in: in}
			byID[id] = a
			order = append(order, id)
		}
		switch {
		case a.refused != nil:
			continue
		case err != nil:
			a.refused = &Refusal{ID: id, Field: field, Reason: err.Error()}
			continue
		case !seen:
			continue
		}
		// Another row of the same member: it must agree, and adds groups.
		if in.Karma != a.in.Karma {
			a.refused = &Refusal{ID: id, Field: "karma", Reason: fmt.Sprintf("karma: the rows of this id disagree (%d and %d)", a.in.Karma, in.Karma)}
			continue
		}
		for _, f := range []struct {
			name string
			a, b *string
		}{{"name", a.in.Name, in.Name}, {"phone", a.in.Phone, in.Phone}, {"username", a.in.Username, in.Username}} {
			if !eq(f.a, f.b) {
				a.refused = &Refusal{ID: id, Field: f.name, Reason: f.name + ": the rows of this id disagree"}
				break
			}
		}
		a.in.Groups = append(a.in.Groups, in.Groups...)
	}
	out := make(map[string]*member, len(byID))
	for _, id := range order {
		a := byID[id]
		if a.refused == nil {
			if err := a.in.Normalize(rules); err != nil {
				field := ""
				var ie *models.InputError
				if errors.As(err, &ie) {
					field = ie.Field
				}
				a.refused = &Refusal{ID: id, Field: field, Reason: err.Error()}
			}
		}
		if a.refused != nil {
			refused = append(refused, *a.refused)
			continue
		}
		out[id] = &member{MemberInput: a.in}
	}
	return out, refused
}

// row reads one row's karma, groups and profile; on an error it names the
// field.
func row(id string, r Row) (models.MemberInput, string, error) {
	in := models.MemberInput{ID: id, Name: r.Name, Phone: r.Phone, Username: r.Username}
	if r.Karma == nil {
		return in, "karma", errors.New("karma is NULL")
	}
	text := strings.TrimSpace(*r.Karma)
	if whole, frac, ok := strings.Cut(text, "."); ok && frac != "" && strings.Trim(frac, "0") == "" {
		text = whole // a DECIMAL column's 150.00
	}
	k, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return in, "karma", fmt.Errorf("karma: %q is not an integer (in the query, ROUND(karma) or CAST(karma AS SIGNED) makes one)", models.Truncate(*r.Karma, 40))
	}
	in.Karma = k
	if r.Groups == nil {
		return in, "", nil
	}
	gs := strings.TrimSpace(*r.Groups)
	if strings.HasPrefix(gs, "[") {
		if err := json.Unmarshal([]byte(gs), &in.Groups); err != nil {
			return in, "groups", fmt.Errorf("groups: %q is not a JSON list of names", models.Truncate(gs, 80))
		}
		return in, "", nil
	}
	if gs != "" {
		in.Groups = strings.Split(gs, ",")
	}
	return in, "", nil
}
