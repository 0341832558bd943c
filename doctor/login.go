package doctor

import (
	"context"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Login is Log in with Telegram (OpenID Connect) as doctor checks it: the
// issuer must answer discovery with itself as the issuer, and the
// redirect URL is what to allow in BotFather.
type Login struct {
	Issuer      string // TELEGRAM_OIDC_ISSUER, Telegram's by default
	RedirectURL string // KARMAGATE_PUBLIC_URL + /auth/telegram/callback
}

// login discovers the issuer as serve will when the first member logs in.
func login(ctx context.Context, opts Options) Result {
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, opts.HTTPClient), 10*time.Second)
	defer cancel()
	if _, err := oidc.NewProvider(ctx, opts.Login.Issuer); err != nil {
		return Result{Fail, "telegram login", "the issuer " + opts.Login.Issuer + " cannot be discovered: " + err.Error(),
			"check TELEGRAM_OIDC_ISSUER (https://oauth.telegram.org by default, or unset it) and that this host may open HTTPS connections out"}
	}
	return Result{OK, "telegram login", "the issuer " + opts.Login.Issuer + " answers; allow " + opts.Login.RedirectURL +
		" as a redirect URL in @BotFather (Bot Settings → Web Login)", ""}
}
