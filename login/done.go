package login

import (
	"html/template"
	"net/http"
)

// reasonTexts say what went wrong, to the person.
var reasonTexts = map[string]string{
	ReasonBadLink:        "The link is incomplete. Open it again from your profile page.",
	ReasonBadSignature:   "The link was not made by the website. Open it again from your profile page.",
	ReasonLinkExpired:    "The link has expired. Open a fresh one from your profile page.",
	ReasonUnknownMember:  "The website does not know this account any more.",
	ReasonUnavailable:    "Telegram could not be reached. Try again in a minute.",
	ReasonWrongBrowser:   "The login was started in another browser. Start it again here.",
	ReasonLoginUnknown:   "This login is unknown. Start it again from your profile page.",
	ReasonLoginUsed:      "This login was finished already.",
	ReasonLoginExpired:   "The login took too long. Start it again from your profile page.",
	ReasonDenied:         "You declined at Telegram: nothing was linked.",
	ReasonRefused:        "Telegram refused the login. Start it again from your profile page.",
	ReasonTokenInvalid:   "Telegram's answer could not be verified: nothing was linked.",
	ReasonTokenExpired:   "Telegram's answer came too late: nothing was linked.",
	ReasonNonce:          "Telegram's answer was for another login: nothing was linked.",
	ReasonAccountForeign: "This Telegram account is not the one your profile names.",
	ReasonInternal:       "Something went wrong on our side. Try again later.",
}

var doneTmpl = template.Must(template.New("done").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f5f7;margin:0;display:flex;justify-content:center}
.card{background:#fff;border-radius:12px;box-shadow:0 2px 10px rgba(0,0,0,.1);margin-top:70px;padding:28px 34px;width:380px}
h1{font-size:21px;margin:0 0 10px} p{color:#444;font-size:15px;line-height:1.5}
.ok{color:#1e8e3e} .wait{color:#b06f00} .bad{color:#c0392b} .foot{color:#999;font-size:12px;margin-top:18px}
</style></head><body><div class="card">
<h1 id="outcome" class="{{.Class}}">{{.Title}}</h1>
<p id="detail">{{.Detail}}</p>
<p class="foot">karmagate · Log in with Telegram</p>
</div></body></html>
`))

// done is DonePath: the outcome, when the website gave no profile page.
func (s *Server) done(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := struct{ Title, Detail, Class string }{"Telegram not linked", "Nothing was linked.", "bad"}
	switch q.Get("telegram") {
	case OutcomeLinked:
		d = struct{ Title, Detail, Class string }{"Telegram linked", "Your Telegram account is linked to your profile. The bot will send you your invitations.", "ok"}
	case OutcomePending:
		d = struct{ Title, Detail, Class string }{"Waiting for confirmation", "Your profile is linked to another Telegram account, which was asked to confirm the move.", "wait"}
	default:
		if t, ok := reasonTexts[q.Get("reason")]; ok {
			d.Detail = t
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	if err := doneTmpl.Execute(w, d); err != nil {
		s.log.WarnContext(r.Context(), "render the outcome page", "err", err)
	}
}
