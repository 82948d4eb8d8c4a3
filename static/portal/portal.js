// The portal, live: one WebSocket (/ws/portal/); on a push, each live region of the page
// ([data-live-url]) fetches its HTML again, and the navigation's count is refreshed.
// A reconnect's snapshot refreshes too, so pushes missed while offline heal themselves.
(function () {
  "use strict";
  var connectedBefore = false, delay = 1000;

  function setCount(n) {
    document.querySelectorAll("[data-unacknowledged]").forEach(function (el) {
      el.textContent = n;
      el.hidden = !n;
    });
  }

  function ids(el) {
    return new Set(Array.prototype.map.call(el.querySelectorAll("[data-message-id]"), function (r) {
      return r.getAttribute("data-message-id");
    }));
  }

  function refresh(el) {
    var before = ids(el);
    return fetch(el.getAttribute("data-live-url"), {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (response) {
        var count = response.headers.get("X-Unacknowledged");
        if (count !== null) setCount(parseInt(count, 10));
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        el.innerHTML = html;
        el.querySelectorAll("[data-message-id]").forEach(function (row) {
          if (before.size && !before.has(row.getAttribute("data-message-id"))) row.classList.add("fresh");
        });
      });
  }

  function refreshAll(messageId) {
    var regions = document.querySelectorAll("[data-live-url]");
    regions.forEach(function (el) {
      var only = el.getAttribute("data-live-message");
      if (!only || messageId === undefined || String(messageId) === only) refresh(el);
    });
    if (!regions.length) {
      fetch("/messages/?partial=1", {credentials: "same-origin"}).then(function (r) {
        var count = r.headers.get("X-Unacknowledged");
        if (count !== null) setCount(parseInt(count, 10));
      });
    }
  }

  function connect() {
    var socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/portal/");
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "snapshot") {
        document.documentElement.setAttribute("data-live", "connected");
        setCount(data.unacknowledged || 0);
        if (connectedBefore) refreshAll();
        connectedBefore = true;
        delay = 1000;
      } else if (data.type === "message") {
        refreshAll();
      } else if (data.type === "message_changed") {
        refreshAll(data.message);
      }
    };
    socket.onclose = function (event) {
      document.documentElement.setAttribute("data-live", "offline");
      if (event.code === 4403) return;  // not allowed here: do not knock again
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  connect();
})();
