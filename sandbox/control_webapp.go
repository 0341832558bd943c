package sandbox

import (
	"net/http"
)

// handleWebApp is the person pressing a web_app button they received
// (the Mini App a guard bot showed them at their join request, see
// world.SendJoinRequestWebApp): {"url": the button's URL} answers the
// launch a Telegram client makes: {"url": the page with #tgWebAppData=…,
// "init_data": Telegram.WebApp.initData, "bot_id", "auth_date"}, signed
// with the bot's token. 400 WEBAPP_NOT_FOUND for a URL never shown to them.
func (s *Sandbox) handleWebApp(r *http.Request, in map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	if in["url"] == "" {
		return fail(badInput("url is required: the web_app button's URL"))
	}
	l, err := s.world.OpenWebApp(u.ID, in["url"])
	if err != nil {
		return fail(err)
	}
	return answer(map[string]any{"url": l.URL, "init_data": l.InitData, "bot_id": l.BotID, "auth_date": l.AuthDate.Unix()})
}
