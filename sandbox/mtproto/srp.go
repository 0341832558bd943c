package mtproto

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/gotd/td/tg"
)

// srpPrime is the 2048-bit safe prime Telegram uses for SRP (and for DH in
// the key exchange), with generator srpG. Clients check both (p safe prime,
// g a quadratic residue), so the values cannot be arbitrary.
var srpPrime = mustHex("" +
	"C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F" +
	"48198A0AA7C14058229493D22530F4DBFA336F6E0AC925139543AED44CCE7C37" +
	"20FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F64" +
	"2477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4" +
	"A4A695811051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754" +
	"FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4" +
	"E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F" +
	"0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B")

const srpG = 3

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// srpVerifier is what a server stores for a 2FA password: the KDF
// parameters and v = g^x mod p, never the password itself.
type srpVerifier struct {
	salt1, salt2 []byte
	v            *big.Int
}

// newSRPVerifier derives the verifier of password with fresh salts, using
// Telegram's passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow.
func newSRPVerifier(random io.Reader, password string) (*srpVerifier, error) {
	salt1 := make([]byte, 40)
	salt2 := make([]byte, 16)
	if _, err := io.ReadFull(random, salt1); err != nil {
		return nil, fmt.Errorf("srp: read salt: %w", err)
	}
	if _, err := io.ReadFull(random, salt2); err != nil {
		return nil, fmt.Errorf("srp: read salt: %w", err)
	}
	ph2, err := srpPH2([]byte(password), salt1, salt2)
	if err != nil {
		return nil, err
	}
	x := new(big.Int).SetBytes(ph2)
	v := new(big.Int).Exp(big.NewInt(srpG), x, new(big.Int).SetBytes(srpPrime))
	return &srpVerifier{salt1: salt1, salt2: salt2, v: v}, nil
}

// algo is the KDF description sent in account.password.
func (vr *srpVerifier) algo() *tg.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow {
	return &tg.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow{
		Salt1: append([]byte(nil), vr.salt1...),
		Salt2: append([]byte(nil), vr.salt2...),
		G:     srpG,
		P:     append([]byte(nil), srpPrime...),
	}
}

// srpSession is one account.getPassword answer waiting for its
// auth.checkPassword: the server's ephemeral secret b and public B.
type srpSession struct {
	id     int64
	userID int64
	vr     *srpVerifier
	b      *big.Int
	gb     [256]byte // B = k*v + g^b mod p
}

// newSRPSession picks the server's ephemeral b and computes B.
func newSRPSession(random io.Reader, id, userID int64, vr *srpVerifier) (*srpSession, error) {
	p := new(big.Int).SetBytes(srpPrime)
	g := big.NewInt(srpG)
	k := new(big.Int).SetBytes(srpHash(srpPrime, srpPad(g)))
	for {
		raw := make([]byte, 256)
		if _, err := io.ReadFull(random, raw); err != nil {
			return nil, fmt.Errorf("srp: read b: %w", err)
		}
		b := new(big.Int).SetBytes(raw)
		gb := new(big.Int).Exp(g, b, p)
		gb.Add(gb, new(big.Int).Mul(k, vr.v))
		gb.Mod(gb, p)
		if !srpInSafeRange(gb, p) {
			continue
		}
		s := &srpSession{id: id, userID: userID, vr: vr, b: b}
		copy(s.gb[:], srpPad(gb))
		return s, nil
	}
}

// errSRPMismatch means the client's proof does not match: wrong password.
var errSRPMismatch = errors.New("srp: proof mismatch")

// check verifies the client's A and M1 (see core.telegram.org/api/srp).
func (s *srpSession) check(gaBytes, m1 []byte) error {
	p := new(big.Int).SetBytes(srpPrime)
	if len(gaBytes) > 256 || len(m1) != sha256.Size {
		return errSRPMismatch
	}
	ga := new(big.Int).SetBytes(gaBytes)
	if !srpInSafeRange(ga, p) {
		return errSRPMismatch
	}
	gaPad := srpPad(ga)
	u := new(big.Int).SetBytes(srpHash(gaPad, s.gb[:]))
	// S = (A * v^u)^b mod p, the same number the client gets as
	// (B - k*v)^(a + u*x).
	sv := new(big.Int).Exp(s.vr.v, u, p)
	sv.Mul(sv, ga).Mod(sv, p)
	sv.Exp(sv, s.b, p)
	ka := sha256.Sum256(srpPad(sv))

	hp := sha256.Sum256(srpPrime)
	hg := sha256.Sum256(srpPad(big.NewInt(srpG)))
	var x [sha256.Size]byte
	for i := range x {
		x[i] = hp[i] ^ hg[i]
	}
	want := srpHash(x[:], srpHash(s.vr.salt1), srpHash(s.vr.salt2), gaPad, s.gb[:], ka[:])
	if subtle.ConstantTimeCompare(want, m1) != 1 {
		return errSRPMismatch
	}
	return nil
}

// srpInSafeRange reports 2^(2048-64) < n < p - 2^(2048-64), the range both
// sides require of g_a and g_b.
func srpInSafeRange(n, p *big.Int) bool {
	min := new(big.Int).Lsh(big.NewInt(1), 2048-64)
	max := new(big.Int).Sub(p, min)
	return n.Cmp(min) > 0 && n.Cmp(max) < 0
}

func srpPad(n *big.Int) []byte {
	out := make([]byte, 256)
	n.FillBytes(out)
	return out
}

func srpHash(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// srpPH2 is Telegram's password hash:
// SH(pbkdf2(sha512, SH(SH(password, salt1), salt2), salt1, 100000), salt2)
// with SH(data, salt) = H(salt | data | salt).
func srpPH2(password, salt1, salt2 []byte) ([]byte, error) {
	sh := func(data, salt []byte) []byte { return srpHash(salt, data, salt) }
	ph1 := sh(sh(password, salt1), salt2)
	dk, err := pbkdf2.Key(sha512.New, string(ph1), salt1, 100000, 64)
	if err != nil {
		return nil, fmt.Errorf("srp: pbkdf2: %w", err)
	}
	return sh(dk, salt2), nil
}
