package bot

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/template"

	"github.com/karmagate/karmagate/gate"
)

// Message keys: the texts the bot sends people. The rules file may override
// any of them per language (messages: in rules.yaml); the built-in ones are
// English and Russian, chosen by the person's Telegram language.
const (
	msgStartHelp      = "start_help"
	msgLinked         = "linked"
	msgTakenOver      = "taken_over"
	msgTokenMalformed = "token_malformed"
	msgTokenForged    = "token_forged"
	msgTokenUnknown   = "token_unknown"
	msgTokenExpired   = "token_expired"
	msgTokenUsed      = "token_used"
	msgTokenForeign   = "token_foreign"
	msgUnlinked       = "unlinked"
	msgLinkMoved      = "link_moved"
	msgNotLinked      = "not_linked"
	msgAccessGained   = "access_gained"
	msgApproved       = "approved"
	msgFlagged        = "flagged"
	msgDoorQueued     = "door_queued" // a borderline join request left to the admins (door.go)
	msgStrangerOut    = "stranger_removed"
	msgGraceStarted   = "grace_started"
	msgAccessLost     = "access_lost"
	msgJoinDeclined   = "join_declined"
	msgContactAsk     = "contact_ask"
	msgContactLinked  = "contact_linked"
	msgContactForeign = "contact_foreign"
	msgContactNoMatch = "contact_no_match"
	msgHelp           = "help"
	msgHelpChatAdmin  = "help_chat_admin"
	msgHelpSiteAdmin  = "help_site_admin"
	// Dry run, for a chat's admins: the removals held (/pending), their
	// confirmation (/confirm), a group bound over members, a refusal.
	msgPending       = "pending"
	msgConfirmed     = "confirmed"
	msgDryRunStarted = "dry_run_started"
	msgAdminsOnly    = "admins_only"
	// Relinking: a link that would move a linked member to another
	// Telegram account waits for the account linked now.
	msgRelinkPending       = "relink_pending"
	msgRelinkAsk           = "relink_ask"
	msgRelinkConfirmButton = "relink_confirm_button"
	msgRelinkRefuseButton  = "relink_refuse_button"
	msgRelinkConfirmedOld  = "relink_confirmed"
	msgRelinkRefusedOld    = "relink_refused"
	msgRelinkRefusedNew    = "relink_refused_new"
	msgRelinkExpired       = "relink_expired"
	msgRelinkClosed        = "relink_closed"
	msgRelinkNotYours      = "relink_not_yours"
)

// texts holds the message templates by key and language.
type texts struct {
	t map[string]map[string]*template.Template
}

// textData is what a template may use.
type textData struct {
	Bot      string // the bot's @username, without @
	Member   string // the website member id
	Name     string // the member's name on the website, or the Telegram name
	Chat     string // a chat's title
	Link     string // a join link
	Reason   string // why, in the rules' words
	Karma    int64
	Need     int64  // the karma the chat asks for
	Until    string // a date and time, UTC
	Previous string // the member who had the account before
	Chats    []chatLine
	User     string // a Telegram account: @username or the id
	// Dry run: how many removals are held (or were confirmed), the first
	// of them, whether the chat holds removals, and whether by its
	// configuration (the rules file or KARMAGATE_DRY_RUN).
	Count      int64
	Removals   []removalLine
	DryRun     bool
	Configured bool
	// Breaker: the chat's removal breaker is open (max_removals).
	Breaker bool
	Command string // the command refused, without /
	// Unreachable: the account asked to confirm a relink blocked the bot
	// or is gone, as far as the bot knows.
	Unreachable bool
	// Standing (/karma, karma.go): linked or not, the member's website
	// groups, the groups the chat asks for, the bar to stay (when it
	// differs), the karma missing, no group that fits, and the state.
	Linked     bool
	Groups     string
	Wants      string
	LeaveBelow int64
	Short      int64
	NoGroup    bool
	Qualifies  bool
	InChat     bool
	Exempt     bool
	Grace      bool
}

// removalLine is one held removal in /pending.
type removalLine struct {
	Who     string // the member id, or "Telegram user <id>"
	Reason  string
	Breaker bool // held by the removal breaker, not by dry run
}

