package vault_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/karmagate/karmagate/vault"
)

func mustVault(t *testing.T, secret string) *vault.Vault {
	t.Helper()
	v, err := vault.New([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVault_SealOpen(t *testing.T) {
	v := mustVault(t, "secret-one-0123456789abcdef0123456789")
	plain := []byte("auth key bytes \x00\x01\x02")
	sealed := v.Seal(plain, "userbot/1/session")
	if bytes.Contains(sealed, plain) {
		t.Fatal("the sealed value contains the plain text")
	}
	tests := []struct {
		name    string
		vault   *vault.Vault
		sealed  []byte
		ad      string
		wantErr bool
	}{
		{name: "same secret and ad", vault: v, sealed: sealed, ad: "userbot/1/session"},
		{name: "another account", vault: v, sealed: sealed, ad: "userbot/2/session", wantErr: true},
		{name: "another secret", vault: mustVault(t, "secret-two-0123456789abcdef0123456789"), sealed: sealed, ad: "userbot/1/session", wantErr: true},
		{name: "altered", vault: v, sealed: append(append([]byte{}, sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1), ad: "userbot/1/session", wantErr: true},
		{name: "truncated", vault: v, sealed: sealed[:10], ad: "userbot/1/session", wantErr: true},
		{name: "empty", vault: v, sealed: nil, ad: "userbot/1/session", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.vault.Open(tt.sealed, tt.ad)
			if tt.wantErr {
				if !errors.Is(err, vault.ErrOpen) {
					t.Fatalf("Open: got %v, want ErrOpen", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("Open: got %q, want %q", got, plain)
			}
		})
	}
	t.Run("nonce differs each time", func(t *testing.T) {
		if bytes.Equal(v.Seal(plain, "a"), v.Seal(plain, "a")) {
			t.Fatal("two seals of the same value are equal")
		}
	})
}

func TestVault_Check(t *testing.T) {
	a := mustVault(t, "secret-one-0123456789abcdef0123456789")
	b := mustVault(t, "secret-two-0123456789abcdef0123456789")
	if err := a.Check(a.Verifier()); err != nil {
		t.Errorf("own verifier: %v", err)
	}
	if err := a.Check(mustVault(t, "secret-one-0123456789abcdef0123456789").Verifier()); err != nil {
		t.Errorf("same secret, new vault: %v", err)
	}
	if err := a.Check(b.Verifier()); !errors.Is(err, vault.ErrWrongSecret) {
		t.Errorf("other secret's verifier: got %v, want ErrWrongSecret", err)
	}
	if bytes.Contains([]byte(a.Verifier()), []byte("secret-one")) {
		t.Error("the verifier contains the secret")
	}
}

func TestNew_EmptySecret(t *testing.T) {
	if _, err := vault.New(nil); err == nil {
		t.Fatal("New(nil): want an error")
	}
}
