/*
 * Mall Assistant chat widget. Embed with one tag:
 *
 *   <script src="https://<rasa>/webhooks/web/widget.js" data-lang="zh" defer></script>
 *
 * Optional attributes: data-lang ("zh" | "en"), data-title, data-open ("true"),
 * data-token (a token the mall's server asked for on behalf of a signed-in customer).
 * Any element with data-mall-consult="<product id>" (and data-product-name) opens the chat
 * about that product. Page script can call window.MallAssistant.open({productId, productName}).
 *
 * Everything the assistant, an agent or the customer wrote is put in the page with
 * textContent: no message can inject markup or script.
 */
(function () {
  "use strict";
  if (window.MallAssistant && window.MallAssistant.version) return;

  var script = document.currentScript;
  var scriptUrl = new URL(script ? script.src : "widget.js", document.baseURI);
  var base = scriptUrl.href.replace(/\/widget\.js(\?.*)?$/, "");
  var data = (script && script.dataset) || {};
  var lang = data.lang || ((navigator.language || "zh").toLowerCase().indexOf("zh") === 0 ? "zh" : "en");

  var LABELS = {
    zh: {
      title: "智能客服", launcher: "在线咨询", close: "关闭", send: "发送",
      placeholder: "请输入您的问题…", typing: "正在输入…", you: "我", bot: "智能客服",
      agent: "人工客服", consulting: "正在咨询：", offline: "网络已断开，正在重连…",
      failed: "发送失败，点击重试", handoff: "人工客服已接入，请稍候", price: "到手价",
      listPrice: "原价", view: "查看", error: "服务暂时不可用，请稍后再试"
    },
    en: {
      title: "Customer service", launcher: "Chat with us", close: "Close", send: "Send",
      placeholder: "Type your question…", typing: "Typing…", you: "Me", bot: "Assistant",
      agent: "Human agent", consulting: "Asking about: ", offline: "Connection lost, reconnecting…",
      failed: "Not sent, tap to retry", handoff: "A human agent has joined", price: "Price",
      listPrice: "Was", view: "View", error: "Service unavailable, please try again later"
    }
  };
  var t = LABELS[lang] || LABELS.zh;

  var storeKey = "mall-assistant:" + base + ":";
  var store = {
    get: function (area, key) {
      try { return window[area].getItem(storeKey + key); } catch (e) { return null; }
    },
    set: function (area, key, value) {
      try {
        if (value === null) window[area].removeItem(storeKey + key);
        else window[area].setItem(storeKey + key, value);
      } catch (e) { /* private mode: the widget still works, it just forgets */ }
    }
  };

  var state = {
    token: data.token || store.get("localStorage", "token"),
    senderId: null,
    cursor: 0,
    seen: {},
    pending: {},
    outbox: [],
    sending: false,
    open: false,
    loaded: null,
    context: readContext(),
    backoff: 1000,
    greeted: false,
    synced: false,
    pollTimer: null,
    polling: false
  };

  // ---- DOM -----------------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeUrl(value) {
    if (typeof value !== "string") return null;
    try {
      var url = new URL(value, document.baseURI);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) { return null; }
  }

  var host = el("div");
  host.id = "mall-assistant";
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = el("link");
  css.rel = "stylesheet";
  css.href = base + "/widget.css";
  root.appendChild(css);

  var launcher = el("button", "ma-launcher");
  launcher.type = "button";
  launcher.setAttribute("part", "launcher");
  launcher.appendChild(el("span", "ma-launcher-label", t.launcher));
  var badge = el("span", "ma-badge");
  badge.hidden = true;
  launcher.appendChild(badge);

  var panel = el("section", "ma-panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", data.title || t.title);
  panel.hidden = true;
  var header = el("header", "ma-header");
  var titles = el("div", "ma-titles");
  titles.appendChild(el("div", "ma-title", data.title || t.title));
  var chip = el("div", "ma-context");
  titles.appendChild(chip);
  header.appendChild(titles);
  var closeButton = el("button", "ma-close", "×");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", t.close);
  header.appendChild(closeButton);
  var status = el("div", "ma-status");
  status.hidden = true;
  var list = el("div", "ma-messages");
  list.setAttribute("role", "log");
  list.setAttribute("aria-live", "polite");
  var typing = el("div", "ma-typing");
  typing.appendChild(el("span", "ma-dots", "• • •"));
  typing.appendChild(el("span", "", t.typing));
  typing.hidden = true;
  var form = el("form", "ma-form");
  var input = el("input", "ma-input");
  input.type = "text";
  input.maxLength = 2000;
  input.placeholder = t.placeholder;
  input.setAttribute("aria-label", t.placeholder);
  input.autocomplete = "off";
  var sendButton = el("button", "ma-send", t.send);
  sendButton.type = "submit";
  form.appendChild(input);
  form.appendChild(sendButton);
  panel.appendChild(header);
  panel.appendChild(status);
  panel.appendChild(list);
  panel.appendChild(typing);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(launcher);

  function scrollDown() { list.scrollTop = list.scrollHeight; }

  function showStatus(text, kind) {
    status.textContent = text || "";
    status.className = "ma-status" + (kind ? " ma-status-" + kind : "");
    status.hidden = !text;
  }

  function showContext() {
    var name = state.context.productName;
    chip.textContent = name ? t.consulting + name : "";
    chip.hidden = !name;
  }

  // ---- rendering -----------------------------------------------------------------------

  function productCard(card) {
    var box = el("div", "ma-card");
    var image = safeUrl(card.image_url || card.image);
    if (image) {
      var img = el("img", "ma-card-image");
      img.src = image;
      img.alt = card.name || card.title || "";
      box.appendChild(img);
    }
    box.appendChild(el("div", "ma-card-title", card.name || card.title || ""));
    if (card.subtitle) box.appendChild(el("div", "ma-card-subtitle", card.subtitle));
    if (card.price !== undefined && card.price !== null) {
      var price = el("div", "ma-card-price", t.price + " ¥" + card.price);
      if (card.list_price && String(card.list_price) !== String(card.price)) {
        price.appendChild(el("s", "ma-card-list", t.listPrice + " ¥" + card.list_price));
      }
      box.appendChild(price);
    }
    var link = safeUrl(card.url || card.item_url);
    if (link) {
      var a = el("a", "ma-card-link", t.view);
      a.href = link;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      box.appendChild(a);
    }
    if (Array.isArray(card.buttons)) box.appendChild(quickReplies(card.buttons));
    return box;
  }

  function quickReplies(buttons) {
    var row = el("div", "ma-buttons");
    buttons.forEach(function (button) {
      if (!button || !button.title) return;
      var b = el("button", "ma-button", button.title);
      b.type = "button";
      b.addEventListener("click", function () {
        send(String(button.payload || button.title), String(button.title));
      });
      row.appendChild(b);
    });
    return row;
  }

  function renderItem(item) {
    var row = el("div", "ma-row ma-" + item.role);
    if (item.role !== "user") {
      var who = item.role === "agent" ? t.agent + (item.agent ? " · " + item.agent : "") : t.bot;
      row.appendChild(el("div", "ma-who", who));
    }
    var bubble = el("div", "ma-bubble");
    if (item.text) bubble.appendChild(el("div", "ma-text", item.text));
    var image = safeUrl(item.image);
    if (image) {
      var img = el("img", "ma-image");
      img.src = image;
      img.alt = "";
      img.addEventListener("load", scrollDown);
      bubble.appendChild(img);
    }
    var attachment = safeUrl(item.attachment);
    if (attachment) {
      var a = el("a", "ma-attachment", attachment);
      a.href = attachment;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      bubble.appendChild(a);
    }
    var custom = item.custom;
    if (custom && (custom.type === "product" || custom.type === "product_card")) {
      bubble.appendChild(productCard(custom.product || custom));
    } else if (custom && typeof custom.text === "string" && !item.text) {
      bubble.appendChild(el("div", "ma-text", custom.text));
    }
    if (Array.isArray(item.elements)) {
      item.elements.forEach(function (element) { bubble.appendChild(productCard(element)); });
    }
    row.appendChild(bubble);
    if (Array.isArray(item.buttons) && item.buttons.length) row.appendChild(quickReplies(item.buttons));
    list.appendChild(row);
    // Only news lights the badge, not the history shown again after a reload.
    if (!state.open && state.synced && item.role !== "user") badge.hidden = false;
    scrollDown();
    return row;
  }

  function applyItems(answer) {
    (answer.items || []).forEach(function (item) {
      if (state.seen[item.id]) return;
      state.seen[item.id] = true;
      var mine = item.message_id && state.pending[item.message_id];
      if (mine) {
        // The customer's own message, already on screen since they sent it.
        mine.classList.remove("ma-pending", "ma-failed");
        delete state.pending[item.message_id];
        return;
      }
      renderItem(item);
    });
    if (typeof answer.cursor === "number" && answer.cursor > state.cursor) state.cursor = answer.cursor;
    if (answer.handoff) showStatus(t.handoff, "info");
    else if (status.className.indexOf("ma-status-info") >= 0) showStatus("");
  }

  // ---- network -------------------------------------------------------------------------

  function request(method, path, body, timeoutMs) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, timeoutMs || 30000);
    var headers = { "Content-Type": "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    return fetch(base + path, {
      method: method,
      headers: headers,
      body: body ? JSON.stringify(body) : undefined,
      signal: controller ? controller.signal : undefined,
      credentials: "omit"
    }).then(function (res) {
      if (timer) clearTimeout(timer);
      return res.json().catch(function () { return {}; }).then(function (json) {
        if (!res.ok) {
          var error = new Error(json.message || "HTTP " + res.status);
          error.status = res.status;
          error.code = json.error;
          throw error;
        }
        return json;
      });
    }, function (error) {
      if (timer) clearTimeout(timer);
      error.network = true;
      throw error;
    });
  }

  // A token the page supplied (a signed-in customer's) is the page's to give on every load;
  // only an anonymous visitor's own token is remembered by the browser.
  function saveToken(answer) {
    state.token = answer.token;
    state.senderId = answer.sender_id;
    if (!data.token) store.set("localStorage", "token", answer.token);
  }

  // A valid token renews for the same conversation; a refused one gives a fresh visitor.
  function startSession() {
    if (!state.token) return request("POST", "/session", {}).then(saveToken);
    return request("POST", "/session", {}).then(saveToken, function (error) {
      if (error.network) throw error;
      state.token = null;
      if (!data.token) store.set("localStorage", "token", null);
      return request("POST", "/session", {}).then(saveToken);
    });
  }

  function offline() {
    showStatus(t.offline, "error");
    var delay = state.backoff;
    state.backoff = Math.min(state.backoff * 2, 15000);
    return delay;
  }

  function online() {
    state.backoff = 1000;
    if (status.className.indexOf("ma-status-error") >= 0) showStatus("");
  }

  function sync() {
    return request("GET", "/history?after=" + state.cursor, null, 15000).then(function (answer) {
      online();
      applyItems(answer);
      return answer;
    });
  }

  function poll() {
    if (state.polling) return;
    state.polling = true;
    clearTimeout(state.pollTimer);
    request("GET", "/history?wait=25&after=" + state.cursor, null, 35000).then(function (answer) {
      state.polling = false;
      online();
      applyItems(answer);
      poll();
      flush();
    }, function (error) {
      state.polling = false;
      if (error.status === 401) {
        recover();
        return;
      }
      state.pollTimer = setTimeout(poll, offline());
    });
  }

  function recover() {
    startSession().then(function () { poll(); flush(); }, function () {
      state.pollTimer = setTimeout(recover, offline());
    });
  }

  function flush() {
    if (state.sending || !state.outbox.length || !state.token) return;
    var next = state.outbox[0];
    state.sending = true;
    typing.hidden = false;
    scrollDown();
    var body = { message: next.text, message_id: next.id, metadata: metadata() };
    request("POST", "/webhook", body, 30000).then(function (answer) {
      state.outbox.shift();
      online();
      if (!answer.recorded) {
        (answer.messages || []).forEach(function (m) { renderItem({ role: "bot", text: m.text }); });
      }
      return sync().catch(function () { /* the poll will bring it */ });
    }).then(function () {
      state.sending = false;
      typing.hidden = !state.outbox.length;
      flush();
    }, function (error) {
      state.sending = false;
      typing.hidden = true;
      if (error.network) {
        // Kept in the outbox: sent again once the connection is back (same message id).
        setTimeout(flush, offline());
        return;
      }
      if (error.status === 401) {
        recover();
        return;
      }
      state.outbox.shift();
      var bubble = next.bubble;
      if (bubble) {
        bubble.classList.add("ma-failed");
        bubble.title = t.failed;
      }
      showStatus(error.message || t.error, "error");
      flush();
    });
  }

  function newId() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function metadata() {
    // The page's language answers a first "/greet" in it; typed words decide after that.
    var meta = { page_url: location.href, language: lang };
    if (state.context.productId) meta.product_id = state.context.productId;
    // Proactive messages keep to the customer's own quiet hours.
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone) meta.time_zone = zone;
    } catch (e) { /* an old browser: the shop's default zone */ }
    return meta;
  }

  // `display` is what the customer sees (a button's title); null sends without a bubble.
  function send(text, display) {
    text = String(text || "").trim();
    if (!text) return;
    var id = newId();
    var bubble = null;
    if (display !== null) {
      bubble = renderItem({ role: "user", text: display || text });
      bubble.classList.add("ma-pending");
      bubble.addEventListener("click", function () {
        if (!bubble.classList.contains("ma-failed")) return;
        bubble.remove();
        send(text, display);
      });
      state.pending[id] = bubble;
    }
    state.outbox.push({ text: text, id: id, bubble: bubble });
    flush();
  }

  // ---- opening, context, persistence -----------------------------------------------------

  function readContext() {
    try { return JSON.parse(store.get("sessionStorage", "context") || "{}") || {}; } catch (e) { return {}; }
  }

  function setContext(context) {
    context = context || {};
    state.context = {
      productId: context.productId ? String(context.productId) : null,
      productName: context.productName ? String(context.productName) : null
    };
    store.set("sessionStorage", "context", JSON.stringify(state.context));
    showContext();
  }

  function load() {
    if (!state.loaded) {
      state.loaded = startSession().then(sync).then(function () {
        state.synced = true;
        poll();
        // Renew well before the token's lifetime (a day) runs out, for pages left open.
        setInterval(function () { startSession().catch(function () {}); }, 3600 * 1000);
        greetIfNew();
      }, function (error) {
        state.loaded = null;
        showStatus(error.network ? t.offline : t.error, "error");
        setTimeout(load, offline());
      });
    }
    return state.loaded;
  }

  // A new conversation starts with the assistant's greeting, knowing the page's product.
  function greetIfNew() {
    if (!state.open || !state.synced || state.greeted) return;
    state.greeted = true;
    if (!list.querySelector(".ma-row") && !state.outbox.length) send("/greet", null);
  }

  // The page may count what the shopper asks about (the demo shop sends it to the mall).
  function report(type, productId) {
    try {
      document.dispatchEvent(new CustomEvent("mall-assistant:behaviour", {
        detail: { type: type, product_id: productId }
      }));
    } catch (ignored) { /* very old browsers: nothing to report */ }
  }

  function open(context) {
    if (context && (context.productId || context.productName)) setContext(context);
    if (context && context.productId) report("product_view", context.productId);
    state.open = true;
    store.set("sessionStorage", "open", "1");
    panel.hidden = false;
    launcher.hidden = true;
    badge.hidden = true;
    scrollDown();
    input.focus();
    if (state.loaded) state.loaded.then(greetIfNew);
    else load();
  }

  function close() {
    state.open = false;
    store.set("sessionStorage", "open", null);
    panel.hidden = true;
    launcher.hidden = false;
  }

  launcher.addEventListener("click", function () { open(); });
  closeButton.addEventListener("click", close);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    send(text);
  });
  document.addEventListener("click", function (event) {
    var target = event.target && event.target.closest ? event.target.closest("[data-mall-consult]") : null;
    if (!target) return;
    event.preventDefault();
    open({ productId: target.getAttribute("data-mall-consult"), productName: target.getAttribute("data-product-name") });
  });
  window.addEventListener("online", function () {
    if (!state.token) return;
    clearTimeout(state.pollTimer);
    state.backoff = 1000;
    poll();
    flush();
  });

  function mount() {
    document.body.appendChild(host);
    showContext();
    if (data.open === "true" || store.get("sessionStorage", "open")) open();
    // A returning visitor's conversation is fetched at once (agent replies light the badge);
    // a new visitor costs the server nothing until they open the chat.
    else if (state.token) load();
  }

  window.MallAssistant = {
    version: "1",
    open: open,
    close: close,
    send: function (text) { send(text); },
    setContext: setContext
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
