// The agent console's behaviour (a file, not inline: the pages' policy forbids inline script).
(function () {
  "use strict";
  var box = document.getElementById("transcript");
  if (!box) return;
  box.scrollTop = box.scrollHeight;
  var text = document.getElementById("reply-text");
  if (text) {
    // Enter sends, Shift+Enter starts a new line.
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        if (text.value.trim()) text.form.submit();
      }
    });
  }
  // New customer messages appear without reloading the page (and without losing a draft).
  var url = box.getAttribute("data-poll-url");
  setInterval(function () {
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
        box.innerHTML = html; // rendered by the desk, every customer word autoescaped
        if (atBottom) box.scrollTop = box.scrollHeight;
      })
      .catch(function () {});
  }, 3000);
})();
