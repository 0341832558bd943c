package linking_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/karmagate/karmagate/linking"
)

// BenchmarkTokens_IssueConsume issues a token and consumes it, against
// MemTokenStore: the cost linking adds to a /start (two HKDF-keyed HMACs to
// issue, a MAC check and an HMAC to consume), without a database.
func BenchmarkTokens_IssueConsume(b *testing.B) {
	ctx := context.Background()
	tk, err := linking.NewTokens(linking.TokenOptions{Secret: secret, Store: &linking.MemTokenStore{}})
	if err != nil {
		b.Fatalf("NewTokens: %v", err)
	}
	who := linking.TelegramUser{ID: 4101}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		member := strconv.Itoa(i)
		tok, _, err := tk.Issue(ctx, member, linking.TelegramUser{})
		if err != nil {
			b.Fatalf("Issue: %v", err)
		}
		got, err := tk.Consume(ctx, tok, who)
		if err != nil || got != member {
			b.Fatalf("Consume = %q, %v; want %q", got, err, member)
		}
	}
}

// BenchmarkTokens_Check is the refusal of a forged token: no store involved.
func BenchmarkTokens_Check(b *testing.B) {
	tk, err := linking.NewTokens(linking.TokenOptions{Secret: secret, Store: &linking.MemTokenStore{}})
	if err != nil {
		b.Fatalf("NewTokens: %v", err)
	}
	forged := flip(mustIssue(b, tk, "alice", linking.TelegramUser{}), 0)
	b.ReportAllocs()
	for b.Loop() {
		if err := tk.Check(forged); err == nil {
			b.Fatal("Check accepted a forged token")
		}
	}
}
