package linking_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/linking"
)

var errTaken = errors.New("already linked")

type fakePhoneStore struct {
	cands    []linking.PhoneCandidate
	linked   map[string]int64
	recorded map[string]string
	taken    map[int64]bool
}

func (f *fakePhoneStore) PhoneCandidates(context.Context, time.Time, int) ([]linking.PhoneCandidate, error) {
	return f.cands, nil
}

func (f *fakePhoneStore) LinkByPhone(_ context.Context, member string, user int64, _, _ string) error {
	if f.taken[user] {
		return errTaken
	}
	f.linked[member] = user
	return nil
}

func (f *fakePhoneStore) RecordPhoneLookup(_ context.Context, member, outcome string) error {
	f.recorded[member] = outcome
	return nil
}

func TestPhoneLinker_Round(t *testing.T) {
	answers := map[string]linking.Resolution{
		"+1": {Status: linking.Resolved, UserID: 11, Via: "userbot"},
		"+2": {Status: linking.Unresolved, Via: "bot"},
		"+3": {Status: linking.Resolved, UserID: 33, Via: "userbot"},
		"+4": {Status: linking.Limited, RetryAfter: time.Minute},
		"+5": {Status: linking.Resolved, UserID: 55},
	}
	store := &fakePhoneStore{linked: map[string]int64{}, recorded: map[string]string{}, taken: map[int64]bool{33: true},
		cands: []linking.PhoneCandidate{{"a", "+1"}, {"b", "+2"}, {"c", "+3"}, {"d", "+4"}, {"e", "+5"}}}
	l, err := linking.NewPhoneLinker(linking.PhoneLinkerOptions{Store: store, AlreadyLinked: errTaken,
		Resolver: linking.ResolverFunc(func(_ context.Context, phone string) (linking.Resolution, error) { return answers[phone], nil })})
	if err != nil {
		t.Fatal(err)
	}
	n, err := l.Round(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Round = %d, %v; want 1 linked", n, err)
	}
	if store.linked["a"] != 11 || len(store.linked) != 1 {
		t.Errorf("linked %v, want only a", store.linked)
	}
	if !strings.Contains(store.recorded["b"], "unresolved") || !strings.Contains(store.recorded["c"], "not linked") {
		t.Errorf("recorded %v", store.recorded)
	}
	if _, asked := store.recorded["e"]; asked || store.linked["e"] != 0 {
		t.Error("the round went on after Telegram asked to wait")
	}
}
