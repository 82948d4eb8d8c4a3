// The campaign pages, live. A static file with data- attributes, no inline script (the pages
// run under a strict CSP).
// - [data-campaign-live]: a region the page fetches again every few seconds while it is shown
//   (the dialer's figures move with every call; a poll of one small partial is all it takes).
// - #contact-import: a list import's progress bar, polling its JSON, like the DNC import's;
//   once the import is over the page reloads and lists the refused lines.
// - form[data-confirm]: asks before a step that cannot be undone (stopping a campaign).
(function () {
  "use strict";
  var REFRESH_MS = 5000;

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  });

  function refresh(el) {
    if (document.hidden) return Promise.resolve();
    return fetch(el.getAttribute("data-campaign-live"), {credentials: "same-origin", cache: "no-store",
                                                         headers: {"X-Requested-With": "fetch"}})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null) el.innerHTML = html;
        document.documentElement.setAttribute("data-campaign-live", "ok");
      })
      .catch(function () { document.documentElement.setAttribute("data-campaign-live", "offline"); });
  }

  var regions = document.querySelectorAll("[data-campaign-live]");
  if (regions.length) {
    window.setInterval(function () { regions.forEach(refresh); }, REFRESH_MS);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) regions.forEach(refresh);  // back on the tab: fresh at once
    });
  }

  var card = document.getElementById("contact-import");
  if (!card || card.dataset.finished === "true") return;
  var url = card.dataset.progressUrl;
  var bar = card.querySelector("[data-progress-bar]");
  var percent = card.querySelector("[data-progress-percent]");
  var text = card.querySelector("[data-progress-text]");
  var delay = 500;

  function show(state) {
    bar.value = state.percent;
    bar.textContent = state.percent + " %";
    percent.textContent = state.percent + " %";
    text.textContent = state.text;
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}, cache: "no-store"})
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (state.finished) {
          window.location.reload();
          return;
        }
        delay = 500;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        // The server or the network blinked: keep trying, more slowly, up to every 10 s.
        delay = Math.min(delay * 2, 10000);
        text.textContent = "Reconnecting…";
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
