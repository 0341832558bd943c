package login

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/karmagate/karmagate/models"
)

// The website's link to GET /auth/telegram carries member (the member's
// id on the website), exp (Unix seconds after which the link is refused)
// and sig, the lower-case hex HMAC-SHA256 under KARMAGATE_LINK_SECRET of
//
//	"karmagate-login\n" + member + "\n" + exp
//
// (exp as written in the link). exp may be at most MaxAhead in the future.

// Why a link is refused.
var (
	errLinkMalformed = errors.New("the link's member, exp or sig is missing, repeated or malformed")
	errLinkForged    = errors.New("the link's signature does not match")
	errLinkExpired   = errors.New("the link's exp has passed")
	errLinkTooLong   = errors.New("the link's exp is further ahead than links may live")
)

// linkMessage is what sig signs.
func linkMessage(member, exp string) []byte {
	return []byte("karmagate-login\n" + member + "\n" + exp)
}

// Sign is the sig of a link for member expiring at exp (Unix seconds),
// as the website computes it.
func Sign(secret []byte, member string, exp int64) string {
	m := hmac.New(sha256.New, secret)
	m.Write(linkMessage(member, strconv.FormatInt(exp, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// checkLink reads and checks a link's query: exactly member, exp and sig,
// once each; the signature compared in constant time, then the expiry.
func checkLink(secret []byte, q url.Values, now time.Time, maxAhead time.Duration) (string, error) {
	for k, v := range q {
		if (k != "member" && k != "exp" && k != "sig") || len(v) != 1 {
			return "", errLinkMalformed
		}
	}
	member, exp, sig := q.Get("member"), q.Get("exp"), q.Get("sig")
	if !models.ValidID(member) || len(exp) == 0 || len(exp) > 12 {
		return "", errLinkMalformed
	}
	when, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || when <= 0 || strconv.FormatInt(when, 10) != exp {
		return "", errLinkMalformed
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return "", errLinkMalformed
	}
	m := hmac.New(sha256.New, secret)
	m.Write(linkMessage(member, exp))
	if !hmac.Equal(got, m.Sum(nil)) {
		return "", errLinkForged
	}
	switch at := time.Unix(when, 0); {
	case !at.After(now):
		return "", errLinkExpired
	case at.After(now.Add(maxAhead + time.Minute)): // a minute for the website's clock
		return "", errLinkTooLong
	}
	return member, nil
}