// chatLine is one chat in the linked summary.
type chatLine struct {
	Title  string
	Link   string // set when the member may join now
	Reason string
	In     bool // already in the chat
	// Personal: the member qualifies and gets a link of their own next.
	Personal bool
	Ready    bool // the group exists and the bot admits members
	// Checking: the member qualifies and the bot is asking Telegram
	// whether they are inside already; the link follows if not.
	Checking bool
}

var builtinTexts = map[string]map[string]string{
	msgStartHelp: {
		"en": "Hi! I let members of the website into its private Telegram groups.\n\nTo link your Telegram account, open your profile on the website and tap \"Connect Telegram\": it brings you back here with a one-time link.{{if .Bot}}\n\nYou can also share your phone number below if the website knows it.{{end}}",
		"ru": "Привет! Я впускаю участников сайта в его закрытые группы в Telegram.\n\nЧтобы привязать Telegram, откройте свой профиль на сайте и нажмите «Подключить Telegram»: ссылка вернёт вас сюда.{{if .Bot}}\n\nЕсли сайт знает ваш номер телефона, можно поделиться им кнопкой ниже.{{end}}",
	},
	msgLinked: {
		"en": "Linked: this Telegram account now belongs to {{.Name}} on the website.{{range .Chats}}\n\n• {{.Title}}: {{if .In}}you are in.{{else if .Checking}}you qualify; I am checking whether you are in the group already, and send you its link next if not.{{else if .Personal}}you qualify; a link of your own follows.{{else if .Link}}you qualify. Join here: {{.Link}}{{else if .Ready}}not yet ({{.Reason}}).{{else}}{{if .Reason}}{{.Reason}}; {{end}}the group is not ready yet, I will message you when it is.{{end}}{{else}}\n\nNo gated group fits you yet; I will message you when one does.{{end}}",
		"ru": "Готово: этот Telegram привязан к участнику {{.Name}} на сайте.{{range .Chats}}\n\n• {{.Title}}: {{if .In}}вы уже в группе.{{else if .Checking}}вы проходите; проверяю, не в группе ли вы уже, и если нет, пришлю ссылку следом.{{else if .Personal}}вы проходите; личная ссылка придёт следом.{{else if .Link}}вы проходите. Вступить: {{.Link}}{{else if .Ready}}пока нет ({{.Reason}}).{{else}}{{if .Reason}}{{.Reason}}; {{end}}группа ещё не готова, я напишу, когда будет.{{end}}{{else}}\n\nПока ни одна закрытая группа вам не подходит; я напишу, когда подойдёт.{{end}}",
	},
	msgTakenOver: {
		"en": "This Telegram account was linked to the website account {{.Previous}} before; it now belongs to {{.Name}} instead.",
		"ru": "Этот Telegram раньше был привязан к аккаунту {{.Previous}} на сайте; теперь он привязан к {{.Name}}.",
	},
	msgTokenMalformed: {
		"en": "That link is not one of mine. Open your profile on the website and tap \"Connect Telegram\" again.",
		"ru": "Эта ссылка не от меня. Откройте профиль на сайте и снова нажмите «Подключить Telegram».",
	},
	msgTokenForged: {
		"en": "That link is not valid. Open your profile on the website and tap \"Connect Telegram\" for a fresh one.",
		"ru": "Эта ссылка недействительна. Откройте профиль на сайте и нажмите «Подключить Telegram», чтобы получить новую.",
	},
	msgTokenUnknown: {
		"en": "I do not know that link any more. Open your profile on the website and tap \"Connect Telegram\" for a fresh one.",
		"ru": "Я больше не знаю эту ссылку. Откройте профиль на сайте и нажмите «Подключить Telegram», чтобы получить новую.",
	},
	msgTokenExpired: {
		"en": "That link has expired (they last a few minutes). Open your profile on the website and tap \"Connect Telegram\" again.",
		"ru": "Срок ссылки истёк (она действует несколько минут). Откройте профиль на сайте и снова нажмите «Подключить Telegram».",
	},
	msgTokenUsed: {
		"en": "That link was used already; each works once. Open your profile on the website for a fresh one.",
		"ru": "Эта ссылка уже использована; каждая работает один раз. Откройте профиль на сайте, чтобы получить новую.",
	},
	msgTokenForeign: {
		"en": "That link was made for another Telegram account, so I did not link this one. Open it from the Telegram account your website profile names, or change that name on the website.",
		"ru": "Эта ссылка сделана для другого аккаунта Telegram, поэтому я его не привязал. Откройте её из аккаунта, указанного в профиле на сайте, или измените его на сайте.",
	},
	msgUnlinked: {
		"en": "Unlinked: this Telegram account no longer belongs to {{.Name}}. I will take it out of the gated groups. Link again from your website profile whenever you like.",
		"ru": "Отвязано: этот Telegram больше не привязан к {{.Name}}. Я выведу его из закрытых групп. Привязать снова можно из профиля на сайте.",
	},
	msgLinkMoved: {
		"en": "The website account {{.Name}} is now linked to another Telegram account, so this one is unlinked and leaves the gated groups.",
		"ru": "Аккаунт {{.Name}} на сайте теперь привязан к другому Telegram, поэтому этот отвязан и выйдет из закрытых групп.",
	},
	msgNotLinked: {
		"en": "This Telegram account is not linked to any website account.",
		"ru": "Этот Telegram не привязан ни к одному аккаунту на сайте.",
	},
	msgAccessGained: {
		"en": "You qualify for {{.Chat}}. Join here: {{.Link}}",
		"ru": "Вы проходите в группу {{.Chat}}. Вступить: {{.Link}}",
	},
	msgApproved: {
		"en": "You qualify for {{.Chat}}, and I let you in.",
		"ru": "Вы проходите в группу {{.Chat}}, и я вас впустил.",
	},
	msgFlagged: {
		"en": "{{.Name}} ({{.User}}) is in {{.Chat}} but does not qualify: {{.Reason}}. The chat flags rather than removes (on_violation: flag); decide yourself.",
		"ru": "{{.Name}} ({{.User}}) состоит в {{.Chat}}, но не проходит: {{.Reason}}. Группа только отмечает таких (on_violation: flag); решите сами.",
	},
	msgDoorQueued: {
		"en": "{{.Name}} ({{.User}}) asks to join {{.Chat}}, and the request waits for you: {{.Reason}}.",
		"ru": "{{.Name}} ({{.User}}) просится в группу {{.Chat}}, заявка ждёт вашего решения: {{.Reason}}.",
	},
	msgStrangerOut: {
		"en": "You were removed from {{.Chat}}: it is for members of the website who qualify, and this Telegram account is not linked to one. Link it from your profile on the website.",
		"ru": "Вас удалили из группы {{.Chat}}: она для участников сайта, которые проходят по правилам, а этот Telegram ни к кому не привязан. Привяжите его в профиле на сайте.",
	},
	msgGraceStarted: {
		"en": "Heads up: your karma is {{.Karma}}, below the {{.Need}} that {{.Chat}} asks for. Unless it is back by {{.Until}}, you will be removed from the group.",
		"ru": "Внимание: ваша карма {{.Karma}}, а группе {{.Chat}} нужно {{.Need}}. Если до {{.Until}} она не вырастет, вас удалят из группы.",
	},
	msgAccessLost: {
		"en": "You were removed from {{.Chat}}: {{.Reason}}.{{if .Need}} You can come back once your karma is {{.Need}} or more.{{end}}",
		"ru": "Вас удалили из группы {{.Chat}}: {{.Reason}}.{{if .Need}} Вернуться можно, когда карма будет не меньше {{.Need}}.{{end}}",
	},
	msgJoinDeclined: {
		"en": "I could not let you into {{.Chat}}: {{.Reason}}.{{if .Need}} It asks for karma {{.Need}} or more.{{end}} Link your Telegram from your profile on the website if you have not yet.",
		"ru": "Я не могу впустить вас в {{.Chat}}: {{.Reason}}.{{if .Need}} Нужна карма не меньше {{.Need}}.{{end}} Если вы ещё не привязали Telegram, сделайте это в профиле на сайте.",
	},
	msgContactAsk: {
		"en": "Share your phone number",
		"ru": "Поделиться номером телефона",
	},
	msgContactLinked: {
		"en": "Your phone number matches {{.Name}} on the website: linked.",
		"ru": "Ваш номер совпадает с участником {{.Name}} на сайте: Telegram привязан.",
	},
	msgContactForeign: {
		"en": "Please share your own contact with the button, not someone else's.",
		"ru": "Поделитесь, пожалуйста, своим контактом через кнопку, а не чужим.",
	},
	msgContactNoMatch: {
		"en": "No website account has this phone number. Link from your profile on the website instead.",
		"ru": "На сайте нет аккаунта с этим номером. Привяжите Telegram из профиля на сайте.",
	},
	msgPending: {
		"en": "{{.Chat}}: {{if .Count}}{{.Count}} removal(s) held until an admin confirms them{{else}}no removals held{{end}}{{if .DryRun}} (dry run is on){{else if .Breaker}} (dry run is off){{else}} (dry run is off: removals run at once){{end}}.{{if .Breaker}}\n⚠️ The removal breaker is open: more removals were planned than max_removals allows, so they wait for an admin.{{end}}{{range .Removals}}\n• {{.Who}}: {{.Reason}}{{if .Breaker}} (held: breaker){{end}}{{end}}{{if gt .Count (len .Removals)}}\n… and more; the dashboard lists them all.{{end}}{{if .Count}}\nSend /confirm to carry them out.{{end}}",
		"ru": "{{.Chat}}: {{if .Count}}удалений ждут подтверждения администратора: {{.Count}}{{else}}удалений в ожидании нет{{end}}{{if .DryRun}} (пробный режим включён){{else if .Breaker}} (пробный режим выключен){{else}} (пробный режим выключен: удаления выполняются сразу){{end}}.{{if .Breaker}}\n⚠️ Сработал предохранитель удалений: запланировано больше удалений, чем позволяет max_removals, поэтому они ждут администратора.{{end}}{{range .Removals}}\n• {{.Who}}: {{.Reason}}{{if .Breaker}} (удержано: предохранитель){{end}}{{end}}{{if gt .Count (len .Removals)}}\n… и другие; полный список — в панели управления.{{end}}{{if .Count}}\nОтправьте /confirm, чтобы выполнить их.{{end}}",
	},
	msgConfirmed: {
		"en": "{{.Chat}}: {{.Count}} removal(s) confirmed; I am carrying them out now.{{if .Configured}} Dry run stays on in the configuration: later removals wait for /confirm again.{{else if .Breaker}} The removal breaker is closed: later removals run again, within max_removals.{{else if .DryRun}} Dry run is over for this chat: later removals run at once.{{else}} Nothing was held here: this chat was not in dry run, and its removals run at once.{{end}}",
		"ru": "{{.Chat}}: подтверждено удалений: {{.Count}}; выполняю.{{if .Configured}} Пробный режим остаётся включённым в настройках: следующие удаления снова ждут /confirm.{{else if .Breaker}} Предохранитель удалений снят: следующие удаления снова выполняются в пределах max_removals.{{else if .DryRun}} Пробный режим для этой группы закончен: следующие удаления выполняются сразу.{{else}} Здесь ничего не ждало: группа не была в пробном режиме, её удаления выполняются сразу.{{end}}",
	},
	msgDryRunStarted: {
		"en": "This group already has {{.Count}} member(s) besides its admins, so it starts in dry run: I check who is inside, and whoever does not qualify is listed by /pending, not removed, until an admin sends /confirm.",
		"ru": "В группе уже есть участники кроме администраторов ({{.Count}}), поэтому она начинает в пробном режиме: я проверю, кто внутри, а тех, кто не проходит, покажу в /pending и не удалю, пока администратор не отправит /confirm.",
	},
	msgRelinkPending: {
		"en": "That website account is linked to another Telegram account. I asked that account to confirm the move to this one; nothing changes until it does, and I will tell you here (the request lapses at {{.Until}}).{{if .Unreachable}} That account seems unreachable (it blocked me, or is gone): ask the website to move the link for you.{{else}} If that account is lost, ask the website to move the link for you.{{end}}",
		"ru": "Этот аккаунт на сайте привязан к другому Telegram. Я попросил тот аккаунт подтвердить переход на этот; пока он не подтвердит, ничего не изменится, и я напишу вам здесь (запрос действует до {{.Until}}).{{if .Unreachable}} Тот аккаунт, похоже, недоступен (заблокировал меня или удалён): попросите сайт перенести привязку.{{else}} Если тот аккаунт утерян, попросите сайт перенести привязку.{{end}}",
	},
	msgRelinkAsk: {
		"en": "Someone asks to link your website account {{.Name}} to another Telegram account: {{.User}}. If that is you, press Confirm: that account takes this one's place, and this one leaves the gated groups. If not, press Refuse and nothing changes. The request lapses at {{.Until}}.",
		"ru": "Кто-то просит привязать ваш аккаунт {{.Name}} на сайте к другому Telegram: {{.User}}. Если это вы, нажмите «Подтвердить»: тот аккаунт займёт место этого, а этот выйдет из закрытых групп. Если нет, нажмите «Отказать», и ничего не изменится. Запрос действует до {{.Until}}.",
	},
	msgRelinkConfirmButton: {"en": "Confirm", "ru": "Подтвердить"},
	msgRelinkRefuseButton:  {"en": "Refuse", "ru": "Отказать"},
	msgRelinkConfirmedOld: {
		"en": "Confirmed: {{.Name}} moves to the other Telegram account.",
		"ru": "Подтверждено: {{.Name}} переходит на другой Telegram.",
	},
	msgRelinkRefusedOld: {
		"en": "Refused: nothing changed, {{.Name}} stays linked to this account.",
		"ru": "Отказано: ничего не изменилось, {{.Name}} остаётся привязан к этому аккаунту.",
	},
	msgRelinkRefusedNew: {
		"en": "The Telegram account linked to that website account refused the move; nothing changed.",
		"ru": "Telegram, привязанный к этому аккаунту на сайте, отказал в переходе; ничего не изменилось.",
	},
	msgRelinkExpired: {
		"en": "This request has lapsed; nothing changed.",
		"ru": "Срок этого запроса истёк; ничего не изменилось.",
	},
	msgRelinkClosed: {
		"en": "This request was answered already; nothing changed.",
		"ru": "На этот запрос уже ответили; ничего не изменилось.",
	},
	msgRelinkNotYours: {
		"en": "This button is not for you; nothing changed.",
		"ru": "Эта кнопка не для вас; ничего не изменилось.",
	},
	msgAdminsOnly: {
		"en": "Only the group's admins and the site's admins may use /{{.Command}}.",
		"ru": "Команду /{{.Command}} могут использовать только администраторы группы и сайта.",
	},
	msgHelp: {
		"en": "I let website members into its private groups.\n/start — how to link your Telegram\n/unlink — unlink this Telegram account\n/karma — in a gated group: your standing there (only you see the answer); here: in every group\nYour standing in each group, and its join link, are on your profile page on the website.",
		"ru": "Я впускаю участников сайта в его закрытые группы.\n/start — как привязать Telegram\n/unlink — отвязать этот Telegram\n/karma — в закрытой группе: ваш статус в ней (ответ видите только вы); здесь: во всех группах\nВаш статус в каждой группе и ссылка для входа — в вашем профиле на сайте.",
	},
	msgHelpChatAdmin: {
		"en": "\n\nFor the groups you administer (/status and /who also in the group, answered to you alone):\n/status [chat] — who is in, who should be, what is pending\n/rules — their rules\n/who <member or @user> — a member's standing there\n/pending [chat], /confirm [chat] — removals held\n/exempt, /unexempt <member> <chat> — always let in, or not\nIn the group: /welcome — post and pin how to link; /audit on — let a userbot account in to list who is inside",
		"ru": "\n\nДля групп, где вы администратор (/status и /who — и в самой группе, ответ видите только вы):\n/status [чат] — кто внутри, кто должен быть, что ожидает\n/rules — их правила\n/who <участник или @user> — статус участника\n/pending [чат], /confirm [чат] — отложенные удаления\n/exempt, /unexempt <участник> <чат> — всегда впускать или нет\nВ группе: /welcome — закрепить, как привязаться; /audit on — впустить аккаунт для аудита",
	},
	msgHelpSiteAdmin: {
		"en": "\n\nAs a site admin:\n/status, /rules, /who — for every gated chat\n/setup — bind a group you pick\n/bind <chat key> — in a group, bind it; /unbind to release it\n/sync — a full reconcile pass now",
		"ru": "\n\nКак администратор сайта:\n/status, /rules, /who — для всех закрытых чатов\n/setup — привязать выбранную группу\n/bind <ключ чата> — в группе привязать её; /unbind — отвязать\n/sync — полная сверка сейчас",
	},
}

