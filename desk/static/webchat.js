// The demo shop with rasa-webchat (the standard client of Rasa's socketio channel): the
// consult button signs the visitor in with the web channel, then opens rasa-webchat on the
// socketio channel with the same identity (the session's JWT) and the product as metadata.
(function () {
  "use strict";
  var script = document.currentScript;
  var rasaUrl = script.getAttribute("data-rasa-url");
  var lang = script.getAttribute("data-lang") || "zh";
  var TOKEN_KEY = "mall-webchat:token";
  var started = false;

  function session() {
    // A visitor keeps their conversation across reloads: the kept token is renewed.
    var kept = sessionStorage.getItem(TOKEN_KEY);
    var headers = { "Content-Type": "application/json" };
    if (kept) headers.Authorization = "Bearer " + kept;
    return fetch(rasaUrl + "/webhooks/web/session", { method: "POST", headers: headers, body: "{}" })
      .then(function (answer) {
        if (answer.status === 401 && kept) {
          sessionStorage.removeItem(TOKEN_KEY);
          return session();
        }
        if (!answer.ok) throw new Error("session refused: " + answer.status);
        return answer.json();
      })
      .then(function (body) {
        if (body.token) sessionStorage.setItem(TOKEN_KEY, body.token);
        return body;
      });
  }

  function start(productId) {
    started = true;
    return session().then(function (body) {
      window.WebChat.default({
        socketUrl: rasaUrl + "?token=" + encodeURIComponent(body.socketio_token),
        socketPath: "/socket.io/",
        customData: { product_id: productId, page_url: location.href, language: lang },
        initPayload: "/greet",
        title: lang === "en" ? "Shop assistant" : "在线客服",
        inputTextFieldHint: lang === "en" ? "Type a message..." : "请输入消息…",
        params: { storage: "session" },
        withRules: false,
        showFullScreenButton: false,
        customMessageDelay: function () { return 0; }
      }, null);
      document.body.setAttribute("data-webchat", "started");
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-mall-consult]");
    if (!button || started) return;
    start(button.getAttribute("data-mall-consult")).catch(function (error) {
      started = false;
      console.error(error);
    });
  });
})();
