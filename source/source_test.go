package source_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/source"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func str(s string) *string { return &s }

// table is a source whose rows the test sets.
type table struct {
	mu   sync.Mutex
	rows []source.Row
	cols source.Columns
	err  error
}

func (tb *table) set(rows ...source.Row) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.rows, tb.err = rows, nil
}

func (tb *table) Fetch(context.Context) ([]source.Row, source.Columns, error) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return slices.Clone(tb.rows), tb.cols, tb.err
}

// row is a source row of id, karma and groups.
func row(id, karma, groups string) source.Row {
	return source.Row{ID: str(id), Karma: str(karma), Groups: str(groups)}
}

// members makes n rows m01…: webmasters with karma 100+i.
func members(n int) []source.Row {
	out := make([]source.Row, n)
	for i := range out {
		out[i] = row(fmt.Sprintf("m%02d", i+1), fmt.Sprint(100+i), "webmasters")
	}
	return out
}

type fixture struct {
	store  *models.Store
	table  *table
	poller *source.Poller
	reg    *prometheus.Registry
	woken  int
}

func newFixture(t *testing.T, spec string, maxDelete *int) *fixture {
	t.Helper()
	clock := modelstest.NewClock(t0)
	f := &fixture{table: &table{}, reg: prometheus.NewRegistry()}
	f.store = models.NewStore(modelstest.MustOpen(t, spec), modelstest.MustRules(t, modelstest.Rules), models.Options{Now: clock.Now})
	p, err := source.New(source.Options{Store: f.store, Fetcher: f.table, MaxDeletePercent: maxDelete, Registerer: f.reg,
		PageSize: 7, BatchSize: 5, Changed: func() { f.woken++ }})
	if err != nil {
		t.Fatal(err)
	}
	f.poller = p
	return f
}

func (f *fixture) poll(t *testing.T) source.Result {
	t.Helper()
	res, err := f.poller.Poll(context.Background())
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	return res
}

