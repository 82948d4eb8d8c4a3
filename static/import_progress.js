// An import's progress bar (the DNC list's, a campaign's contact list): the card with
// data-progress-url polls the import's JSON and, once the import is over, reloads the page,
// which then lists the outcome and the refused lines. A static file with data- attributes,
// no inline script: the pages run under a strict CSP.
(function () {
  "use strict";
  var card = document.querySelector("[data-progress-url]");
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
