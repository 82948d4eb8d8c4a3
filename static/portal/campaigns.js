// The campaign pages, live. A static file with data- attributes, no inline script (the pages
// run under a strict CSP).
// - [data-campaign-live]: a region the page fetches again every few seconds while it is shown
//   (the dialer's figures move with every call; a poll of one small partial is all it takes).
// (A list import's progress bar is static/import_progress.js, shared with the DNC import.)
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

})();