// events returns the audit events of kind by actor "source", oldest first.
func (f *fixture) events(t *testing.T, kind string) []models.Event {
	t.Helper()
	es, err := f.store.Events(context.Background(), models.EventFilter{Kind: kind, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []models.Event
	for _, e := range slices.Backward(es) {
		if e.Actor == "source" {
			out = append(out, e)
		}
	}
	return out
}

// metric returns a metric's value by name and label values.
func (f *fixture) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func (f *fixture) member(t *testing.T, id string) *models.Member {
	t.Helper()
	v, err := f.store.FindMember(context.Background(), id)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return v.Member
}

func TestPoller_Poll(t *testing.T) {
	t.Run("creates, then applies only what changed", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec, nil)
			f.table.set(members(20)...)
			if res := f.poll(t); res.Created != 20 || res.Changed != 20 || res.Rows != 20 || res.Members != 20 {
				t.Fatalf("first poll = %+v, want 20 created", res)
			}
			if res := f.poll(t); res.Changed != 0 || res.Unchanged != 20 {
				t.Fatalf("second poll = %+v, want nothing changed", res)
			}
			rows := members(20)
			rows[2].Karma, rows[15].Groups = str("50"), str("customers,webmasters")
			f.table.set(rows...)
			res := f.poll(t)
			if res.Changed != 2 || res.Updated != 2 || res.Unchanged != 18 || res.Created != 0 {
				t.Fatalf("third poll = %+v, want m03 and m16 updated", res)
			}
			var ids []string
			for _, e := range f.events(t, models.EventMemberUpdated) {
				ids = append(ids, *e.MemberExt)
			}
			if !slices.Equal(ids, []string{"m03", "m16"}) {
				t.Errorf("member.updated events for %v, want m03, m16", ids)
			}
			if m := f.member(t, "m16"); m.GroupList != "customers,webmasters" {
				t.Errorf("m16 groups = %q", m.GroupList)
			}
			if f.woken != 2 {
				t.Errorf("Changed called %d times, want 2 (the polls that changed members)", f.woken)
			}
			if got := f.metric(t, "karmagate_source_changes_total", "change", "updated"); got != 2 {
				t.Errorf("updated metric = %v, want 2", got)
			}
		})
	})
	t.Run("rows it cannot take are refused, reported once, and skipped", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec, nil)
			rows := append(members(3),
				row("bad id!", "10", "webmasters"),
				source.Row{Karma: str("10"), Groups: str("webmasters")},
				row("frac", "12.5", "webmasters"),
				source.Row{ID: str("nokarma"), Groups: str("webmasters")},
				row("intruder", "10", "webmasters,hackers"),
				source.Row{ID: str("badphone"), Karma: str("10"), Groups: str("staff"), Phone: str("12")},
				row("badjson", "10", `["webmasters"`),
			)
			f.table.set(rows...)
			res := f.poll(t)
			want := map[string]string{"bad id!": "id", "": "id", "frac": "karma", "nokarma": "karma", "intruder": "groups", "badphone": "phone", "badjson": "groups"}
			if res.Created != 3 || len(res.Refused) != len(want) {
				t.Fatalf("poll = %+v, want 3 created, %d refused", res, len(want))
			}
			for _, r := range res.Refused {
				if want[r.ID] != r.Field || r.Reason == "" {
					t.Errorf("refused %q for %s (%s), want field %q", r.ID, r.Field, r.Reason, want[r.ID])
				}
			}
			evs := f.events(t, models.EventSourceRefused)
			if len(evs) != len(want) {
				t.Fatalf("%d source.refused events, want %d", len(evs), len(want))
			}
			for _, e := range evs {
				valid := !strings.Contains(e.Detail, `"bad id!"`) && !strings.Contains(e.Detail, `row ""`)
				if valid != (e.MemberExt != nil) {
					t.Errorf("event %q: member %v", e.Detail, e.MemberExt)
				}
			}
			if got := f.metric(t, "karmagate_source_refusals_total", "field", "karma"); got != 2 {
				t.Errorf("karma refusals metric = %v, want 2", got)
			}
			if got := f.metric(t, "karmagate_source_members", "outcome", "refused"); got != float64(len(want)) {
				t.Errorf("refused gauge = %v, want %d", got, len(want))
			}
			for _, id := range []string{"frac", "intruder", "badphone"} {
				if f.member(t, id) != nil {
					t.Errorf("refused %s was stored", id)
				}
			}
			// The same refusals again: not reported again.
			if res := f.poll(t); len(res.Refused) != len(want) || res.Changed != 0 {
				t.Fatalf("second poll = %+v", res)
			}
			if n := len(f.events(t, models.EventSourceRefused)); n != len(want) {
				t.Errorf("%d source.refused events after the second poll, want still %d", n, len(want))
			}
		})
	})
	t.Run("a member refused later is neither changed nor deleted", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec, nil)
			f.table.set(members(3)...)
			f.poll(t)
			rows := members(3)
			rows[0].Karma = str("lots")
			f.table.set(rows...)
			res := f.poll(t)
			if res.Changed != 0 || res.Deleted != 0 || res.Missing != 0 || len(res.Refused) != 1 {
				t.Fatalf("poll = %+v, want m01 refused and kept", res)
			}
			if m := f.member(t, "m01"); m == nil || m.Karma != 100 {
				t.Errorf("m01 = %+v, want it kept at karma 100", m)
			}
		})
	})
	t.Run("rows of one member are merged", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec, nil)
			f.table.set(
				row("one", "10", "webmasters"), row("one", "10", "customers"), source.Row{ID: str("one"), Karma: str("10")},
				row("two", "10", "webmasters"), row("two", "20", "customers"),
				row("json", "-5", `["staff", "webmasters", "staff"]`),
				row("spaced", " 7 ", " webmasters , staff ,"),
				row("decimal", "-150.00", "webmasters"), // a DECIMAL column's whole number
			)
			res := f.poll(t)
			if res.Created != 4 || len(res.Refused) != 1 || res.Refused[0].ID != "two" || !strings.Contains(res.Refused[0].Reason, "disagree") {
				t.Fatalf("poll = %+v, want one, json, spaced and decimal created, two refused", res)
			}
			for id, want := range map[string]string{"one": "customers,webmasters", "json": "staff,webmasters", "spaced": "staff,webmasters"} {
				if m := f.member(t, id); m == nil || m.GroupList != want {
					t.Errorf("%s = %+v, want groups %s", id, m, want)
				}
			}
			if m := f.member(t, "spaced"); m.Karma != 7 {
				t.Errorf("spaced karma = %d, want 7", m.Karma)
			}
			if m := f.member(t, "decimal"); m == nil || m.Karma != -150 {
				t.Errorf("decimal = %+v, want karma -150", m)
			}
		})
	})
	t.Run("a column the query lacks keeps what karmagate has", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec, nil)
			in := models.MemberInput{ID: "alice", Karma: 150, Groups: []string{"webmasters"}, Name: str("Alice"), Phone: str("+14155550123")}
			if err := in.Normalize(f.store.Rules()); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.PutMember(context.Background(), in, "api"); err != nil {
				t.Fatal(err)
			}
			f.table.set(row("alice", "150", "webmasters"))
			if res := f.poll(t); res.Changed != 0 || res.Unchanged != 1 {
				t.Fatalf("poll without name and phone = %+v, want alice unchanged", res)
			}
			f.table.cols = source.Columns{Name: true}
			f.table.set(source.Row{ID: str("alice"), Karma: str("150"), Groups: str("webmasters"), Name: str("Alice B.")})
			if res := f.poll(t); res.Updated != 1 {
				t.Fatalf("poll with a name = %+v, want alice updated", res)
			}
			if m := f.member(t, "alice"); m.Name == nil || *m.Name != "Alice B." || m.Phone == nil {
				t.Errorf("alice = %+v, want the new name and the phone kept", m)
			}
		})
	})
}

