package linking_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/karmagate/karmagate/linking"
)

// answer is a resolver that records the phone it was asked and says res, err.
func answer(asked *[]string, name string, res linking.Resolution, err error) linking.NamedResolver {
	return linking.NamedResolver{Name: name, Resolver: linking.ResolverFunc(func(_ context.Context, phone string) (linking.Resolution, error) {
		*asked = append(*asked, name+":"+phone)
		return res, err
	})}
}

func TestChain_ResolvePhone(t *testing.T) {
	var (
		resolved   = linking.Resolution{Status: linking.Resolved, UserID: 4101, Username: "alice_tg"}
		unresolved = linking.Resolution{Status: linking.Unresolved}
		limited    = func(d time.Duration) linking.Resolution {
			return linking.Resolution{Status: linking.Limited, RetryAfter: d}
		}
	)
	type step struct {
		name string
		res  linking.Resolution
		err  error
	}
	tests := []struct {
		name     string
		steps    []step
		want     linking.Resolution // without Attempts
		attempts []linking.Attempt  // Err compared with errors.Is
		asked    []string
		wantErr  error
	}{
		{
			name:     "first resolves",
			steps:    []step{{"bot", resolved, nil}, {"userbot", unresolved, nil}},
			want:     linking.Resolution{Status: linking.Resolved, UserID: 4101, Username: "alice_tg", Via: "bot"},
			attempts: []linking.Attempt{{Resolver: "bot", Status: linking.Resolved}},
			asked:    []string{"bot:+79161234567"},
		},
		{
			name:  "second resolves",
			steps: []step{{"bot", unresolved, nil}, {"userbot", resolved, nil}},
			want:  linking.Resolution{Status: linking.Resolved, UserID: 4101, Username: "alice_tg", Via: "userbot"},
			attempts: []linking.Attempt{
				{Resolver: "bot", Status: linking.Unresolved}, {Resolver: "userbot", Status: linking.Resolved},
			},
			asked: []string{"bot:+79161234567", "userbot:+79161234567"},
		},
		{
			name:  "error then resolved",
			steps: []step{{"bot", linking.Resolution{}, errDisk}, {"userbot", resolved, nil}},
			want:  linking.Resolution{Status: linking.Resolved, UserID: 4101, Username: "alice_tg", Via: "userbot"},
			attempts: []linking.Attempt{
				{Resolver: "bot", Err: errDisk}, {Resolver: "userbot", Status: linking.Resolved},
			},
			asked: []string{"bot:+79161234567", "userbot:+79161234567"},
		},
		{
			name:  "nobody can say",
			steps: []step{{"bot", unresolved, nil}, {"userbot", unresolved, nil}},
			want:  linking.Resolution{Status: linking.Unresolved},
			attempts: []linking.Attempt{
				{Resolver: "bot", Status: linking.Unresolved}, {Resolver: "userbot", Status: linking.Unresolved},
			},
			asked: []string{"bot:+79161234567", "userbot:+79161234567"},
		},
		{
			name:  "limited beats unresolved",
			steps: []step{{"bot", unresolved, nil}, {"userbot", limited(30 * time.Second), nil}},
			want:  linking.Resolution{Status: linking.Limited, RetryAfter: 30 * time.Second, Via: "userbot"},
			attempts: []linking.Attempt{
				{Resolver: "bot", Status: linking.Unresolved}, {Resolver: "userbot", Status: linking.Limited, RetryAfter: 30 * time.Second},
			},
			asked: []string{"bot:+79161234567", "userbot:+79161234567"},
		},
		{
			name:  "soonest limit wins",
			steps: []step{{"a", limited(time.Minute), nil}, {"b", limited(5 * time.Second), nil}, {"c", limited(time.Hour), nil}},
			want:  linking.Resolution{Status: linking.Limited, RetryAfter: 5 * time.Second, Via: "b"},
			attempts: []linking.Attempt{
				{Resolver: "a", Status: linking.Limited, RetryAfter: time.Minute},
				{Resolver: "b", Status: linking.Limited, RetryAfter: 5 * time.Second},
				{Resolver: "c", Status: linking.Limited, RetryAfter: time.Hour},
			},
			asked: []string{"a:+79161234567", "b:+79161234567", "c:+79161234567"},
		},
		{
			name:  "limited beats an error",
			steps: []step{{"bot", linking.Resolution{}, errDisk}, {"userbot", limited(time.Second), nil}},
			want:  linking.Resolution{Status: linking.Limited, RetryAfter: time.Second, Via: "userbot"},
			attempts: []linking.Attempt{
				{Resolver: "bot", Err: errDisk}, {Resolver: "userbot", Status: linking.Limited, RetryAfter: time.Second},
			},
			asked: []string{"bot:+79161234567", "userbot:+79161234567"},
		},
		{
			name:  "an error beats unresolved",
			steps: []step{{"bot", linking.Resolution{}, errDisk}, {"userbot", unresolved, nil}},
			want:  linking.Resolution{},
			attempts: []linking.Attempt{
				{Resolver: "bot", Err: errDisk}, {Resolver: "userbot", Status: linking.Unresolved},
			},
			asked:   []string{"bot:+79161234567", "userbot:+79161234567"},
			wantErr: errDisk,
		},
		{
			name:     "resolved without a user id is an error",
			steps:    []step{{"bot", linking.Resolution{Status: linking.Resolved}, nil}},
			attempts: []linking.Attempt{{Resolver: "bot", Err: errAny}},
			asked:    []string{"bot:+79161234567"},
			wantErr:  errAny,
		},
		{
			name:     "unknown status is an error",
			steps:    []step{{"bot", linking.Resolution{Status: "maybe"}, nil}},
			attempts: []linking.Attempt{{Resolver: "bot", Err: errAny}},
			asked:    []string{"bot:+79161234567"},
			wantErr:  errAny,
		},
		{
			name:     "negative retry is an error",
			steps:    []step{{"bot", limited(-time.Second), nil}},
			attempts: []linking.Attempt{{Resolver: "bot", Err: errAny}},
			asked:    []string{"bot:+79161234567"},
			wantErr:  errAny,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked []string
			var chain linking.Chain
			for _, s := range tt.steps {
				chain = append(chain, answer(&asked, s.name, s.res, s.err))
			}
			got, err := chain.ResolvePhone(context.Background(), "7 916 123-45-67")
			switch {
			case tt.wantErr == errAny && err == nil, tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("ResolvePhone error = %v; want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(asked, tt.asked) {
				t.Errorf("asked %q; want %q", asked, tt.asked)
			}
			attempts := got.Attempts
			got.Attempts = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ResolvePhone = %+v; want %+v", got, tt.want)
			}
			if len(attempts) != len(tt.attempts) {
				t.Fatalf("attempts = %+v; want %+v", attempts, tt.attempts)
			}
			for i, a := range attempts {
				w := tt.attempts[i]
				errOK := (w.Err == nil) == (a.Err == nil) && (w.Err == nil || w.Err == errAny || errors.Is(a.Err, w.Err))
				if a.Resolver != w.Resolver || a.Status != w.Status || a.RetryAfter != w.RetryAfter || !errOK {
					t.Errorf("attempt %d = %+v; want %+v", i, a, w)
				}
			}
		})
	}
}

// errAny in a test case stands for "some error".
var errAny = errors.New("any error")

func TestChain_ResolvePhone_refusals(t *testing.T) {
	var asked []string
	one := linking.Chain{answer(&asked, "bot", linking.Resolution{Status: linking.Resolved, UserID: 1}, nil)}
	t.Run("empty chain", func(t *testing.T) {
		if _, err := (linking.Chain{}).ResolvePhone(context.Background(), "+79161234567"); err == nil {
			t.Fatal("ResolvePhone on an empty chain succeeded")
		}
	})
	t.Run("invalid phone", func(t *testing.T) {
		if _, err := one.ResolvePhone(context.Background(), "not a phone"); !errors.Is(err, linking.ErrPhoneInvalid) {
			t.Fatalf("ResolvePhone = %v; want ErrPhoneInvalid", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := one.ResolvePhone(ctx, "+79161234567"); !errors.Is(err, context.Canceled) {
			t.Fatalf("ResolvePhone = %v; want context.Canceled", err)
		}
	})
	if len(asked) != 0 {
		t.Errorf("resolvers asked %q; want none", asked)
	}
}
