package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
)

// version is the first byte of every sealed value: the format and the key
// derivation. A later format gets a new byte and this one stays readable.
const version = 1

// Labels for HKDF's info: one key per purpose.
const (
	sealLabel     = "karmagate vault seal v1"
	verifierLabel = "karmagate vault verifier v1"
)

// ErrOpen means a sealed value did not open: the secret is not the one it
// was sealed under, it belongs to something else, or it was altered.
var ErrOpen = errors.New("vault: sealed value does not open with this secret (wrong KARMAGATE_SECRET, or the value was altered)")

// ErrWrongSecret means the secret does not match the verifier the database
// keeps.
var ErrWrongSecret = errors.New("KARMAGATE_SECRET is not the secret this database was set up with: " +
	"userbot sessions and link tokens cannot be opened with it; start with the original secret " +
	"(nothing was read or changed)")

// Vault seals and opens values under keys derived from one master secret.
// It is safe for concurrent use.
type Vault struct {
	aead     cipher.AEAD
	verifier string
}

// New derives a vault's keys from secret. The secret must not be empty.
func New(secret []byte) (*Vault, error) {
	if len(secret) == 0 {
		return nil, errors.New("vault: empty secret")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, sealLabel, 32)
	if err != nil {
		return nil, fmt.Errorf("vault: derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	ver, err := hkdf.Key(sha256.New, secret, nil, verifierLabel, 32)
	if err != nil {
		return nil, fmt.Errorf("vault: derive verifier: %w", err)
	}
	return &Vault{aead: aead, verifier: hex.EncodeToString(ver)}, nil
}

// Seal encrypts plain, bound to ad (what the value belongs to, e.g.
// "userbot/3/session"): version byte, random nonce, ciphertext and tag.
func (v *Vault) Seal(plain []byte, ad string) []byte {
	out := make([]byte, 1+v.aead.NonceSize(), 1+v.aead.NonceSize()+len(plain)+v.aead.Overhead())
	out[0] = version
	rand.Read(out[1:]) // crypto/rand.Read never fails
	return v.aead.Seal(out, out[1:], plain, []byte(ad))
}

// Open decrypts a value Seal made with the same secret and ad; anything
// else is ErrOpen.
func (v *Vault) Open(sealed []byte, ad string) ([]byte, error) {
	n := v.aead.NonceSize()
	if len(sealed) < 1+n+v.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	plain, err := v.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(ad))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// Verifier is a value derived from the secret (not the secret, and no key
// the vault seals with) for the database to keep, so that Check can tell a
// wrong secret at start.
func (v *Vault) Verifier() string { return v.verifier }

// Check compares a stored verifier with this vault's: ErrWrongSecret when
// they differ.
func (v *Vault) Check(stored string) error {
	if subtle.ConstantTimeCompare([]byte(stored), []byte(v.verifier)) != 1 {
		return ErrWrongSecret
	}
	return nil
}
