package oidc

import (
	"html/template"
	"net/http"
	"net/url"

	"github.com/karmagate/karmagate/sandbox/world"
)

// pageData fills the authorize pages: the sign-in form, the consent form,
// or an error.
type pageData struct {
	Title        string
	Error        string
	SignIn       bool
	Bot          world.User
	Person       world.User
	Hidden       url.Values
	CSRF         string
	AsksPhone    bool
	Phone        string
	AsksMessages bool
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#e7ebf0;margin:0;display:flex;justify-content:center;align-items:flex-start;min-height:100vh}
.card{background:#fff;border-radius:14px;box-shadow:0 2px 12px rgba(0,0,0,.12);margin-top:60px;padding:28px 32px;width:360px}
h1{font-size:20px;margin:0 0 6px} .sub{color:#707579;margin:0 0 18px;font-size:14px}
.badge{display:inline-block;background:#2aabee;color:#fff;border-radius:50%;width:56px;height:56px;line-height:56px;text-align:center;font-size:26px;font-weight:600;margin-bottom:12px}
ul{padding-left:18px;color:#222;font-size:14px;line-height:1.7} label{font-size:14px}
button{border:0;border-radius:10px;padding:11px 18px;font-size:15px;cursor:pointer;margin-right:8px}
.accept{background:#2aabee;color:#fff} .decline{background:#f1f1f1;color:#333}
input[type=text]{width:100%;box-sizing:border-box;padding:9px;font-size:15px;margin:6px 0 14px;border:1px solid #ccd;border-radius:8px}
.err{color:#c0392b;font-size:14px} .who{font-size:14px;background:#f4f8fb;border-radius:8px;padding:8px 10px;margin-bottom:14px}
.foot{color:#9aa;font-size:12px;margin-top:18px}
</style></head><body><div class="card">
{{if .SignIn}}
<div class="badge">T</div>
<h1>Log in to Telegram</h1>
<p class="sub">to continue to <b>{{.Bot.FirstName}}</b> (@{{.Bot.Username}})</p>
{{if .Error}}<p class="err">{{.Error}}</p>{{end}}
<form method="post" action="auth">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<input type="hidden" name="action" value="signin">
<label for="user_id">Sandbox person (Telegram user id)</label>
<input type="text" id="user_id" name="user_id" autocomplete="off">
<button class="accept" type="submit">Next</button>
</form>
{{else if .Error}}
<h1>{{.Title}}</h1><p class="err" id="error">{{.Error}}</p>
{{else}}
<div class="badge">{{slice .Bot.FirstName 0 1}}</div>
<h1>{{.Title}}</h1>
<p class="sub"><b>{{.Bot.FirstName}}</b> (@{{.Bot.Username}}) wants to log you in with your Telegram account.</p>
<div class="who" id="person">Logged in as <b>{{.Person.FirstName}}{{if .Person.LastName}} {{.Person.LastName}}{{end}}</b>{{if .Person.Username}} @{{.Person.Username}}{{end}}</div>
<form method="post" action="auth">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<input type="hidden" name="csrf" value="{{.CSRF}}">
<p class="sub">The site will receive:</p>
<ul><li>your name, username and profile photo</li><li>your Telegram id</li>
</ul>
{{if .AsksPhone}}<p><label><input type="checkbox" name="share_phone" id="share_phone" checked> Share my phone number {{.Phone}}</label></p>{{end}}
{{if .AsksMessages}}<p><label><input type="checkbox" name="allow_messages" id="allow_messages" checked> Allow {{.Bot.FirstName}} to message me</label></p>{{end}}
<button class="accept" id="accept" name="action" value="accept" type="submit">Accept</button>
<button class="decline" id="decline" name="action" value="decline" type="submit">Decline</button>
</form>
{{end}}
<p class="foot">karmagate sandbox · OpenID Connect issuer</p>
</div></body></html>
`))

// page renders an authorize page.
func (s *Issuer) page(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	if err := pageTmpl.Execute(w, d); err != nil {
		s.log.Warn("render authorize page", "err", err)
	}
}