// newTexts parses the built-in texts and the overrides.
func newTexts(overrides map[string]map[string]string) (*texts, error) {
	t := &texts{t: map[string]map[string]*template.Template{}}
	for key, langs := range builtinTexts {
		for lang, src := range langs {
			if err := t.add(key, lang, src); err != nil {
				return nil, err
			}
		}
	}
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if _, ok := builtinTexts[key]; !ok {
			return nil, fmt.Errorf("unknown message %q (known: %s)", key, strings.Join(MessageKeys(), ", "))
		}
		for lang, src := range overrides[key] {
			if err := t.add(key, lang, src); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// CheckMessages checks the rules' messages: as the bot will use them:
// known keys, templates that parse and render with the fields the bot
// gives. Every problem is told, each with its line in the rules file, so
// that serve can refuse a bad file before it opens anything.
func CheckMessages(r *gate.Rules) error {
	var errs gate.Errors
	at := func(key, lang string, format string, args ...any) {
		errs = append(errs, &gate.Error{File: r.File, Line: r.MessageLines[key][lang], Msg: fmt.Sprintf(format, args...)})
	}
	keys := make([]string, 0, len(r.Messages))
	for k := range r.Messages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t := &texts{t: map[string]map[string]*template.Template{}}
	for _, key := range keys {
		langs := make([]string, 0, len(r.Messages[key]))
		for lang := range r.Messages[key] {
			langs = append(langs, lang)
		}
		sort.Strings(langs)
		if _, ok := builtinTexts[key]; !ok {
			var lang string
			if len(langs) > 0 {
				lang = langs[0]
			}
			at(key, lang, "messages.%s: there is no such message (known: %s)", key, strings.Join(MessageKeys(), ", "))
			continue
		}
		for _, lang := range langs {
			if err := t.add(key, lang, r.Messages[key][lang]); err != nil {
				at(key, lang, "messages.%s.%s: %v", key, lang, errors.Unwrap(err))
			}
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errs
}

// MessageKeys lists the message keys the rules file may override.
func MessageKeys() []string {
	keys := make([]string, 0, len(builtinTexts))
	for k := range builtinTexts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (t *texts) add(key, lang, src string) error {
	tpl, err := template.New(key + "." + lang).Option("missingkey=error").Parse(src)
	if err != nil {
		return fmt.Errorf("message %s (%s): %w", key, lang, err)
	}
	// Render once with sample data so that a field that does not exist
	// fails at start, not when a member is waiting.
	if err := tpl.Execute(&strings.Builder{}, textData{Chats: []chatLine{{Title: "x"}}}); err != nil {
		return fmt.Errorf("message %s (%s): %w", key, lang, err)
	}
	if t.t[key] == nil {
		t.t[key] = map[string]*template.Template{}
	}
	t.t[key][lang] = tpl
	return nil
}

// render renders message key in the person's language (its primary
// subtag: "ru" for "ru-RU"), English when there is none.
func (t *texts) render(key, lang string, d textData) string {
	lang, _, _ = strings.Cut(strings.ToLower(lang), "-")
	byLang := t.t[key]
	tpl, ok := byLang[lang]
	if !ok {
		tpl = byLang["en"]
	}
	if tpl == nil {
		return key
	}
	var b strings.Builder
	if err := tpl.Execute(&b, d); err != nil {
		return key // validated at start; cannot happen with textData
	}
	return b.String()
}
