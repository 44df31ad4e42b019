/* The demo shop's behaviour events: what the shopper does on the page (and in the chat
 * widget on it) goes to /shop/events in small batches. The page's server decides who the
 * shopper is and hands the batch to the mall with the shop's own key: nothing here names a
 * customer or holds a key.
 */
(function () {
  "use strict";
  var queue = [];
  var timer = null;
  var viewsSent = {};
  var comparing = [];

  function newId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return "e" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  function flush(leaving) {
    if (timer) { clearTimeout(timer); timer = null; }
    if (!queue.length) return;
    var batch = queue.splice(0, 50);
    var body = JSON.stringify({ events: batch });
    fetch("/shop/events", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: body,
      credentials: "same-origin",
      keepalive: !!leaving
    }).then(function (answer) {
      // Retried with the same ids when the mall was busy: recorded once either way.
      if (answer.status === 429 || answer.status >= 500) queue = batch.concat(queue);
      document.documentElement.setAttribute("data-events-sent", String(answer.status));
    }).catch(function () { queue = batch.concat(queue); });
    if (queue.length) schedule();
  }

  function schedule() {
    if (!timer) timer = setTimeout(flush, 800);
  }

  function track(type, productId, properties, channel) {
    var event = { id: newId(), type: type, channel: channel || "shop" };
    if (productId) event.product_id = productId;
    if (properties) event.properties = properties;
    queue.push(event);
    if (queue.length >= 20) flush(); else schedule();
  }
  window.mallTrack = track;

  function productOf(element) {
    var card = element.closest ? element.closest("[data-product-id]") : null;
    return card ? card.getAttribute("data-product-id") : null;
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target || !target.closest) return;
    var action = target.closest("[data-track]");
    var product = productOf(target);
    if (action) {
      var kind = action.getAttribute("data-track");
      if (kind === "compare" && product) {
        if (comparing.indexOf(product) < 0) comparing.push(product);
        action.classList.add("on");
        if (comparing.length >= 2) {
          track("compare", comparing[comparing.length - 1], { product_ids: comparing.slice(-2) });
          comparing = [];
          var marked = document.querySelectorAll("[data-track=compare].on");
          for (var i = 0; i < marked.length; i++) marked[i].classList.remove("on");
        }
      } else if (kind === "add_to_cart" || kind === "share") {
        track(kind, product);
      }
      return;
    }
    if (product && target.closest(".thumb, .name")) track("product_view", product);
  });

  var search = document.getElementById("shop-search");
  if (search) {
    search.addEventListener("submit", function (event) {
      event.preventDefault();
      var query = (search.querySelector("input") || {}).value || "";
      if (query.trim()) track("search", null, { query: query.trim().slice(0, 64) });
    });
  }

  // The chat widget reports what the shopper asks about; it counts as the widget's.
  document.addEventListener("mall-assistant:behaviour", function (event) {
    var detail = event.detail || {};
    if (!detail.type) return;
    if (detail.type === "product_view" && detail.product_id) {
      if (viewsSent[detail.product_id]) return;
      viewsSent[detail.product_id] = true;
    }
    track(detail.type, detail.product_id, detail.properties, "widget");
  });

  var card = document.body.getAttribute("data-card");
  if (card) track("card_view", null, { card_id: card });

  window.addEventListener("pagehide", function () { flush(true); });
})();