func TestPoller_Missing(t *testing.T) {
	pct := func(n int) *int { return &n }
	t.Run("a member gone from the source is deleted", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec, nil)
			f.table.set(members(20)...)
			f.poll(t)
			f.table.set(slices.Delete(members(20), 4, 6)...) // m05 and m06: 10% of 20
			res := f.poll(t)
			if res.Missing != 2 || res.Deleted != 2 || res.Held {
				t.Fatalf("poll = %+v, want m05 and m06 deleted", res)
			}
			if f.member(t, "m05") != nil || f.member(t, "m06") != nil || f.member(t, "m07") == nil {
				t.Error("wrong members deleted")
			}
			if n := len(f.events(t, models.EventMemberDeleted)); n != 2 {
				t.Errorf("%d member.deleted events by the source, want 2", n)
			}
		})
	})
	t.Run("more than max_delete deletes none, and says so once", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec, nil)
			f.table.set(members(20)...)
			f.poll(t)
			f.table.set(members(17)...) // 3 of 20 gone: over 10%
			for range 2 {
				if res := f.poll(t); res.Missing != 3 || res.Deleted != 0 || !res.Held {
					t.Fatalf("poll = %+v, want 3 missing, held", res)
				}
			}
			if f.member(t, "m20") == nil {
				t.Error("m20 deleted")
			}
			evs := f.events(t, models.EventSourceHeld)
			if len(evs) != 1 || !strings.Contains(evs[0].Detail, "3 of 20") {
				t.Errorf("source.held events = %+v, want one naming 3 of 20", evs)
			}
			if got := f.metric(t, "karmagate_source_deletions_held"); got != 3 {
				t.Errorf("held gauge = %v, want 3", got)
			}
		})
	})
	t.Run("a source with no rows deletes nobody", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec, pct(100))
			f.table.set(members(3)...)
			f.poll(t)
			f.table.set()
			if res := f.poll(t); res.Deleted != 0 || !res.Held {
				t.Fatalf("poll = %+v, want nobody deleted", res)
			}
			if f.member(t, "m01") == nil {
				t.Error("m01 deleted")
			}
		})
	})
	t.Run("max_delete 0% keeps everyone", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec, pct(0))
			f.table.set(members(3)...)
			f.poll(t)
			f.table.set(members(2)...)
			if res := f.poll(t); res.Deleted != 0 || res.Missing != 1 {
				t.Fatalf("poll = %+v, want m03 missing and kept", res)
			}
		})
	})
	t.Run("a failed poll changes nothing and is recorded once", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec, pct(100))
			f.table.set(members(3)...)
			f.poll(t)
			f.table.err = errors.New("connection refused")
			for range 2 {
				if _, err := f.poller.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "connection refused") {
					t.Fatalf("poll = %v, want the fetch error", err)
				}
			}
			if f.member(t, "m01") == nil {
				t.Error("m01 deleted by a failed poll")
			}
			if n := len(f.events(t, models.EventSourceFailed)); n != 1 {
				t.Errorf("%d source.failed events, want 1", n)
			}
			if got := f.metric(t, "karmagate_source_polls_total", "result", "failed"); got != 2 {
				t.Errorf("failed polls metric = %v, want 2", got)
			}
		})
	})
}
