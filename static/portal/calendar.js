// The portal's calendar views. A static file with data- attributes, no inline script or style
// (the pages run under a strict CSP):
// - [data-top] / [data-height]: placed here, in percent of their day column (the server
//   computes them from real instants: a 23- or 25-hour day is drawn as it is).
// - [data-calendar-live]: the grid, fetched again when the portal's socket (/ws/portal/) says an
//   appointment changed on a calendar on screen ([data-calendars]) — an agent's booking appears
//   without a reload — and after a reconnect (pushes missed while offline).
// - form[data-confirm]: asks before a step that cannot be undone (renewing the feed's address).
(function () {
  "use strict";
  var root = document.documentElement, refreshes = 0, pending = null, connectedBefore = false, delay = 1000;

  function place(scope) {
    scope.querySelectorAll("[data-top]").forEach(function (el) {
      el.style.top = el.getAttribute("data-top") + "%";
      var height = el.getAttribute("data-height");
      if (height !== null) el.style.height = height + "%";
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  });

  place(document);
  root.setAttribute("data-calendar", "placed");
  var region = document.querySelector("[data-calendar-live]");
  if (!region || !window.WebSocket) return;
  var shown = new Set((region.getAttribute("data-calendars") || "").split(",").filter(Boolean));

  function ids() {
    return new Set(Array.prototype.map.call(region.querySelectorAll("[data-appointment]"), function (el) {
      return el.getAttribute("data-appointment");
    }));
  }

  function refresh() {
    var before = ids();
    return fetch(region.getAttribute("data-calendar-live"), {credentials: "same-origin", cache: "no-store",
                                                              headers: {"X-Requested-With": "fetch"}})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        region.innerHTML = html;
        place(region);
        region.querySelectorAll("[data-appointment]").forEach(function (el) {
          if (!before.has(el.getAttribute("data-appointment"))) el.classList.add("fresh");
        });
        root.setAttribute("data-calendar-refreshed", String(++refreshes));
      });
  }

  function soon() {
    // A burst of changes (held, then booked) costs one fetch.
    if (pending) return;
    pending = window.setTimeout(function () { pending = null; refresh(); }, 150);
  }

  function connect() {
    var socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/portal/");
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "snapshot") {
        root.setAttribute("data-calendar-socket", "connected");
        if (connectedBefore) soon();
        connectedBefore = true;
        delay = 1000;
      } else if (data.type === "appointment_changed" && shown.has(String(data.calendar))) {
        soon();
      }
    };
    socket.onclose = function (event) {
      root.setAttribute("data-calendar-socket", "offline");
      if (event.code === 4403) return;  // not allowed here: do not knock again
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  connect();
})();
