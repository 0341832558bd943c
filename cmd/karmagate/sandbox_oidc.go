package main

import (
	"fmt"
	"strings"

	"github.com/karmagate/karmagate/sandbox"
)

// oidcEnvFile is the env file's part that turns Log in with Telegram on
// against the sandbox's issuer: its client (TELEGRAM_OIDC_*, which
// replace any already set, as the sandbox's other TELEGRAM_* do), and
// development values of KARMAGATE_PUBLIC_URL (publicURL, whose
// /auth/telegram/callback the issuer allows) and KARMAGATE_LINK_SECRET
// (random), each kept if the environment has one. One block, all or
// nothing, so that serve sees the whole configuration or none of it.
func oidcEnvFile(sb *sandbox.Sandbox, publicURL string) string {
	var b strings.Builder
	b.WriteString(sb.OIDCEnvFile())
	for _, kv := range [][2]string{{"KARMAGATE_PUBLIC_URL", publicURL}, {"KARMAGATE_LINK_SECRET", randomHex(32)}} {
		fmt.Fprintf(&b, "%s=${%s:-%s}\n", kv[0], kv[0], shellQuote(kv[1]))
	}
	return b.String()
}
