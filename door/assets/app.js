// The door's Mini App: send Telegram.WebApp.initData to karmagate and show
// the standing it renders; check again on request and every few seconds
// while the request is open.
(function () {
  "use strict";
  var view = document.getElementById("view");
  var tg = window.Telegram && window.Telegram.WebApp;
  var initData = (tg && tg.initData) || "";
  if (!initData) {
    // Without telegram-web-app.js (blocked, offline): the client's launch
    // parameters are in the fragment, as the script reads them.
    initData = new URLSearchParams(location.hash.slice(1)).get("tgWebAppData") || "";
  }
  if (tg && tg.ready) { tg.ready(); }
  if (tg && tg.expand) { tg.expand(); }
  var polls = 0, timer = null, busy = false;

  function check() {
    if (busy) { return; }
    busy = true;
    var body = new URLSearchParams();
    body.set("init_data", initData);
    body.set("chat", view.dataset.chat || "");
    fetch("join/session", { method: "POST", body: body, credentials: "omit" })
      .then(function (r) { return r.text(); })
      .then(function (html) { view.innerHTML = html; bind(); })
      .catch(function () { view.insertAdjacentHTML("beforeend", '<p class="hint">Could not reach the server; try again.</p>'); })
      .finally(function () { busy = false; });
  }

  function bind() {
    var again = view.querySelector("[data-recheck]");
    if (again) { again.addEventListener("click", check); }
    view.querySelectorAll("a[data-external]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        if (tg && tg.openLink) { e.preventDefault(); tg.openLink(a.href); }
      });
    });
    clearTimeout(timer);
    if (view.querySelector("[data-pending]") && polls < 120) {
      polls++;
      timer = setTimeout(check, 5000);
    }
  }
  check();
})();
